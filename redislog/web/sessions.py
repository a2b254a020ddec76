"""Browser sessions for the pages of ``redislog serve``.

Signing in with a token's secret makes a session: a random id, sent to the
browser in an HttpOnly, SameSite=Strict cookie (Secure over TLS), and kept in
Redis as ``redislog:session:<sha256 of the id>`` holding the token's id and
the session's CSRF token, with an expiry (``SESSION_TTL``, never past the
token's own).  The secret itself is neither stored nor put in the cookie.  Each
request reads the token's entry again, so revoking the token ends its sessions
at once in every serve process; signing out deletes the session.

State-changing requests that a session authorises (any method but GET, HEAD
and OPTIONS) must carry the session's CSRF token in ``X-CSRF-Token`` (or a
form's ``csrf`` field, checked by the page that reads the form).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from redislog import tokens
from redislog.connection import Client
from redislog.tokens import Token

#: The session cookie's name.
COOKIE = "redislog_sid"
#: Seconds a session lasts at most.
SESSION_TTL = 12 * 3600
#: Methods that change nothing, so need no CSRF token.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_PREFIX = "redislog:session:"


@dataclass(frozen=True)
class Session:
    """One signed-in browser: its token and CSRF token."""

    token: Token
    csrf: str
    expires: float


def _key(session_id: str) -> str:
    return _PREFIX + hashlib.sha256(session_id.encode()).hexdigest()


def _token(client: Client, token_id: str) -> Token | None:
    for token in tokens.listed(client):
        if token.id == token_id:
            return None if token.expired() else token
    return None


def start(client: Client, token: Token, ttl: float = SESSION_TTL) -> tuple[str, Session]:
    """A new session for *token*: its id (for the cookie) and the session."""
    now = time.time()
    expires = now + ttl if token.expires is None else min(now + ttl, token.expires)
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    body = json.dumps({"token": token.id, "csrf": csrf, "expires": expires})
    client.set(_key(session_id), body, px=max(1000, int((expires - now) * 1000)))
    return session_id, Session(token, csrf, expires)


def find(client: Client, session_id: str) -> Session | None:
    """The live session *session_id* names, if any (its token still valid)."""
    if not session_id or len(session_id) > 100:
        return None
    raw: Any = client.get(_key(session_id))
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        token_id, csrf, expires = str(data["token"]), str(data["csrf"]), float(data["expires"])
    except (ValueError, KeyError, TypeError):
        return None
    if expires <= time.time():
        return None
    token = _token(client, token_id)
    return None if token is None else Session(token, csrf, expires)


def end(client: Client, session_id: str) -> None:
    """Forget the session (signing out)."""
    if session_id and len(session_id) <= 100:
        client.delete(_key(session_id))


def csrf_matches(session: Session, given: str | None) -> bool:
    """Whether *given* is the session's CSRF token (compared in constant time)."""
    return given is not None and hmac.compare_digest(session.csrf.encode(), given.encode())


async def of_request(request: HTTPConnection) -> Session | None:
    """The session the request's cookie names, if any."""
    from redislog.web.app import service_of

    session_id = request.cookies.get(COOKIE)
    if not session_id:
        return None
    service = service_of(request)
    return await run_in_threadpool(find, service.client, session_id)


async def authorize(request: HTTPConnection, scope: str) -> Token:
    """The token behind the request's session cookie, which must allow *scope*;
    a state-changing request must carry the session's CSRF token.

    Raises:
        HTTPError: 401 without a live session, 403 for a missing CSRF token or
            a scope too weak.
    """
    from redislog.web.auth import HTTPError

    session = await of_request(request)
    if session is None:
        raise HTTPError(401, "the session has ended: sign in again")
    method = request.scope.get("method", "GET")
    if method not in SAFE_METHODS and not csrf_matches(
        session, request.headers.get("x-csrf-token")
    ):
        raise HTTPError(403, "a CSRF token is required (X-CSRF-Token)")
    if not session.token.allows(scope):
        raise HTTPError(403, f"this token's scope is {session.token.scope}; this needs {scope}")
    return session.token
