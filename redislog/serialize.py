"""Record dict <-> JSON bytes (or a Redis protocol bulk string of them).

``dumps`` never raises: values JSON cannot hold fall back to their ``repr``,
strings that are not valid UTF-8 are escaped, and a record over the size cap is
shortened with a visible marker and a ``truncated`` field.
"""

from __future__ import annotations

from typing import Any

import orjson

MAX_RECORD_BYTES = 64 * 1024

_OPTIONS = orjson.OPT_NON_STR_KEYS
_orjson_dumps = orjson.dumps
_copy = memoryview
_MAX_DEPTH = 32
_INT64 = (-(2**63), 2**64 - 1)
# Room kept for the "truncated" field and the markers themselves.
_SLACK = 256


def safe_repr(value: object) -> str:
    """``repr(value)``, or a placeholder if even that fails."""
    try:
        return _text(repr(value))
    except Exception:  # noqa: BLE001 - a broken __repr__ must not break logging
        return f"<unrepresentable {type(value).__qualname__}>"


def _text(value: str) -> str:
    # Lone surrogates cannot be encoded as UTF-8; keep them visible as \udxxx.
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _int(value: int) -> int | str:
    if _INT64[0] <= value <= _INT64[1]:
        return value
    try:
        return str(value)
    except ValueError:  # more digits than int->str conversion allows
        return f"<int of {value.bit_length()} bits>"


def _plain(value: Any, depth: int = 0) -> Any:
    """A copy of *value* that orjson can always encode."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return _int(value)
    if depth >= _MAX_DEPTH:
        return safe_repr(value)
    if isinstance(value, dict):
        return {_key(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, bytes):
        return _default(value)
    try:
        orjson.dumps(value, option=_OPTIONS)
    except Exception:  # noqa: BLE001 - anything orjson refuses becomes a repr
        return safe_repr(value)
    return value


def _key(key: Any) -> str:
    return _text(key) if isinstance(key, str) else safe_repr(key)


def _default(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return safe_repr(value)


def _encode(entry: dict[str, Any]) -> bytes:
    try:
        # Plain first: OPT_NON_STR_KEYS sends every dict down a slower path,
        # and records almost never have keys that are not strings.
        return _orjson_dumps(entry, default=_default)
    except (orjson.JSONEncodeError, TypeError, ValueError, RecursionError):
        return _encode_again(entry)


def _encode_again(entry: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(entry, default=_default, option=_OPTIONS)
    except (orjson.JSONEncodeError, TypeError, ValueError, RecursionError):
        # Surrogates, huge ints, cycles, a default() that failed: rebuild plainly.
        return orjson.dumps(_plain(entry), default=_default, option=_OPTIONS)


def dumps(entry: dict[str, Any], max_bytes: int = MAX_RECORD_BYTES) -> bytes:
    """Encode *entry* as UTF-8 JSON of at most *max_bytes* bytes."""
    # _encode inlined: this runs once per log call.
    try:
        data = _orjson_dumps(entry, default=_default)
    except (orjson.JSONEncodeError, TypeError, ValueError, RecursionError):
        data = _encode_again(entry)
    if len(data) <= max_bytes:
        # orjson's result sits in a larger block that the C allocator shrank
        # in place.  Kept by the thousand in the writer's buffer and freed a
        # batch at a time, such blocks make the allocator hand its heap back
        # to the system and fault it in again: about two page faults per
        # record, 40% of a logging call.  A copy of the right size comes
        # from Python's own allocator.
        return _copy(data).tobytes()
    return _shorten(entry, len(data), max_bytes)


def dumps_bulk(entry: dict[str, Any], max_bytes: int = MAX_RECORD_BYTES) -> bytes:
    """Encode *entry* as :func:`dumps` does, as a Redis protocol bulk string
    (``$<size>\r\n<json>\r\n``): what the handler hands its writer, which
    sends it to Redis as it is (see ``connection.Bulk``)."""
    # dumps inlined: this runs once per log call.  Framing the record makes
    # the copy of the right size that dumps makes, for the same reason.
    try:
        data = _orjson_dumps(entry, default=_default)
    except (orjson.JSONEncodeError, TypeError, ValueError, RecursionError):
        data = _encode_again(entry)
    if len(data) > max_bytes:
        data = _shorten(entry, len(data), max_bytes)
    size = len(data)
    head = _HEADS.get(size)
    if head is None:
        head = b"$%d\r\n" % size
        if size < _HEADS_MAX:
            _HEADS[size] = head
    return head + data + b"\r\n"


# The heads of bulk strings of the sizes seen, up to the sizes most records have.
_HEADS: dict[int, bytes] = {}
_HEADS_MAX = 4096


def bulk(data: bytes) -> bytes:
    """*data* as a Redis protocol bulk string."""
    return b"$%d\r\n%b\r\n" % (len(data), data)


def unbulk(item: bytes) -> bytes:
    """The bytes that the bulk string *item* holds."""
    return item[item.index(b"\n") + 1 : -2]


def bulk_size(max_bytes: int) -> int:
    """The largest bulk string of a record of at most *max_bytes* bytes."""
    return len(bulk(bytes(max_bytes)))


def _cut(text: str, keep: int) -> str:
    raw = text.encode("utf-8", "backslashreplace")
    kept = raw[: max(keep, 0)].decode("utf-8", "ignore")
    return f"{kept}…[truncated {len(raw) - len(kept.encode())} bytes]"


def _shorten(entry: dict[str, Any], size: int, max_bytes: int) -> bytes:
    """Cut the largest values until the record fits, keeping its shape."""
    short = dict(entry)
    short["truncated"] = size
    for _ in range(8):
        sizes = {k: len(_encode({"v": v})) for k, v in short.items()}
        total = sum(sizes.values())
        if total + _SLACK <= max_bytes:
            break
        name = max(sizes, key=sizes.__getitem__)
        value = short[name]
        text = value if isinstance(value, str) else safe_repr(value)
        excess = total + _SLACK - max_bytes
        short[name] = _cut(text, len(text.encode("utf-8", "backslashreplace")) - excess)
    data = _encode(short)
    if len(data) <= max_bytes:
        return data
    # Pathological shapes (thousands of small fields): keep the essentials only.
    essentials = ("ts", "level", "levelno", "logger", "id")
    core: dict[str, Any] = {k: short[k] for k in essentials if k in short}
    core["msg"] = _cut(str(short.get("msg", "")), max_bytes // 2)
    core["truncated"] = size
    return _encode(core)


def loads(data: bytes | str) -> Any:
    """Decode one JSON document (raises ``orjson.JSONDecodeError``)."""
    return orjson.loads(data)
