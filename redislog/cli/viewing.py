"""Viewing records: ``tail``, ``search`` and ``stats``."""

from __future__ import annotations

import itertools
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any

import typer

from redislog import filters, jsonlines, levels, reader, timefmt
from redislog import stats as counting
from redislog.cli._app import app
from redislog.cli._options import (
    ChartOutput,
    Filtering,
    KeysArgument,
    Output,
    UrlOption,
    context,
    count,
    duration,
    grouped,
)
from redislog.cli._session import (
    NOTHING,
    Notices,
    Session,
    exit_on_sigterm,
    fail,
    failing,
    output_guard,
    records,
)
from redislog.entry import decode
from redislog.render import Renderer, use_color


@app.command()
@grouped
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
    *,
    filtering: Filtering,
    output: Output,
    url: UrlOption = None,
) -> None:
    """Show the newest records, then follow new ones as they arrive."""
    query = filtering.query()
    # As journalctl: with --since, everything since then unless -n says otherwise.
    default = None if query.since is not None else 10
    newest = default if lines is None else count("-n", lines)
    if consume and not query.empty:
        fail(
            "--consume cannot be combined with filters: it takes every record off "
            "the list, so records that do not match would be lost unseen",
            2,
        )
    if consume and lines is not None:
        fail("--consume pops every record, oldest first: -n does not apply", 2)
    renderer = output.renderer()
    renderer.highlight = query.grep
    session = Session.open(url, quiet=output.quiet, socket_timeout=reader.READ_TIMEOUT)
    # A tail may start before the app: it waits for logs that are not there yet.
    awaited: list[str] = []
    following = not no_follow and not consume
    chosen = session.logs(names, waiting=awaited.append if following else None)
    watch = [name for name in names if reader.is_glob(name)] if names else ["*"]
    renderer.show_keys(chosen)
    source: reader.Tail | reader.Consumer
    if consume:
        source = reader.Consumer(session.link(), chosen, follow=not no_follow)
    else:
        source = reader.Tail(
            session.link(), chosen, lines=newest, follow=not no_follow, query=query, watch=watch,
            on_live=_live_rule(renderer, output) if not output.quiet else None,
            on_window=session.notices.reporter(_backlog_progress) if not query.empty else None,
            local=session.local,
        )  # fmt: skip
    session.announce("consuming from" if consume else "reading from", chosen or names or [])
    for line in awaited:
        session.notices(line)
    for warning in reader.risks(session.client):
        session.notices(f"warning: {warning}")
    exit_on_sigterm()
    batches = source.batches()
    try:
        with failing(f"reading from {session.where} failed"), output_guard():
            for batch in batches:
                session.notices.clear()
                for entry in batch:
                    renderer.write(entry)
                renderer.flush()
    finally:
        batches.close()


def _backlog_progress(progress: reader.Progress) -> str:
    """How far a filtered tail got through its backlog, looking for matches."""
    text = f"read {progress.scanned:,} of {progress.total:,} records"
    if progress.reached is not None:
        text += f", back to {timefmt.relative(time.time() - progress.reached)}"
    return f"{text}, looking for matches"


def _live_rule(renderer: Renderer, output: Output) -> Callable[[], None] | None:
    """Where the backlog ends and live records begin: a dim rule on stderr,
    when stderr is a terminal (a pipe gets records only)."""
    if not sys.stderr.isatty():
        return None

    def rule() -> None:
        renderer.flush()  # the backlog first, on a terminal shared with stderr
        Notices.clear()  # and no progress line left
        colored = use_color("never" if output.no_color else output.color, sys.stderr)
        line = "── live ──"
        sys.stderr.write(f"\x1b[2m{line}\x1b[0m\n" if colored else f"{line}\n")
        sys.stderr.flush()

    return rule


_CONTEXT = "Context"


def _context_option(flag: str, help: str) -> Any:
    return typer.Option(flag, metavar="N", help=help, rich_help_panel=_CONTEXT, show_default=False)


@app.command()
@grouped
def search(
    names: KeysArgument = None,
    limit: Annotated[
        str,
        typer.Option(
            "--limit",
            metavar="N|all",
            help="Keep the newest N matches, or all (stderr says when there were more)",
        ),
    ] = "100",
    reverse: Annotated[bool, typer.Option("-r", "--reverse", help="Newest first")] = False,
    counting: Annotated[
        bool,
        typer.Option(
            "--count",
            help="Print only the number of matches (-o json: per level and log key too)",
        ),
    ] = False,
    after: Annotated[
        str | None, _context_option("-A", "Also show N records after each match")
    ] = None,
    before: Annotated[
        str | None, _context_option("-B", "Also show N records before each match")
    ] = None,
    around: Annotated[
        str | None, _context_option("-C", "Also show N records before and after each match")
    ] = None,
    *,
    filtering: Filtering,
    output: Output,
    url: UrlOption = None,
) -> None:
    """Search the stored records; exit status 0 if any matched, 1 if none, 2 on errors."""
    query = filtering.query()
    most = count("--limit", limit, least=1)
    spread = context("-C", around)
    older = context("-B", before) if before is not None else spread
    newer = context("-A", after) if after is not None else spread
    if counting and (older or newer):
        fail("--count prints a number: -A, -B and -C do not apply")
    renderer = output.renderer()
    renderer.highlight = query.grep
    session = Session.open(url, quiet=output.quiet, socket_timeout=reader.READ_TIMEOUT)
    chosen = session.logs(names)
    renderer.show_keys(chosen)
    notices = session.notices
    session.announce("searching on", chosen)
    reading = query
    if older or newer:  # every record is read; matches are picked out here
        reading = filters.Query(since=query.since, until=query.until)
    finder = reader.Search(
        session.client,
        chosen,
        query=reading,
        on_window=notices.reporter(
            lambda done: f"searched {done.scanned:,} of {done.total:,} records"
        ),
        where=session.where,
        local=session.local,
    )
    with failing(f"searching {session.where} failed"), output_guard():
        if counting:
            found = _count(finder, notices, renderer.output == "json")
            more = False
        elif older or newer:
            found, more = _around(finder, renderer, notices, query, older, newer, most, reverse)
        else:
            found, more = _newest(finder, renderer, notices, most, reverse)
        renderer.flush()
    notices.clear()
    progress = finder.progress
    for name in progress.trimmed:
        notices(f"{name}: the oldest records were trimmed by the cap while searching")
    if more:
        notices(
            f"showing the newest {records(found)} that matched; older ones match too "
            "(--limit all shows every one)"
        )
    if not found:
        notices(f"no matching records among {progress.scanned:,} searched")
        raise typer.Exit(NOTHING)


def _newest(
    finder: reader.Search, renderer: Renderer, notices: Notices, most: int | None, reverse: bool
) -> tuple[int, bool]:
    """Show the newest *most* matches; (how many, whether more matched)."""
    # One more than shown, to know whether there are more.
    matches = itertools.islice(finder.newest_first(), None if most is None else most + 1)
    found = 0
    if reverse:
        for entry in matches:
            if found == most:
                return found, True
            notices.clear()
            renderer.write(entry)
            found += 1
        return found, False
    # Matches are kept as raw bytes (light) and decoded again to be shown.
    kept = [(entry.raw, entry.key) for entry in matches]
    more = most is not None and len(kept) > most
    kept = kept[:most]
    notices.clear()
    for raw, key in reversed(kept):
        renderer.write(decode(raw, key))
    return len(kept), more


def _around(
    finder: reader.Search,
    renderer: Renderer,
    notices: Notices,
    query: filters.Query,
    older: int,
    newer: int,
    most: int | None,
    reverse: bool,
) -> tuple[int, bool]:
    """Show the newest *most* matches with records around them, ``--`` between
    groups (but in JSON); (how many matches, whether more matched)."""
    picker = reader.Around(query, before=older, after=newer, limit=most)
    shown = [(s.entry.raw, s.entry.key, s.place) for s in picker.select(finder.newest_first())]
    if not reverse:
        shown.reverse()
    notices.clear()
    last: int | None = None
    for raw, key, place in shown:
        if last is not None and abs(place - last) > 1 and renderer.output != "json":
            renderer.file.write("--\n")
        renderer.write(decode(raw, key))
        last = place
    return picker.matches, picker.more


def _count(finder: reader.Search, notices: Notices, as_json: bool) -> int:
    """Print the number of matches (in JSON, per level and log key too)."""
    by_level: Counter[str] = Counter()
    by_key: Counter[str] = Counter()
    for entry in finder.newest_first():
        by_level[levels.label(entry.levelno) if entry.levelno is not None else "none"] += 1
        by_key[entry.key] += 1
    total = sum(by_key.values())
    notices.clear()
    if as_json:
        result = {"matches": total, "levels": dict(by_level), "keys": dict(by_key)}
        sys.stdout.write(jsonlines.strict(result) + "\n")
    else:
        sys.stdout.write(f"{total}\n")
    return total


@app.command()
@grouped
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
    *,
    filtering: Filtering,
    output: ChartOutput,
    url: UrlOption = None,
) -> None:
    """Count the stored records: per level over time, busiest loggers, rates, errors."""
    query = filtering.query()
    as_json = output.json
    colored = output.colored
    width = None if every is None else duration("--every", every)
    session = Session.open(url, quiet=output.quiet, socket_timeout=reader.READ_TIMEOUT)
    chosen = session.logs(names)
    session.announce("counting on", chosen)
    now = time.time()
    finder = reader.Search(
        session.client,
        chosen,
        query=query,
        on_window=session.notices.reporter(
            lambda done: f"read {done.scanned:,} of {done.total:,} records"
        ),
        where=session.where,
        local=session.local,
    )
    with failing(f"counting on {session.where} failed"):
        if query.since is not None:
            span: float | None = (query.until if query.until is not None else now) - query.since
        else:
            span = counting.time_span(session.client, chosen)
        counts = counting.Counts(query, counting.resolution_for(span))
        for key, raws in finder.windows():
            counts.add(key, raws)
    session.notices.clear()
    for name in finder.progress.trimmed:
        session.notices(f"{name}: the oldest records were trimmed by the cap while counting")
    if width is not None and width % counts.resolution:
        width = max(counts.resolution, width - width % counts.resolution)
    result = counting.summarize(
        counts,
        chosen,
        scanned=finder.progress.scanned,
        now=now,
        width=width,
        top=top,
        utc=output.utc,
    )
    with output_guard():
        if as_json:
            sys.stdout.write(jsonlines.strict(counting.as_json(result)) + "\n")
        else:
            from redislog import chart  # rich layout: only loaded when drawn

            chart.show(result, sys.stdout, color=colored, utc=output.utc)
        sys.stdout.flush()
