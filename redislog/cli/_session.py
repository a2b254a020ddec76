"""What every command shares: one-line failures, notices on stderr, and the
server in use."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import NoReturn

import redis
import typer

from redislog import connection, embedded, ingest, reader, retention
from redislog.escapes import escape
from redislog.reader import Notify

#: Socket timeout of the one-shot commands' connections (``ls``, ``send``...).
COMMAND_TIMEOUT = 5.0

# The package's own errors whose text is already the one line to show.
_ONE_LINE = (reader.ReaderError, retention.RetentionError, ingest.IngestError)


class _Stderr:
    """stderr, which may hold an unfinished progress line."""

    progress_shown = False

    @classmethod
    def line(cls, text: str, *, end: str = "\n") -> None:
        """Write ``redislog: <text>`` (escaped), over any progress line."""
        cls.clear()
        sys.stderr.write(f"redislog: {escape(text, newlines=True)}{end}")
        sys.stderr.flush()

    @classmethod
    def clear(cls) -> None:
        if cls.progress_shown:
            cls.progress_shown = False
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


#: Exit statuses, as grep's: something found, nothing found, an error.
FOUND, NOTHING, ERROR = 0, 1, 2
#: Ctrl-C (128 + SIGINT).
INTERRUPTED = 130


def fail(message: str, code: int = ERROR) -> NoReturn:
    """Print one line on stderr and exit with *code* (an error, by default)."""
    _Stderr.line(message)
    raise typer.Exit(code)


@contextlib.contextmanager
def failing(what: str, *also: type[BaseException]) -> Iterator[None]:
    """Turn a failure inside into one line on stderr and an exit status: 1
    when there was nothing to read (no such log key), else 2.

    A Redis error (and any of *also*) reads ``<what>: <why>``; the package's
    own one-line errors (no such key, the list moved...) read as they are.
    """
    failures: tuple[type[BaseException], ...] = (*connection.ERRORS, *also)
    try:
        yield
    except BrokenPipeError:
        raise  # stdout closed: not a Redis failure (see output_guard)
    except reader.MissingLog as exc:
        fail(str(exc), NOTHING)
    except _ONE_LINE as exc:
        fail(str(exc))
    except redis.AuthenticationError as exc:
        fail(f"{what}: authentication failed: {connection.describe(exc)}")
    except failures as exc:
        fail(f"{what}: {connection.describe(exc)}")


class Notices:
    """One-line notices on stderr, escaped; silent with --quiet."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def __call__(self, message: str) -> None:
        if not self.quiet:
            _Stderr.line(message)

    def progress(self, message: str) -> None:
        """Overwrite the last progress line (terminal only)."""
        if not self.quiet:
            sys.stderr.write("\r\x1b[K")
            _Stderr.progress_shown = False
            _Stderr.line(message, end="")
            _Stderr.progress_shown = True

    @staticmethod
    def clear() -> None:
        """Remove a progress line, before other output."""
        _Stderr.clear()

    def reporter(self, say: Callable[[reader.Progress], str]) -> Callable[[reader.Progress], None]:
        """A window callback that shows how far a long scan got, on a terminal
        only, after its first second and at most five times a second."""
        started = time.monotonic()
        shown_at = 0.0
        # Only when nothing else can be on that terminal's last line: stdout
        # into a pager (| less -R) would have its prompt overwritten.
        live = not self.quiet and sys.stderr.isatty() and sys.stdout.isatty()

        def on_window(progress: reader.Progress) -> None:
            nonlocal shown_at
            now = time.monotonic()
            if live and now - started > 1.0 and now - shown_at > 0.2:
                shown_at = now
                self.progress(say(progress))

        return on_window


@dataclass
class Session:
    """The server a command talks to, and where its notices go."""

    client: connection.Client
    target: connection.Target
    notices: Notices

    @classmethod
    def open(
        cls, url: str | None, *, quiet: bool = False, socket_timeout: float = COMMAND_TIMEOUT
    ) -> Session:
        """Connect and check the server answers; exit with one line if not."""
        try:
            target = connection.resolve(url)
        except ValueError as exc:
            fail(str(exc), 2)
        with failing(f"cannot reach {target.describe()}", embedded.EmbeddedError, ValueError):
            try:
                client = connection.connect(target, socket_timeout=socket_timeout)
                with contextlib.suppress(redis.exceptions.NoPermissionError):
                    # A user without PING (the README's writer): the server did answer.
                    client.ping()
            except redis.AuthenticationError as exc:
                fail(f"authentication failed at {target.describe()}: {connection.describe(exc)}")
        return cls(client, target, Notices(quiet))

    @property
    def where(self) -> str:
        """The server's URL (password masked) and where it came from."""
        return self.target.describe()

    @property
    def local(self) -> bool:
        """Whether the server runs on this machine (see ``Target.local``);
        exit with one line if ``REDISLOG_LOCAL`` says neither yes nor no."""
        try:
            return self.target.local
        except ValueError as exc:
            fail(str(exc), 2)

    def logs(self, patterns: Sequence[str] | None, *, waiting: Notify | None = None) -> list[str]:
        """The log keys *patterns* name (see ``reader.find``); exit if none,
        unless *waiting* for them (which then hears what is awaited)."""
        with failing("cannot list log keys"):
            return reader.find(self.client, patterns or (), self.notices, waiting=waiting)

    def announce(self, doing: str, names: Sequence[str]) -> None:
        """Say which server is in use: an app and a viewer must not silently differ."""
        shown = ", ".join(names[:3]) or "logs"
        if len(names) > 3:
            shown += f" and {len(names) - 3} more"
        verb, _, preposition = doing.partition(" ")
        self.notices(f"{verb} {shown} {preposition} {self.where}")

    def link(self) -> reader.Link:
        """How a reader reaches this server, again after every fault."""
        connect = connection.Connector(self.target, self.client)
        return reader.Link(self.client, connect, where=self.where, notify=self.notices)


@contextlib.contextmanager
def output_guard() -> Iterator[None]:
    """End quietly when stdout is closed (``| head``)."""
    try:
        yield
    except BrokenPipeError:
        silence_stdout()
        raise typer.Exit(0) from None


def silence_stdout() -> None:
    """Point stdout at /dev/null: Python flushes it at exit, and after EPIPE
    that would raise again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def exit_on_sigterm() -> None:
    """End with status 143 on SIGTERM, through the usual clean-up."""

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise typer.Exit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)


def records(count: int) -> str:
    """``1 record``, ``1,234 records``."""
    return f"{count:,} record{'' if count == 1 else 's'}"


def clock(ts: float, *, utc: bool = False) -> str:
    """*ts* as ``2026-11-26 04:50:57`` (local time, or UTC with a ``Z``)."""
    moment = time.gmtime(ts) if utc else time.localtime(ts)
    return time.strftime("%Y-%m-%d %H:%M:%S", moment) + ("Z" if utc else "")
