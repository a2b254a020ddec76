"""Which logs and which server: ``ls`` and ``info``."""

from __future__ import annotations

import sys

from redislog import connection, keys, reader, retention
from redislog.cli._app import app
from redislog.cli._options import KeysArgument, UrlOption, UtcOption
from redislog.cli._session import Session, clock, failing, output_guard
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
    with failing(f"cannot list log keys on {session.where}"):
        infos = reader.describe_logs(session.client, names or ())
    if not infos:
        sys.stderr.write(f"redislog: no log keys on {escape(session.where)}\n")
        return
    try:
        sizes = retention.memory(
            session.client, [info.key for info in infos if info.kind == "list"]
        )
    except connection.ERRORS:  # MEMORY may be forbidden to this user
        sizes = {}
    rows = [_HEADER, *(_row(info, sizes.get(info.key), utc) for info in infos)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    with output_guard():
        for row in rows:
            cells = [
                cell.rjust(width) if i in _RIGHT else cell.ljust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            ]
            print("  ".join(cells).rstrip())
        sys.stdout.flush()


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
    print(f"server:   {escape(session.where)}")
    print(f"mode:     {escape(layout)}")
    print(f"version:  redis {server.get('redis_version', '?')}")
    aof = bool(persistence.get("aof_enabled"))
    print(f"persist:  {'append-only file' if aof else 'no append-only file'}")
    policy = str(memory.get("maxmemory_policy", "?"))
    print(f"eviction: {policy} (maxmemory {memory.get('maxmemory_human', '?')})")
    print(f"logs:     {count}")
    for warning in reader.risks(client):
        sys.stderr.write(f"redislog: warning: {warning}\n")
