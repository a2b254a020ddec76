"""Which Redis to use, and clients with every timeout set.

The URL comes from an explicit argument, else ``REDISLOG_URL``, else
``REDIS_URL``, else the embedded server (see ``embedded``).  ``redis://``,
``rediss://`` (TLS) and ``unix://`` URLs may carry a user and password.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from redislog import embedded

SOCKET_TIMEOUT = 2.0
CONNECT_TIMEOUT = 1.0
_SCHEMES = ("redis", "rediss", "unix")

# Server replies that clear up by themselves: memory, failover, loading.
_TRANSIENT_REPLIES = {"OOM", "READONLY", "LOADING", "BUSY", "MASTERDOWN",
                      "CLUSTERDOWN", "TRYAGAIN", "NOREPLICAS"}  # fmt: skip
_TRANSIENT_ERRORS = (
    redis.ConnectionError,
    redis.TimeoutError,
    OSError,
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.ClusterDownError,
    redis.exceptions.TryAgainError,
)


@dataclass(frozen=True)
class Target:
    """A resolved server: its URL and where the URL came from."""

    url: str
    source: str

    @property
    def embedded(self) -> bool:
        """True when this is the embedded server."""
        return self.source == "embedded"

    def describe(self) -> str:
        """The URL with any password masked, and its source."""
        return f"{redact(self.url)} ({self.source})"


def resolve(url: str | None = None) -> Target:
    """Pick the server URL; the embedded server is not started here."""
    if url:
        return Target(check(url), "argument")
    for name in ("REDISLOG_URL", "REDIS_URL"):
        value = os.environ.get(name)
        if value:
            return Target(check(value), name)
    return Target(embedded.url(), "embedded")


def check(url: str) -> str:
    """Return *url* if its scheme is one redislog speaks, else raise ValueError."""
    scheme = urlsplit(url).scheme
    if scheme not in _SCHEMES:
        raise ValueError(
            f"unsupported Redis URL {redact(url)!r}: expected redis://, rediss:// or unix://"
        )
    return url


def redact(url: str) -> str:
    """*url* with its password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{user}:***@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def connect(
    target: Target,
    *,
    socket_timeout: float = SOCKET_TIMEOUT,
    connect_timeout: float = CONNECT_TIMEOUT,
) -> redis.Redis:
    """A client for *target* that never retries on its own and never waits forever.

    Starts the embedded server first when *target* is it.
    """
    if target.embedded:
        embedded.ensure()
    return redis.Redis.from_url(
        target.url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=connect_timeout,
        # Retries are the caller's job: a retried write may land twice.
        retry=Retry(NoBackoff(), 0),
        health_check_interval=30,
        protocol=2,
    )


def transient(exc: BaseException) -> bool:
    """Whether *exc* may clear up by itself (a lost connection, a restart...)."""
    if isinstance(exc, _TRANSIENT_ERRORS):
        return True
    if isinstance(exc, redis.ResponseError):
        # Redis 6.2 wraps errors raised inside a script in a generic reply,
        # so look for the original error code in the text.
        words = set(str(exc).replace("-", " ").split())
        return not words.isdisjoint(_TRANSIENT_REPLIES)
    return False


def describe(exc: BaseException) -> str:
    """What went wrong, on one line."""
    text = " ".join(str(exc).split()).rstrip(".")
    return text or type(exc).__name__
