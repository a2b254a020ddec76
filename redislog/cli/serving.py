"""The HTTP layer: ``serve``, and the tokens it accepts (``token create|ls|revoke``)."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated

import typer

from redislog import ingest, tokens
from redislog.cli._app import app
from redislog.cli._options import UrlOption, duration
from redislog.cli._session import Session, clock, fail, failing, output_guard
from redislog.escapes import escape

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8421

token_app = typer.Typer(
    name="token",
    help="Manage the tokens `redislog serve` accepts (stored hashed in Redis).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(token_app)


def _web() -> None:
    """Exit with one line unless the web extra is installed."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        fail("serve needs the web extra: pip install 'redislog[web]'")


@app.command()
def serve(
    host: Annotated[
        str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on")
    ] = DEFAULT_HOST,
    port: Annotated[
        int, typer.Option("--port", metavar="PORT", min=0, max=65535, help="Port to listen on")
    ] = DEFAULT_PORT,
    certfile: Annotated[
        str | None,
        typer.Option("--certfile", metavar="PATH", help="TLS certificate (PEM): serve HTTPS"),
    ] = None,
    keyfile: Annotated[
        str | None, typer.Option("--keyfile", metavar="PATH", help="TLS private key (PEM)")
    ] = None,
    cors_origin: Annotated[
        str | None,
        typer.Option(
            "--cors-origin",
            metavar="ORIGIN",
            help="Let pages from this one origin call the API (https://logs.example.com)",
        ),
    ] = None,
    max_body: Annotated[
        int,
        typer.Option("--max-body", metavar="BYTES", min=1, help="Largest request body"),
    ] = 16 * 1024 * 1024,
    max_record: Annotated[
        int,
        typer.Option("--max-record", metavar="BYTES", min=1, help="Largest record sent"),
    ] = 1024 * 1024,
    rate: Annotated[
        float,
        typer.Option("--rate", metavar="N", min=0.001, help="Records per second per token"),
    ] = 20_000.0,
    burst: Annotated[
        int,
        typer.Option("--burst", metavar="N", min=1, help="Records a token may send at once"),
    ] = 100_000,
    access_log: Annotated[
        bool, typer.Option("--access-log", help="Log every request on stderr")
    ] = False,
    url: UrlOption = None,
) -> None:
    """Serve the logs over HTTP: a JSON API with tokens, live follow as Server-Sent Events."""
    _web()
    from redislog.reader import Timing
    from redislog.web import Settings, server
    from redislog.web.limits import Limits

    if (certfile is None) != (keyfile is None):
        fail("--certfile and --keyfile go together")
    for path in (certfile, keyfile):
        if path is not None and not os.path.isfile(path):
            fail(f"no such file: {escape(path)}")
    session = Session.open(url)
    with failing(f"cannot read the tokens on {session.where}"):
        known = tokens.count(session.client)
    scheme = "https" if certfile else "http"
    if not server.loopback(host):
        if not known:
            fail(
                f"refusing to listen on {host}: no token exists, so anyone could reach "
                "the logs; create one first (redislog token create NAME --scope read)"
            )
        if certfile is None:
            session.notices(
                f"warning: listening on {host} without TLS: tokens and logs cross the "
                "network in clear (use --certfile/--keyfile or a TLS reverse proxy)"
            )
    elif not known:
        session.notices(
            "no token exists yet: every API call will be refused (redislog token create)"
        )
    try:
        sock = server.bind(host, port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    timing = Timing()
    keepalive = 15.0
    block = os.environ.get("REDISLOG_SERVE_BLOCK")  # tests: shorter waits
    if block:
        timing = Timing(heartbeat=min(timing.heartbeat, float(block) * 2), block=float(block))
        keepalive = float(block)
    settings = Settings(
        target=session.target,
        local=session.local,
        limits=Limits(body=max_body, record=max_record, rate=rate, burst=burst),
        cors_origin=cors_origin,
        secure_cookie=certfile is not None,
        timing=timing,
        keepalive=keepalive,
    )
    session.client.close()
    session.notices(f"serving {scheme}://{shown}:{bound} for {session.where}")
    with failing(f"serving {session.where} failed"):
        server.run(settings, sock, certfile=certfile, keyfile=keyfile, access_log=access_log)


def _scope(text: str) -> str:
    word = text.strip().lower()
    if word not in tokens.SCOPES:
        fail(f"bad scope {text!r}: use read, write or admin")
    return word


@token_app.command("create")
def create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="What the token is for (ci, web)")],
    scope: Annotated[
        str,
        typer.Option(
            "--scope",
            metavar="SCOPE",
            help="read (list, search, follow, stats), write (also send records) or admin",
        ),
    ] = "read",
    keys: Annotated[
        str, typer.Option("--keys", metavar="GLOB", help="Only log keys matching this glob")
    ] = "*",
    ttl: Annotated[
        str | None,
        typer.Option("--ttl", metavar="DURATION", help="Expire after this long (30d, 12h)"),
    ] = None,
    fields: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            metavar="KEY=VALUE",
            show_default=False,
            help="A field added to every record this token writes (repeatable)",
        ),
    ] = None,
    url: UrlOption = None,
) -> None:
    """Create a token and print its secret (shown only this once)."""
    chosen = _scope(scope)
    seconds = None if ttl is None else duration("--ttl", ttl)
    try:
        extra = ingest.parse_fields(fields or ())
    except ingest.IngestError as exc:
        fail(str(exc))
    session = Session.open(url)
    with failing(f"cannot create the token on {session.where}", tokens.TokenError):
        token, secret = tokens.create(
            session.client, name, chosen, keys=keys, fields=extra, ttl=seconds
        )
    until = "never expires" if token.expires is None else f"expires {clock(token.expires)}"
    session.notices(
        f"token {escape(name)} ({chosen}, keys {escape(keys)}, {until}) stored hashed on "
        f"{session.where}; its secret is shown only now:"
    )
    with output_guard():
        print(secret)


@token_app.command("ls")
def list_tokens(
    output: Annotated[
        str, typer.Option("-o", "--output", metavar="MODE", help="pretty or json")
    ] = "pretty",
    url: UrlOption = None,
) -> None:
    """List the tokens (never their secrets)."""
    mode = output.strip().lower()
    if mode not in ("pretty", "json", "jsonl"):
        fail(f"unknown output {output!r} for token ls: use pretty or json")
    session = Session.open(url)
    with failing(f"cannot list the tokens on {session.where}"):
        found = tokens.listed(session.client)
    with output_guard():
        if mode != "pretty":
            print(json.dumps([token.as_json() for token in found]))
            return
        if not found:
            session.notices(f"no tokens on {session.where} (redislog token create NAME)")
            return
        rows = [("NAME", "SCOPE", "KEYS", "FIELDS", "CREATED", "EXPIRES")]
        for token in found:
            expires = "-" if token.expires is None else clock(token.expires)
            if token.expired():
                expires += " (expired)"
            rows.append((
                escape(token.name), token.scope, escape(token.keys),
                escape(" ".join(f"{k}={v}" for k, v in token.fields.items())) or "-",
                clock(token.created), expires,
            ))  # fmt: skip
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        sys.stdout.flush()


@token_app.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The token's name")],
    url: UrlOption = None,
) -> None:
    """Revoke a token: every serve process refuses it from its next request."""
    session = Session.open(url)
    with failing(f"cannot revoke the token on {session.where}", tokens.TokenError):
        tokens.revoke(session.client, name)
    session.notices(f"revoked token {escape(name)} on {session.where}")


__all__ = ["DEFAULT_HOST", "DEFAULT_PORT"]
