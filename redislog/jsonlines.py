"""Records as JSON lines: what ``-o json`` prints and what the HTTP API
answers, with no dependency on the terminal's libraries.

A record is re-emitted exactly as stored when it is strict, single-line JSON,
else re-encoded: ASCII only, ``NaN`` and infinities as strings, undecodable
bytes as U+FFFD (strict parsers refuse lone surrogates).  An element that is
not a JSON object becomes ``{"raw": "<its text>", "problem": "<why>"}``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from redislog.entry import Entry, text_of
from redislog.escapes import ascii_json


def line(entry: Entry, *, show_key: bool = False) -> str:
    """*entry* as one JSON line (with its newline); with *show_key*, the
    object starts with ``"logkey": "<the log key>"``."""
    head = {"logkey": entry.key} if show_key else {}
    # Undecodable bytes (lone surrogates in the entry) become U+FFFD:
    # strict JSON parsers refuse lone surrogates.
    repair = entry.problem == "invalid UTF-8"
    if entry.data is None:
        msg = _repaired(entry.msg) if repair else entry.msg
        return dumps({**head, "raw": msg, "problem": entry.problem}) + "\n"
    raw = entry.raw
    if isinstance(raw, (bytearray, memoryview)):
        raw = bytes(raw)
    if (
        entry.verbatim
        and isinstance(raw, bytes)
        and b"\n" not in raw
        and b"\r" not in raw
        and b"\t" not in raw
    ):
        # Strict JSON on one line: re-emit the record exactly as stored.
        try:
            text = raw.decode("utf-8").strip(" ")
        except UnicodeDecodeError:
            text = ""
        if not text.isascii() or "\x7f" in text:
            text = ascii_json(text)
        if text.startswith("{") and text.endswith("}"):
            if head:
                body = text[1:].lstrip(" ")
                comma = "" if body.startswith("}") else ","
                text = f'{{"logkey":{dumps(entry.key)}{comma}{body}'
            return text + "\n"
    try:
        return dumps({**head, **_jsonable(entry.data, repair)}) + "\n"
    except (ValueError, TypeError, RecursionError):
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        return dumps({**head, "raw": text, "problem": "cannot encode as JSON"}) + "\n"


def dumps(value: Any) -> str:
    """*value* as strict, single-line, ASCII-only JSON."""
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def strict(value: Any) -> str:
    """*value* (a command's result: counts, names) as :func:`dumps` writes
    it, with non-finite floats as strings and undecodable bytes as U+FFFD."""
    return dumps(_jsonable(value, repair=True))


def _jsonable(value: Any, repair: bool = False) -> Any:
    """*value* with non-finite floats spelled as strings, for strict JSON
    (with *repair*, undecodable bytes as U+FFFD)."""
    if isinstance(value, float) and not math.isfinite(value):
        return text_of(value)
    if isinstance(value, dict):
        return {_jsonable(str(k), repair): _jsonable(v, repair) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v, repair) for v in value]
    if repair and isinstance(value, str):
        return _repaired(value)
    return value


def _repaired(text: str) -> str:
    """*text* with undecodable bytes (U+DC80..U+DCFF) as U+FFFD."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate that no undecodable byte made
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
