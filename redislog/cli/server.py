"""The embedded server: ``server status`` and ``server stop``."""

from __future__ import annotations

import os

import typer

from redislog import connection, embedded, retention
from redislog.cli._app import app
from redislog.cli._session import NOTHING, fail
from redislog.escapes import escape

server = typer.Typer(
    name="server",
    help="See or stop the embedded Redis server (used when no URL is set).",
    no_args_is_help=True,
)
app.add_typer(server)


@server.command()
def status() -> None:
    """Say whether the embedded server runs: its pid, version, socket and data.

    Exit status 0 when it runs, 1 when it does not.
    """
    now = embedded.status()
    print(f"running:  {'yes' if now.running else 'no'}")
    if now.running:
        print(f"pid:      {now.pid if now.pid is not None else '?'}")
        print(f"version:  redis {escape(now.version or '?')}")
    print(f"socket:   {escape(str(now.socket))}")
    data = retention.human_bytes(now.data_bytes) if now.data_bytes else "none yet"
    print(f"data:     {escape(str(now.directory))} (append-only file: {data})")
    configured = _configured()
    if configured is None:
        print("in use:   yes (no REDISLOG_URL or REDIS_URL is set)")
    else:
        print(f"in use:   no ({configured} names the server to use)")
    if not now.running:
        raise typer.Exit(NOTHING)


@server.command()
def stop() -> None:
    """Stop the embedded server; its data stays, and the next use starts it again.

    Exit status 0 when it was stopped, 1 when it was not running.
    """
    directory = embedded.home()
    try:
        stopped = embedded.stop(directory)
    except OSError as exc:
        fail(f"cannot stop the embedded server at {directory}: {exc}")
    if not stopped:
        fail(f"the embedded server is not running (socket {directory / embedded.SOCKET})", NOTHING)
    print(f"stopped the embedded server; its data stays in {escape(str(directory))}")


def _configured() -> str | None:
    """The variable that names the server to use instead, if any."""
    return next((name for name in connection.URL_VARIABLES if os.environ.get(name)), None)
