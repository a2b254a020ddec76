"""One raw list element -> a normalized :class:`Entry`.

``decode`` turns whatever bytes a log list holds into an ``Entry`` and never
raises.  It understands redislog's own schema (see ``record.py``) and the
usual shapes of other JSON loggers:

============ =============================================================
role         keys tried, in order (the first usable one wins)
============ =============================================================
time         ``ts``, ``timestamp``, ``@timestamp``, ``time``, ``created``,
             ``asctime``: epoch seconds, milli-, micro- or nanoseconds, or
             an ISO 8601 string (no zone means local time)
level        ``level``, ``levelname``, ``severity``, ``lvl``, ``log.level``:
             a name in any case, or a number; plus ``levelno``
logger       ``logger``, ``logger_name``, ``log.logger``; ``name`` for
             python-json-logger and bunyan records
message      ``msg``, ``message``, ``event``, ``log``
traceback    ``exc``, ``exception``, ``exc_info``, ``stack_trace``,
             ``traceback``; ``stack``, ``stack_info`` for stacks
record id    ``id``, in redislog's own records (elsewhere ``id`` is a field)
============ =============================================================

A key only counts as its role when its value makes sense there: a ``ts`` of
``"yesterday"`` leaves the time unknown and stays visible among the fields.

Elements that are not JSON objects (plain text, invalid JSON, arrays,
numbers, invalid UTF-8, JSON nested too deeply) become entries with
``data=None``, their text in ``msg`` and a short reason in ``problem``.
An object whose bytes were not valid UTF-8 keeps its data and has
``problem="invalid UTF-8"``.  Undecodable bytes become lone surrogates
(``surrogateescape``: byte 0xff is U+DCFF), so that the viewer can show
which bytes they were (``\xff``).  An object with raw control characters
inside its strings (strict JSON forbids them, other programs write them) is
still read, leniently, as a record.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from redislog import levels

_TS_KEYS = ("ts", "timestamp", "@timestamp", "time", "created", "asctime")
_LEVEL_KEYS = ("level", "levelname", "severity", "lvl", "log.level")
_LOGGER_KEYS = ("logger", "logger_name", "log.logger")
_MSG_KEYS = ("msg", "message", "event", "log")
_EXC_KEYS = ("exc", "exception", "exc_info", "stack_trace", "traceback")
_STACK_KEYS = ("stack", "stack_info")

# Present on every line and rarely interesting: kept in ``data`` (so filters
# see them) but out of ``fields`` (so they are not displayed).
_REDISLOG_NOISE = frozenset(
    {"host", "pid", "thread", "task", "file", "line", "func", "exc_type", "levelno"}
)
# The same for records written by other loggers.  Not applied to redislog
# records, whose user fields may legitimately use these names.
_FOREIGN_NOISE = _REDISLOG_NOISE | {
    "hostname",
    "thread_name",
    "threadName",
    "taskName",
    "filename",
    "lineno",
    "funcName",
    "func_name",
    "pathname",
    "process",
    "processName",
    "process_name",
    "level_value",
    "@version",
}
# Fields that repeat what the record's line shows: uvicorn's copy of the
# message with colour codes in it.
_REPEATS = frozenset({"color_message"})
# Celery's task failures carry their context in "data", with the exception
# and its traceback again: shown once, under the record.
_CELERY_REPEATS = frozenset({"exc", "traceback"})

# Epoch values at or above this are taken as milli-, micro- or nanoseconds.
_MAX_SECONDS = 1e11
# Floats outside this range may be integers that orjson could not hold exactly.
_EXACT_FLOATS = (-9.2e18, 1.8e19)

_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9})\d*)?)?)?"
    r"\s*(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?"
)


@dataclass(slots=True)
class Entry:
    """One list element, decoded and normalized for filtering and display."""

    key: str
    raw: bytes
    data: dict[str, Any] | None
    ts: float | None
    level: str | None
    levelno: int | None
    logger: str | None
    msg: str
    id: str | None
    exc: str | None
    fields: dict[str, Any]
    problem: str | None
    stack: str | None = None
    #: ``raw`` is exactly one strict JSON object, so it can be re-emitted as is.
    verbatim: bool = False
    #: The keys of ``data`` read as the time, level, logger, message,
    #: traceback, stack or record id (the rest are the record's own fields).
    roles: frozenset[str] | set[str] = frozenset()


def decode(raw: bytes, key: str) -> Entry:
    """Decode one list element of log *key*.

    Never raises: whatever the bytes, the result is an ``Entry`` (with a
    ``problem`` when they are not a well-formed record).
    """
    try:
        return _decode(raw, key)
    except Exception:  # noqa: BLE001 - a viewer must survive any element
        text = bytes(raw).decode("utf-8", "surrogateescape") if _is_bytes(raw) else repr(raw)
        return _broken(raw, key, text, "undecodable record")


def _is_bytes(raw: object) -> bool:
    return isinstance(raw, (bytes, bytearray, memoryview))


def _decode(raw: bytes, key: str) -> Entry:
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    elif not isinstance(raw, bytes):
        raw = bytes(raw)
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _slow(raw, key)
    if type(obj) is not dict:
        return _broken(raw, key, raw.decode("utf-8"), "not a JSON object")
    lo, hi = _EXACT_FLOATS
    for value in obj.values():
        if type(value) is float and not lo < value < hi:
            # orjson turns integers beyond 64 bits into floats; the stdlib
            # keeps them exact.
            return _slow(raw, key)
    return _record(raw, key, obj, None, verbatim=True)


def _slow(raw: bytes, key: str) -> Entry:
    """The stdlib path: invalid UTF-8, huge integers, NaN, invalid JSON."""
    problem = None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "surrogateescape")
        problem = "invalid UTF-8"
    bom = text.startswith("\ufeff")
    if bom:
        text = text[1:]
    constants: list[str] = []

    def constant(name: str) -> float:
        constants.append(name)
        return float(name)

    lenient = False
    try:
        try:
            obj = json.loads(text, parse_int=_parse_int, parse_constant=constant)
        except ValueError:
            # Raw control characters in strings: not strict JSON, but plainly
            # meant as a record.
            obj = json.loads(text, parse_int=_parse_int, parse_constant=constant, strict=False)
            lenient = True
    except RecursionError:
        return _broken(raw, key, text, problem or "JSON nested too deeply")
    except ValueError:
        if problem is None:
            start = text.lstrip()[:1]
            problem = "invalid JSON" if start in ("{", "[") else "not JSON"
        return _broken(raw, key, text, problem)
    if type(obj) is not dict:
        return _broken(raw, key, text, problem or "not a JSON object")
    verbatim = not (problem or bom or constants or lenient)
    return _record(raw, key, obj, problem, verbatim=verbatim)


def _parse_int(digits: str) -> int | str:
    try:
        return int(digits)
    except ValueError:  # beyond the int/str conversion limit: keep the digits
        return digits


def _broken(raw: Any, key: str, text: str, problem: str) -> Entry:
    return Entry(key, raw, None, None, None, None, None, text, None, None, {}, problem)


def _record(
    raw: bytes, key: str, data: dict[str, Any], problem: str | None, *, verbatim: bool
) -> Entry:
    used: set[str] = set()

    ts = None
    for name in _TS_KEYS:
        if name in data:
            ts = timestamp(data[name])
            if ts is not None:
                used.add(name)
                break

    level, levelno = _level(data, used)

    logger = _first_text(data, _LOGGER_KEYS, used, numbers=True)
    if logger is None and "name" in data and ("levelname" in data or "v" in data):
        # python-json-logger and bunyan call the logger "name".
        logger = _first_text(data, ("name",), used, numbers=True)

    msg = ""
    for name in _MSG_KEYS:
        if name in data:
            value = data[name]
            msg = value if type(value) is str else ("" if value is None else text_of(value))
            used.add(name)
            break

    # In other loggers' records, "id" is more likely a user field.
    ours = "levelno" in data and "ts" in data and "msg" in data
    record_id = _first_text(data, ("id",), used, numbers=True) if ours else None
    exc = _first_text(data, _EXC_KEYS, used)
    stack = _first_text(data, _STACK_KEYS, used)

    noise = _REDISLOG_NOISE if ours else _FOREIGN_NOISE
    fields = {
        k: v for k, v in data.items() if k not in used and k not in noise and k not in _REPEATS
    }
    if exc and isinstance(fields.get("data"), dict):
        fields["data"] = {k: v for k, v in fields["data"].items() if k not in _CELERY_REPEATS}
    return Entry(
        key,
        raw,
        data,
        ts,
        level,
        levelno,
        logger,
        msg,
        record_id,
        exc,
        fields,
        problem,
        stack,
        verbatim,
        used,
    )


def _first_text(
    data: dict[str, Any], names: Iterable[str], used: set[str], *, numbers: bool = False
) -> str | None:
    for name in names:
        if name in data:
            value = data[name]
            if type(value) is str:
                used.add(name)
                return value
            if numbers and type(value) in (int, float):
                used.add(name)
                return text_of(value)
    return None


def _level(data: dict[str, Any], used: set[str]) -> tuple[str | None, int | None]:
    levelno = None
    value = data.get("levelno")
    if type(value) is int:
        levelno = value
        used.add("levelno")
    elif type(value) is float and value.is_integer():
        levelno = int(value)
        used.add("levelno")

    level = None
    for name in _LEVEL_KEYS:
        if name not in data:
            continue
        value = data[name]
        if type(value) is str:
            number = _int_text(value)
            if number is None:
                level = levels.canonical(value)
                if level:
                    used.add(name)
                    if levelno is None:
                        levelno = levels.NUMBERS.get(level)
                    break
                continue
            value = number
        if type(value) is float and value.is_integer():
            value = int(value)
        if type(value) is int:
            used.add(name)
            if levelno is None:
                pino = name == "level" and ("hostname" in data or "v" in data)
                levelno = levels.from_pino(value) if pino else value
            break
    if level is None and levelno is not None:
        level = levels.label(levelno)
    return level, levelno


def _int_text(text: str) -> int | None:
    text = text.strip()
    if text.isdigit() and len(text) < 10:
        return int(text)
    return None


def timestamp(value: Any) -> float | None:
    """Epoch seconds from an epoch number (s, ms, us or ns) or an ISO 8601 string."""
    kind = type(value)
    if kind is float or kind is int:
        number = float(value)
    elif kind is str:
        try:
            number = float(value)
        except ValueError:
            return parse_iso(value)
    else:
        return None
    if not math.isfinite(number):
        return None
    for _ in range(3):
        if abs(number) < _MAX_SECONDS:
            break
        number /= 1000
    return number if 0 <= number < _MAX_SECONDS else None


def parse_iso(text: str) -> float | None:
    """Epoch seconds from an ISO 8601 date or date-time, else None.

    Accepts ``2026-11-26``, ``2026-11-26T01:02:03``, a ``.`` or ``,`` fraction,
    a space instead of ``T``, and ``Z`` or ``+HH:MM`` / ``+HHMM`` / ``+HH``.
    Without a zone, the time is local.
    """
    if len(text) > 64:
        return None
    match = _ISO.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, frac, zulu, sign, oh, om = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int(frac.ljust(6, "0")[:6]) if frac else 0,
        )
        if zulu:
            moment = moment.replace(tzinfo=timezone.utc)
        elif sign:
            offset = timedelta(hours=int(oh), minutes=int(om or 0))
            if offset >= timedelta(hours=24):
                return None
            moment = moment.replace(tzinfo=timezone(-offset if sign == "-" else offset))
        return moment.timestamp()
    except (ValueError, OverflowError, OSError):
        return None


def text_of(value: Any) -> str:
    """The natural text of a JSON value: ``true``, ``null``, ``42``, compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        if math.isfinite(value):
            return repr(value)
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, int):
        try:
            return str(value)
        except ValueError:  # beyond the int/str conversion limit
            return f"<int of {value.bit_length()} bits>"
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, TypeError):
        pass
    try:
        return json.dumps(value, ensure_ascii=False, default=repr)
    except (ValueError, RecursionError):
        return f"<unprintable {type(value).__name__}>"
