"""Which Redis to use, and clients with every timeout set.

The URL comes from an explicit argument, else ``REDISLOG_URL``, else
``REDIS_URL``, else the embedded server (see ``embedded``).  ``redis://``,
``rediss://`` (TLS) and ``unix://`` URLs may carry a user and password; a
``redis://`` or ``rediss://`` URL of any node of a Redis Cluster gives a
cluster client (the server is asked with ``HELLO``, which every ACL user may
send).  ``redis+sentinel://[user:password@]host:port[,host:port...]/service[/db]``
asks Sentinel for the master of *service*, again on every reconnection.

TLS options ride in the query string of a ``rediss://`` URL under redis-py's
names (``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile``, ``ssl_cert_reqs``,
``ssl_check_hostname``...).  Other query options are refused: the timeouts
are set here on purpose (a blocking read needs one longer than its block).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any, TypeAlias
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import RedisClusterException
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool

from redislog import embedded

#: A client of one server (or of the master Sentinel names), or of a cluster.
Client: TypeAlias = "redis.Redis | RedisCluster"

#: Everything a Redis call can raise that is about Redis, not a bug here.
ERRORS = (redis.RedisError, OSError, RedisClusterException)

#: Where the server's URL is looked for, in order, when none is given.
URL_VARIABLES = ("REDISLOG_URL", "REDIS_URL")
#: Says whether the server runs on this machine, when the URL cannot: a
#: tunnel's ``localhost`` is far away, a host's own name is near.
LOCAL_VARIABLE = "REDISLOG_LOCAL"
_YES = ("1", "yes", "true")
_NO = ("0", "no", "false")
SOCKET_TIMEOUT = 2.0
CONNECT_TIMEOUT = 1.0
SENTINEL = "redis+sentinel"
_SCHEMES = ("redis", "rediss", "unix", SENTINEL)
_TLS_OPTIONS = {
    "ssl_ca_certs": str,
    "ssl_ca_path": str,
    "ssl_certfile": str,
    "ssl_keyfile": str,
    "ssl_password": str,
    "ssl_cert_reqs": ("none", "optional", "required"),
    "ssl_check_hostname": ("true", "false", "yes", "no", "1", "0"),
}
_SENTINEL_OPTIONS = ("sentinel_username", "sentinel_password")
_SECRET_OPTIONS = ("ssl_password", "sentinel_password")

# Server replies that clear up by themselves: memory, failover, loading.
# UNBLOCKED ends a blocking pop on a master that turns replica (a failover).
_TRANSIENT_REPLIES = {"OOM", "READONLY", "LOADING", "BUSY", "MASTERDOWN", "CLUSTERDOWN",
                      "TRYAGAIN", "NOREPLICAS", "MOVED", "ASK", "UNBLOCKED"}  # fmt: skip
_TRANSIENT_ERRORS = (
    redis.ConnectionError,
    redis.TimeoutError,
    OSError,
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.TryAgainError,
    # A slot moving (or its master failing over) faster than the client
    # follows; a cluster no node of which answers.
    redis.exceptions.AskError,
    RedisClusterException,
    # The cluster client's own "TTL exhausted": it followed MOVED, ASK and
    # TRYAGAIN replies until it gave up, as while a slot is half migrated (a
    # script over several keys gets TRYAGAIN until the slot's move ends).
    # Every one of those replies was a refusal, so nothing landed.  Also
    # covers ClusterDownError.
    redis.exceptions.ClusterError,
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

    @property
    def local(self) -> bool:
        """Whether the server runs on this machine, which decides where reads
        filter records: here, on plain windows, or inside Redis, so that only
        matches cross a network (see ``reader.Search``).

        Raises:
            ValueError: ``REDISLOG_LOCAL`` is neither yes nor no.
        """
        near = _local_setting()
        return local(self.url) if near is None else near

    def describe(self) -> str:
        """The URL with any password masked, and its source."""
        return f"{redact(self.url)} ({self.source})"


def resolve(url: str | None = None) -> Target:
    """Pick the server URL; the embedded server is not started here."""
    if url:
        return Target(check(url), "argument")
    for name in URL_VARIABLES:
        value = os.environ.get(name)
        if value:
            return Target(check(value), name)
    return Target(embedded.url(), "embedded")


def _local_setting() -> bool | None:
    """What ``REDISLOG_LOCAL`` says (None when unset); ValueError if unclear."""
    value = os.environ.get(LOCAL_VARIABLE, "").strip().lower()
    if not value:
        return None
    if value in _YES or value in _NO:
        return value in _YES
    raise ValueError(
        f"{LOCAL_VARIABLE} must be yes or no (whether the Redis server runs on this "
        f"machine), not {os.environ[LOCAL_VARIABLE]!r}"
    )


def check(url: str) -> str:
    """Return *url* if redislog can use it, else raise ValueError saying why."""
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme not in _SCHEMES:
        raise ValueError(
            f"unsupported Redis URL {redact(url)!r}: expected redis://, rediss://, "
            "unix:// or redis+sentinel://"
        )
    if scheme in ("redis", "rediss"):
        try:
            parts.port  # noqa: B018 - raises when the port is not a number
        except ValueError:
            raise ValueError(
                f"bad port in Redis URL {redact(url)!r}: it must be a number"
            ) from None
        path = unquote(parts.path)
        if path not in ("", "/") and not (path[1:].isdigit() and path.startswith("/")):
            raise ValueError(
                f"bad database {path[1:]!r} in Redis URL {redact(url)!r}: "
                "after the host comes the database number (/0)"
            )
    allowed: dict[str, Any] = {"db": int}
    if scheme == "rediss":
        allowed.update(_TLS_OPTIONS)
    if scheme == SENTINEL:
        allowed.update(dict.fromkeys(_SENTINEL_OPTIONS, str))
        sentinel_parts(url)  # raises if malformed
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        kind = allowed.get(name)
        if kind is None:
            hint = " (TLS options need a rediss:// URL)" if name in _TLS_OPTIONS else ""
            raise ValueError(f"unknown option {name!r} in Redis URL {redact(url)!r}{hint}")
        if isinstance(kind, tuple) and value.lower() not in kind:
            raise ValueError(f"{name} must be one of {', '.join(kind)}, not {value!r}")
        if kind is int and not value.isdigit():
            raise ValueError(f"{name} must be a number, not {value!r}")
    return url


@dataclass(frozen=True)
class SentinelParts:
    """A ``redis+sentinel://`` URL taken apart."""

    sentinels: list[tuple[str, int]]
    service: str
    db: int
    username: str | None
    password: str | None
    options: dict[str, str]


def sentinel_parts(url: str) -> SentinelParts:
    """Take a ``redis+sentinel://`` URL apart; ValueError if it is malformed."""
    parts = urlsplit(url)
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    username = password = None
    if userinfo:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    sentinels = []
    for item in hostlist.split(","):
        host, colon, port = item.strip().rpartition(":")
        if not colon or not host or not port.isdigit():
            raise ValueError(
                f"bad Sentinel address {item!r} in {redact(url)!r}: use host:port[,host:port...]"
            )
        sentinels.append((host.strip("[]"), int(port)))
    path = [unquote(piece) for piece in parts.path.split("/") if piece]
    if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise ValueError(
            f"bad Sentinel URL {redact(url)!r}: use "
            "redis+sentinel://[user:password@]host:port[,host:port...]/service_name[/db]"
        )
    return SentinelParts(
        sentinels=sentinels,
        service=path[0],
        db=int(path[1]) if len(path) == 2 else 0,
        username=username,
        password=password,
        options=dict(parse_qsl(parts.query)),
    )


def redact(url: str) -> str:
    """*url* with its passwords replaced by ``***``."""
    parts = urlsplit(url)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    netloc = parts.netloc
    if at and ":" in userinfo:
        netloc = f"{userinfo.partition(':')[0]}:***@{hosts}"
    query = parts.query
    if any(name in query for name in _SECRET_OPTIONS):
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(name, "***" if name in _SECRET_OPTIONS else value) for name, value in pairs],
            safe="/*",
        )
    if (netloc, query) == (parts.netloc, parts.query):
        return url  # urlunsplit would shorten unix:///path to unix:/path
    return urlunsplit(parts._replace(netloc=netloc, query=query))


class CommandPacker:
    """Commands in the Redis protocol, a whole command in one formatting step.

    redis-py's own packer runs Python code for every argument, which made it
    most of the writer thread's work: a batch is one command with a thousand
    records as arguments.  Arguments are encoded as redis-py encodes them;
    a last argument that is a :class:`Bulk` is sent as it is.
    """

    def __init__(self, encoder: Any) -> None:
        self._encode = encoder.encode

    def pack(self, *args: Any) -> list[bytes]:
        """The command *args* as one ``bytes``, ready to send."""
        first = args[0]
        # As redis-py does: a command name may hold its subcommand ("CONFIG GET").
        if isinstance(first, str):
            args = (*first.encode().split(), *args[1:])
        elif b" " in first:
            args = (*first.split(), *args[1:])
        framed: list[bytes] = []
        last = args[-1]
        if type(last) is Bulk:
            framed, args = last.items, args[:-1]
        encode = self._encode
        parts = [arg if type(arg) is bytes else encode(arg) for arg in args]
        count = len(parts)
        pieces = chain.from_iterable(zip(map(len, parts), parts, strict=True))
        head = b"*%d\r\n" % (count + len(framed)) + b"$%d\r\n%b\r\n" * count % (*pieces,)
        # One copy of framed records, into the command, and no work per record.
        return [b"".join([head, *framed])] if framed else [head]


class Bulk:
    """The last arguments of a command, as Redis protocol bulk strings
    (``serialize.dumps_bulk``) that :class:`CommandPacker` sends as they are.

    Only a client that packs with it takes one (:func:`takes_bulk`).
    """

    __slots__ = ("items",)

    def __init__(self, items: list[bytes]) -> None:
        self.items = items


def takes_bulk(client: object) -> bool:
    """Whether *client* sends its commands through :class:`CommandPacker`."""
    pool = getattr(client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", None)
    return isinstance(kwargs, dict) and isinstance(kwargs.get("command_packer"), CommandPacker)


def _pack_with_it(client: redis.Redis) -> None:
    """Have *client*'s connections pack commands with :class:`CommandPacker`."""
    pool = client.connection_pool
    pool.connection_kwargs["command_packer"] = CommandPacker(pool.get_encoder())


def _no_retries() -> Retry:
    # Retries are the caller's job: a retried write may land twice.
    return Retry(NoBackoff(), 0)


def connect(
    target: Target,
    *,
    socket_timeout: float = SOCKET_TIMEOUT,
    connect_timeout: float = CONNECT_TIMEOUT,
    seeds: Sequence[tuple[str, int]] = (),
) -> Client:
    """A client for *target* that never retries on its own and never waits forever.

    Starts the embedded server first when *target* is it.  For a URL of a
    cluster node this asks the node (one round trip) and returns a cluster
    client; for a Sentinel URL, a client of the master that Sentinel names.
    *seeds* are nodes of the cluster *target* belonged to when last reached,
    tried when its own node does not answer.
    """
    if target.embedded:
        embedded.ensure()
    timeouts: dict[str, Any] = {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": connect_timeout,
        "protocol": 2,
    }
    if urlsplit(target.url).scheme == SENTINEL:
        return _sentinel_master(target.url, timeouts)
    client = redis.Redis.from_url(
        target.url, retry=_no_retries(), health_check_interval=30, **timeouts
    )
    _pack_with_it(client)
    if target.url.startswith("unix:"):
        return client
    try:
        clustered = _in_cluster(client)
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        if not seeds:
            raise
        clustered = True  # the node is gone, perhaps for good: ask the others
    if not clustered:
        return client
    client.close()
    if int(client.connection_pool.connection_kwargs.get("db") or 0):
        raise ValueError(f"{redact(target.url)} is a cluster node: a cluster has only db 0")
    return RedisCluster.from_url(
        target.url,
        startup_nodes=[ClusterNode(host, port) for host, port in seeds],  # type: ignore[no-untyped-call]
        retry=_no_retries(),
        **timeouts,
    )


class Connector:
    """Connects to *target*, again after every fault (as a running viewer does).

    Remembers the nodes of the cluster it last reached: the node its URL names
    may be gone for good (a master that died and was replaced), while the
    cluster lives on.
    """

    def __init__(self, target: Target, client: Client | None = None) -> None:
        self.target = target
        self._seeds: list[tuple[str, int]] = []
        if client is not None:
            self._learn(client)

    def __call__(self, timeout: float) -> Client:
        client = connect(self.target, socket_timeout=timeout, seeds=self._seeds)
        self._learn(client)
        return client

    def _learn(self, client: Client) -> None:
        if isinstance(client, RedisCluster):
            nodes = client.get_nodes()  # type: ignore[no-untyped-call]
            self._seeds = [(node.host, node.port) for node in nodes]


def _in_cluster(client: redis.Redis) -> bool:
    """Whether *client*'s server is a cluster node."""
    try:
        reply: Any = client.execute_command("HELLO", "2")  # type: ignore[no-untyped-call]
    except redis.ResponseError as exc:
        # Choosing a db other than 0 on connecting fails on a cluster node.
        # Otherwise: before Redis 6, no HELLO (and no cluster to find this way).
        return "cluster mode" in str(exc)
    if isinstance(reply, dict):
        mode = reply.get(b"mode", reply.get("mode"))
    else:
        fields = list(reply)
        mode = dict(zip(fields[::2], fields[1::2], strict=False)).get(b"mode")
    return mode in (b"cluster", "cluster")


def _sentinel_master(url: str, timeouts: dict[str, Any]) -> redis.Redis:
    parts = sentinel_parts(url)
    sentinel_auth = {
        name.removeprefix("sentinel_"): parts.options[name]
        for name in _SENTINEL_OPTIONS
        if name in parts.options
    }
    sentinel = Sentinel(  # type: ignore[no-untyped-call,unused-ignore]
        parts.sentinels,
        sentinel_kwargs={**timeouts, "retry": _no_retries(), **sentinel_auth},
    )
    master: redis.Redis = sentinel.master_for(  # type: ignore[no-untyped-call,unused-ignore]
        parts.service,
        db=parts.db,
        username=parts.username,
        password=parts.password,
        retry=_no_retries(),
        health_check_interval=30,
        **timeouts,
    )
    _pack_with_it(master)
    return master


def is_cluster(client: object) -> bool:
    """Whether *client* talks to a Redis Cluster."""
    return isinstance(client, RedisCluster)


def layout(client: Client) -> str:
    """What *client* talks to: one server, a Sentinel-named master, or a cluster."""
    if isinstance(client, RedisCluster):
        masters = client.get_primaries()  # type: ignore[no-untyped-call]
        return f"cluster of {len(masters)} masters"
    pool = client.connection_pool
    if isinstance(pool, SentinelConnectionPool):
        host, port = pool.get_master_address()  # type: ignore[no-untyped-call]
        return f"master {host}:{port} of Sentinel service {pool.service_name!r}"
    return "single server"


def local(url: str) -> bool:
    """Whether the server of *url* runs on this machine, as far as the URL says."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return True
    if parts.scheme == SENTINEL:
        return False  # the master may be anywhere
    return parts.hostname in (None, "", "localhost", "127.0.0.1", "::1")


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
