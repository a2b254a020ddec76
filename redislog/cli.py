"""The ``redislog`` command line."""

from __future__ import annotations

import os
import sys
from typing import Annotated, NoReturn

import redis
import typer

from redislog import connection, embedded, keys

app = typer.Typer(
    name="redislog",
    help="View logs that redislog ships to Redis.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Redis URL [default: $REDISLOG_URL, $REDIS_URL, else the embedded server]",
        show_default=False,
    ),
]


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line on stderr and exit with *code*."""
    sys.stderr.write(f"redislog: {message}\n")
    raise typer.Exit(code)


def open_client(url: str | None, *, socket_timeout: float = 5.0) -> tuple[redis.Redis, connection.Target]:
    """Connect and check the server answers; exit with one line if not."""
    try:
        target = connection.resolve(url)
    except ValueError as exc:
        fail(str(exc), 2)
    try:
        client = connection.connect(target, socket_timeout=socket_timeout)
        client.ping()
    except (redis.RedisError, embedded.EmbeddedError, OSError) as exc:
        fail(f"cannot reach {target.describe()}: {_reason(exc)}")
    return client, target


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


@app.command()
def info(url: UrlOption = None) -> None:
    """Show which Redis server is in use, and whether it keeps logs safe."""
    client, target = open_client(url)
    try:
        server = client.info("server")
        persistence = client.info("persistence")
        memory = client.info("memory")
        count = client.scard(keys.INDEX)
    except redis.RedisError as exc:
        fail(f"cannot read server info from {target.describe()}: {_reason(exc)}")
    print(f"server:   {target.describe()}")
    print(f"version:  redis {server.get('redis_version', '?')}")
    aof = bool(persistence.get("aof_enabled"))
    print(f"persist:  {'append-only file' if aof else 'no append-only file'}")
    policy = str(memory.get("maxmemory_policy", "?"))
    print(f"eviction: {policy} (maxmemory {memory.get('maxmemory_human', '?')})")
    print(f"logs:     {count}")
    for warning in risks(client, aof, policy):
        sys.stderr.write(f"redislog: warning: {warning}\n")


def risks(client: redis.Redis, aof: bool, policy: str) -> list[str]:
    """What about this server's configuration can lose logs."""
    found = []
    if not aof:
        try:
            save = client.config_get("save").get("save", "")
        except redis.RedisError:  # CONFIG may be forbidden to this user
            save = "?"
        if not save:
            found.append("the server keeps no data on disk: a restart loses every log")
        else:
            found.append("no append-only file: a crash loses records since the last snapshot")
    if policy.startswith("allkeys"):
        found.append(f"maxmemory-policy {policy} can evict whole log lists")
    return found


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
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
