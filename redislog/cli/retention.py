"""Keeping logs in bounds: ``trim`` and ``rm``."""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer

from redislog import filters, keys
from redislog import retention as policy
from redislog.cli._app import app
from redislog.cli._options import UrlOption
from redislog.cli._session import (
    NOTHING,
    Session,
    clock,
    fail,
    failing,
    output_guard,
    records,
)
from redislog.escapes import escape

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
    session = Session.open(url)
    chosen = session.logs(names)
    when = clock(cutoff)
    with output_guard():
        for name in chosen:
            with failing(f"cannot trim '{name}' on {session.where}"):
                done = policy.trim(session.client, name, cutoff, dry_run=dry_run)
            shown = escape(name, newlines=True)
            if not done.dropped:
                print(f"{shown}: no records older than {when} ({records(done.left)})")
            elif dry_run:
                print(
                    f"{shown}: would drop {records(done.dropped)} older than {when}, "
                    f"keeping {done.left:,}"
                )
            else:
                print(
                    f"{shown}: dropped {records(done.dropped)} older than {when}, "
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
    session = Session.open(url)
    chosen = session.logs(names)
    if not yes:
        _confirm(session, chosen)
    with output_guard():
        for name in chosen:
            with failing(f"cannot remove '{name}' on {session.where}"):
                removed = policy.remove(session.client, name)
            print(f"removed {escape(name, newlines=True)} ({records(removed)})")
            sys.stdout.flush()


def _confirm(session: Session, chosen: list[str]) -> None:
    """Ask on the terminal before removing *chosen*; exit unless the answer is yes."""
    client = session.client
    with failing(f"cannot read the logs on {session.where}"):
        pipe = client.pipeline(transaction=False)
        for name in chosen:
            pipe.llen(keys.encoded(name))
        lengths = [int(n) for n in pipe.execute()]
        sizes = policy.memory(client, chosen)
    described = [
        f"{escape(name, newlines=True)} ({records(length)}"
        + ("" if sizes.get(name) is None else f", {policy.human_bytes(sizes[name] or 0)}")
        + ")"
        for name, length in zip(chosen, lengths, strict=True)
    ]
    if len(described) == 1:
        question = f"remove {described[0]} from {session.where}? [y/N] "
    else:
        listing = "".join(f"  {line}\n" for line in described)
        question = f"{listing}remove these {len(described)} logs from {session.where}? [y/N] "
    sys.stderr.write(f"redislog: {escape(question)}")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        fail("nothing removed", NOTHING)
