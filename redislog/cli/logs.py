"""Which logs, what is in them and which server: ``ls``, ``fields`` and ``info``."""

from __future__ import annotations

import itertools
import shutil
import sys
from typing import Annotated

import typer
from rich.cells import cell_len, chop_cells

from redislog import connection, jsonlines, keys, reader, retention
from redislog import stats as counting
from redislog.cli._app import app
from redislog.cli._options import Filtering, KeysArgument, UrlOption, UtcOption, count, grouped
from redislog.cli._session import NOTHING, Session, clock, fail, failing, output_guard
from redislog.entry import Entry
from redislog.escapes import escape

_HEADER = ("KEY", "RECORDS", "CAP", "MEMORY", "OLDEST", "NEWEST", "TAILS")
_RIGHT = (1, 2, 3, 6)  # the columns of numbers


@app.command("ls")
def list_logs(
    names: KeysArgument = None,
    utc: UtcOption = False,
    url: UrlOption = None,
) -> None:
    """List the log keys: records, cap, memory, oldest and newest record, live tails."""
    session = Session.open(url)
    session.notices(f"listing the log keys on {session.where}")
    with failing(f"cannot list log keys on {session.where}"):
        infos = reader.describe_logs(session.client, names or ())
    if not infos:
        fail(f"no log keys on {session.where} (nothing has logged there yet)", NOTHING)
    try:
        sizes = retention.memory(
            session.client, [info.key for info in infos if info.kind == "list"]
        )
    except connection.ERRORS:  # MEMORY may be forbidden to this user
        sizes = {}
    rows = [_HEADER, *(_row(info, sizes.get(info.key), utc) for info in infos)]
    with output_guard():
        for line in _table(rows, _terminal_width()):
            print(line)
        sys.stdout.flush()


#: The key column is never made narrower than this to fit a terminal.
_MIN_KEY_WIDTH = 16


def _terminal_width() -> int | None:
    """The terminal's width ($COLUMNS first), or None when stdout is a pipe."""
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def _table(rows: list[tuple[str, ...]], width: int | None) -> list[str]:
    """*rows* as aligned lines; on a terminal *width* wide, key names too long
    for it wrap within their column (further parts indented by two), so the
    other columns stay in place."""
    widths = [max(cell_len(row[i]) for row in rows) for i in range(len(_HEADER))]
    if width is not None:
        others = sum(widths[1:]) + 2 * (len(widths) - 1)
        widths[0] = min(widths[0], max(_MIN_KEY_WIDTH, width - others))
    lines = []
    for row in rows:
        name, *rest = chop_cells(row[0], widths[0]) if row[0] else [""]
        if rest:  # the rest of the name, indented so it cannot pass for a key
            rest = ["  " + part for part in chop_cells("".join(rest), widths[0] - 2)]
        cells = [_pad(name, widths[0], 0)]
        cells += [
            _pad(cell, size, i) for i, (cell, size) in enumerate(zip(row, widths, strict=True)) if i
        ]
        lines.append("  ".join(cells).rstrip())
        lines += rest
    return lines


def _pad(cell: str, width: int, column: int) -> str:
    space = " " * max(0, width - cell_len(cell))
    return space + cell if column in _RIGHT else cell + space


def _row(info: reader.LogInfo, size: int | None, utc: bool) -> tuple[str, ...]:
    name = escape(info.key, newlines=True)
    if info.kind not in ("list", "none"):
        return (name, "-", "-", "-", f"(a Redis {info.kind}, not a log list)", "", "")
    cap = f"{info.maxlen:,}" if info.maxlen is not None else "-"
    if info.kind == "none":
        return (name, "0", cap, "-", "(empty)", "", str(info.tails))
    return (
        name,
        f"{info.length:,}",
        cap,
        "?" if size is None else retention.human_bytes(size),
        _when(info.oldest, utc),
        _when(info.newest, utc),
        str(info.tails),
    )


def _when(entry: Entry | None, utc: bool) -> str:
    if entry is None:
        return "-"
    if entry.ts is None:
        return "?"
    return clock(entry.ts, utc=utc)


_EXAMPLE_MAX = 40


@app.command()
@grouped
def fields(
    names: KeysArgument = None,
    lines: Annotated[
        str,
        typer.Option("-n", "--lines", metavar="N|all", help="Read the newest N matching records"),
    ] = "10000",
    output: Annotated[
        str, typer.Option("-o", "--output", metavar="MODE", help="pretty or json")
    ] = "pretty",
    quiet: Annotated[
        bool, typer.Option("-q", "--quiet", help="No notices on stderr (errors still show)")
    ] = False,
    *,
    filtering: Filtering,
    url: UrlOption = None,
) -> None:
    """List the field names of the newest records: how many have each, and example values."""
    query = filtering.query()
    most = count("-n", lines, least=1)
    mode = output.strip().lower()
    if mode not in ("pretty", "json", "jsonl"):
        fail(f"unknown output {output!r} for fields: use pretty or json")
    session = Session.open(url, quiet=quiet, socket_timeout=reader.READ_TIMEOUT)
    chosen = session.logs(names)
    session.announce("reading from", chosen)
    finder = reader.Search(
        session.client,
        chosen,
        query=query,
        where=session.where,
        local=session.local,
    )
    tally = counting.FieldCounts()
    with failing(f"reading from {session.where} failed"):
        for entry in itertools.islice(finder.newest_first(), most):
            tally.add(entry)
    if not tally.records:
        fail("no matching records", NOTHING)
    found = tally.fields()
    with output_guard():
        if mode != "pretty":
            rows = [{"field": f.name, "records": f.records, "examples": f.examples} for f in found]
            print(jsonlines.strict({"records": tally.records, "fields": rows}))
        else:
            _field_table(found, tally.records)
        sys.stdout.flush()
    if tally.unstructured:
        session.notices(f"{tally.unstructured:,} of the records read are not JSON objects")


def _field_table(found: list[counting.Field], total: int) -> None:
    table = [("FIELD", "RECORDS", "SHARE", "EXAMPLES")]
    for field in found:
        examples = ", ".join(_example(text) for text in field.examples)
        share = f"{field.records / total:.0%}"
        table.append((escape(field.name, newlines=True), f"{field.records:,}", share, examples))
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    for row in table:
        cells = [row[0].ljust(widths[0]), row[1].rjust(widths[1]), row[2].rjust(widths[2])]
        print("  ".join([*cells, row[3]]).rstrip())


def _example(text: str) -> str:
    shown = escape(text, newlines=True)
    if len(shown) > _EXAMPLE_MAX:
        shown = shown[: _EXAMPLE_MAX - 1] + "…"
    return shown if shown and "," not in shown and " " not in shown else f'"{shown}"'


@app.command()
def info(url: UrlOption = None) -> None:
    """Show which Redis server is in use, and whether it keeps logs safe."""
    session = Session.open(url)
    client = session.client
    with failing(f"cannot read server info from {session.where}"):
        server = client.info("server")
        persistence = client.info("persistence")
        memory = client.info("memory")
        count = client.scard(keys.INDEX)
        layout = connection.layout(client)
    risks = reader.risks(client)
    print(f"server:   {escape(session.where)}")
    print(f"mode:     {escape(layout)}")
    print(f"version:  redis {escape(str(server.get('redis_version', '?')))}")
    aof = bool(persistence.get("aof_enabled"))
    safe = "records survive a crash and a restart"
    print(f"persist:  {'append-only file: ' + safe if aof else _risk(risks, 'no append-only')}")
    policy = escape(str(memory.get("maxmemory_policy", "?")))
    limit = int(memory.get("maxmemory") or 0)
    size = escape(str(memory.get("maxmemory_human", "?")))
    if not limit:
        print(f"eviction: {policy} (no maxmemory): nothing is evicted")
    else:
        if policy.startswith("allkeys"):
            words = "whole log lists can be evicted when memory is full"
        elif policy == "noeviction":
            words = "new records are refused when memory is full (the handler counts them)"
        else:
            words = "only keys with an expiry are evicted: log lists stay"
        print(f"eviction: {policy} (maxmemory {size}): {words}")
    print(f"logs:     {count}")
    for warning in risks:
        session.notices(f"warning: {warning}")


def _risk(risks: list[str], start: str) -> str:
    """The persistence risk in *risks*, in words."""
    for risk in risks:
        if "no data on disk" in risk:
            return f"no append-only file, no snapshots: {risk.partition(': ')[2]}"
        if risk.startswith(start):
            return risk
    return "no append-only file"
