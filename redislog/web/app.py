"""The Starlette application: settings, the shared service, errors as JSON,
security headers and CORS."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from anyio import to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from redislog import connection, filters, ingest, reader, tokens
from redislog.reader import Timing
from redislog.web.auth import HTTPError
from redislog.web.follow import Hub
from redislog.web.limits import Buckets, Failures, Limits

_log = logging.getLogger("redislog.web")

#: Requests' Redis calls running at once (and so their Redis connections).
REQUEST_THREADS = 8

#: Headers on every answer: nothing here is a page that may run scripts,
#: be framed, sniffed or cached.
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


@dataclass(frozen=True)
class Settings:
    """How ``redislog serve`` runs.

    Args:
        target: the Redis server (as the command line resolves it).
        local: whether it runs on this machine (see ``connection.Target.local``).
        limits: bounds on what a token may send.
        cors_origin: the one origin allowed to call from a browser (None: none).
        secure_cookie: mark the sign-in cookie Secure (served over TLS).
        timing: the live tails' pacing (tests shorten it).
        keepalive: seconds between comments on an idle event stream.
    """

    target: connection.Target
    local: bool
    limits: Limits = field(default_factory=Limits)
    cors_origin: str | None = None
    secure_cookie: bool = False
    timing: Timing = field(default_factory=Timing)
    keepalive: float = 15.0


class Metrics:
    """Counters for ``GET /metrics``."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, int]] = Counter()
        self.ingested = 0
        self.redis_errors = 0

    def redis_failed(self) -> None:
        self.redis_errors += 1


class Service:
    """What every request shares: one Redis client (its pool), the token
    verifier, the follow hub, the limits and the counters."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.target = settings.target
        self.where = settings.target.describe()
        self.client = connection.connect(settings.target, socket_timeout=reader.READ_TIMEOUT)
        self.local = settings.local
        self.verifier = tokens.Verifier()
        self.failures = Failures()
        self.buckets = Buckets(settings.limits.rate, settings.limits.burst)
        self.metrics = Metrics()
        self.hub = Hub(self._link, timing=settings.timing, on_error=self.metrics.redis_failed)

    def _link(self) -> reader.Link:
        connect = connection.Connector(self.target, self.client)
        client = connect(reader.READ_TIMEOUT)
        return reader.Link(client, connect, where=self.where)

    def close(self) -> None:
        self.client.close()


def service_of(request: HTTPConnection) -> Service:
    service: Service = request.app.state.service
    return service


class _Headers:
    """Adds :data:`SECURITY_HEADERS` and counts answers by route and status."""

    def __init__(self, app: ASGIApp, metrics: Callable[[], Metrics]) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message["headers"] = headers
                route = scope.get("route")
                path = getattr(route, "path", "other")
                self.metrics().requests[path, int(message["status"])] += 1
            await send(message)

        await self.app(scope, receive, sending)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPError)
    return _error(exc.status, exc.message, exc.headers)


async def _filter_error(request: Request, exc: Exception) -> Response:
    return _error(400, str(exc))


async def _missing(request: Request, exc: Exception) -> Response:
    return _error(404, str(exc))


async def _reader_error(request: Request, exc: Exception) -> Response:
    service_of(request).metrics.redis_failed()
    return _error(503, str(exc))


async def _redis_error(request: Request, exc: Exception) -> Response:
    service = service_of(request)
    service.metrics.redis_failed()
    return _error(503, f"{service.where}: {connection.describe(exc)}")


async def _starlette_http(request: Request, exc: Exception) -> Response:
    status = int(getattr(exc, "status_code", 500))
    detail = str(getattr(exc, "detail", "")) or "error"
    return _error(status, " ".join(detail.split()))


async def _internal(request: Request, exc: Exception) -> Response:
    _log.error("internal error on %s %s: %r", request.method, request.url.path, exc)
    # Answered outside the middleware (Starlette's outermost layer): add the
    # headers here.
    headers = {name.decode(): value.decode() for name, value in SECURITY_HEADERS}
    return _error(500, "internal error", headers)


def create_app(settings: Settings) -> Starlette:
    """The application for *settings* (it connects to Redis lazily)."""
    from starlette.exceptions import HTTPException

    from redislog.web import pages
    from redislog.web.api import routes

    holder: dict[str, Service] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Every blocking Redis call of a request runs on this thread pool and
        # holds a pooled connection meanwhile: bounding the threads bounds the
        # connections, whatever the number of clients.
        to_thread.current_default_thread_limiter().total_tokens = REQUEST_THREADS
        yield
        await app.state.service.hub.close()
        app.state.service.close()

    middleware = [Middleware(_Headers, metrics=lambda: holder["service"].metrics)]
    if settings.cors_origin is not None:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=[settings.cors_origin],
                allow_methods=["GET", "POST", "DELETE"],
                allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
                allow_credentials=True,
                max_age=600,
            )
        )
    handlers: dict[object, Callable[[Request, Exception], Awaitable[Response]]] = {
        HTTPError: _http_error,
        filters.FilterError: _filter_error,
        ingest.IngestError: _filter_error,
        reader.MissingLog: _missing,
        reader.ReaderError: _reader_error,
        HTTPException: _starlette_http,
        Exception: _internal,
    }
    for error in connection.ERRORS:
        handlers[error] = _redis_error
    app = Starlette(
        routes=routes() + pages.routes(),
        middleware=middleware,
        exception_handlers=handlers,
        lifespan=lifespan,
    )
    service = Service(settings)
    holder["service"] = service
    app.state.service = service
    return app
