"""The reader against a real server: exact backlogs, search windows, the pre-filter."""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import redis

from redislog import connection, filters, keys, prefilter, reader, scripts
from redislog.entry import Entry, decode
from redislog.reader import _shared
from redislog.reader._windows import PlainWindows
from redislog.scripts import lua
from tests.proxy import Proxy
from tests.servers import Server
from tests.support import wait_until_following
from tests.support.records import ours, push


@pytest.fixture
def target(redis_url: str) -> connection.Target:
    return connection.resolve(redis_url)


def link(target: connection.Target, notify: reader.Notify = _shared.quiet) -> reader.Link:
    def connect(timeout: float) -> redis.Redis:
        return connection.connect(target, socket_timeout=timeout)

    return reader.Link(connect(reader.READ_TIMEOUT), connect, notify=notify)  # type: ignore[arg-type]


def make_tail(
    target: connection.Target,
    key: str,
    *,
    notify: reader.Notify = _shared.quiet,
    **kwargs: object,
) -> reader.Tail:
    return reader.Tail(link(target, notify), [key], **kwargs)  # type: ignore[arg-type]


def messages(batches: Iterator[list[Entry]]) -> list[str]:
    return [entry.msg for batch in batches for entry in batch]


def test_backlog_all_stays_exact_while_the_list_moves(
    target: connection.Target, client: redis.Redis, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """-n all: pushes, a foreign LPUSH and trimming during the read skip and repeat nothing."""
    # Every window a script reads holds 500 records, whatever the pace.
    monkeypatch.setattr(_shared, "WINDOW_MIN", 500)
    monkeypatch.setattr(_shared, "WINDOW_MAX", 500)
    push(client, key, *(f"s{i}".encode() for i in range(3000)), maxlen=3000)
    notices: list[str] = []
    tail = make_tail(
        target,
        key,
        lines=None,
        follow=False,
        timing=reader.Timing(window=500),
        notify=notices.append,
    )
    batches = tail.batches()
    # The first 1,000 come from the two oldest windows (snapshot indices
    # 2000..2999); the newest 500 were read at registration.
    seen = messages(itertools.islice(batches, 1))
    assert seen == [f"s{i}" for i in range(1000)]
    client.lpush(key, b"foreign")  # bypasses the inboxes
    push(client, key, *(f"n{i}".encode() for i in range(2000)), maxlen=3000)
    seen += messages(batches)
    # The cap then trimmed snapshot indices 999..1999 (s1000..s2000), unread.
    assert seen == [f"s{i}" for i in range(1000)] + [f"s{i}" for i in range(2001, 3000)]
    assert notices == [
        f"{key}: 1,001 older records were trimmed by the list's cap before they could be read"
    ]
    assert client.zcard(keys.tails(key)) == 0


def test_newest_matching_records_are_searched_back_for(
    target: connection.Target, client: redis.Redis, key: str
) -> None:
    push(client, key, *(ours(i, levelno=40 if i % 1000 == 0 else 20) for i in range(10_000)))
    query = filters.parse_query(level="error")
    tail = make_tail(
        target, key, lines=3, follow=False, timing=reader.Timing(window=500), query=query
    )
    assert messages(tail.batches()) == ["m7000", "m8000", "m9000"]


@pytest.mark.parametrize("local", [True, False])
def test_a_filtered_backlog_skips_and_repeats_nothing_while_pushing(
    target: connection.Target,
    client: redis.Redis,
    key: str,
    monkeypatch: pytest.MonkeyPatch,
    local: bool,
) -> None:
    """A filtered tail's backlog, in plain windows filtered here (a local
    server) or by the server's script, finds the oldest matches while
    records are pushed, more than a window's worth at once too, and shows
    none of those pushed after it started."""
    # Every window a script reads holds 500 records, whatever the pace.
    monkeypatch.setattr(_shared, "WINDOW_MIN", 500)
    monkeypatch.setattr(_shared, "WINDOW_MAX", 500)
    push(client, key, *(ours(i, status=503 if i < 3 else 200) for i in range(3000)))
    scripted: list[int] = []
    real_backlog = scripts.backlog

    def counted_backlog(*args: object, **kwargs: object) -> scripts.BacklogReply:
        scripted.append(1)
        return real_backlog(*args, **kwargs)  # type: ignore[arg-type]

    def pushing(progress: reader.Progress) -> None:
        client.lpush(key, b"foreign")
        pushed = 700 if progress.scanned <= 500 else 300
        push(client, key, *(ours(10_000 + progress.scanned + i, status=500) for i in range(pushed)))

    monkeypatch.setattr(scripts, "backlog", counted_backlog)
    tail = make_tail(
        target, key, lines=3, follow=False, timing=reader.Timing(window=500),
        query=filters.parse_query(fields=["status>=500"]), on_window=pushing, local=local,
    )  # fmt: skip
    assert messages(tail.batches()) == ["m0", "m1", "m2"]
    assert tail.progress.scanned == 2500
    assert bool(scripted) is not local


@pytest.mark.parametrize("local", [True, False])
def test_search_windows_skip_and_repeat_nothing_while_pushing(
    client: redis.Redis, key: str, local: bool
) -> None:
    push(client, key, *(ours(i, f"hit {i}") for i in range(4000)))
    query = filters.parse_query(grep="hit")
    search = reader.Search(client, [key], query=query, local=local, window=300)
    found = []
    for entry in search.newest_first():
        found.append(entry.msg)
        if len(found) % 700 == 0:
            client.lpush(key, b"foreign hit")
            push(client, key, *(ours(10_000 + len(found) + i, "hit new") for i in range(500)))
    assert found == [f"hit {i}" for i in reversed(range(4000))]
    assert search.progress.scanned >= 4000


def test_plain_windows_copy_about_as_many_bytes_whatever_the_records(
    client: redis.Redis, key: str
) -> None:
    """An LRANGE blocks Redis for as long as it copies bytes: a window of
    large records holds fewer of them, one of small records as many as asked.
    Records pushed meanwhile (more than a window of them, while the size
    changes) are neither skipped nor repeated."""
    small = [ours(i) for i in range(3000)]
    big = [ours(3000 + i, "x" * 20_000) for i in range(300)]
    push(client, key, *small, *big)  # the large ones are the newest
    windows = []
    for raws in PlainWindows(client, keys.encoded(key), 1000):
        windows.append(raws)
        if len(windows) == 2:
            push(client, key, *(ours(9000 + i, "y" * 20_000) for i in range(150)))
    assert [raw for raws in windows for raw in raws] == [*reversed(big), *reversed(small)]
    assert max(sum(map(len, raws)) for raws in windows) <= 2 * 1024 * 1024
    assert len(windows[0]) == 100
    assert max(map(len, windows)) == 999  # the most asked, less the anchor


def test_search_stops_early_once_past_since(client: redis.Redis, key: str) -> None:
    now = time.time()
    push(client, key, *(ours(i, f"msg {i}", ts=now - 10_000 + i) for i in range(10_000)))
    for grep in ("msg", None):
        query = filters.parse_query(since=now - 100, grep=grep)
        search = reader.Search(client, [key], query=query, local=True, window=500)
        found = [entry.msg for entry in search.newest_first()]
        assert found == [f"msg {i}" for i in reversed(range(9900, 10_000))]
        assert search.progress.scanned <= 2000


def test_repeated_batches_are_shown_once(
    target: connection.Target, client: redis.Redis, key: str
) -> None:
    """A batch stored twice (a retry the writer could not tell had landed, by
    another route): tail and search drop the repeat by id."""
    batch = [ours(i) for i in range(5)]
    push(client, key, *batch)
    push(client, key, *batch)
    tail = make_tail(target, key, lines=None, follow=False)
    assert messages(tail.batches()) == [f"m{i}" for i in range(5)]
    search = reader.Search(client, [key])
    assert [entry.msg for entry in search.newest_first()] == [f"m{i}" for i in reversed(range(5))]


def test_live_records_come_from_the_list_whatever_the_inbox_lost(
    target: connection.Target, client: redis.Redis, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow tail whose inbox overflowed still reads every record, from the
    list; an expired registration is renewed with nothing missed."""
    push(client, key, ours(0))
    notices: list[str] = []
    tail = make_tail(
        target, key, lines=1, timing=reader.Timing(heartbeat=0.05, ttl=0.5, block=0.1),
        notify=notices.append,
    )  # fmt: skip
    batches = tail.batches()
    assert messages(itertools.islice(batches, 1)) == ["m0"]
    monkeypatch.setattr(lua, "INBOX_CAP", 4)
    push(client, key, *(ours(i) for i in range(1, 11)))  # the inbox keeps 4
    time.sleep(0.1)
    assert messages(itertools.islice(batches, 1)) == [f"m{i}" for i in range(1, 11)]
    # Stop reading for longer than the ttl: the registration expires and the
    # next push drops the inbox; the tail registers again, and the list has it all.
    time.sleep(0.7)
    push(client, key, ours(200), ours(201))
    assert messages(itertools.islice(batches, 1)) == ["m200", "m201"]
    assert notices == []
    batches.close()
    assert client.zcard(keys.tails(key)) == 0


def test_records_the_cap_trimmed_before_a_live_tail_read_them(
    target: connection.Target, client: redis.Redis, key: str
) -> None:
    """A batch larger than the list's cap: the writer's records come from the
    inbox; the foreign ones trimmed unread are counted."""
    push(client, key, ours(0), maxlen=3)
    notices: list[str] = []
    tail = make_tail(target, key, lines=1, timing=reader.Timing(poll=5.0), notify=notices.append)
    batches = tail.batches()
    assert messages(itertools.islice(batches, 1)) == ["m0"]
    push(client, key, *(ours(i) for i in range(1, 9)), maxlen=3)
    assert messages(itertools.islice(batches, 1)) == [f"m{i}" for i in range(1, 9)]
    assert notices == []
    client.lpush(key, *(f"foreign {i}".encode() for i in range(5)))
    push(client, key, ours(9), maxlen=3)
    found: list[str] = []
    while "m9" not in found:
        found += messages(itertools.islice(batches, 1))
    assert found == ["foreign 3", "foreign 4", "m9"]
    assert notices == [
        f"{key}: at least 3 records were trimmed by the list's cap before this tail could read them"
    ]
    batches.close()


def test_consumer_drains_every_key_oldest_first(
    target: connection.Target, client: redis.Redis, key: str
) -> None:
    push(client, f"{key}:a", *(ours(i) for i in range(1500)))
    push(client, f"{key}:b", ours(5000, "other"))

    consumer = reader.Consumer(link(target), [f"{key}:a", f"{key}:b"], follow=False)
    found = messages(consumer.batches())
    assert [m for m in found if m != "other"] == [f"m{i}" for i in range(1500)]
    assert "other" in found
    assert client.llen(f"{key}:a") == client.llen(f"{key}:b") == 0


def test_find_expands_globs_and_skips_keys_of_other_types(client: redis.Redis, key: str) -> None:
    push(client, f"{key}:x", b"1")
    push(client, f"{key}:y", b"2")
    client.set(f"{key}:s", "x")
    client.sadd(keys.INDEX, f"{key}:s", f"{key}:empty")
    notices: list[str] = []
    found = reader.find(client, [f"{key}:*", f"{key}:x"], notices.append)
    assert found == [f"{key}:empty", f"{key}:x", f"{key}:y"]
    assert notices == [f"skipping '{key}:s': it holds a Redis string, not a log list"]
    with pytest.raises(reader.ReaderError, match="no such log key"):
        reader.find(client, [f"{key}:nope"])
    with pytest.raises(reader.ReaderError, match="holds a Redis string"):
        reader.find(client, [f"{key}:s"])
    with pytest.raises(reader.ReaderError, match="redislog's index"):
        reader.find(client, [keys.INDEX])


def test_describe_logs(client: redis.Redis, key: str) -> None:
    """ls's view of a log: its length, cap, live tails, oldest and newest record."""
    push(client, key, ours(1), ours(2), maxlen=50)
    [info] = reader.describe_logs(client, [key])
    assert (info.kind, info.length, info.maxlen, info.tails) == ("list", 2, 50, 0)
    assert info.oldest is not None
    assert info.newest is not None
    assert (info.oldest.msg, info.newest.msg) == ("m1", "m2")


# -- the pre-filter ---------------------------------------------------------------

CORPUS = [
    ours(1, "upstream timeout"),
    ours(2, "Upstream TIMEOUT", levelno=40),
    ours(3, "TİMEOUT with a dotted capital I", levelno=30),  # matches (?i)timeout
    ours(4, "\u212aiss with a Kelvin sign"),  # matches (?i)kiss
    ours(5, "connection refused", levelno=40),
    ours(6, "nothing to see", levelno=10),
    b"plain text timeout",
    b"\xff\xfe timeout in invalid utf-8",
    b'{"msg": "unterminated timeout',
    b'{"ts": 1700000007, "msg": 1e999}',  # the message is Infinity
    b'{"ts": 1700000008000, "level": "ERROR", "levelno": 40, "msg": "ms timestamps"}',
    b'{"ts":1700000009,"level":"INFO","levelno":20,"msg":"dup level","levelno":40}',
    b'{"ts":1700000010,"level":"INFO","levelno":20,"logger":"app.db.pool","msg":"\\u0074imeout"}',
    b'{"message": "logstash timeout", "@timestamp": "2023-11-14T22:13:30Z"}',
    b'{"event": "structlog Timeout", "level": "error", "logger": "app.db"}',
    b'{"msg": {"nested": ["timeout", true]}, "levelno": 30}',
    b'{"msg": [1, 2.50, true], "logger": "app"}',
    b"[1, 2, 3]",
    json.dumps({"msg": "escapes \u001b timeout", "levelno": 20}).encode(),
    b'{"msg": "f1", "env": "prod", "user": "ada", "ms": 150, "flag": true, "n": 4.2e1}',
    b'{"msg": "f2", "env": "pr\\u006fd", "user": "Bob", "ms": "99", "order": {"id": 7}}',
    b'{"msg": "f3", "env": "staging", "user": "bob", "order.id": 8, "name": "ADAm"}',
    # Matches in the traceback (or stack) only.
    ours(7, "charge failed", levelno=40, exc="Traceback:\n  File x\nTimeoutError: upstream"),
    ours(8, "stacked", stack='File "/srv/app.py", line 3\n  retry_on_timeouterror()'),
    b'{"message": "java", "stack_trace": "java.net.SocketTimeoutException: read timed out"}',
    b'{"msg": "escaped", "exc": "\\u0054imeoutError: escaped"}',
    b'{"msg": "no traceback here", "exc": 42}',
]
QUERIES = [
    {"grep": "TimeoutError"},
    {"grep": "timeouterror"},
    {"grep": "TimeoutException|TimeoutError", "level": "error"},
    {"exclude": ["TimeoutError"]},
    {"grep": "timeout"},
    {"grep": "TIMEOUT"},
    {"grep": "timeout|refused"},
    {"grep": "kiss"},
    {"grep": "infinity"},
    {"grep": "true"},
    {"grep": "2.5"},
    {"grep": r"^upstream\s+timeout$"},
    {"level": "error"},
    {"level": "info..warning"},
    {"since": "@1700000004", "until": "@1700000009"},
    {"loggers": ["app.db"]},
    {"loggers": ["app.db"], "grep": "timeout"},
    {"level": "warning", "grep": "timeout"},
    {"fields": ["env=prod"]},
    {"fields": ["user=ada", "user=bob"]},
    {"fields": ["ms>100"]},
    {"fields": ["order.id"]},
    {"fields": ["name~ada"]},
    {"fields": ["flag=true", "n=42"]},
    {"fields": ["user!=ada", "!order"]},
]


@pytest.mark.parametrize(
    "options", QUERIES, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items())
)
def test_prefilter_never_drops_a_match(
    client: redis.Redis, key: str, options: dict[str, object]
) -> None:
    """Server- and client-side pre-filters agree with the full query on every record."""
    push(client, key, *CORPUS)
    query = filters.parse_query(**options)  # type: ignore[arg-type]
    expected = [raw for raw in reversed(CORPUS) if query.matches(decode(raw, key))]
    for local in (True, False):
        search = reader.Search(client, [key], query=query, local=local)
        assert [entry.raw for entry in search.newest_first()] == expected, local


def test_grep_reaches_tracebacks_through_both_prefilters(client: redis.Redis, key: str) -> None:
    """-g finds words only the traceback or stack holds, with the pre-filter on
    the server and here."""
    push(client, key, *CORPUS)
    query = filters.parse_query(grep="timeouterror")
    for local in (True, False):
        found = reader.Search(client, [key], query=query, local=local).newest_first()
        assert sorted(entry.msg for entry in found) == ["charge failed", "escaped", "stacked"]


def test_needles_come_from_the_regex() -> None:
    """Needles are the longest plain text every match contains, case folded where it must be."""

    def group(pattern: str) -> object:
        return prefilter.for_query(filters.parse_query(grep=pattern)).groups

    assert group("timeout") == ((True, False, ("meout",)),)
    assert group("Timeout") == ((False, False, ("Timeout",)),)
    assert group("timeout|refused") == ((True, False, ("meout", "refu")),)
    assert group("kiss") == ((True, True, ("kiss",)),)
    assert group("a.b") == ()
    assert group("(timeout|x)") == ()
    assert group("infinity") == ()
    assert group(r"user=\d+ Failed") == ((False, False, (" Failed",)),)
    assert not prefilter.usable("e5")
    assert not prefilter.usable("1.5")
    assert not prefilter.usable('a"b')
    assert prefilter.usable("ab c")


def test_search_progress_reports_windows(client: redis.Redis, key: str) -> None:
    """The search reports its progress after every window."""
    push(client, key, *(ours(i) for i in range(2000)))
    seen: list[int] = []
    search = reader.Search(client, [key], on_window=lambda p: seen.append(p.scanned), window=500)
    assert len(list(search.newest_first())) == 2000
    assert len(seen) >= 4
    steps = [b - a for a, b in zip([0, *seen], seen, strict=False)]
    assert all(0 < step <= 500 for step in steps), steps
    assert seen[-1] == search.progress.total == 2000


def test_tail_survives_cut_connections(key: str, server_factory: Callable[..., Server]) -> None:
    """A lost connection (registration intact) resumes from the inbox: nothing missed."""
    # A server of its own: the only client blocked in BRPOP is this tail.
    server = server_factory()
    client = server.client()
    proxy = Proxy(server.port)
    try:
        via = connection.resolve(f"redis://127.0.0.1:{proxy.port}/0")
        push(client, key, ours(0))
        notices: list[str] = []
        tail = make_tail(via, key, lines=1, timing=reader.Timing(block=0.2), notify=notices.append)
        batches = tail.batches()
        assert messages(itertools.islice(batches, 1)) == ["m0"]
        got: list[str] = []

        def read() -> None:
            for batch in batches:
                got.extend(entry.msg for entry in batch)
                if len(got) >= 3:
                    return

        # A daemon: should the tail never come back, the test fails, not hangs.
        thread = threading.Thread(target=read, daemon=True)
        thread.start()
        wait_until_following(client)
        proxy.cut()
        push(client, key, ours(1))
        push(client, key, ours(2), ours(3))
        thread.join(10)
        assert got == ["m1", "m2", "m3"]
        assert any("lost connection" in n for n in notices)
        assert not any("missing" in n for n in notices)
        batches.close()
    finally:
        proxy.close()


def test_literal_runs_of_a_plain_pattern() -> None:
    # literal_runs relies on the regex parser; a missing one only disables it.
    """The regex parser the needles rely on is there (else pre-filtering is off)."""
    assert prefilter.literal_runs(re.compile("abc")) == [["abc"]]


def test_tail_follows_keys_that_appear_later(
    target: connection.Target, client: redis.Redis, key: str
) -> None:
    """A tail on a glob picks up log keys created after it started."""
    push(client, f"{key}:a", ours(0))
    notices: list[str] = []

    tail = reader.Tail(
        link(target, notices.append), [f"{key}:a"], lines=1,
        timing=reader.Timing(heartbeat=0.05, block=0.1), watch=[f"{key}:*"],
    )  # fmt: skip
    batches = tail.batches()
    assert messages(itertools.islice(batches, 1)) == ["m0"]
    push(client, f"{key}:b", ours(1, ts=time.time()))
    push(client, f"{key}:a", ours(2))
    got: list[str] = []
    for batch in batches:
        got.extend(entry.msg for entry in batch)
        if len(got) >= 2:
            break
    assert sorted(got) == ["m1", "m2"]
    assert notices == [f"now also reading {key}:b"]
    push(client, f"{key}:b", ours(3))
    assert messages(itertools.islice(batches, 1)) == ["m3"]
    batches.close()
    assert client.zcard(keys.tails(f"{key}:b")) == 0


def test_consumer_reconnects(key: str, server_factory: Callable[..., Server]) -> None:
    """A consumer whose connection is cut says so, reconnects and goes on popping."""
    # A server of its own: the only client blocked in BRPOP is this consumer.
    server = server_factory()
    client = server.client()
    proxy = Proxy(server.port)
    try:
        via = connection.resolve(f"redis://127.0.0.1:{proxy.port}/0")

        push(client, key, ours(0))
        notices: list[str] = []
        consumer = reader.Consumer(link(via, notices.append), [key], block=0.2)
        batches = consumer.batches()
        assert messages(itertools.islice(batches, 1)) == ["m0"]
        got: list[str] = []
        thread = threading.Thread(target=lambda: got.extend(messages(itertools.islice(batches, 1))))
        thread.start()
        wait_until_following(client)
        proxy.cut()
        push(client, key, ours(1))
        thread.join(10)
        assert got == ["m1"]
        assert notices[0].startswith("lost connection to the server: ")
        assert notices[1] == "reconnected to the server"
        batches.close()
    finally:
        proxy.close()


# -- field conditions and loggers decided by the server ----------------------------

# Records the field tests must survive: other writers' key orders, spacing and
# escapes, nested values, numbers as strings, big and odd numbers, unicode,
# duplicate keys, broken JSON and elements that are not objects.
FIELD_CORPUS = [
    ours(1, order_id=7, status=500, user="ada", cart={"items": [{"sku": "a-1", "n": 2}]}),
    ours(2, order_id=70, status=404, user="Ada", cart={"items": []}),
    ours(3, order_id="7", status="503", user="bob", logger="app.db"),
    ours(4, order_id=7.0, status=500.5, user="ada lovelace", logger="app.dbx"),
    ours(5, order_id=9007199254740993, status=2**64, logger="app.db.pool"),
    ours(6, order_id=None, status=True, user=None, logger="other"),
    ours(7, order_id=[7], status={"code": 500}, user=["ada"]),
    ours(8, order_id=-0.0, status=" 501 ", user="", tags={"a.b": 1}),
    ours(9, status="5e2", user="café", **{"ключ": "значение", "order.id": 8}),
    ours(10, status="1_000", user="\U0001f600", order={"id": 7, "lines": [3, 4]}),
    ours(11, status="NaN", user="x\u0000y", logger="app"),
    ours(12, status="inf", logger="app.db"),
    ours(13, status="\u0665\u0660\u0660"),  # Arabic-Indic digits: Python's float reads 500
    b'{"status": 502, "order_id": 7, "logger": "app.db", "msg": "spaced out"}',
    b'{"msg":"escaped key","\\u006frder_id":7,"st\\u0061tus":599,"logger":"app\\u002edb"}',
    b'{"msg":"escaped value","user":"\\u0061da","order_id":"\\u0037"}',
    b'{"msg":"dup","order_id":8,"order_id":7,"status":200,"status":500}',
    b'{"msg":"big","order_id":7e0,"status":5E2,"n":1e999}',
    b'{"msg":"deep","a":{"b":{"c":[{"d":7},{"d":"8"}]}},"a.b":{"c":1}}',
    # A plain key's number read from the bytes: nested, quoted, spaced and
    # duplicated occurrences of "status": and "order_id": around the real one.
    b'{"msg":"nested first","a":{"status":200,"order_id":8},"status":500,"order_id":7}',
    b'{"msg":"say \\"status\\":200 \\"order_id\\":8","status":503,"order_id":7}',
    b'{"msg":"odd key","x\\"status":200,"status" :\t 501\n,"order_id" : 7 }',
    b'{"msg":"numbers","status":5e2,"order_id":7.00}',
    b'{"msg":"more numbers","status":1E+3,"order_id":-0,"n":[{"status":999}]}',
    b'{"msg":"in a list","list":[{"status":500}],"status":200}',
    b'{"msg":"string","status":"200","order_id":"7"}',
    b'{"msg":"nested last","status":200,"order_id":8,"a":{"status":500,"order_id":7}}',
    b'{"msg":"list path","items":["x","y"],"0":"top"}',
    b'{"msg":"empty","order":{},"items":[],"user":{}}',
    b'{"message": "logstash", "logger_name": "app.db", "status": "500"}',
    b'{"event": "structlog", "logger": "app.db", "order_id": 7, "level": "info"}',
    b'{"name": "app.db", "levelname": "INFO", "msg": "python-json-logger", "status": 500}',
    b'{"name": "app.db", "msg": "name is no logger here", "status": 500}',
    b'{"logger": 42, "msg": "numeric logger", "status": 500}',
    b'{"logger": ["app"], "logger_name": "app.db", "msg": "listed logger"}',
    b'{"log.logger": "app.db", "msg": "ecs", "log": {"logger": "other"}}',
    b'{"msg": "bad utf-8 \xff", "user": "ada\xff", "status": 500, "logger": "app.db"}',
    "\ufeff".encode() + b'{"msg": "bom", "order_id": 7, "status": 500}',
    b'{"msg": "ctl \x01 raw", "order_id": 7, "status": 500}',
    b'{"msg": "nan", "status": NaN, "order_id": Infinity}',
    b'{"msg": "huge int", "status": ' + b"9" * 5000 + b', "order_id": 7}',
    # Long runs of digits in values that are no plain number: reading them
    # must take time linear in their length (a script blocks Redis meanwhile).
    b'{"msg":"long run","status":' + b"9" * 100_000 + b'x,"order_id":7}',
    b'{"msg":"long string","status":"' + b"5" * 100_000 + b'x","order_id":7}',
    b'{"msg":"long parts","status":' + b"9" * 30_000 + b"." + b"9" * 30_000 + b"e-x}",
    b'{"msg": "lone surrogate \\ud800", "user": "\\udc00", "status": 500}',
    b'{"msg": "truncated", "order_id": 7',
    b'[{"order_id": 7}]',
    b'"order_id"',
    b"7",
    b"null",
    b"order_id=7 status=500 plain text",
    b"",
    b"{" * 2000 + b"}" * 2000,
    # Ids and paths: text a byte search must not take for a longer value.
    ours(14, ref="ab:1", path="/srv/a b"),
    ours(15, ref="ab:10", path="a<b>&'c"),
    b'{"msg":"spaced id","ref" : "ab:1" ,"user": ""}',
    b'{"msg":"escaped id","ref":"ab\\u003a1","path":"\\/srv\\/a b"}',
    b'{"msg":"id as key","ab:1":"ref","ref":["ab:1"]}',
    b'{"msg":"html-safe","path":"a\\u003cb\\u003e\\u0026\\u0027c"}',
]
FIELD_QUERIES = [
    {"fields": ["order_id=7"]},
    {"fields": ["order_id==7.0"]},
    {"fields": ["order_id=7", "order_id=70"]},
    {"fields": ["order_id!=7"]},
    {"fields": ["order_id=null"]},
    {"fields": ["order_id=[7]"]},
    {"fields": ["order_id=9007199254740992"]},
    {"fields": ["order_id=inf"]},
    {"fields": ["order_id!=9007199254740993"]},
    {"fields": ["order_id!=9007199254740992"]},
    {"fields": ["order_id>9007199254740992"]},  # 2**53 + 1 is: a float rounds it down
    {"fields": ["status<=18446744073709551615"]},
    {"fields": ["status=true"]},
    {"fields": ["status>=500"]},
    {"fields": ["status=500"]},
    {"fields": ["status=5e2"]},
    {"fields": ["status=200", "status=503"]},
    {"fields": ["status>=500", "order_id=7"]},
    {"fields": ["status>500"]},
    {"fields": ["status<500"]},
    {"fields": ["status<=500.5"]},
    {"fields": ["status>=1e3"]},
    {"fields": ["status>-1"]},
    {"fields": ["user=ada"]},
    {"fields": ["ref=ab:1"]},
    {"fields": ["ref=ab:1", "ref=ab:10"]},
    {"fields": ["ref!=ab:1"]},
    {"fields": ['ref=["ab:1"]']},
    {"fields": ["path=/srv/a b"]},
    {"fields": ["path=a<b>&'c"]},
    {"fields": ["user=", "user=true"]},
    {"fields": ["user!=ada"]},
    {"fields": ["user="]},
    {"fields": ["user=café"]},
    {"fields": ["user=\U0001f600"]},
    {"fields": ["user=x\u0000y"]},
    {"fields": ["user~ada"]},
    {"fields": ["user~^ad"]},
    {"fields": ["user~(?i)ADA"]},
    {"fields": ["user~lovelace|bob"]},
    {"fields": ["user!~ada"]},
    {"fields": ["user"]},
    {"fields": ["!user"]},
    {"fields": ["!order_id", "status"]},
    {"fields": ["ключ=значение"]},
    {"fields": ["order.id=7"]},
    {"fields": ["order.id>7"]},
    {"fields": ["order.lines.1=4"]},
    {"fields": ["cart.items.0.sku~a-"]},
    {"fields": ["cart.items.0"]},
    {"fields": ["a.b.c.0.d=7"]},
    {"fields": ["a.b.c=1"]},
    {"fields": ["items.1=y"]},
    {"fields": ["items.\u0660=x"]},  # an Arabic-Indic zero
    {"fields": ["0=top"]},
    {"fields": ["tags.a.b=1"]},
    {"fields": ["level=info"]},
    {"fields": ["level!=INFO"]},
    {"loggers": ["app.db"]},
    {"loggers": ["app.db", "other"]},
    {"loggers": ["app"], "fields": ["status>=500"]},
    {"loggers": ["4"]},
    {"loggers": ["42"]},
    {"level": "info", "fields": ["order_id=7"], "since": "@1700000002"},
]


def _field_query_id(options: dict[str, object]) -> str:
    return ",".join(f"{k}={v}" for k, v in options.items()).encode("unicode_escape").decode()


@pytest.mark.parametrize("options", FIELD_QUERIES, ids=_field_query_id)
def test_server_side_field_tests_never_drop_a_match(
    client: redis.Redis, key: str, options: dict[str, object]
) -> None:
    """The server-side filter keeps every record the full query matches, and
    a search returns exactly those, in order."""
    push(client, key, *FIELD_CORPUS)
    query = filters.parse_query(**options)  # type: ignore[arg-type]
    pre = prefilter.for_query(query)
    expected = [raw for raw in reversed(FIELD_CORPUS) if query.matches(decode(raw, key))]
    reply = scripts.scan(client, log=key, start=0, count=1000, anchor=None, filter_args=pre.args())
    assert reply.read == len(FIELD_CORPUS)
    kept = set(reply.candidates)
    assert [raw for raw in expected if raw not in kept] == []
    for local in (True, False):
        search = reader.Search(client, [key], query=query, local=local)
        assert [entry.raw for entry in search.newest_first()] == expected, local


@pytest.mark.parametrize("options", FIELD_QUERIES, ids=_field_query_id)
def test_the_local_prefilter_never_drops_a_field_match(options: dict[str, object]) -> None:
    """The pre-filter a local search runs here (needles, then plain numbers
    read from the bytes) keeps every record the full query matches, the
    records joined in one window as a search joins them."""
    query = filters.parse_query(**options)  # type: ignore[arg-type]
    kept = set(prefilter.for_query(query).candidates(FIELD_CORPUS))
    dropped = [raw for raw in FIELD_CORPUS if query.matches(decode(raw, "k")) and raw not in kept]
    assert dropped == []


@pytest.mark.parametrize(
    ("condition", "kept"),
    [
        ("status>=500", [0, 2, 5]),
        ("status<300", [1, 2, 3, 4, 5]),  # 3: its nested status
        ("status=404", [2, 3, 5]),
        ("status=200", [1, 2, 3, 4, 5]),
        ("status=500 status=404", [0, 2, 3, 5]),
        ("order_id=500", [3, 5]),
    ],
)
def test_the_local_prefilter_reads_plain_numbers_from_the_bytes(
    condition: str, kept: list[int]
) -> None:
    """A comparison or ``=`` on a plain key is decided on the bytes: only
    records whose value could pass are left to decode (a string, or a key
    spelled with a \\u escape, always is)."""
    raws = [
        ours(1, status=500),
        ours(2, status=200, order_id=7),
        ours(3, status="503"),
        ours(4, status=404, order_id=500, nested={"status": 200}),
        b'{"msg":"spaced","status" : 200.0 }',
        b'{"msg":"escaped","st\\u0061tus":100}',
        b'{"msg":"no key","state":500,"x":"status"}',
    ]
    query = filters.parse_query(fields=condition.split())
    assert prefilter.for_query(query).candidates(raws) == [raws[i] for i in kept]


@pytest.mark.parametrize(
    ("condition", "kept"),
    [
        ("order_id=7", 1),
        ("order_id!=7", 5),
        ("status>=500", 2),
        ("status<=200", 2),
        ("user=ada", 1),
        ("user~lace", 1),
        ("user", 2),
        ("!user", 4),
        ("cart.items.0.sku=a-1", 1),
    ],
)
def test_server_side_field_tests_send_only_matches(
    client: redis.Redis, key: str, condition: str, kept: int
) -> None:
    """On redislog's own records, only the matches cross the network."""
    raws = [
        ours(1, order_id=7, status=500, user="ada", cart={"items": [{"sku": "a-1"}]}),
        ours(2, order_id=8, status=200, user="ada lovelace"),
        ours(3, order_id=70, status=503),
        ours(4, order_id="77", status="200"),
        ours(5, status=404),
        ours(6, order_id=None, status=None),
    ]
    push(client, key, *raws)
    query = filters.parse_query(fields=[condition])
    reply = scripts.scan(
        client, log=key, start=0, count=1000, anchor=None,
        filter_args=prefilter.for_query(query).args(),
    )  # fmt: skip
    expected = [raw for raw in reversed(raws) if query.matches(decode(raw, key))]
    assert reply.candidates == expected
    assert len(expected) == kept


def test_server_side_field_tests_send_only_the_whole_value(client: redis.Redis, key: str) -> None:
    """An id-like value (no letter needed) is told from ids it begins or ends."""
    raws = [ours(1, ref="ab:1"), ours(2, ref="ab:10"), ours(3, ref="xab:1"), ours(4, ref="ab:1/")]
    push(client, key, *raws)
    query = filters.parse_query(fields=["ref=ab:1"])
    reply = scripts.scan(
        client, log=key, start=0, count=1000, anchor=None,
        filter_args=prefilter.for_query(query).args(),
    )  # fmt: skip
    assert reply.candidates == [raws[0]]


@pytest.mark.parametrize(
    ("condition", "server_filters"),
    [("order_id=100", False), ("status>=300", True), ("ref=ab:50", False)],
)
def test_a_local_search_decodes_fields_here_only_when_few_records_could_match(
    client: redis.Redis,
    key: str,
    monkeypatch: pytest.MonkeyPatch,
    condition: str,
    server_filters: bool,
) -> None:
    """On a local server, field conditions whose needles few records hold are
    checked on plain windows here; when most records hold them (every record
    has a status), the server's filter decides."""
    raws = [
        ours(i, status=200 + i, **({"order_id": i, "ref": f"ab:{i}"} if i % 50 == 0 else {}))
        for i in range(400)
    ]
    push(client, key, *raws)
    scans: list[str] = []
    real_scan = scripts.scan

    def counted_scan(*args: object, **kwargs: object) -> scripts.ScanReply:
        scans.append(condition)
        return real_scan(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(scripts, "scan", counted_scan)
    query = filters.parse_query(fields=[condition])
    found = [
        entry.raw
        for entry in reader.Search(
            client, [key], query=query, local=True, window=100
        ).newest_first()
    ]
    assert found == [raw for raw in reversed(raws) if query.matches(decode(raw, key))]
    assert found
    assert bool(scans) is server_filters


@pytest.mark.parametrize(
    ("options", "server_filters"),
    [({}, False), ({"exclude": ["m1"]}, False), ({"level": "error"}, True)],
)
def test_a_far_search_that_filters_nothing_reads_plain_windows(
    client: redis.Redis,
    key: str,
    monkeypatch: pytest.MonkeyPatch,
    options: dict[str, object],
    server_filters: bool,
) -> None:
    """Across a network, a query the server cannot narrow (none, or only an
    exclusion) ships every record anyway: plain windows cost Redis less than
    the script; a level is still filtered there."""
    raws = [ours(i, levelno=40 if i % 10 == 0 else 20) for i in range(250)]
    push(client, key, *raws)
    scans: list[int] = []
    real_scan = scripts.scan

    def counted_scan(*args: object, **kwargs: object) -> scripts.ScanReply:
        scans.append(1)
        return real_scan(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(scripts, "scan", counted_scan)
    query = filters.parse_query(**options)  # type: ignore[arg-type]
    search = reader.Search(client, [key], query=query, local=False, window=100)
    found = [entry.raw for entry in search.newest_first()]
    assert found == [raw for raw in reversed(raws) if query.matches(decode(raw, key))]
    assert found
    assert bool(scans) is server_filters
    assert search.progress.scanned == 250
    scans.clear()
    windows = list(reader.Search(client, [key], query=query, window=100).windows())
    assert sum(len(raws) for _, raws in windows) == len(found if server_filters else raws)
    assert bool(scans) is server_filters


def test_server_side_logger_test_sends_only_the_logger_and_its_children(
    client: redis.Redis, key: str
) -> None:
    raws = [ours(1, logger="app.db"), ours(2, logger="app.dbx"), ours(3, logger="app.db.pool"),
            ours(4, logger="app", msg="app.db in the message")]  # fmt: skip
    push(client, key, *raws)
    query = filters.parse_query(loggers=["app.db"])
    reply = scripts.scan(
        client, log=key, start=0, count=1000, anchor=None,
        filter_args=prefilter.for_query(query).args(),
    )  # fmt: skip
    assert reply.candidates == [raws[2], raws[0]]


def test_the_pace_starts_small_shrinks_at_once_and_grows_by_half() -> None:
    """A script's first window holds the fewest records: it may be of the
    largest records.  A slow window shrinks the next at once; a quick one
    lets it grow by half at most."""
    pacer = _shared.Pacer()
    assert pacer.size == _shared.WINDOW_MIN
    pacer.measure(0.0001, pacer.size)  # a quick probe: the round trip, mostly
    sizes = [pacer.size]
    for _ in range(5):
        pacer.measure(0.0002, pacer.size)
        sizes.append(pacer.size)
    assert all(a < b <= a * 1.5 for a, b in itertools.pairwise(sizes)), sizes
    busy = _shared.CALL_TARGET * 4
    pacer.measure(0.0001 + busy, pacer.size)  # four times too long
    assert pacer.size == max(_shared.WINDOW_MIN, sizes[-1] // 4)


def test_the_pace_leaves_out_the_round_trip() -> None:
    """On a distant server every call takes the round trip: windows are
    sized by what Redis spends beyond it, not shrunk to the least."""
    trip = 0.05
    pacer = _shared.Pacer()
    pacer.measure(trip, pacer.size)
    for _ in range(12):
        pacer.measure(trip + 0.0005 * pacer.size / 100, pacer.size)  # 5 us a record
    settled = _shared.CALL_TARGET / 0.000005  # records of 5 us each in CALL_TARGET
    assert settled * 2 / 3 <= pacer.size <= settled * 1.5
    pacer.measure(trip + 0.03, pacer.size)  # Redis busy for 30 ms: shrink
    assert pacer.size < 400


@pytest.mark.parametrize("local", [True, False])
def test_first_script_windows_hold_the_fewest_records(
    target: connection.Target,
    client: redis.Redis,
    key: str,
    monkeypatch: pytest.MonkeyPatch,
    local: bool,
) -> None:
    """Whatever the window asked for, a script's first read of a list is of
    the fewest records: records of 60 KB each would otherwise block Redis
    for a long while.  A filtered tail registers with the fewest too."""
    raws = [ours(i, pad="x" * 60_000, status=500 if i == 0 else 200) for i in range(40)]
    push(client, key, *raws)
    asked: list[tuple[str, int]] = []
    real_scan, real_attach = scripts.scan, scripts.attach

    def scan(*args: object, count: int, **kwargs: object) -> scripts.ScanReply:
        asked.append(("scan", count))
        return real_scan(*args, count=count, **kwargs)  # type: ignore[arg-type]

    def attach(*args: object, count: int, **kwargs: object) -> scripts.AttachReply:
        asked.append(("attach", count))
        return real_attach(*args, count=count, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(scripts, "scan", scan)
    monkeypatch.setattr(scripts, "attach", attach)
    query = filters.parse_query(fields=["status>=500"])
    search = reader.Search(client, [key], query=query, local=False, window=5000)
    assert [entry.msg for entry in search.newest_first()] == ["m0"]
    assert asked[0] == ("scan", _shared.WINDOW_MIN)
    asked.clear()
    tail = make_tail(
        target, key, lines=1, follow=False, timing=reader.Timing(window=5000), query=query,
        local=local,
    )  # fmt: skip
    assert messages(tail.batches()) == ["m0"]
    assert asked[0] == ("attach", _shared.WINDOW_MIN)
