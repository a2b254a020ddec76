"""LogRecord -> a plain dict in the redislog record schema.

One record is one JSON object.  Reserved fields:

========== ===================================================================
``ts``       epoch seconds (float) when the record was created
``level``    level name (``INFO``)
``levelno``  level number (``20``)
``logger``   logger name
``msg``      the formatted message
``host``     host name
``pid``      process id
``thread``   thread name
``task``     asyncio task name, when there is one (Python 3.12+)
``file``     source path; ``line`` and ``func`` complete the location
``exc``      formatted traceback, when the record carries an exception
``exc_type`` the exception's qualified class name
``stack``    formatted stack, when logged with ``stack_info=True``
``id``       ``<producer>:<seq>``: unique per record; readers drop repeats
``extra``    user fields whose names collide with reserved ones
``truncated`` original size in bytes, when the record was shortened
========== ===================================================================

User fields (``extra=``, structlog key-values, the handler's static ``fields``)
sit at the top level.  A user field never overwrites a reserved one: it moves
into the ``extra`` object instead.

Every record begins with :data:`HEAD`, in that order: readers rely on it.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import sys
import threading
import time
from itertools import count, islice
from typing import Any

RESERVED = frozenset(
    {
        "ts",
        "level",
        "levelno",
        "logger",
        "msg",
        "host",
        "pid",
        "thread",
        "task",
        "file",
        "line",
        "func",
        "exc",
        "exc_type",
        "stack",
        "id",
        "extra",
        "truncated",
    }
)

#: The keys every record begins with, in this order: a wire contract.  The
#: server-side pre-filter (``scripts.filtering``) and the ``stats`` fast path read
#: a record's time, level and logger from its first bytes,
#: ``{"ts":...,"level":"...","levelno":N,"logger":"..."``, without decoding
#: it.  A record that begins otherwise is still read right, only slowly.
#: ``build``, ``external`` and ``marker`` all begin so.
HEAD = ("ts", "level", "levelno", "logger")

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
# Derived from a live record because the set differs between Python versions.
_PLAIN = logging.LogRecord("", 0, "", 0, "", (), None).__dict__
_PLAIN_SIZE = len(_PLAIN)
STANDARD_ATTRS = frozenset(_PLAIN) | {"message", "asctime", "taskName"}

# A record attribute holding a dict of fields, for sources (structlog) whose
# field names may clash with LogRecord attributes such as ``name``.
FIELDS_ATTR = "redislog_fields"

HOST = socket.gethostname()

_formatter = logging.Formatter()


class Producer:
    """Issues record ids: a random producer token plus a sequence number.

    The token is renewed after ``fork()`` so parent and child never collide.
    """

    def __init__(self) -> None:
        self.renew()

    def renew(self) -> None:
        """Start a new token and sequence (called in a forked child)."""
        self.token = secrets.token_hex(6)
        self.pid = os.getpid()
        self._seq = count(1)

    def next_id(self) -> str:
        """Return the next unique record id."""
        return f"{self.token}:{next(self._seq)}"


def exc_type_name(exc_type: type[BaseException]) -> str:
    """``ValueError`` for builtins, ``package.module.Error`` otherwise."""
    module = exc_type.__module__
    if module == "builtins":
        return exc_type.__qualname__
    return f"{module}.{exc_type.__qualname__}"


def _merge(entry: dict[str, Any], key: Any, value: Any) -> None:
    if key in RESERVED:
        entry.setdefault("extra", {})[key] = value
    else:
        entry[key] = value


#: Keys of an event dict that repeat what the stdlib record says (structlog's
#: ``add_log_level``, ``add_logger_name``, ``TimeStamper``), or that are
#: structlog's bookkeeping (``ProcessorFormatter``'s ``_record``...).
EVENT_DUPLICATES = frozenset({"level", "logger", "logger_name", "timestamp"})
#: Where an event dict may hold the message, in order of preference.
EVENT_MESSAGE = ("event", "message", "msg")


def event_of(record: logging.LogRecord) -> dict[str, Any] | None:
    """The event dict structlog's ``ProcessorFormatter.wrap_for_formatter`` put
    in *record* (as ``ProcessorFormatter`` finds it), else None."""
    attrs = record.__dict__
    if isinstance(record.msg, dict) and "_logger" in attrs and "_name" in attrs:
        return record.msg
    return None


def build(
    record: logging.LogRecord,
    record_id: str,
    fields: dict[str, Any] | None = None,
    event: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Turn *record* into a dict in the record schema.

    Called in the logging thread, so the message is formatted before the
    caller can mutate its arguments.  With *event* (a structlog event dict,
    or what a JSON formatter rendered), the message comes from its ``event``
    (or ``message``, ``msg``) and its other keys become fields.
    """
    attrs = record.__dict__
    # A plain LogRecord is read through its __dict__: once extra= has added
    # keys, attribute look-ups on it miss the interpreter's fast path and cost
    # several times a dict subscript.  Subclasses (a record factory's) may
    # compute attributes or format messages their own way: ask them.
    if type(record) is _LogRecord:
        get: Any = attrs
        if event is None:
            message = attrs["msg"]
            if type(message) is not str:
                message = str(message)
            args = attrs["args"]
            if args:
                message = message % args
        else:
            message = ""
    else:
        get = _Attributes(record)
        message = record.getMessage() if event is None else ""
    entry: dict[str, Any] = {
        "ts": get["created"],
        "level": get["levelname"],
        "levelno": get["levelno"],
        "logger": get["name"],
        "msg": message,
        "host": HOST,
        "pid": get["process"],
        "thread": get["threadName"],
        "file": get["pathname"],
        "line": get["lineno"],
        "func": get["funcName"],
        "id": record_id,
    }
    task = attrs.get("taskName")
    if task is not None:
        entry["task"] = task
    exc_info = get["exc_info"]
    if exc_info and exc_info[0] is not None:
        # Cache like logging.Formatter does, so other handlers reuse the text.
        if not record.exc_text:
            record.exc_text = _formatter.formatException(exc_info)
        entry["exc"] = record.exc_text
        entry["exc_type"] = exc_type_name(exc_info[0])
    elif get["exc_text"]:
        entry["exc"] = get["exc_text"]
    stack = get["stack_info"]
    if stack:
        entry["stack"] = stack
    if fields:
        for key, value in fields.items():
            if key in RESERVED:
                entry.setdefault("extra", {})[key] = value
            else:
                entry[key] = value
    # LogRecord.__init__ sets the standard attributes first; extra= and
    # filters add theirs after, so only the tail needs a look (formatters of
    # other handlers may add "message" and "asctime" there too).
    if len(attrs) > _PLAIN_SIZE:
        kinds = _KINDS
        for key in islice(attrs, _PLAIN_SIZE, None):
            kind = kinds.get(key)
            if kind is None:
                kind = _kind(key)
            if kind is _FIELD:
                entry[key] = attrs[key]
            elif kind is _SKIP:
                continue
            elif kind is _MOVED:
                entry.setdefault("extra", {})[key] = attrs[key]
            else:  # _FIELDS
                for name, item in attrs[key].items():
                    _merge(entry, name, item)
    if event is not None:
        _unpack(entry, event)
    return entry


_LogRecord = logging.LogRecord


class _Attributes:
    """A record's attributes by subscript, for records that are not plain
    LogRecords."""

    __slots__ = ("record",)

    def __init__(self, record: logging.LogRecord) -> None:
        self.record = record

    def __getitem__(self, name: str) -> Any:
        return getattr(self.record, name)


# What build() does with a record attribute beyond the standard ones: one
# dict look-up instead of four tests per attribute.  The names seen are those
# of the application's extra= keys, so a bounded cache holds them all.
_FIELD, _SKIP, _MOVED, _FIELDS = "field", "skip", "moved", "fields"
_KINDS: dict[Any, str] = {}
_KINDS_MAX = 4096


def _kind(key: Any) -> str:
    if not isinstance(key, str):
        kind = _FIELD
    elif key in STANDARD_ATTRS or key[:1] == "_":
        kind = _SKIP
    elif key == FIELDS_ATTR:
        kind = _FIELDS
    elif key in RESERVED:
        kind = _MOVED
    else:
        kind = _FIELD
    if len(_KINDS) < _KINDS_MAX:
        _KINDS[key] = kind
    return kind


def _unpack(entry: dict[str, Any], event: dict[str, Any]) -> None:
    """Put an event dict's message, traceback and key-values into *entry*."""
    event = dict(event)
    message: Any = ""
    for name in EVENT_MESSAGE:
        if name in event:
            message = event.pop(name)
            break
    args = event.pop("positional_args", None)
    if args and isinstance(message, str):
        # As structlog's PositionalArgumentsFormatter does, when it is not in
        # the chain: "card declined %s" with its argument.
        try:
            message = message % (args[0] if len(args) == 1 and isinstance(args[0], dict) else args)
        except (TypeError, ValueError, KeyError):
            pass
    entry["msg"] = message if isinstance(message, str) else repr(message)
    # format_exc_info renders the traceback as "exception"; without it the
    # exc_info given to the call is still here.
    exception = event.pop("exception", None)
    exc_info = event.pop("exc_info", None)
    if "exc" not in entry:
        if isinstance(exception, str):
            entry["exc"] = exception
        elif exc_info:
            _add_exc_info(entry, exc_info)
    stack = event.pop("stack", None)
    if isinstance(stack, str) and "stack" not in entry:
        entry["stack"] = stack
    event.pop("stack_info", None)
    for key, value in event.items():
        if key in EVENT_DUPLICATES or (isinstance(key, str) and key[:1] == "_"):
            continue
        _merge(entry, key, value)


def _add_exc_info(entry: dict[str, Any], exc_info: Any) -> None:
    if isinstance(exc_info, str):  # already text (a JSON formatter's output)
        entry["exc"] = exc_info
        return
    if isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    elif not isinstance(exc_info, tuple):
        exc_info = sys.exc_info()  # exc_info=True: emit runs in the except block
    if len(exc_info) == 3 and exc_info[0] is not None:
        entry["exc"] = _formatter.formatException(exc_info)
        entry["exc_type"] = exc_type_name(exc_info[0])


#: Reserved fields a record relayed from elsewhere (a JSON line given to
#: ``redislog pipe``) keeps as its own: where it was made, and its traceback.
RELAYED = frozenset(
    {"host", "pid", "thread", "task", "file", "line", "func", "exc", "exc_type", "stack"}
)


def external(
    msg: str,
    level: str,
    levelno: int,
    logger: str,
    record_id: str,
    *,
    ts: float | None = None,
    fields: dict[str, Any] | None = None,
    relayed: bool = False,
) -> dict[str, Any]:
    """A record that did not come from a ``LogRecord`` (``redislog send`` and ``pipe``).

    Args:
        msg: the message.
        level: the level name.
        levelno: the level number.
        logger: the logger name.
        record_id: a unique id (see :class:`Producer`).
        ts: when it happened (default: now).
        fields: user fields; reserved names move into ``extra``.
        relayed: the fields come from a record made elsewhere: its
            :data:`RELAYED` fields replace this process's, and its ``extra``
            object is merged into this one's.
    """
    entry: dict[str, Any] = {
        "ts": time.time() if ts is None else ts,
        "level": level,
        "levelno": levelno,
        "logger": logger,
        "msg": msg,
        "host": HOST,
        "pid": os.getpid(),
        "id": record_id,
    }
    if fields:
        for key, value in fields.items():
            if relayed and key in RELAYED:
                entry[key] = value
            elif relayed and key == "extra" and isinstance(value, dict):
                entry.setdefault("extra", {}).update(value)
            else:
                _merge(entry, key, value)
    return entry


def marker(dropped: int, since: float, reason: str, record_id: str) -> dict[str, Any]:
    """A WARNING record saying *dropped* records were lost since *since*."""
    return {
        "ts": time.time(),
        "level": "WARNING",
        "levelno": logging.WARNING,
        "logger": "redislog",
        "msg": f"{dropped} log records dropped since {_iso(since)}: {reason}",
        "host": HOST,
        "pid": os.getpid(),
        "thread": threading.current_thread().name,
        "id": record_id,
        "dropped": dropped,
        "dropped_since": since,
    }


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"
