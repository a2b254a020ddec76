"""The record schema and its JSON encoding (no server needed)."""

from __future__ import annotations

import datetime
import decimal
import logging
import sys

import orjson
import pytest

from redislog import keys, record, serialize


def make(msg: str = "hello %s", *args: object, **extra: object) -> logging.LogRecord:
    rec = logging.getLogger("app.db").makeRecord(
        "app.db", logging.INFO, "/src/app/db.py", 42, msg, args or ("world",), None,
        func="query", extra=extra or None,
    )  # fmt: skip
    return rec


def test_reserved_fields() -> None:
    """A record carries every reserved field with the caller's values."""
    entry = record.build(make(), "p:1")
    assert entry["msg"] == "hello world"
    assert entry["level"] == "INFO"
    assert entry["levelno"] == 20
    assert entry["logger"] == "app.db"
    assert entry["file"] == "/src/app/db.py"
    assert entry["line"] == 42
    assert entry["func"] == "query"
    assert entry["id"] == "p:1"
    assert entry["host"] == record.HOST
    assert isinstance(entry["ts"], float)
    assert isinstance(entry["pid"], int)
    assert entry["thread"] == "MainThread"


def test_extras_at_top_level_and_collisions_kept_aside() -> None:
    """User fields sit at the top level; ones named like reserved fields move to extra."""
    rec = make(order_id=7, level="mine", id="spoof")
    entry = record.build(rec, "p:2", {"service": "billing", "msg": "static"})
    assert entry["order_id"] == 7
    assert entry["service"] == "billing"
    assert entry["level"] == "INFO"
    assert entry["id"] == "p:2"
    assert entry["msg"] == "hello world"
    assert entry["extra"] == {"level": "mine", "id": "spoof", "msg": "static"}


def test_a_record_subclass_keeps_its_own_message_formatting() -> None:
    """A LogRecord subclass (a record factory's) formats its message its own way."""

    class Braces(logging.LogRecord):
        def getMessage(self) -> str:
            return str(self.msg).format(*self.args)

    rec = Braces("app", logging.INFO, "/src/a.py", 3, "hello {}", ("you",), None)
    rec.order_id = 7
    entry = record.build(rec, "p:9")
    assert entry["msg"] == "hello you"
    assert entry["level"] == "INFO"
    assert entry["order_id"] == 7
    assert tuple(entry)[: len(record.HEAD)] == record.HEAD


def test_extra_keys_that_are_not_strings_are_kept() -> None:
    """extra={5: ...} (legal for logging) is a field, not a lost record."""
    rec = make()
    rec.__dict__[5] = "five"
    entry = record.build(rec, "p:1")
    assert orjson.loads(serialize.dumps(entry))["5"] == "five"


def test_exception_fields() -> None:
    """A record with an exception carries its traceback and type."""
    try:
        raise KeyError("missing")
    except KeyError:
        rec = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    entry = record.build(rec, "p:3")
    assert entry["exc_type"] == "KeyError"
    assert entry["exc"].startswith("Traceback (most recent call last):")
    assert "KeyError: 'missing'" in entry["exc"]


def test_exc_type_is_qualified_outside_builtins() -> None:
    assert record.exc_type_name(decimal.InvalidOperation) == "decimal.InvalidOperation"
    assert record.exc_type_name(ValueError) == "ValueError"


def test_message_formatted_at_emit_time() -> None:
    """Arguments mutated after the call do not change the shipped text."""
    args = ["before"]
    rec = make("value %s", args)
    entry = record.build(rec, "p:4")
    args[0] = "after"
    assert entry["msg"] == "value ['before']"


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_values_json_cannot_hold_fall_back_to_repr() -> None:
    """Odd values never raise: they become text."""
    cyclic: list[object] = []
    cyclic.append(cyclic)
    entry = {
        "obj": object(),
        "bad": Unprintable(),
        "when": datetime.datetime(2026, 1, 2, 3, 4, 5),
        "money": decimal.Decimal("1.10"),
        "raw": b"\xff\x00ok",
        "tags": {"a"},
        "huge": 10**30,
        "giant": 10**5000,
        "surrogate": "x\ud800y",
        "cyclic": cyclic,
        1: "int key",
    }
    data = serialize.dumps(entry)
    decoded = orjson.loads(data)
    assert decoded["obj"].startswith("<object object at")
    assert decoded["bad"] == "<unrepresentable Unprintable>"
    assert decoded["when"] == "2026-01-02T03:04:05"
    assert decoded["money"] == "Decimal('1.10')"
    assert decoded["huge"] == str(10**30)
    assert decoded["giant"].startswith("<int of ")
    assert decoded["surrogate"] == "x\\ud800y"
    assert decoded["tags"] == ["a"]
    assert decoded["1"] == "int key"
    assert "cyclic" in decoded


def test_oversized_record_is_shortened_with_a_marker() -> None:
    entry = record.build(make("%s", "x" * 200_000), "p:5")
    entry["small"] = "kept"
    data = serialize.dumps(entry, max_bytes=10_000)
    assert len(data) <= 10_000
    decoded = orjson.loads(data)
    assert decoded["truncated"] > 200_000
    assert "…[truncated " in decoded["msg"]
    assert decoded["small"] == "kept"
    assert decoded["id"] == "p:5"


def test_many_fields_still_fit() -> None:
    """A record of thousands of fields is cut to the size limit and keeps its id."""
    entry = {f"f{i}": "v" * 50 for i in range(2000)}
    entry.update(ts=1.0, level="INFO", levelno=20, logger="x", id="p:6", msg="m")
    data = serialize.dumps(entry, max_bytes=4096)
    assert len(data) <= 4096
    decoded = orjson.loads(data)
    assert decoded["id"] == "p:6"
    assert decoded["truncated"] > 4096


@pytest.mark.parametrize(
    "entry",
    [
        {"msg": "plain", "id": "p:7"},
        {"msg": "é\r\n$3\r\n" * 500, "id": "p:8"},  # over the cached heads' sizes
        {"msg": "x" * 200_000, "id": "p:9"},  # shortened first
        {"bad": Unprintable(), 1: b"\xff"},
    ],
    ids=["plain", "large", "shortened", "odd"],
)
def test_a_bulk_string_holds_exactly_what_dumps_encodes(entry: dict[object, object]) -> None:
    """What the handler buffers: the record dumps() encodes, framed as a Redis
    bulk string, and unbulk() gives it back."""
    data = serialize.dumps(entry, max_bytes=10_000)  # type: ignore[arg-type]
    framed = serialize.dumps_bulk(entry, max_bytes=10_000)  # type: ignore[arg-type]
    assert framed == b"$%d\r\n%b\r\n" % (len(data), data)
    assert framed == serialize.bulk(data)
    assert serialize.unbulk(framed) == data
    assert len(framed) <= serialize.bulk_size(10_000)


def test_producer_ids_are_unique_and_ordered() -> None:
    producer = record.Producer()
    first, second = producer.next_id(), producer.next_id()
    assert first != second
    assert first.split(":")[0] == second.split(":")[0]
    assert int(second.split(":")[1]) == int(first.split(":")[1]) + 1
    other = record.Producer()
    assert other.token != producer.token


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("logs:billing", "{logs:billing}:tails"),
        ("logs:{billing}", "logs:{billing}:tails"),
        ("logs:{}x", "{logs:{}x}:tails"),
    ],
)
def test_derived_keys_share_the_hash_slot(key: str, expected: str) -> None:
    assert keys.tails(key) == expected


def test_derived_keys_hash_like_the_log_key() -> None:
    from redis.crc import key_slot

    for key in ("logs:billing", "logs:{billing}", "a{b}c"):
        slot = key_slot(key.encode())
        for derived in (
            keys.tails(key),
            keys.inbox(key, "t1"),
            keys.gaps(key),
            keys.meta(key),
        ):
            assert key_slot(derived.encode()) == slot
