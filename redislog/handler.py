"""RedisHandler: a logging.Handler that never waits for Redis."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import orjson

from redislog import connection, keys, serialize
from redislog.record import Producer, build, event_of
from redislog.writer import BUFFER_BYTES, BUFFER_RECORDS, FLUSH_TIMEOUT, MAXLEN, Limits, Writer


def default_key() -> str:
    """``REDISLOG_KEY``, else ``logs:<program name>``.

    The program is the script's name (``app.py`` -> ``app``); for ``python -m
    pkg``, the module run (``pkg``, ``pkg.tool``); for ``python -c``, standard
    input and an interactive session, ``python``.
    """
    explicit = os.environ.get("REDISLOG_KEY")
    if explicit:
        return explicit
    return f"logs:{_program()}"


def _program() -> str:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", None)
    if isinstance(name, str) and name and name != "__main__":
        return name.removesuffix(".__main__")  # python -m
    argv0 = sys.argv[0] if sys.argv else ""
    if argv0 in ("", "-", "-c"):
        return "python"
    return Path(argv0).stem or "python"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, not {value!r}") from None


class RedisHandler(logging.Handler):
    """Ship each record as one JSON object to the head of a capped Redis list.

    ``emit`` only builds the record and buffers it; a background thread sends
    batches.  Redis being down, slow or frozen never blocks or raises in the
    caller.

    Args:
        key: the Redis list (``REDISLOG_KEY``, else ``logs:<program>``).
        url: Redis URL (``REDISLOG_URL``, else ``REDIS_URL``, else the
            embedded server).
        maxlen: cap of the list in records (``REDISLOG_MAXLEN``).
        fields: static fields added to every record (``service``, ``env``).
        level: the handler's level.
        buffer_records: most records held while Redis is unreachable; beyond
            it the oldest are dropped, counted and reported.
        buffer_bytes: the same bound in bytes.
        max_record_bytes: records larger than this are shortened.
        flush_timeout: seconds ``flush()`` and ``close()`` wait at most.
        socket_timeout: seconds one Redis call may take.
        connect_timeout: seconds one connection attempt may take.
        client: a ready Redis client, instead of *url*.
        flush_on_signal: deliver buffered records (within *flush_timeout*)
            when SIGTERM, SIGINT, SIGHUP or SIGQUIT ends the process with
            its default action; False leaves signal handling alone.
    """

    def __init__(
        self,
        key: str | None = None,
        url: str | None = None,
        maxlen: int | None = None,
        fields: dict[str, Any] | None = None,
        level: int | str = logging.NOTSET,
        *,
        buffer_records: int = BUFFER_RECORDS,
        buffer_bytes: int = BUFFER_BYTES,
        max_record_bytes: int = serialize.MAX_RECORD_BYTES,
        flush_timeout: float = FLUSH_TIMEOUT,
        socket_timeout: float = connection.SOCKET_TIMEOUT,
        connect_timeout: float = connection.CONNECT_TIMEOUT,
        client: connection.Client | None = None,
        flush_on_signal: bool = True,
    ) -> None:
        # Everything is checked before logging.Handler.__init__ registers the
        # handler for logging.shutdown(), which would find it half-made.
        checked_key = keys.check(key or default_key())
        maxlen = maxlen if maxlen is not None else _env_int("REDISLOG_MAXLEN", MAXLEN)
        _positive("maxlen", maxlen)
        _positive("buffer_records", buffer_records)
        _positive("buffer_bytes", buffer_bytes)
        if max_record_bytes < 1024:
            raise ValueError("max_record_bytes must be at least 1024")
        if fields is not None and not isinstance(fields, dict):
            raise TypeError("fields must be a dict of static record fields")
        target = connection.resolve(url)
        super().__init__(level)
        # A formatter of its own, so that logging.basicConfig(handlers=...)
        # does not give it the text formatter it gives handlers without one.
        self.formatter = RecordFormatter()
        self.key = checked_key
        self.maxlen = maxlen
        self.fields = dict(fields or {})
        self.max_record_bytes = max_record_bytes
        self.flush_timeout = flush_timeout
        self.target = target
        self._client = client
        self._socket_timeout = socket_timeout
        self._connect_timeout = connect_timeout
        self._producer = Producer()
        self._writer = Writer(
            self._connect,
            self.key,
            self.maxlen,
            where=connection.redact(self.target.url),
            producer=self._producer,
            limits=Limits(buffer_records, buffer_bytes, max_record_bytes, flush_timeout),
            flush_on_signal=flush_on_signal,
            bulk=True,
        )

    def _connect(self) -> connection.Client:
        if self._client is not None:
            return self._client
        if self.target.embedded:
            sys.stderr.write(
                "redislog: no REDISLOG_URL or REDIS_URL set; "
                f"logging to the embedded server at {self.target.url}\n"
            )
        return connection.connect(
            self.target,
            socket_timeout=self._socket_timeout,
            connect_timeout=self._connect_timeout,
        )

    def handle(self, record: logging.LogRecord) -> Any:
        """Filter and emit *record*, without the handler lock.

        emit() only builds the record and appends it to a deque, which needs
        no lock; and a lock taken on every call by several threads makes them
        queue behind each other whenever the GIL switches inside it.
        """
        if not self.filters:
            self.emit(record)
            return True
        result = self.filter(record)
        if isinstance(result, logging.LogRecord):  # Python 3.12+: a filter may swap it
            record = result
        if result:
            self.emit(record)
        return result

    def emit(self, record: logging.LogRecord) -> None:
        """Build the record and buffer it for the writer thread."""
        try:
            writer = self._writer
            if record.thread == writer.thread_id and _from_redis_client(record.name):
                # Logged by redis-py while the writer talks to Redis: shipping
                # it would feed the writer its own output, batch after batch.
                # (Other records in that thread, like a finalizer run by the
                # garbage collector there, are shipped as usual.)
                return
            formatter = self.formatter
            event: dict[str, Any] | None
            if type(formatter) is not RecordFormatter and formatter is not None:
                event = self._formatted(record)
            elif isinstance(record.msg, dict):  # structlog's, perhaps
                event = event_of(record)
            else:
                event = None
            entry = build(record, self._producer.next_id(), self.fields, event)
            writer.submit(serialize.dumps_bulk(entry, self.max_record_bytes))
        except RecursionError:  # as the stdlib handlers do
            raise
        except Exception:  # noqa: BLE001 - a logging call must never raise
            self.handleError(record)

    def setFormatter(self, fmt: logging.Formatter | None) -> None:
        """Use *fmt*, a formatter that renders a JSON object, for every record.

        The object's ``event`` (or ``message``, ``msg``) becomes the message
        and its other keys become fields: structlog's ``ProcessorFormatter``
        with ``JSONRenderer``, python-json-logger's ``JsonFormatter``.  A
        formatter that renders text is refused: the record would lose its
        fields to a line of text.  The default, a :class:`RecordFormatter`,
        keeps them (structlog's events included).
        """
        if fmt is not None and type(fmt) is not RecordFormatter:
            probe = logging.LogRecord("redislog", logging.INFO, __file__, 0, "probe", (), None)
            try:
                rendered = fmt.format(probe)
            except Exception as exc:  # any failure means "not usable"
                raise ValueError(
                    f"RedisHandler cannot use formatter {fmt!r}: it fails on a plain record "
                    f"({type(exc).__name__}: {exc})"
                ) from exc
            if _json_object(rendered) is None:
                raise ValueError(
                    f"RedisHandler cannot use formatter {fmt!r}: it renders text, and "
                    "RedisHandler stores each record as JSON with its fields; give it a "
                    "formatter that renders a JSON object (structlog's JSONRenderer, "
                    "python-json-logger) or none"
                )
        super().setFormatter(fmt)

    def _formatted(self, record: logging.LogRecord) -> dict[str, Any]:
        text = self.format(record)
        # A formatter set as an attribute (not through setFormatter) may
        # render text: it is the message then.
        return _json_object(text) or {"event": text}

    def flush(self, timeout: float | None = None) -> None:
        """Wait until buffered records are delivered, at most *timeout* seconds."""
        self._writer.flush(self.flush_timeout if timeout is None else timeout)

    def close(self) -> None:
        """Deliver what is buffered within ``flush_timeout``, then stop."""
        try:
            self._writer.close(self.flush_timeout)
        finally:
            super().close()

    @property
    def stats(self) -> dict[str, int]:
        """Counts of records: submitted, delivered, dropped, pending."""
        writer = self._writer
        return {
            "submitted": writer.submitted,
            "delivered": writer.delivered,
            "dropped": writer.dropped,
            "pending": writer.pending,
        }

    def __repr__(self) -> str:
        level = logging.getLevelName(self.level)
        where = connection.redact(self.target.url)
        return f"<{type(self).__name__} {self.key} at {where} ({level})>"


class RecordFormatter(logging.Formatter):
    """RedisHandler's own formatter: a record as the JSON object stored for it
    (without its ``id``, which the handler gives it when it is sent)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record in the record schema, as JSON."""
        return serialize.dumps(build(record, "", None, event_of(record))).decode()


def _json_object(text: str) -> dict[str, Any] | None:
    if not text.startswith("{"):
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _positive(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")


def _from_redis_client(logger: str) -> bool:
    return logger == "redis" or logger.startswith("redis.")
