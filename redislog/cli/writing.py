"""Writing records from outside Python: ``send`` and ``pipe``."""

from __future__ import annotations

import contextlib
import sys
from typing import Annotated

import typer

from redislog import connection, ingest, keys, record, serialize, writer
from redislog.cli._app import app
from redislog.cli._options import UrlOption, Writing, grouped, log_key
from redislog.cli._session import (
    ERROR,
    INTERRUPTED,
    Session,
    exit_on_sigterm,
    fail,
    failing,
    silence_stdout,
)
from redislog.escapes import escape

#: Seconds a Ctrl-C'd pipe gives the writer to store what it read.
_INTERRUPTED_FLUSH = 0.1

KeyArgument = Annotated[
    str, typer.Argument(metavar="KEY", help="The log key (a Redis list)", show_default=False)
]


def _open(url: str | None, *, quiet: bool, announce: bool) -> Session:
    """Connect; with *announce*, say so when the records go to the embedded server."""
    session = Session.open(url, quiet=quiet)
    if announce and session.target.embedded:
        session.notices(
            "no REDISLOG_URL or REDIS_URL set; writing to the embedded server "
            f"at {session.target.url}"
        )
    return session


def _cap(session: Session, key: str, maxlen: int | None) -> int:
    """The cap to write *key* with: *maxlen*, else the log's own, else the
    default; exit if *key* cannot take records."""
    with failing(f"cannot write to {session.where}"):
        stored = ingest.check_key(session.client, key)
    return maxlen or stored or writer.MAXLEN


@app.command()
@grouped
def send(
    key: KeyArgument,
    message: Annotated[str, typer.Argument(metavar="MESSAGE", help="The message")],
    fields: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[KEY=VALUE]...",
            help="Fields; values spelled like numbers, true, false or null are typed",
            show_default=False,
        ),
    ] = None,
    *,
    writing: Writing,
    url: UrlOption = None,
) -> None:
    """Write one record, like logger(1): redislog send logs:cron "backup done" -p info files=12"""
    log_key(key)
    name, levelno = writing.level_of_records()
    try:
        extra = ingest.parse_fields(fields or ())
    except ingest.IngestError as exc:
        fail(str(exc), 2)
    # Silent on success, as cron wants: which server is in use is for `info`
    # and the viewer to say.
    session = _open(url, quiet=writing.quiet, announce=False)
    cap = _cap(session, key, writing.maxlen)
    producer = record.Producer()
    entry = record.external(
        message, name, levelno, writing.logger_of_records(), producer.next_id(), fields=extra
    )
    with failing(f"cannot write to {session.where}"):
        problems = ingest.push(session.client, key, cap, [serialize.dumps(entry)], producer.token)
    for problem in problems:
        session.notices(f"warning: {' '.join(problem.split())}")


@app.command()
@grouped
def pipe(
    key: KeyArgument,
    *,
    writing: Writing,
    tee: Annotated[bool, typer.Option("--tee", help="Also copy the input to stdout")] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            min=0,
            help="At the end of input, wait this long at most for the last records to be stored",
        ),
    ] = writer.FLUSH_TIMEOUT,
    url: UrlOption = None,
) -> None:
    """Write every line of stdin as a record, like systemd-cat: make 2>&1 | redislog pipe logs:build

    A line that is a JSON object keeps its message, level, time, logger and
    fields; -p and -l apply to the other lines.  Exits non-zero if records
    could not be stored.
    """
    log_key(key)
    level = writing.level_of_records()
    session = _open(url, quiet=writing.quiet, announce=True)
    cap = _cap(session, key, writing.maxlen)
    target = session.target
    producer = record.Producer()
    sink = writer.Writer(
        lambda: connection.connect(target),
        key,
        cap,
        where=connection.redact(target.url),
        producer=producer,
    )
    lines = ingest.Lines(level, writing.logger_of_records(), producer)
    copy = _Tee() if tee else None
    exit_on_sigterm()
    code = 0
    try:
        ingest.pipe(sys.stdin.fileno(), sink, lines, copy)
    except KeyboardInterrupt:
        code = INTERRUPTED
        # Ctrl-C ends the command at once: what is not stored by then is
        # reported (by the writer, on stderr), not waited for.
        timeout = min(timeout, _INTERRUPTED_FLUSH)
    except typer.Exit as exc:
        code = exc.exit_code
    except OSError as exc:
        sys.stderr.write(f"redislog: cannot read stdin: {escape(str(exc))}\n")
        code = ERROR
    finally:
        # Whatever ended the input, what was read is stored or reported.
        sink.close(timeout)
    if copy is not None and copy.broken:
        silence_stdout()
    if sink.pending:
        raise typer.Exit(code if code == INTERRUPTED else ERROR)  # the writer said how many
    if sink.dropped:
        fail(f"{sink.dropped:,} records were refused by {session.where}")
    with contextlib.suppress(*connection.ERRORS):
        # Every batch is stored: nothing will be resent under this producer.
        session.client.delete(keys.seen(key, producer.token))
    raise typer.Exit(code)


class _Tee:
    """Copies input to stdout; once stdout is closed (``| head``), stops
    copying but keeps storing records."""

    def __init__(self) -> None:
        self.broken = False
        self._out = sys.stdout.buffer

    def __call__(self, chunk: bytes) -> None:
        if self.broken:
            return
        try:
            self._out.write(chunk)
            self._out.flush()
        except BrokenPipeError:
            self.broken = True
