"""Records from outside Python: ``redislog send`` and ``redislog pipe``.

Both write redislog's own record schema (``record.external``) and store it
through the writer's ``PUSH`` script, so the list's cap, its ``meta`` hash, the
index of log keys and live tails all see these records as they see the
handler's.

``send`` builds one record from a message and ``key=value`` fields and stores
it at once, through the writer's own call of the script (an error is the
caller's to report).  ``pipe``
turns each line of a stream into a record and hands it to a
:class:`~redislog.writer.Writer`, the handler's own batching writer; reading
waits whenever the writer falls behind, so a fast producer is slowed down
rather than records dropped.

A line that is a JSON object stays structured: its message, level, time,
logger and traceback are recognised as the viewer recognises them
(``entry.decode``), and its other keys become fields.  Any other line is the
message; bytes that are not UTF-8 are kept as ``\\xNN`` escapes.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import math
import os
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

import redis

from redislog import connection, keys, levels, record, scripts, serialize, writer
from redislog.entry import decode

#: Records handed to the writer but not yet stored, before reading waits.
MAX_PENDING = 20 * writer.BATCH_RECORDS
#: Bytes of such records before reading waits.
MAX_PENDING_BYTES = 32 * 1024 * 1024
#: A line longer than this (bytes) is cut: each piece becomes a record.
LINE_MAX = 1024 * 1024
_READ = 64 * 1024

_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None}
_INT64 = (-(2**63), 2**63 - 1)


class IngestError(ValueError):
    """Input that cannot become a record; ``str(exc)`` is one line for the user."""


def parse_level(text: str) -> tuple[str, int]:
    """The name and number of one level: ``error``, ``warn``, ``e``, ``40``...

    The name is the one the viewer shows for that record (``levels.label``),
    or the level's own name when it has one (``notice``).

    Raises:
        IngestError: *text* is not a level.
    """
    levelno = None if ".." in text else levels.number(text)  # a range selects levels
    if levelno is None:
        raise IngestError(
            f"bad level {text!r}: use debug, info, warning, error or critical "
            "(or d/i/w/e/c, or a number)"
        )
    name = levels.canonical(text)
    if name not in levels.NUMBERS:
        name = levels.label(levelno)
    return name, levelno


def default_logger() -> str:
    """The user's login name, as ``logger(1)`` tags its messages."""
    try:
        return getpass.getuser() or "shell"
    except (OSError, KeyError, ImportError):  # no user database entry (containers)
        return "shell"


def typed(text: str) -> Any:
    """The JSON value *text* spells: ``42``, ``0.97``, ``true``, ``false``, ``null``;
    ``"007"`` (quotes included) for the string ``007``; else *text* itself.

    Only plain JSON spellings count: ``007``, ``1.``, ``NaN`` or ``1e999``
    stay strings.
    """
    if text in _LITERALS:
        return _LITERALS[text]
    if _INT.fullmatch(text):
        try:
            number = int(text)
        except ValueError:  # beyond the int/str conversion limit
            return text
        return number if _INT64[0] <= number <= _INT64[1] else text
    if _FLOAT.fullmatch(text):
        value = float(text)
        return value if math.isfinite(value) else text
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            value = json.loads(text)
        except ValueError:
            return text
        if isinstance(value, str):
            return value
    return text


def parse_fields(pairs: Iterable[str]) -> dict[str, Any]:
    """``key=value`` words -> fields, values typed (see :func:`typed`).

    Raises:
        IngestError: a word has no ``=`` or no key.
    """
    fields: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise IngestError(f"bad field {pair!r}: use key=value")
        fields[name] = typed(value)
    return fields


def check_key(client: connection.Client, key: str) -> int | None:
    """The cap stored for *key* (its ``meta`` hash), if any.

    Raises:
        IngestError: *key* cannot name a log, or holds another Redis type.
    """
    try:
        keys.check(key)
    except ValueError as exc:
        raise IngestError(str(exc)) from None
    pipe = client.pipeline(transaction=False)
    pipe.type(key)
    pipe.hget(keys.meta(key), "maxlen")
    kind, maxlen = pipe.execute(raise_on_error=False)
    # A writer that may only append (see the README's ACL users) cannot look:
    # the push script still refuses a key of another type.
    if isinstance(kind, redis.exceptions.NoPermissionError):
        kind = "none"
    if isinstance(maxlen, redis.exceptions.NoPermissionError):
        maxlen = None
    for reply in (kind, maxlen):
        if isinstance(reply, Exception):
            raise reply
    kind = kind.decode() if isinstance(kind, bytes) else str(kind)
    if kind not in ("list", "none"):
        raise IngestError(f"'{key}' holds a Redis {kind}, not a log list")
    if maxlen is not None and maxlen.isdigit() and int(maxlen) > 0:
        return int(maxlen)
    return None


def push(
    client: connection.Client, key: str, maxlen: int, data: list[bytes], token: str
) -> list[str]:
    """Store encoded records (oldest first) now, as the writer does
    (``scripts.store``), and add *key* to the index.

    Returns what went wrong once the records were stored: trimming, feeding
    live tails, the index.

    Raises:
        redis.RedisError: nothing was stored.
    """
    stored = scripts.store(client, key, data, maxlen=maxlen, token=token, batch=1, index=True)
    # A single attempt: nothing will be resent, so no batch number to remember
    # (a user who may not delete leaves it to expire).
    with contextlib.suppress(redis.RedisError):
        client.delete(keys.seen(key, token))
    if stored.unindexed is None:
        return list(stored.problems)
    return [*stored.problems, stored.unindexed]


class Lines:
    """Turns lines of text into encoded records.

    Args:
        level: name and number of lines that give no level.
        logger: logger of lines that give none.
        producer: issues the record ids.
        max_bytes: records larger than this are shortened.
    """

    def __init__(
        self,
        level: tuple[str, int],
        logger: str,
        producer: record.Producer,
        max_bytes: int = serialize.MAX_RECORD_BYTES,
    ) -> None:
        self.level, self.levelno = level
        self.logger = logger
        self.producer = producer
        self.max_bytes = max_bytes

    def encode(self, line: bytes) -> bytes:
        """The record for one line (without its newline), encoded."""
        if line[-1:] == b"\r":
            line = line[:-1]
        start = line[:1]
        if start == b"{" or (start in (b" ", b"\t") and line.lstrip()[:1] == b"{"):
            entry = self._structured(line)
            if entry is not None:
                return serialize.dumps(entry, self.max_bytes)
        entry = record.external(
            line.decode("utf-8", "backslashreplace"),
            self.level,
            self.levelno,
            self.logger,
            self.producer.next_id(),
        )
        return serialize.dumps(entry, self.max_bytes)

    def _structured(self, line: bytes) -> dict[str, Any] | None:
        found = decode(line, "")
        if found.problem == "invalid UTF-8":
            # The viewer keeps undecodable bytes (as lone surrogates) to show
            # them; a stored record must be valid UTF-8: U+FFFD instead.
            found = decode(line.decode("utf-8", "replace").encode(), "")
        data = found.data
        if data is None:
            return None
        fields = {k: v for k, v in data.items() if k not in found.roles}
        for name, value in (("exc", found.exc), ("stack", found.stack), ("id", found.id)):
            if value is not None:
                fields[name] = value
        levelno = found.levelno
        return record.external(
            found.msg,
            found.level or self.level,
            self.levelno if levelno is None else levelno,
            self.logger if found.logger is None else found.logger,
            self.producer.next_id(),
            ts=found.ts,
            fields=fields,
            relayed=True,
        )


def pipe(
    source: int,
    sink: writer.Writer,
    lines: Lines,
    tee: Callable[[bytes], None] | None = None,
) -> int:
    """Submit a record for every line read from file descriptor *source*.

    Reads until end of file; waits whenever the writer holds more than
    :data:`MAX_PENDING` records (or :data:`MAX_PENDING_BYTES`) not yet stored.  With
    *tee*, every chunk read is passed to it before its lines are submitted.
    Returns the number of lines.
    """
    count = 0
    rest = b""
    encode, submit = lines.encode, sink.submit
    while True:
        chunk = os.read(source, _READ)
        if not chunk:
            break
        if tee is not None:
            tee(chunk)
        parts = (rest + chunk if rest else chunk).split(b"\n")
        rest = parts.pop()
        for line in parts:
            if len(line) > LINE_MAX:
                _cut(line, submit, encode)
            else:
                submit(encode(line))
        count += len(parts)
        if len(rest) > LINE_MAX:  # no end in sight: hold one piece at most
            keep = len(rest) % LINE_MAX or LINE_MAX
            _cut(rest[:-keep], submit, encode)
            rest = rest[-keep:]
        _wait(sink)
    if rest:
        submit(encode(rest))
        count += 1
    return count


def _cut(line: bytes, submit: Callable[[bytes], None], encode: Callable[[bytes], bytes]) -> None:
    for start in range(0, len(line), LINE_MAX):
        submit(encode(line[start : start + LINE_MAX]))


def _wait(sink: writer.Writer) -> None:
    """Let the writer catch up (slowing the producer down, never dropping)."""
    while sink.pending > MAX_PENDING or sink.buffered_bytes > MAX_PENDING_BYTES:
        time.sleep(0.002)
