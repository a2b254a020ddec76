"""Who is asking: a bearer token (or a browser's session, see ``sessions``) -> a
:class:`~redislog.tokens.Token`, and what it may touch.

Every failure is an :class:`HTTPError` with a one-line message; a wrong
secret is answered more slowly each time from the same address, and secrets
are never logged or echoed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from redislog import keys as keyspace
from redislog import tokens
from redislog.tokens import Token
from redislog.web import sessions


class HTTPError(Exception):
    """An answer with *status* and a JSON body ``{"error": message}``."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def secret_of(request: HTTPConnection) -> str | None:
    """The secret the request carries in ``Authorization: Bearer``."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise HTTPError(
                401, "use Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"}
            )
        return value.strip()
    return None


async def authorize(request: HTTPConnection, scope: str) -> Token:
    """The token of *request*, which must allow *scope*.

    Raises:
        HTTPError: 401 without a valid token, 403 when its scope is too weak.
    """
    if "authorization" not in request.headers and sessions.COOKIE in request.cookies:
        return await sessions.authorize(request, scope)
    secret = secret_of(request)
    if secret is None:
        raise HTTPError(
            401,
            "a token is required (Authorization: Bearer <token>)",
            {"WWW-Authenticate": "Bearer"},
        )
    token = await verify(request, secret)
    if token is None:
        raise HTTPError(
            401,
            "invalid, revoked or expired token",
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    if not token.allows(scope):
        raise HTTPError(403, f"this token's scope is {token.scope}; this needs {scope}")
    return token


async def verify(request: HTTPConnection, secret: str) -> Token | None:
    """The live token whose secret is *secret*, else None, answered more
    slowly after each failure from the same address."""
    from redislog.web.app import service_of

    service = service_of(request)
    address = request.client.host if request.client is not None else "?"
    token = await run_in_threadpool(service.verifier.verify, service.client, secret)
    if token is None:
        wait = service.failures.delay(address)
        service.failures.failed(address)
        if wait:
            await asyncio.sleep(wait)
    return token


def allowed_key(token: Token, key: str) -> str:
    """*key* if *token* may name it.

    Raises:
        HTTPError: 400 for a name that is no log key, 403 outside the token's pattern.
    """
    if key and not tokens.may_name(key):
        raise HTTPError(403, f"{key!r} is one of redislog's own keys, not a log")
    try:
        keyspace.check(key)
    except ValueError as exc:
        raise HTTPError(400, str(exc)) from None
    if not token.may_read(key):
        raise HTTPError(403, f"this token may only name log keys matching {token.keys!r}")
    return key
