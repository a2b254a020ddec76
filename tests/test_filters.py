"""The shared filters: levels, loggers, grep, field conditions, time windows."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest

from redislog.entry import Entry, decode
from redislog.filters import (
    FilterError,
    Query,
    parse_condition,
    parse_level,
    parse_query,
    parse_regex,
    parse_time,
)
from redislog.levels import MAX as LEVEL_MAX
from tests.support.records import decoded

# 2026-11-26 12:00:00 in EST (UTC-5), a Thursday.
NOW = 1795712400.0


@pytest.fixture
def est(zone: Callable[[str], None]) -> None:
    zone("EST+5")


def fields(*conditions: str) -> Callable[[Entry], bool]:
    return parse_query(fields=conditions).matches


# -- levels -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("warning", (30, LEVEL_MAX)),
        ("WARN", (30, LEVEL_MAX)),
        ("w", (30, LEVEL_MAX)),
        ("Error", (40, LEVEL_MAX)),
        ("e", (40, LEVEL_MAX)),
        ("fatal", (50, LEVEL_MAX)),
        ("critical", (50, LEVEL_MAX)),
        ("c", (50, LEVEL_MAX)),
        ("d", (10, LEVEL_MAX)),
        ("i", (20, LEVEL_MAX)),
        ("35", (35, LEVEL_MAX)),
        ("info..error", (20, 40)),
        ("..warning", (0, 30)),
        ("warning..", (30, LEVEL_MAX)),
        (" d .. i ", (10, 20)),
    ],
)
def test_parse_level(text: str, expected: tuple[int, int]) -> None:
    """A level is a minimum, or an inclusive range with either end open."""
    assert parse_level(text) == expected


@pytest.mark.parametrize("text", ["loud", "", "x..error", "info..y", "-5"])
def test_parse_level_errors(text: str) -> None:
    """A word that is not a level is refused with one line."""
    with pytest.raises(FilterError) as caught:
        parse_level(text)
    assert str(caught.value) == (
        f"bad level {text!r}: use debug, info, warning, error or critical "
        "(or d/i/w/e/c, a number), or a range like info..error"
    )


def test_minimum_level() -> None:
    """A level keeps that level and worse, numbers between names too."""
    query = parse_query(level="warning")
    assert (query.min_level, query.max_level) == (30, None)
    assert [query.matches(decoded(msg="m", levelno=n)) for n in (10, 20, 30, 40, 50, 35)] == [
        False,
        False,
        True,
        True,
        True,
        True,
    ]


def test_level_range_is_inclusive() -> None:
    query = parse_query(level="info..error")
    assert (query.min_level, query.max_level) == (20, 40)
    assert [
        query.matches(decoded(msg="m", level=name))
        for name in ("debug", "info", "warning", "error", "critical")
    ] == [
        False,
        True,
        True,
        True,
        False,
    ]


def test_records_without_level_only_match_without_level_filter() -> None:
    entry = decoded(msg="no level here")
    assert parse_query().matches(entry)
    assert not parse_query(level="debug").matches(entry)
    assert not parse_query(level="debug").matches(decoded(msg="m", level="VERBOSE"))


# -- loggers --------------------------------------------------------------------


def test_logger_and_its_children() -> None:
    """A logger selects itself and its dotted children, not name prefixes."""
    query = parse_query(loggers=["app.db"])
    names = ["app.db", "app.db.pool", "app.db.pool.conn", "app.dbx", "app", "other.app.db"]
    assert [query.matches(decoded(msg="m", logger=name)) for name in names] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    assert not query.matches(decoded(msg="no logger"))


def test_several_loggers_are_ored() -> None:
    query = parse_query(loggers=["a", "b.c"])
    assert [query.matches(decoded(msg="m", logger=name)) for name in ("a.x", "b.c", "b", "c")] == [
        True,
        True,
        False,
        False,
    ]


def test_empty_logger_name_is_an_error() -> None:
    with pytest.raises(FilterError, match=r"^bad logger '': the name is empty$"):
        parse_query(loggers=[" "])


# -- grep -----------------------------------------------------------------------


def test_grep_smart_case() -> None:
    """A lower-case pattern ignores case; one with upper case does not."""
    lower = parse_query(grep="timeout|refused")
    assert lower.matches(decoded(msg="Connection REFUSED"))
    assert lower.matches(decoded(msg="read Timeout"))
    assert not lower.matches(decoded(msg="all good"))
    upper = parse_query(grep="Timeout")
    assert upper.matches(decoded(msg="read Timeout"))
    assert not upper.matches(decoded(msg="read timeout"))


def test_grep_escapes_do_not_count_as_upper_case() -> None:
    assert parse_regex(r"user\S+\d").flags & 2  # re.IGNORECASE
    assert not parse_regex(r"User\S").flags & 2


def test_grep_forced_case() -> None:
    """--case-sensitive and its opposite beat smart case."""
    assert not parse_query(grep="timeout", case_sensitive=True).matches(decoded(msg="Timeout"))
    assert parse_query(grep="Timeout", case_sensitive=False).matches(decoded(msg="timeout"))


def test_grep_only_searches_the_message() -> None:
    query = parse_query(grep="alice")
    assert not query.matches(decoded(msg="login", user="alice"))


def test_exclude() -> None:
    """A record whose message matches an exclude pattern is dropped."""
    query = parse_query(exclude=["healthz", "metrics"])
    assert not query.matches(decoded(msg="GET /healthz"))
    assert query.matches(decoded(msg="GET /orders"))


def test_bad_regex() -> None:
    """A regex that does not compile is refused with one line."""
    with pytest.raises(
        FilterError, match=r"^bad regex '\(': missing \), unterminated subpattern at position 0$"
    ):
        parse_query(grep="(")


# -- field conditions -------------------------------------------------------------


def test_equality_compares_text() -> None:
    match = fields("order_id=42")
    assert match(decoded(msg="m", order_id=42))
    assert match(decoded(msg="m", order_id="42"))
    assert match(decoded(msg="m", order_id=42.0))
    assert not match(decoded(msg="m", order_id=420))
    assert not match(decoded(msg="m"))


def test_equality_with_json_literals() -> None:
    assert fields("ok=true")(decoded(msg="m", ok=True))
    assert not fields("ok=true")(decoded(msg="m", ok=1))
    assert fields("ok=false")(decoded(msg="m", ok=False))
    assert fields("user=null")(decoded(msg="m", user=None))
    assert fields('tags=["a","b"]')(decoded(msg="m", tags=["a", "b"]))
    assert fields("name=")(decoded(msg="m", name=""))


def test_double_equals_is_equality() -> None:
    assert fields("env==prod")(decoded(msg="m", env="prod"))


def test_not_equal_also_matches_missing() -> None:
    match = fields("env!=prod")
    assert match(decoded(msg="m", env="dev"))
    assert not match(decoded(msg="m", env="prod"))
    assert match(decoded(msg="m"))


def test_regex_conditions() -> None:
    """key~regex searches the value's text; (?i) ignores case."""
    match = fields("path~^/api/v[0-9]+/")
    assert match(decoded(msg="m", path="/api/v2/orders"))
    assert not match(decoded(msg="m", path="/static/api/v2/"))
    assert not match(decoded(msg="m"))
    assert fields("status~^5")(decoded(msg="m", status=503))
    assert fields("path=~orders")(decoded(msg="m", path="/orders"))
    assert not fields("user~Alice")(decoded(msg="m", user="alice"))
    assert fields("user~(?i)Alice")(decoded(msg="m", user="alice"))


def test_negated_regex() -> None:
    """key!~regex keeps records without a match, and those without the key."""
    match = fields("path!~^/health")
    assert match(decoded(msg="m", path="/orders"))
    assert not match(decoded(msg="m", path="/healthz"))
    assert match(decoded(msg="m"))


@pytest.mark.parametrize(
    ("condition", "results"),
    [
        ("n>10", [False, False, True, True, False, False, False]),
        ("n>=10", [False, True, True, True, False, False, False]),
        ("n<10", [True, False, False, False, False, False, False]),
        ("n<=10", [True, True, False, False, False, False, False]),
    ],
)
def test_numeric_comparisons(condition: str, results: list[bool]) -> None:
    """Comparisons take numbers and numeric strings, never booleans or text."""
    match = fields(condition)
    values: list[object] = [9.5, 10, "11", 2**80, "abc", True, None]
    assert [match(decoded(msg="m", n=value)) for value in values] == results
    assert not match(decoded(msg="m"))


def test_numeric_comparison_with_huge_stored_integer() -> None:
    entry = decode(b'{"msg": "m", "n": 100000000000000000000000000001}', "k")
    assert fields("n>1e29")(entry)
    assert not fields("n<1e29")(entry)


def test_presence_and_absence() -> None:
    present, absent = fields("user"), fields("!user")
    with_user, without = decoded(msg="m", user=None), decoded(msg="m")
    assert present(with_user)
    assert not present(without)
    assert absent(without)
    assert not absent(with_user)


def test_dotted_paths() -> None:
    """Dotted keys reach into nested objects and list items."""
    entry = decoded(
        msg="m",
        http={"status": 503, "request": {"method": "GET"}},
        items=[{"sku": "A1"}, {"sku": "B2"}],
    )
    assert fields("http.status>=500")(entry)
    assert fields("http.request.method=GET")(entry)
    assert fields("items.1.sku=B2")(entry)
    assert not fields("items.5.sku=B2")(entry)
    assert not fields("http.status.code=1")(entry)
    assert fields("http.request")(entry)
    assert fields("!http.response")(entry)
    assert fields('http.request={"method":"GET"}')(entry)


def test_literal_dotted_key_wins() -> None:
    entry = decoded(msg="m", **{"log.level": "warn", "log": {"level": "info"}})
    assert fields("log.level=warn")(entry)


def test_reserved_keys_work_too() -> None:
    """Conditions apply to reserved fields such as logger and pid."""
    entry = decoded(ts=1.0, levelno=40, level="ERROR", logger="app.db", msg="m", pid=77)
    assert fields("logger=app.db")(entry)
    assert fields("pid=77")(entry)
    assert fields("level=error")(entry)
    assert fields("level!=warn")(entry)
    assert fields("levelno>30")(entry)


def test_several_equalities_on_one_key_are_ored() -> None:
    match = fields("env=prod", "env=staging", "region=eu")
    assert match(decoded(msg="m", env="prod", region="eu"))
    assert match(decoded(msg="m", env="staging", region="eu"))
    assert not match(decoded(msg="m", env="dev", region="eu"))
    assert not match(decoded(msg="m", env="prod", region="us"))


def test_other_conditions_are_anded() -> None:
    match = fields("n>1", "n<5")
    assert match(decoded(msg="m", n=3))
    assert not match(decoded(msg="m", n=7))


def test_condition_keeps_its_text() -> None:
    """A condition keeps the text it was written as, and its key, operator and number."""
    condition = parse_condition(" http.status >= 500")
    assert (condition.key, condition.op, condition.number) == ("http.status", ">=", 500.0)
    assert str(condition) == " http.status >= 500"
    assert parse_condition("a=b=c").value == "b=c"
    assert parse_condition("!gone").op == "absent"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x>abc", "bad field condition 'x>abc': 'abc' is not a number"),
        ("x<=", "bad field condition 'x<=': '' is not a number"),
        ("x>nan", "bad field condition 'x>nan': 'nan' is not a number"),
        ("=x", "bad field condition '=x': no field name before '='"),
        ("", "bad field condition '': no field name"),
        ("!", "bad field condition '!': no field name"),
        ("!a=b", "bad field condition '!a=b': use key=value, key~regex, ..."),
        ("a~(", "bad field condition 'a~(': missing ), unterminated subpattern at position 0"),
    ],
)
def test_bad_conditions(text: str, message: str) -> None:
    """A condition that cannot be read is refused with one line saying why."""
    with pytest.raises(FilterError) as caught:
        parse_condition(text)
    assert str(caught.value) == message


# -- problem records ----------------------------------------------------------------


def test_records_that_are_not_objects() -> None:
    """Plain text passes text filters only, never structured ones."""
    junk = decode(b"plain text: disk full", "k")
    assert parse_query().matches(junk)
    assert parse_query(grep="disk").matches(junk)
    assert not parse_query(grep="memory").matches(junk)
    assert not parse_query(level="debug").matches(junk)
    assert not parse_query(loggers=["app"]).matches(junk)
    assert not parse_query(fields=["!x"]).matches(junk)
    assert not parse_query(since="1h").matches(junk)


def test_objects_with_invalid_utf8_still_filter_normally() -> None:
    entry = decode(b'{"msg": "caf\xe9", "levelno": 40, "logger": "app"}', "k")
    assert entry.problem == "invalid UTF-8"
    assert parse_query(level="error", loggers=["app"]).matches(entry)


# -- time -----------------------------------------------------------------------------


@pytest.mark.usefixtures("est")
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("10m", NOW - 600),
        ("-10m", NOW - 600),
        ("10m ago", NOW - 600),
        ("10 min ago", NOW - 600),
        ("2h", NOW - 7200),
        ("1d", NOW - 86400),
        ("90s", NOW - 90),
        ("2h30m", NOW - 9000),
        ("1h 30m", NOW - 5400),
        ("1.5h", NOW - 5400),
        ("1w", NOW - 7 * 86400),
        ("+5m", NOW + 300),
        ("today", NOW - 12 * 3600),
        ("yesterday", NOW - 36 * 3600),
        ("tomorrow", NOW + 12 * 3600),
        ("TODAY", NOW - 12 * 3600),
        ("10:30", NOW - 5400),
        ("10:30:15", NOW - 5385),
        ("yesterday 23:00", NOW - 13 * 3600),
        ("2026-11-26", NOW - 12 * 3600),
        ("2026-11-26T10:30", NOW - 5400),
        ("2026-11-26 10:30:00.5", NOW - 5399.5),
        ("2026-11-26T17:00:00Z", NOW),
        ("2026-11-26T18:00:00+01:00", NOW),
        ("@1795712400", NOW),
    ],
)
def test_parse_time(text: str, expected: float) -> None:
    """Times: now, durations before or after now, clock times, dates, ISO 8601, epoch."""
    assert parse_time(text, NOW) == pytest.approx(expected)


@pytest.mark.usefixtures("est")
@pytest.mark.parametrize(
    "text",
    ["10q", "", "soon", "300", "5m from now", "+5m ago", "25:00", "2026-02-30", "@x", "1e999d"],
)
def test_parse_time_errors(text: str) -> None:
    """A time that cannot be read is refused with one line."""
    with pytest.raises(FilterError) as caught:
        parse_time(text, NOW)
    assert str(caught.value) == (
        f"bad time {text!r}: use 10m, 2h30m, 5m ago, HH:MM, today, yesterday, now, @EPOCH "
        "or ISO 8601"
    )


@pytest.mark.usefixtures("est")
def test_time_window() -> None:
    """The time window is inclusive at both ends; records without a time never pass."""
    query = parse_query(since=parse_time("1h", NOW), until=parse_time("10m", NOW))
    assert (query.since, query.until) == (NOW - 3600, NOW - 600)
    assert query.matches(decoded(ts=NOW - 1800, msg="m"))
    assert query.matches(decoded(ts=NOW - 3600, msg="m"))
    assert query.matches(decoded(ts=NOW - 600, msg="m"))
    assert not query.matches(decoded(ts=NOW - 4000, msg="m"))
    assert not query.matches(decoded(ts=NOW - 60, msg="m"))
    assert not query.matches(decoded(msg="no time"))
    assert parse_query(since=NOW - 5).since == NOW - 5


@pytest.mark.usefixtures("est")
def test_reversed_time_window() -> None:
    """A window that starts after it ends is refused, showing both ends."""
    with pytest.raises(FilterError) as caught:
        parse_query(since=parse_time("10m", NOW), until=parse_time("1h", NOW))
    assert str(caught.value) == (
        "bad time range: the start (2026-11-26 11:50:00) is after the end (2026-11-26 11:00:00)"
    )


# -- the query ------------------------------------------------------------------------


def test_empty_query_matches_everything() -> None:
    query = parse_query()
    assert query.empty
    assert query == Query()
    for raw in (b"junk", b"[1]", b'{"msg": "m"}', b"\xff"):
        assert query.matches(decode(raw, "k"))


def test_any_filter_makes_the_query_non_empty() -> None:
    options: list[dict[str, object]] = [
        {"level": "info"},
        {"loggers": ["a"]},
        {"grep": "x"},
        {"fields": ["a"]},
        {"since": "1h"},
        {"until": "1h"},
        {"exclude": ["x"]},
    ]
    for kwargs in options:
        assert not parse_query(**kwargs).empty  # type: ignore[arg-type]


def test_everything_together() -> None:
    """All filters apply at once: a record must pass each."""
    query = parse_query(
        level="warning",
        loggers=["billing"],
        grep="charge",
        fields=["order_id=42", "amount>10"],
        since=NOW - 3600,
    )
    good = decoded(
        ts=NOW - 60,
        levelno=40,
        level="ERROR",
        logger="billing.stripe",
        msg="charge failed",
        order_id=42,
        amount=12.5,
    )
    assert query.matches(good)
    for change in (
        {"levelno": 20, "level": "INFO"},
        {"logger": "auth"},
        {"msg": "refund"},
        {"order_id": 41},
        {"amount": 5},
        {"ts": NOW - 7200},
    ):
        data = orjson.loads(good.raw)
        data.update(change)
        assert not query.matches(decode(orjson.dumps(data), "k")), change
