"""Viewing records: ``tail``, ``search`` and ``stats``."""

from __future__ import annotations

import itertools
import json
import sys
import time
from typing import Annotated

import typer

from redislog import connection, reader
from redislog import stats as counting
from redislog.cli._app import app
from redislog.cli._options import (
    ChartOutput,
    Filtering,
    KeysArgument,
    Output,
    UrlOption,
    count,
    duration,
    grouped,
)
from redislog.cli._session import Session, exit_on_sigterm, fail, failing, output_guard
from redislog.entry import decode


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
    newest = 10 if lines is None else count("-n", lines)
    if consume and not query.empty:
        fail(
            "--consume cannot be combined with filters: it takes every record off "
            "the list, so records that do not match would be lost unseen",
            2,
        )
    if consume and lines is not None:
        fail("--consume pops every record, oldest first: -n does not apply", 2)
    renderer = output.renderer()
    session = Session.open(url, quiet=output.quiet, socket_timeout=reader.READ_TIMEOUT)
    chosen = session.logs(names)
    renderer.show_key = len(chosen) > 1
    source: reader.Tail | reader.Consumer
    if consume:
        source = reader.Consumer(session.link(), chosen, follow=not no_follow)
    else:
        watch = [name for name in names if reader.is_glob(name)] if names else ["*"]
        source = reader.Tail(
            session.link(), chosen, lines=newest, follow=not no_follow, query=query, watch=watch
        )
    session.announce("consuming from" if consume else "reading from", chosen)
    for warning in reader.risks(session.client):
        session.notices(f"warning: {warning}")
    exit_on_sigterm()
    batches = source.batches()
    try:
        with failing(f"reading from {session.where} failed"), output_guard():
            for batch in batches:
                for entry in batch:
                    renderer.write(entry)
                renderer.flush()
    finally:
        batches.close()


@app.command()
@grouped
def search(
    names: KeysArgument = None,
    limit: Annotated[
        str,
        typer.Option("--limit", metavar="N|all", help="Keep the newest N matches, or all"),
    ] = "100",
    reverse: Annotated[bool, typer.Option("-r", "--reverse", help="Newest first")] = False,
    *,
    filtering: Filtering,
    output: Output,
    url: UrlOption = None,
) -> None:
    """Search the stored records; exit status 0 if any matched, 1 if none."""
    query = filtering.query()
    most = count("--limit", limit)
    renderer = output.renderer()
    session = Session.open(url, quiet=output.quiet, socket_timeout=reader.READ_TIMEOUT)
    chosen = session.logs(names)
    renderer.show_key = len(chosen) > 1
    notices = session.notices
    session.announce("searching on", chosen)
    finder = reader.Search(
        session.client,
        chosen,
        query=query,
        on_window=notices.reporter(
            lambda done: (
                f"searched {done.scanned:,} of {done.total:,} records, {done.matched:,} matches"
            )
        ),
        where=session.where,
        local=connection.local(session.target.url),
    )
    found = 0
    with failing(f"searching {session.where} failed"), output_guard():
        matches = itertools.islice(finder.newest_first(), most)
        if reverse:
            for entry in matches:
                notices.clear()
                renderer.write(entry)
                found += 1
        else:
            # Matches are kept as raw bytes (light) and decoded again to be shown.
            kept = [(entry.raw, entry.key) for entry in matches]
            notices.clear()
            found = len(kept)
            for raw, key in reversed(kept):
                renderer.write(decode(raw, key))
        renderer.flush()
    notices.clear()
    progress = finder.progress
    for name in progress.trimmed:
        notices(f"{name}: the oldest records were trimmed by the cap while searching")
    if not found:
        notices(f"no matching records among {progress.scanned:,} searched")
        raise typer.Exit(1)


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
    local = connection.local(session.target.url)
    finder = reader.Search(
        session.client,
        chosen,
        query=query,
        on_window=session.notices.reporter(
            lambda done: f"read {done.scanned:,} of {done.total:,} records"
        ),
        where=session.where,
        local=local,
    )
    with failing(f"counting on {session.where} failed"):
        if query.since is not None:
            span: float | None = (query.until if query.until is not None else now) - query.since
        else:
            span = counting.time_span(session.client, chosen)
        counts = counting.Counts(query, counting.resolution_for(span))
        for key, raws in finder.windows(here=local):
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
            sys.stdout.write(json.dumps(counting.as_json(result)) + "\n")
        else:
            from redislog import chart  # rich layout: only loaded when drawn

            chart.show(result, sys.stdout, color=colored, utc=output.utc)
        sys.stdout.flush()
