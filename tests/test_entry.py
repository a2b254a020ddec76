"""Decoding list elements into entries: redislog's schema, other shapes, junk."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redislog import record, serialize
from redislog.entry import decode, parse_iso, text_of, timestamp
from tests.support.records import decoded

T0 = 1795654923.456  # 2026-11-26T01:02:03.456Z


# -- redislog's own records ---------------------------------------------------


def test_redislog_record_round_trip() -> None:
    """A record written by the handler decodes to its parts; noise stays out of fields."""
    try:
        raise ValueError("boom")
    except ValueError:
        exc_info = sys.exc_info()
    rec = logging.LogRecord(
        "app.db", logging.ERROR, "/srv/app.py", 12, "query %s", ("failed",), exc_info
    )
    rec.created = T0
    rec.order_id = 42
    data = record.build(rec, "abc:7", {"service": "billing", "level": "shadowed"})
    raw = serialize.dumps(data)

    entry = decode(raw, "logs:billing")

    assert entry.key == "logs:billing"
    assert entry.raw == raw
    assert entry.problem is None
    assert entry.verbatim is True
    assert entry.ts == T0
    assert (entry.level, entry.levelno) == ("ERROR", 40)
    assert entry.logger == "app.db"
    assert entry.msg == "query failed"
    assert entry.id == "abc:7"
    assert entry.exc is not None
    assert entry.exc.endswith("ValueError: boom")
    assert entry.exc.startswith("Traceback (most recent call last):")
    assert entry.stack is None
    assert entry.fields == {"service": "billing", "extra": {"level": "shadowed"}, "order_id": 42}
    assert entry.data is not None
    assert entry.data["host"] == record.HOST
    assert entry.data["exc_type"] == "ValueError"


def test_redislog_stack_and_truncated_marker() -> None:
    """``stack`` is its own attribute; ``truncated`` stays visible as a field."""
    entry = decoded(
        ts=T0,
        level="INFO",
        levelno=20,
        logger="a",
        msg="m",
        id="x:1",
        stack="Stack (most recent call last):\n  here",
        truncated=123456,
    )
    assert entry.stack == "Stack (most recent call last):\n  here"
    assert entry.fields == {"truncated": 123456}


def test_dropped_records_marker() -> None:
    """The writer's own marker records decode like any other."""
    entry = decode(serialize.dumps(record.marker(5, T0, "buffer full", "p:9")), "k")
    assert entry.level == "WARNING"
    assert entry.logger == "redislog"
    assert entry.msg.startswith("5 log records dropped since 2026-11-26T01:02:03.456Z")
    assert entry.fields == {"dropped": 5, "dropped_since": T0}


# -- other JSON shapes --------------------------------------------------------


def test_structlog_shape() -> None:
    """structlog's event, level, logger and ISO timestamp are read as such."""
    entry = decoded(
        event="user logged in",
        level="info",
        logger="auth",
        timestamp="2026-11-26T01:02:03.456789Z",
        user="alice",
    )
    assert entry.msg == "user logged in"
    assert (entry.level, entry.levelno) == ("INFO", 20)
    assert entry.logger == "auth"
    assert entry.ts == pytest.approx(1795654923.456789)
    assert entry.fields == {"user": "alice"}
    assert entry.id is None


def test_structlog_exception_key() -> None:
    """structlog's exception key is the traceback."""
    entry = decoded(event="failed", level="error", exception="Traceback...\nKeyError: 'x'")
    assert entry.exc == "Traceback...\nKeyError: 'x'"
    assert entry.fields == {}


def test_logstash_shape() -> None:
    """logstash's message, @timestamp with an offset and log.level are read as such."""
    entry = decoded(
        **{
            "@timestamp": "2026-11-26T02:02:03.456+01:00",
            "@version": "1",
            "message": "Started",
            "logger_name": "com.example.App",
            "thread_name": "main",
            "level": "WARN",
            "level_value": 30000,
            "stack_trace": "java.lang.IllegalStateException: x",
            "order": 7,
        }
    )
    assert entry.msg == "Started"
    assert entry.ts == pytest.approx(T0)
    assert entry.logger == "com.example.App"
    assert (entry.level, entry.levelno) == ("WARNING", 30)
    assert entry.exc == "java.lang.IllegalStateException: x"
    assert entry.fields == {"order": 7}


def test_python_json_logger_shape(zone: Callable[[str], None]) -> None:
    """python-json-logger's asctime, levelname and name are read as such."""
    zone("UTC0")
    entry = decoded(
        asctime="2026-11-26 01:02:03,456",
        levelname="ERROR",
        name="app",
        message="oops",
        exc_info="Traceback\nE",
    )
    assert entry.ts == pytest.approx(T0)
    assert (entry.level, entry.levelno) == ("ERROR", 40)
    assert entry.logger == "app"
    assert entry.msg == "oops"
    assert entry.exc == "Traceback\nE"


def test_pino_levels_and_millisecond_time() -> None:
    """pino's level numbers map to Python's; its millisecond time is read."""
    entry = decoded(level=30, time=1795654923456, pid=1, hostname="web", msg="hi")
    assert (entry.level, entry.levelno) == ("INFO", 20)
    assert entry.ts == pytest.approx(T0)
    assert entry.fields == {}


def test_bunyan_name_is_the_logger() -> None:
    entry = decoded(
        name="myapp", hostname="h", pid=1, level=50, msg="bad", time="2026-11-26T01:02:03.456Z", v=0
    )
    assert entry.logger == "myapp"
    assert (entry.level, entry.levelno) == ("ERROR", 40)


def test_name_is_a_field_when_the_shape_is_unknown() -> None:
    entry = decoded(msg="hi", name="alice")
    assert entry.logger is None
    assert entry.fields == {"name": "alice"}


def test_id_is_a_field_in_foreign_records() -> None:
    entry = decoded(message="created", id=17)
    assert entry.id is None
    assert entry.fields == {"id": 17}


def test_aliases_severity_and_docker_log() -> None:
    """severity is a level and Docker's log key a message."""
    entry = decoded(
        severity="critical",
        log="container says hi\n",
        time="2026-11-26T01:02:03.456Z",
        stream="stdout",
    )
    assert (entry.level, entry.levelno) == ("CRITICAL", 50)
    assert entry.msg == "container says hi\n"
    assert entry.fields == {"stream": "stdout"}


def test_only_the_used_alias_is_consumed() -> None:
    """A second message-like key stays a visible field."""
    entry = decoded(ts=T0, levelno=20, msg="real", message="user field", timestamp="not a time")
    assert entry.msg == "real"
    assert entry.fields == {"message": "user field", "timestamp": "not a time"}


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("warn", ("WARNING", 30)),
        ("Fatal", ("CRITICAL", 50)),
        ("err", ("ERROR", 40)),
        (" debug ", ("DEBUG", 10)),
        ("trace", ("TRACE", 5)),
        ("notice", ("NOTICE", 25)),
        ("VERBOSE", ("VERBOSE", None)),
        ("40", ("ERROR", 40)),
        (42, ("LEVEL 42", 42)),
        (20.0, ("INFO", 20)),
    ],
)
def test_level_names_and_numbers(level: object, expected: tuple[str, int | None]) -> None:
    """A level name in any case, an alias, digits or a number: its name and number."""
    entry = decoded(msg="m", level=level)
    assert (entry.level, entry.levelno) == expected


def test_levelno_alone_gives_the_name() -> None:
    entry = decoded(msg="m", levelno=30)
    assert (entry.level, entry.levelno) == ("WARNING", 30)


def test_levelno_wins_over_the_name_number() -> None:
    entry = decoded(msg="m", level="CUSTOM", levelno=35)
    assert (entry.level, entry.levelno) == ("CUSTOM", 35)


# -- timestamps -----------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        T0,
        T0 * 1000,
        int(T0 * 1_000_000),
        int(T0 * 1_000_000_000),
        str(T0),
        "2026-11-26T01:02:03.456Z",
        "2026-11-26T01:02:03.456000000Z",
        "2026-11-26t01:02:03.456z",
        "2026-11-26T02:02:03.456+01:00",
        "2026-11-26T02:02:03.456+0100",
        "2026-11-25T20:02:03.456-05",
        "2026-11-26 01:02:03,456Z",
    ],
)
def test_timestamp_forms(value: object) -> None:
    """Epoch seconds, milli-, micro- and nanoseconds and ISO 8601 forms all give the same time."""
    assert timestamp(value) == pytest.approx(T0, abs=1e-3)


def test_timestamp_without_zone_is_local(zone: Callable[[str], None]) -> None:
    zone("EST+5")
    assert parse_iso("2026-11-25T20:02:03.456") == pytest.approx(T0)
    assert parse_iso("2026-11-25") == pytest.approx(1795582800.0)  # local midnight


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "",
        "2026-13-01",
        "2026-11-26T25:00",
        "2026-11-26T00:00+25:00",
        True,
        None,
        [],
        {},
        float("nan"),
        float("inf"),
        -5,
        1e300,
        "x" * 1000,
    ],
)
def test_bad_timestamps_are_none(value: object) -> None:
    """A time that cannot be one (wrong type, out of range, not a date) is unknown."""
    assert timestamp(value) is None


def test_mistyped_ts_stays_a_field() -> None:
    entry = decoded(ts="yesterday", msg="m")
    assert entry.ts is None
    assert entry.fields == {"ts": "yesterday"}


# -- mistyped fields --------------------------------------------------------------


def test_message_of_other_types_is_stringified() -> None:
    assert decoded(msg={"a": [1, 2]}).msg == '{"a":[1,2]}'
    assert decoded(msg=12).msg == "12"
    assert decoded(msg=True).msg == "true"
    assert decoded(msg=None).msg == ""
    assert decoded(level="INFO").msg == ""


def test_level_and_logger_of_odd_types() -> None:
    entry = decoded(msg="m", level=["x"], logger={"a": 1})
    assert entry.level is None
    assert entry.levelno is None
    assert entry.logger is None
    assert entry.fields == {"level": ["x"], "logger": {"a": 1}}
    assert decoded(msg="m", logger=7).logger == "7"
    assert decoded(msg="m", level=True).levelno is None


def test_text_of() -> None:
    """Values read as their natural JSON text."""
    assert [text_of(v) for v in ("s", True, False, None, 42, 1.5, 2.0)] == [
        "s",
        "true",
        "false",
        "null",
        "42",
        "1.5",
        "2.0",
    ]
    assert [text_of(v) for v in (float("nan"), float("inf"), float("-inf"))] == [
        "NaN",
        "Infinity",
        "-Infinity",
    ]
    assert text_of({"k": [1, "é"]}) == '{"k":[1,"é"]}'
    assert text_of({"s": "\ud800"}) == '{"s": "\ud800"}'  # orjson refuses, the stdlib copes
    assert text_of(2**100) == str(2**100)


# -- elements that are not records ------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "problem", "msg"),
    [
        (b"hello world", "not JSON", "hello world"),
        (b"", "not JSON", ""),
        (b'{"msg": "cut', "invalid JSON", '{"msg": "cut'),
        (b"[1, 2]", "not a JSON object", "[1, 2]"),
        (b"42", "not a JSON object", "42"),
        (b'"text"', "not a JSON object", '"text"'),
        (b"null", "not a JSON object", "null"),
        (b"NaN", "not a JSON object", "NaN"),
        (b"\xff\xfehello", "invalid UTF-8", "\udcff\udcfehello"),
    ],
)
def test_not_a_record(raw: bytes, problem: str, msg: str) -> None:
    """Elements that are not JSON objects become entries with their text and a problem."""
    entry = decode(raw, "k")
    assert entry.problem == problem
    assert entry.msg == msg
    assert entry.data is None
    assert entry.fields == {}
    assert (entry.ts, entry.level, entry.levelno, entry.logger, entry.id, entry.exc) == (None,) * 6
    assert entry.raw == raw


def test_invalid_utf8_inside_an_object_keeps_the_data() -> None:
    entry = decode(b'{"msg": "caf\xe9", "levelno": 20}', "k")
    assert entry.problem == "invalid UTF-8"
    assert entry.msg == "caf\udce9"  # byte 0xe9, shown as \xe9
    assert entry.levelno == 20
    assert entry.verbatim is False


def test_byte_order_mark_is_skipped() -> None:
    entry = decode(b'\xef\xbb\xbf{"msg": "m"}', "k")
    assert entry.problem is None
    assert entry.msg == "m"
    assert entry.verbatim is False


def test_huge_integers_stay_exact() -> None:
    """orjson turns integers beyond 64 bits into floats; decode keeps them exact."""
    entry = decode(b'{"msg": "m", "trace": 340282366920938463463374607431768211455}', "k")
    assert entry.fields == {"trace": 2**128 - 1}
    assert entry.verbatim is True


def test_5000_digit_integer() -> None:
    """Beyond the int/str limit the digits are kept as text."""
    digits = "9" * 5000
    entry = decode(b'{"msg": "big", "n": ' + digits.encode() + b"}", "k")
    assert entry.problem is None
    assert entry.fields == {"n": digits}
    assert entry.verbatim is True


def test_nan_and_infinity() -> None:
    """NaN and infinities are read (as the stdlib does), so not re-emitted verbatim."""
    entry = decode(b'{"msg": "m", "a": NaN, "b": -Infinity}', "k")
    assert entry.problem is None
    assert entry.fields["b"] == float("-inf")
    assert entry.fields["a"] != entry.fields["a"]
    assert entry.verbatim is False


def test_lone_surrogate_escape() -> None:
    """orjson refuses ``\\ud800``; the stdlib yields a lone surrogate, kept."""
    entry = decode(b'{"msg": "a\\ud800b"}', "k")
    assert entry.msg == "a\ud800b"
    assert entry.problem is None


def test_deep_nesting() -> None:
    """JSON nested too deeply is a problem, not a crash."""
    entry = decode(b"[" * 100_000 + b"]" * 100_000, "k")
    assert entry.problem == "JSON nested too deeply"
    assert entry.data is None
    entry = decode(b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "k")
    assert entry.problem == "JSON nested too deeply"
    assert entry.data is None


def test_ten_megabyte_record_is_kept_whole() -> None:
    raw = orjson.dumps({"ts": T0, "msg": "x" * 10_000_000, "blob": "é" * 1_000_000})
    started = time.perf_counter()
    entry = decode(raw, "k")
    assert time.perf_counter() - started < 2
    assert len(entry.msg) == 10_000_000
    assert len(entry.fields["blob"]) == 1_000_000


def test_other_input_types() -> None:
    """bytearray, memoryview and str elements decode like bytes."""
    assert decode(bytearray(b'{"msg": "a"}'), "k").msg == "a"  # type: ignore[arg-type]
    assert decode(memoryview(b'{"msg": "b"}'), "k").msg == "b"  # type: ignore[arg-type]
    assert decode('{"msg": "c"}', "k").msg == "c"  # type: ignore[arg-type]
    assert decode(memoryview(b"[1]"), "k").raw == b"[1]"  # type: ignore[arg-type]
    assert type(decode(memoryview(b"{}"), "k").raw) is bytes  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_decode_never_raises_on_bytes(raw: bytes) -> None:
    entry = decode(raw, "k")
    assert isinstance(entry.msg, str)
    if entry.data is None:
        assert entry.problem


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["ts", "level", "levelno", "msg", "logger", "time", "event", "exc", "x", "a.b"]
        )
        | st.text(max_size=6),
        _json,
        max_size=8,
    )
)
def test_decode_never_raises_on_objects(data: dict[str, object]) -> None:
    raw = json.dumps(data).encode("utf-8", "surrogatepass")
    entry = decode(raw, "k")
    assert isinstance(entry.msg, str)
    assert entry.ts is None or isinstance(entry.ts, float)
    assert entry.levelno is None or isinstance(entry.levelno, int)
