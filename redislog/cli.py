"""The ``redislog`` command line: view (``tail``, ``search``, ``stats``, ``ls``,
``info``), write (``send``, ``pipe``) and keep (``trim``, ``rm``) logs.

Thin glue: options are parsed here, records are read by ``reader``, filtered
by ``filters`` and written by ``render``.  Data goes to stdout; notices
(which server, reconnecting, records missed) go to stderr, one line each,
with every data-derived character escaped.  Usage errors exit with 2, other
failures with 1 (``search`` also exits with 1 when nothing matched, as grep
does), Ctrl-C with 130.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Annotated, NoReturn

import redis
import typer

from redislog import (
    __version__,
    connection,
    embedded,
    filters,
    handler,
    ingest,
    keys,
    reader,
    record,
    render,
    retention,
    serialize,
    writer,
)
from redislog import stats as counting
from redislog.entry import Entry, decode

app = typer.Typer(
    name="redislog",
    help="View, write and trim logs that redislog keeps in Redis.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_FILTERS = "Filters"
_OUTPUT = "Output"

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        metavar="URL",
        help="Redis URL [default: $REDISLOG_URL, $REDIS_URL, else the embedded server]",
        show_default=False,
    ),
]
KeysArgument = Annotated[
    list[str] | None,
    typer.Argument(
        help="Log keys, or globs over the known log keys [default: all of them]",
        show_default=False,
        metavar="KEY",
    ),
]
LevelOption = Annotated[
    str | None,
    typer.Option(
        "-p",
        "--level",
        metavar="LEVEL",
        help="Only this level and worse (error), or a range (info..error)",
        rich_help_panel=_FILTERS,
    ),
]
LoggerOption = Annotated[
    list[str] | None,
    typer.Option(
        "-l",
        "--logger",
        metavar="NAME",
        help="Only this logger and its children (repeat for several)",
        rich_help_panel=_FILTERS,
        show_default=False,
    ),
]
GrepOption = Annotated[
    str | None,
    typer.Option(
        "-g",
        "--grep",
        metavar="REGEX",
        help="Only messages matching this regex (ignores case if all lower-case)",
        rich_help_panel=_FILTERS,
    ),
]
ExcludeOption = Annotated[
    list[str] | None,
    typer.Option(
        "-e",
        "--exclude",
        metavar="REGEX",
        help="Drop messages matching this regex (repeatable)",
        rich_help_panel=_FILTERS,
        show_default=False,
    ),
]
CaseOption = Annotated[
    bool,
    typer.Option(
        "--case-sensitive",
        help="Match --grep and --exclude case-sensitively",
        rich_help_panel=_FILTERS,
    ),
]
FieldOption = Annotated[
    list[str] | None,
    typer.Option(
        "-k",
        "--field",
        metavar="COND",
        help=(
            "Field condition: key=v, key!=v, key~regex, key>n, key>=n, key<n, "
            "key<=n, key (present), !key (absent); a.b for nested keys (repeatable)"
        ),
        rich_help_panel=_FILTERS,
        show_default=False,
    ),
]
SinceOption = Annotated[
    str | None,
    typer.Option(
        "-S",
        "--since",
        metavar="WHEN",
        help="Only records from then on: 10m, 2h, 1d, ISO 8601, today, yesterday",
        rich_help_panel=_FILTERS,
    ),
]
UntilOption = Annotated[
    str | None,
    typer.Option(
        "-U",
        "--until",
        metavar="WHEN",
        help="Only records until then (as --since)",
        rich_help_panel=_FILTERS,
    ),
]
OutputOption = Annotated[
    str,
    typer.Option(
        "-o",
        "--output",
        metavar="MODE",
        help="pretty, json (alias jsonl), logfmt or cat (alias raw)",
        rich_help_panel=_OUTPUT,
    ),
]
ColorOption = Annotated[
    str,
    typer.Option(
        "--color",
        metavar="WHEN",
        help="auto, always or never (auto honors NO_COLOR and FORCE_COLOR)",
        rich_help_panel=_OUTPUT,
    ),
]
NoColorOption = Annotated[
    bool, typer.Option("--no-color", help="Same as --color never", rich_help_panel=_OUTPUT)
]
UtcOption = Annotated[
    bool, typer.Option("--utc", help="Show times in UTC", rich_help_panel=_OUTPUT)
]
FullOption = Annotated[
    bool,
    typer.Option("--full", help="Never shorten long values on screen", rich_help_panel=_OUTPUT),
]
SingleLineOption = Annotated[
    bool,
    typer.Option(
        "--single-line",
        help="One line per record: newlines shown as \\n, tracebacks as fields",
        rich_help_panel=_OUTPUT,
    ),
]
QuietOption = Annotated[
    bool,
    typer.Option(
        "-q", "--quiet", help="No notices on stderr (errors still show)", rich_help_panel=_OUTPUT
    ),
]


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line on stderr and exit with *code*."""
    sys.stderr.write(f"redislog: {render.escape(message, newlines=True)}\n")
    raise typer.Exit(code)


def _progress(
    notices: _Notices, quiet: bool, say: Callable[[reader.Progress], str]
) -> Callable[[reader.Progress], None]:
    """A window callback that shows how far a long scan got, on a terminal
    only, after its first second and at most five times a second."""
    started = time.monotonic()
    shown_at = 0.0
    live = not quiet and sys.stderr.isatty()

    def on_window(progress: reader.Progress) -> None:
        nonlocal shown_at
        now = time.monotonic()
        if live and now - started > 1.0 and now - shown_at > 0.2:
            shown_at = now
            notices.progress(say(progress))

    return on_window


def open_client(
    url: str | None, *, socket_timeout: float = 5.0
) -> tuple[connection.Client, connection.Target]:
    """Connect and check the server answers; exit with one line if not."""
    try:
        target = connection.resolve(url)
    except ValueError as exc:
        fail(str(exc), 2)
    try:
        client = connection.connect(target, socket_timeout=socket_timeout)
        try:
            client.ping()
        except redis.exceptions.NoPermissionError:
            pass  # a user without PING (the README's writer): the server did answer
    except (*connection.ERRORS, embedded.EmbeddedError, ValueError) as exc:
        fail(f"cannot reach {target.describe()}: {connection.describe(exc)}")
    return client, target


def _version(value: bool) -> None:
    if value:
        print(f"redislog {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit"
        ),
    ] = False,
) -> None:
    """View, write and trim logs that redislog keeps in Redis."""


# -- shared glue ----------------------------------------------------------------


class _Notices:
    """One-line notices on stderr, escaped; silent with --quiet."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self._progress = False

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        self.clear()
        sys.stderr.write(f"redislog: {render.escape(message, newlines=True)}\n")
        sys.stderr.flush()

    def progress(self, message: str) -> None:
        """Overwrite the last progress line (terminal only)."""
        if self.quiet:
            return
        sys.stderr.write(f"\r\x1b[Kredislog: {render.escape(message, newlines=True)}")
        sys.stderr.flush()
        self._progress = True

    def clear(self) -> None:
        if self._progress:
            self._progress = False
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _query(
    level: str | None,
    loggers: list[str] | None,
    grep: str | None,
    fields: list[str] | None,
    since: str | None,
    until: str | None,
    exclude: list[str] | None,
    case_sensitive: bool,
) -> filters.Query:
    try:
        return filters.parse_query(
            level,
            loggers or (),
            grep,
            fields or (),
            since,
            until,
            case_sensitive=True if case_sensitive else None,
            exclude=exclude or (),
        )
    except filters.FilterError as exc:
        fail(str(exc), 2)


def _renderer(
    output: str, color: str, no_color: bool, utc: bool, full: bool, single_line: bool
) -> render.Renderer:
    try:
        return render.Renderer(
            output,
            color="never" if no_color else color,
            utc=utc,
            full=full,
            file=sys.stdout,
            single_line=single_line,
        )
    except ValueError as exc:
        fail(str(exc), 2)


def _count(option: str, text: str) -> int | None:
    """A count option: a number >= 0, or ``all`` (None)."""
    word = text.strip().lower()
    if word == "all":
        return None
    try:
        value = int(word)
    except ValueError:
        fail(f"bad {option} {text!r}: use a number or all", 2)
    if value < 0:
        fail(f"bad {option} {text!r}: use a number or all", 2)
    return value


def _resolve(client: connection.Client, patterns: list[str] | None, notices: _Notices) -> list[str]:
    try:
        return reader.resolve(client, patterns or (), notices)
    except reader.ReaderError as exc:
        fail(str(exc))
    except connection.ERRORS as exc:
        fail(f"cannot list log keys: {connection.describe(exc)}")


def _view(
    names: list[str] | None,
    quiet: bool,
    output: str,
    color: str,
    no_color: bool,
    utc: bool,
    full: bool,
    single_line: bool,
    url: str | None,
) -> tuple[_Notices, render.Renderer, connection.Client, connection.Target, list[str]]:
    """What tail and search both need: notices, a renderer, a client and the keys."""
    notices = _Notices(quiet)
    renderer = _renderer(output, color, no_color, utc, full, single_line)
    client, target = open_client(url, socket_timeout=reader.SOCKET_TIMEOUT)
    chosen = _resolve(client, names, notices)
    renderer.show_key = len(chosen) > 1
    return notices, renderer, client, target, chosen


def _announce(notices: _Notices, doing: str, names: list[str], target: connection.Target) -> None:
    """Say which server is in use: an app and a viewer must not silently differ."""
    shown = ", ".join(names[:3])
    if len(names) > 3:
        shown += f" and {len(names) - 3} more"
    verb, _, preposition = doing.partition(" ")
    notices(f"{verb} {shown} {preposition} {target.describe()}")


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise typer.Exit(128 + signum)


@contextlib.contextmanager
def _output_guard() -> Iterator[None]:
    """End quietly when stdout is closed (``| head``)."""
    try:
        yield
    except BrokenPipeError:
        _silence_stdout()
        raise typer.Exit(0) from None


# -- commands --------------------------------------------------------------------


@app.command()
def tail(
    names: KeysArgument = None,
    lines: Annotated[
        str | None,
        typer.Option(
            "-n",
            "--lines",
            metavar="N|all",
            help="Show the newest N matching records first, or all [default: 10]",
            show_default=False,
        ),
    ] = None,
    no_follow: Annotated[
        bool, typer.Option("--no-follow", help="Stop after the newest records")
    ] = False,
    consume: Annotated[
        bool,
        typer.Option(
            "--consume",
            help=(
                "Pop the records off the list, oldest first: each goes to exactly "
                "one consumer and is gone from the list"
            ),
        ),
    ] = False,
    level: LevelOption = None,
    logger: LoggerOption = None,
    grep: GrepOption = None,
    exclude: ExcludeOption = None,
    case_sensitive: CaseOption = False,
    field: FieldOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    output: OutputOption = "pretty",
    color: ColorOption = "auto",
    no_color: NoColorOption = False,
    utc: UtcOption = False,
    full: FullOption = False,
    single_line: SingleLineOption = False,
    quiet: QuietOption = False,
    url: UrlOption = None,
) -> None:
    """Show the newest records, then follow new ones as they arrive."""
    query = _query(level, logger, grep, field, since, until, exclude, case_sensitive)
    count = 10 if lines is None else _count("-n", lines)
    if consume and not query.empty:
        fail(
            "--consume cannot be combined with filters: it takes every record off "
            "the list, so records that do not match would be lost unseen",
            2,
        )
    if consume and lines is not None:
        fail("--consume pops every record, oldest first: -n does not apply", 2)
    notices, renderer, client, target, chosen = _view(
        names, quiet, output, color, no_color, utc, full, single_line, url
    )
    connect = connection.Connector(target, client)
    source: reader.Tail | reader.Consumer
    if consume:
        source = reader.Consumer(
            client, connect, chosen, follow=not no_follow, notify=notices, where=target.describe()
        )
    else:
        source = reader.Tail(
            client,
            connect,
            chosen,
            lines=count,
            follow=not no_follow,
            query=query,
            notify=notices,
            where=target.describe(),
            watch=[name for name in names if reader.is_glob(name)] if names else ["*"],
        )
    _announce(notices, "consuming from" if consume else "reading from", chosen, target)
    for warning in reader.risks(client):
        notices(f"warning: {warning}")
    signal.signal(signal.SIGTERM, _terminate)
    batches = source.batches()
    try:
        with _output_guard():
            for batch in batches:
                for entry in batch:
                    renderer.write(entry)
                renderer.flush()
    except reader.ReaderError as exc:
        fail(str(exc))
    finally:
        batches.close()


@app.command()
def search(
    names: KeysArgument = None,
    limit: Annotated[
        str,
        typer.Option("--limit", metavar="N|all", help="Keep the newest N matches, or all"),
    ] = "100",
    reverse: Annotated[bool, typer.Option("-r", "--reverse", help="Newest first")] = False,
    level: LevelOption = None,
    logger: LoggerOption = None,
    grep: GrepOption = None,
    exclude: ExcludeOption = None,
    case_sensitive: CaseOption = False,
    field: FieldOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    output: OutputOption = "pretty",
    color: ColorOption = "auto",
    no_color: NoColorOption = False,
    utc: UtcOption = False,
    full: FullOption = False,
    single_line: SingleLineOption = False,
    quiet: QuietOption = False,
    url: UrlOption = None,
) -> None:
    """Search the stored records; exit status 0 if any matched, 1 if none."""
    query = _query(level, logger, grep, field, since, until, exclude, case_sensitive)
    most = _count("--limit", limit)
    notices, renderer, client, target, chosen = _view(
        names, quiet, output, color, no_color, utc, full, single_line, url
    )
    _announce(notices, "searching on", chosen, target)

    on_window = _progress(
        notices,
        quiet,
        lambda done: (
            f"searched {done.scanned:,} of {done.total:,} records, {done.matched:,} matches"
        ),
    )

    finder = reader.Search(
        client,
        chosen,
        query=query,
        on_window=on_window,
        where=target.describe(),
        local=connection.local(target.url),
    )
    found = 0
    try:
        with _output_guard():
            matches = itertools.islice(finder.newest_first(), most)
            if reverse:
                for entry in matches:
                    notices.clear()
                    renderer.write(entry)
                    found += 1
            else:
                kept = [(entry.raw, entry.key) for entry in matches]
                notices.clear()
                found = len(kept)
                for raw, key in reversed(kept):
                    renderer.write(_again(raw, key))
            renderer.flush()
    except reader.ReaderError as exc:
        notices.clear()
        fail(str(exc))
    notices.clear()
    progress = finder.progress
    for name in progress.trimmed:
        notices(f"{name}: the oldest records were trimmed by the cap while searching")
    if not found:
        notices(f"no matching records among {progress.scanned:,} searched")
        raise typer.Exit(1)


@app.command()
def stats(
    names: KeysArgument = None,
    every: Annotated[
        str | None,
        typer.Option(
            "--every",
            metavar="DURATION",
            help="One bar per this long: 10s, 5m, 1h, 1d [default: about 24 bars]",
            show_default=False,
        ),
    ] = None,
    top: Annotated[
        int, typer.Option("--top", metavar="N", min=1, help="How many busy loggers to list")
    ] = 10,
    level: LevelOption = None,
    logger: LoggerOption = None,
    grep: GrepOption = None,
    exclude: ExcludeOption = None,
    case_sensitive: CaseOption = False,
    field: FieldOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    output: Annotated[
        str,
        typer.Option(
            "-o", "--output", metavar="MODE", help="pretty or json", rich_help_panel=_OUTPUT
        ),
    ] = "pretty",
    color: ColorOption = "auto",
    no_color: NoColorOption = False,
    utc: UtcOption = False,
    quiet: QuietOption = False,
    url: UrlOption = None,
) -> None:
    """Count the stored records: per level over time, busiest loggers, rates, errors."""
    query = _query(level, logger, grep, field, since, until, exclude, case_sensitive)
    mode = render.OUTPUT_ALIASES.get(output.strip().lower(), output.strip().lower())
    if mode not in ("pretty", "json"):
        fail(f"unknown output {output!r} for stats: use pretty or json", 2)
    try:
        colored = render.use_color("never" if no_color else color, sys.stdout)
    except ValueError as exc:
        fail(str(exc), 2)
    width = None if every is None else _duration("--every", every)
    notices = _Notices(quiet)
    client, target = open_client(url, socket_timeout=reader.SOCKET_TIMEOUT)
    chosen = _resolve(client, names, notices)
    _announce(notices, "counting on", chosen, target)
    now = time.time()
    on_window = _progress(
        notices, quiet, lambda done: f"read {done.scanned:,} of {done.total:,} records"
    )

    try:
        if query.since is not None:
            span: float | None = (query.until if query.until is not None else now) - query.since
        else:
            span = counting.time_span(client, chosen)
        counts = counting.Counts(query, counting.resolution_for(span), query.since, query.until)
        local = connection.local(target.url)
        finder = reader.Search(
            client, chosen, query=query, on_window=on_window, where=target.describe(), local=local
        )
        for key, raws in finder.windows(here=local):
            counts.add(key, raws)
    except reader.ReaderError as exc:
        notices.clear()
        fail(str(exc))
    except connection.ERRORS as exc:
        notices.clear()
        fail(f"counting on {target.describe()} failed: {connection.describe(exc)}")
    notices.clear()
    for name in finder.progress.trimmed:
        notices(f"{name}: the oldest records were trimmed by the cap while counting")
    if width is not None and width % counts.resolution:
        width = max(counts.resolution, width - width % counts.resolution)
    result = counting.summarize(
        counts,
        chosen,
        scanned=finder.progress.scanned,
        since=query.since,
        until=query.until,
        now=now,
        width=width,
        top=top,
        utc=utc,
    )
    with _output_guard():
        if mode == "json":
            sys.stdout.write(json.dumps(counting.as_json(result)) + "\n")
        else:
            from redislog import chart  # rich layout: only loaded when drawn

            chart.show(result, sys.stdout, color=colored, utc=utc)
        sys.stdout.flush()


def _duration(option: str, text: str) -> int:
    """A duration option (``15m``) in whole seconds, at least one."""
    now = time.time()
    try:
        seconds = now - filters.parse_time(text, now)
    except filters.FilterError:
        seconds = 0.0
    if not text.strip()[:1].isdigit() or seconds < 1 or seconds != int(seconds):
        fail(f"bad {option} {text!r}: use a duration like 30s, 5m, 1h or 1d", 2)
    return int(seconds)


def _again(raw: bytes, key: str) -> Entry:
    # Matches are kept as raw bytes (light) and decoded again to be shown.
    return decode(raw, key)


@app.command("ls")
def list_logs(
    names: KeysArgument = None,
    utc: UtcOption = False,
    url: UrlOption = None,
) -> None:
    """List the log keys: records, cap, memory, oldest and newest record, live tails."""
    client, target = open_client(url)
    try:
        infos = reader.describe_logs(client, names or ())
    except reader.ReaderError as exc:
        fail(str(exc))
    except connection.ERRORS as exc:
        fail(f"cannot list log keys on {target.describe()}: {connection.describe(exc)}")
    if not infos:
        sys.stderr.write(f"redislog: no log keys on {render.escape(target.describe())}\n")
        return
    try:
        sizes = retention.memory(client, [info.key for info in infos if info.kind == "list"])
    except connection.ERRORS:  # MEMORY may be forbidden to this user
        sizes = {}
    rows = [("KEY", "RECORDS", "CAP", "MEMORY", "OLDEST", "NEWEST", "TAILS")]
    for info in infos:
        name = render.escape(info.key, newlines=True)
        if info.kind not in ("list", "none"):
            rows.append((name, "-", "-", "-", f"(a Redis {info.kind}, not a log list)", "", ""))
            continue
        cap = f"{info.maxlen:,}" if info.maxlen is not None else "-"
        if info.kind == "none":
            rows.append((name, "0", cap, "-", "(empty)", "", str(info.tails)))
            continue
        size = sizes.get(info.key)
        rows.append(
            (
                name,
                f"{info.length:,}",
                cap,
                "?" if size is None else retention.human_bytes(size),
                _when(info.oldest, utc),
                _when(info.newest, utc),
                str(info.tails),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    with _output_guard():
        for row in rows:
            cells = [
                cell.rjust(width) if i in (1, 2, 3, 6) else cell.ljust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            ]
            print("  ".join(cells).rstrip())
        sys.stdout.flush()


def _when(entry: Entry | None, utc: bool) -> str:
    if entry is None:
        return "-"
    if entry.ts is None:
        return "?"
    moment = time.gmtime(entry.ts) if utc else time.localtime(entry.ts)
    return time.strftime("%Y-%m-%d %H:%M:%S", moment) + ("Z" if utc else "")


@app.command()
def info(url: UrlOption = None) -> None:
    """Show which Redis server is in use, and whether it keeps logs safe."""
    client, target = open_client(url)
    try:
        server = client.info("server")
        persistence = client.info("persistence")
        memory = client.info("memory")
        count = client.scard(keys.INDEX)
        layout = connection.layout(client)
    except connection.ERRORS as exc:
        fail(f"cannot read server info from {target.describe()}: {connection.describe(exc)}")
    print(f"server:   {render.escape(target.describe())}")
    print(f"mode:     {render.escape(layout)}")
    print(f"version:  redis {server.get('redis_version', '?')}")
    aof = bool(persistence.get("aof_enabled"))
    print(f"persist:  {'append-only file' if aof else 'no append-only file'}")
    policy = str(memory.get("maxmemory_policy", "?"))
    print(f"eviction: {policy} (maxmemory {memory.get('maxmemory_human', '?')})")
    print(f"logs:     {count}")
    for warning in reader.risks(client):
        sys.stderr.write(f"redislog: warning: {warning}\n")


# -- writing ---------------------------------------------------------------------

KeyArgument = Annotated[
    str, typer.Argument(metavar="KEY", help="The log key (a Redis list)", show_default=False)
]
WriteLevelOption = Annotated[
    str,
    typer.Option(
        "-p",
        "--level",
        metavar="LEVEL",
        help="Level: debug, info, notice, warning, error, critical (or d/i/w/e/c, a number)",
    ),
]
WriteLoggerOption = Annotated[
    str | None,
    typer.Option(
        "-l",
        "--logger",
        metavar="NAME",
        help="Logger name [default: your user name]",
        show_default=False,
    ),
]
MaxlenOption = Annotated[
    int | None,
    typer.Option(
        "--maxlen",
        metavar="N",
        envvar="REDISLOG_MAXLEN",
        min=1,
        help=f"Cap of the list [default: the cap the log has, else {handler.MAXLEN}]",
        show_default=False,
    ),
]


def _writing_to(key: str, level: str) -> tuple[tuple[str, int], str]:
    """Check what send and pipe are given before connecting: level and key."""
    try:
        keys.check(key)
        return ingest.parse_level(level), key
    except ValueError as exc:
        fail(str(exc), 2)


def _open_log(
    url: str | None, key: str, maxlen: int | None
) -> tuple[connection.Client, connection.Target, int]:
    """Connect, check *key* can take records, and pick its cap."""
    client, target = open_client(url)
    if target.embedded:
        sys.stderr.write(
            f"redislog: no REDISLOG_URL or REDIS_URL set; writing to the embedded server "
            f"at {render.escape(target.url)}\n"
        )
    try:
        stored = ingest.check_key(client, key)
    except ingest.IngestError as exc:
        fail(str(exc))
    except connection.ERRORS as exc:
        fail(f"cannot write to {target.describe()}: {connection.describe(exc)}")
    return client, target, maxlen or stored or handler.MAXLEN


@app.command()
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
    level: WriteLevelOption = "info",
    logger: WriteLoggerOption = None,
    maxlen: MaxlenOption = None,
    url: UrlOption = None,
) -> None:
    """Write one record, like logger(1): redislog send logs:cron "backup done" -p info files=12"""
    (name, levelno), key = _writing_to(key, level)
    try:
        extra = ingest.parse_fields(fields or ())
    except ingest.IngestError as exc:
        fail(str(exc), 2)
    client, target, cap = _open_log(url, key, maxlen)
    producer = record.Producer()
    entry = record.external(
        message,
        name,
        levelno,
        logger if logger is not None else ingest.default_logger(),
        producer.next_id(),
        fields=extra,
    )
    try:
        problems = ingest.push(client, key, cap, [serialize.dumps(entry)], producer.token)
    except connection.ERRORS as exc:
        fail(f"cannot write to {target.describe()}: {connection.describe(exc)}")
    for problem in problems:
        sys.stderr.write(f"redislog: warning: {render.escape(' '.join(problem.split()))}\n")


@app.command()
def pipe(
    key: KeyArgument,
    level: Annotated[
        str,
        typer.Option(
            "-p",
            "--level",
            metavar="LEVEL",
            help="Level of lines that give none (as for send)",
        ),
    ] = "info",
    logger: Annotated[
        str | None,
        typer.Option(
            "-l",
            "--logger",
            metavar="NAME",
            help="Logger of lines that give none [default: your user name]",
            show_default=False,
        ),
    ] = None,
    tee: Annotated[bool, typer.Option("--tee", help="Also copy the input to stdout")] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            min=0,
            help="At the end of input, wait this long at most for the last records to be stored",
        ),
    ] = handler.FLUSH_TIMEOUT,
    maxlen: MaxlenOption = None,
    url: UrlOption = None,
) -> None:
    """Write every line of stdin as a record, like systemd-cat: make 2>&1 | redislog pipe logs:build

    A line that is a JSON object keeps its message, level, time, logger and
    fields.  Exits non-zero if records could not be stored.
    """
    (name, levelno), key = _writing_to(key, level)
    client, target, cap = _open_log(url, key, maxlen)
    producer = record.Producer()
    sink = writer.Writer(
        lambda: connection.connect(target),
        key,
        cap,
        where=connection.redact(target.url),
        capacity=handler.BUFFER_RECORDS,
        capacity_bytes=handler.BUFFER_BYTES,
        record_bytes=serialize.MAX_RECORD_BYTES,
        producer=producer,
    )
    lines = ingest.Lines(
        (name, levelno), logger if logger is not None else ingest.default_logger(), producer
    )
    copy = _Tee() if tee else None
    signal.signal(signal.SIGTERM, _terminate)
    code = 0
    try:
        ingest.pipe(sys.stdin.fileno(), sink, lines, copy)
    except KeyboardInterrupt:
        code = 130
    except typer.Exit as exc:
        code = exc.exit_code
    except OSError as exc:
        sys.stderr.write(f"redislog: cannot read stdin: {render.escape(str(exc))}\n")
        code = 1
    finally:
        # Whatever ended the input, what was read is stored or reported.
        sink.close(timeout)
    if copy is not None and copy.broken:
        _silence_stdout()
    if sink.pending:
        raise typer.Exit(1)  # the writer said how many it gave up on
    if sink.dropped:
        fail(f"{sink.dropped:,} records were refused by {target.describe()}")
    with contextlib.suppress(*connection.ERRORS):
        # Every batch is stored: nothing will be resent under this producer.
        client.delete(keys.seen(key, producer.token))
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


# -- retention -------------------------------------------------------------------

RequiredKeysArgument = Annotated[
    list[str],
    typer.Argument(
        help="Log keys, or globs over the known log keys", show_default=False, metavar="KEY..."
    ),
]


@app.command("trim")
def trim_logs(
    names: RequiredKeysArgument,
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            metavar="AGE",
            help="Drop the records older than this: 7d, 12h, 30m, or a date (ISO 8601)",
            show_default=False,
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("-n", "--dry-run", help="Only say how many records would go")
    ] = False,
    url: UrlOption = None,
) -> None:
    """Drop the records older than an age from the old end of logs."""
    now = time.time()
    try:
        cutoff = filters.parse_time(older_than, now)
    except filters.FilterError as exc:
        fail(str(exc).replace("bad time", "bad --older-than", 1), 2)
    if cutoff > now:
        fail(f"bad --older-than {older_than!r}: that is in the future", 2)
    client, target = open_client(url)
    chosen = _resolve(client, names, _Notices(False))
    when = _when_ts(cutoff)
    with _output_guard():
        for name in chosen:
            try:
                done = retention.trim(client, name, cutoff, dry_run=dry_run)
            except retention.RetentionError as exc:
                fail(str(exc))
            except connection.ERRORS as exc:
                fail(f"cannot trim '{name}' on {target.describe()}: {connection.describe(exc)}")
            shown = render.escape(name, newlines=True)
            if not done.dropped:
                print(f"{shown}: no records older than {when} ({_records(done.left)})")
            elif dry_run:
                print(
                    f"{shown}: would drop {_records(done.dropped)} older than {when}, "
                    f"keeping {done.left:,}"
                )
            else:
                print(
                    f"{shown}: dropped {_records(done.dropped)} older than {when}, "
                    f"{done.left:,} left"
                )
            sys.stdout.flush()


@app.command("rm")
def remove_logs(
    names: RequiredKeysArgument,
    yes: Annotated[bool, typer.Option("-y", "--yes", help="Remove without asking")] = False,
    url: UrlOption = None,
) -> None:
    """Remove logs: the list, the keys derived from it, and its index entry."""
    if not yes and not sys.stdin.isatty():
        fail("not removing anything without a confirmation: stdin is not a terminal (add --yes)", 2)
    client, target = open_client(url)
    chosen = _resolve(client, names, _Notices(False))
    try:
        pipe = client.pipeline(transaction=False)
        for name in chosen:
            pipe.llen(keys.encoded(name))
        lengths = [int(n) for n in pipe.execute()]
        sizes = retention.memory(client, chosen)
    except connection.ERRORS as exc:
        fail(f"cannot read the logs on {target.describe()}: {connection.describe(exc)}")
    if not yes:
        described = [
            f"{render.escape(name, newlines=True)} ({_records(length)}"
            + ("" if sizes.get(name) is None else f", {retention.human_bytes(sizes[name] or 0)}")
            + ")"
            for name, length in zip(chosen, lengths, strict=True)
        ]
        if len(described) == 1:
            question = f"remove {described[0]} from {target.describe()}? [y/N] "
        else:
            listing = "".join(f"  {line}\n" for line in described)
            question = (
                f"{listing}remove these {len(described)} logs from {target.describe()}? [y/N] "
            )
        sys.stderr.write(f"redislog: {render.escape(question)}")
        sys.stderr.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            fail("nothing removed")
    with _output_guard():
        for name in chosen:
            try:
                records = retention.remove(client, name)
            except connection.ERRORS as exc:
                fail(f"cannot remove '{name}' on {target.describe()}: {connection.describe(exc)}")
            print(f"removed {render.escape(name, newlines=True)} ({_records(records)})")
            sys.stdout.flush()


def _records(count: int) -> str:
    return f"{count:,} record{'' if count == 1 else 's'}"


def _when_ts(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def main() -> None:
    """Entry point: run the app; a closed pipe (``| head``) ends quietly."""
    try:
        app()
    except BrokenPipeError:
        _silence_stdout()
        sys.exit(0)
    except KeyboardInterrupt:
        sys.exit(130)


def _silence_stdout() -> None:
    # Python flushes stdout at exit; after EPIPE that would raise again.
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
