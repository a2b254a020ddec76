"""The browser viewer's pages: sign-in and sign-out, the logs, a view of one or
several logs (live), and a log's stats.

The pages are shells served from the package (``templates/``); their scripts
(``static/``, plain JavaScript modules, no build step) read the JSON API with
the session cookie.  Every page is served under a strict Content-Security-
Policy: scripts, styles and images only from this origin, no inline script or
style, no ``eval``, Trusted Types required for every HTML sink (the scripts
never parse data as HTML: records are inserted as text), no framing.

Signing in posts a form holding a token's secret and a CSRF token (bound to a
short-lived cookie); signing out posts the session's CSRF token.  A page asked
for without a live session redirects to the sign-in page, which returns to it.
"""

from __future__ import annotations

import html
import secrets
import string
import time
from functools import cache
from importlib import resources
from urllib.parse import parse_qs, quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from redislog.web import auth, sessions
from redislog.web.auth import HTTPError

#: The pages' Content-Security-Policy.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'; "
    "require-trusted-types-for 'script'; trusted-types 'none'"
)
#: The cookie binding the sign-in form's CSRF token before there is a session.
SIGNIN_COOKIE = "redislog_signin"
#: Bytes of a sign-in or sign-out form at most.
FORM_MAX = 8192
#: The files under ``static/`` and their types (nothing else is served).
STATIC = {
    "viewer.css": "text/css; charset=utf-8",
    "common.js": "text/javascript; charset=utf-8",
    "logs.js": "text/javascript; charset=utf-8",
    "view.js": "text/javascript; charset=utf-8",
    "stats.js": "text/javascript; charset=utf-8",
    "icon.svg": "image/svg+xml",
}
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@cache
def _file(folder: str, name: str) -> bytes:
    return resources.files("redislog.web").joinpath(folder).joinpath(name).read_bytes()


def _template(name: str) -> string.Template:
    return string.Template(_file("templates", name).decode())


def _head(title: str) -> str:
    """The ``<head>`` every page starts with, open for page-specific lines."""
    return _template("head.html").substitute(title=html.escape(title, quote=True))


def _page(name: str, title: str, status: int = 200, **values: str) -> HTMLResponse:
    """Template *name* with *values* (each escaped as HTML text)."""
    safe = {key: html.escape(value, quote=True) for key, value in values.items()}
    body = _template(name).substitute(safe, head=_head(title))
    return HTMLResponse(body, status_code=status, headers=_HEADERS)


def _local(target: str | None) -> str:
    """*target* if it is a path on this site, else the logs page."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/logs"
    return target


def _secure(request: Request) -> bool:
    from redislog.web.app import service_of

    return bool(service_of(request).settings.secure_cookie) or request.url.scheme == "https"


async def _form(request: Request) -> dict[str, str]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise HTTPError(415, "send the form as application/x-www-form-urlencoded")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_MAX:
            raise HTTPError(413, f"the form is over {FORM_MAX:,} bytes")
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def _same_origin(request: Request) -> bool:
    """Whether a form post comes from a page of this site (when the browser says)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


# -- signing in and out ------------------------------------------------------------------


def _signin_page(request: Request, message: str = "", status: int = 200) -> Response:
    csrf = secrets.token_urlsafe(24)
    response = _page(
        "signin.html",
        "Sign in",
        status,
        csrf=csrf,
        next=_local(request.query_params.get("next")),
        message=message,
        hidden="" if message else "hidden",
    )
    response.set_cookie(
        SIGNIN_COOKIE, csrf, max_age=3600, httponly=True, samesite="strict",
        secure=_secure(request), path="/signin",
    )  # fmt: skip
    return response


async def signin_form(request: Request) -> Response:
    session = await sessions.of_request(request)
    if session is not None:
        return RedirectResponse(_local(request.query_params.get("next")), 303)
    return _signin_page(request)


async def signin(request: Request) -> Response:
    from redislog.web.app import service_of

    service = service_of(request)
    form = await _form(request)
    expected = request.cookies.get(SIGNIN_COOKIE)
    given = form.get("csrf", "")
    if (
        not _same_origin(request)
        or expected is None
        or not secrets.compare_digest(expected.encode(), given.encode())
    ):
        return _signin_page(request, "The form had expired: please sign in again.", 403)
    secret = form.get("token", "").strip()
    token = await auth.verify(request, secret)
    if token is None:
        return _signin_page(request, "That token is invalid, revoked or expired.", 401)
    session_id, session = await run_in_threadpool(sessions.start, service.client, token)
    target = _local(form.get("next"))
    response = RedirectResponse(target, 303, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        sessions.COOKIE, session_id, max_age=max(1, int(session.expires - time.time())),
        httponly=True, samesite="strict", secure=_secure(request), path="/",
    )  # fmt: skip
    response.delete_cookie(SIGNIN_COOKIE, path="/signin")
    return response


async def signout(request: Request) -> Response:
    from redislog.web.app import service_of

    service = service_of(request)
    form = await _form(request)
    session = await sessions.of_request(request)
    if session is not None:
        if not _same_origin(request) or not sessions.csrf_matches(session, form.get("csrf")):
            raise HTTPError(403, "a CSRF token is required to sign out")
        await run_in_threadpool(sessions.end, service.client, request.cookies[sessions.COOKIE])
    response = RedirectResponse("/signin", 303)
    response.delete_cookie(
        sessions.COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request)
    )
    return response


# -- the pages ---------------------------------------------------------------------------


async def _signed_in(request: Request, name: str, title: str, script: str) -> Response:
    session = await sessions.of_request(request)
    if session is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?next={quote(here, safe='')}", 303)
    main = _file("templates", name).decode()
    body = _template("layout.html").substitute(
        head=_head(title),
        page=script.removesuffix(".js"),
        script=script,
        csrf=html.escape(session.csrf, quote=True),
        who=html.escape(f"{session.token.name} ({session.token.scope}, {session.token.keys})"),
        main=main,
    )
    return HTMLResponse(body, headers=_HEADERS)


async def home(request: Request) -> Response:
    return RedirectResponse("/logs", 303)


async def logs_page(request: Request) -> Response:
    return await _signed_in(request, "logs.html", "Logs", "logs.js")


async def view_page(request: Request) -> Response:
    return await _signed_in(request, "view.html", "View", "view.js")


async def stats_page(request: Request) -> Response:
    return await _signed_in(request, "stats.html", "Stats", "stats.js")


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    kind = STATIC.get(name)
    if kind is None:
        raise HTTPError(404, "no such file")
    headers = {**_HEADERS, "Cache-Control": "no-cache"}
    return Response(_file("static", name), media_type=kind, headers=headers)


def routes() -> list[Route]:
    """The pages' routes."""
    return [
        Route("/", home, methods=["GET"]),
        Route("/signin", signin_form, methods=["GET"]),
        Route("/signin", signin, methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
        Route("/logs", logs_page, methods=["GET"]),
        Route("/view", view_page, methods=["GET"]),
        Route("/stats", stats_page, methods=["GET"]),
        Route("/static/{name}", static, methods=["GET"]),
    ]
