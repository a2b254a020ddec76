"""URLs: which schemes and options are taken, how Sentinel URLs read, what is masked."""

from __future__ import annotations

import pytest
import redis
from redis._parsers.encoders import Encoder
from redis.connection import PythonRespSerializer

from redislog import RedisHandler, connection, serialize
from tests.support import one_line_error, run_cli


@pytest.mark.parametrize(
    "url",
    [
        "redis://localhost:6380/0",
        "rediss://u:p@host:6380/0?ssl_ca_certs=/ca.pem&ssl_certfile=/c.pem&ssl_keyfile=/c.key",
        "rediss://host/0?ssl_cert_reqs=none&ssl_check_hostname=false",
        "unix:///tmp/redis.sock?db=2",
        "redis+sentinel://s1:26379,s2:26380/logs",
        "redis+sentinel://app:pw@s1:26379/logs/3?sentinel_password=spw",
    ],
)
def test_accepted_urls(url: str) -> None:
    """redis://, rediss:// with TLS options, unix:// and Sentinel URLs are accepted."""
    assert connection.check(url) == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://host", "unsupported Redis URL"),
        ("redis://host/0?ssl_ca_certs=/ca.pem", "TLS options need a rediss:// URL"),
        ("rediss://host/0?socket_timeout=60", "unknown option 'socket_timeout'"),
        ("rediss://host/0?ssl_cert_reqs=maybe", "ssl_cert_reqs must be one of"),
        ("redis+sentinel://s1:26379", "bad Sentinel URL"),
        ("redis+sentinel://s1/logs", "bad Sentinel address"),
        ("redis+sentinel://s1:1/logs/zero", "bad Sentinel URL"),
    ],
)
def test_refused_urls(url: str, message: str) -> None:
    """A URL redislog cannot use is refused at configuration, and by the CLI with exit 2."""
    with pytest.raises(ValueError, match=message):
        connection.check(url)
    with pytest.raises(ValueError, match=message):
        RedisHandler(url=url, key="logs:x")  # fails at configuration, not later
    assert message in one_line_error(run_cli("ls", "--url", url), 2)


@pytest.mark.parametrize(
    ("url", "setting", "local"),
    [
        ("redis://localhost:6380/0", None, True),
        ("redis://127.0.0.1:6380/0", None, True),
        ("unix:///tmp/redis.sock", None, True),
        ("redis://cache.internal:6379/0", None, False),
        ("redis+sentinel://s1:26379/logs", None, False),
        ("redis://localhost:6380/0", "", True),
        # A tunnel's end: localhost, but the server is far away.
        ("redis://localhost:6380/0", "no", False),
        ("redis://localhost:6380/0", " 0 ", False),
        ("redis://cache.internal:6379/0", "Yes", True),
        ("redis://cache.internal:6379/0", "true", True),
    ],
)
def test_whether_the_server_runs_here(
    monkeypatch: pytest.MonkeyPatch, url: str, setting: str | None, local: bool
) -> None:
    """The URL tells, unless REDISLOG_LOCAL says otherwise."""
    if setting is None:
        monkeypatch.delenv(connection.LOCAL_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(connection.LOCAL_VARIABLE, setting)
    assert connection.resolve(url).local is local


def test_an_unclear_local_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only readers ask, so only readers refuse: a handler still logs."""
    monkeypatch.setenv(connection.LOCAL_VARIABLE, "maybe")
    target = connection.resolve("redis://localhost:6380/0")
    with pytest.raises(ValueError, match=r"REDISLOG_LOCAL must be yes or no .*'maybe'"):
        _ = target.local
    RedisHandler(url="redis://localhost:6380/0", key="logs:x").close()


def test_sentinel_parts() -> None:
    """A Sentinel URL names its sentinels, service, db, user and password."""
    parts = connection.sentinel_parts("redis+sentinel://app:p%40ss@s1:26379,[::1]:26380/logs/3")
    assert parts.sentinels == [("s1", 26379), ("::1", 26380)]
    assert (parts.service, parts.db, parts.username, parts.password) == ("logs", 3, "app", "p@ss")


def test_passwords_are_masked() -> None:
    """Every password in a URL, the sentinels' and the key file's too, shows as ***."""
    assert (
        connection.redact("redis+sentinel://app:pw@s1:1,s2:2/logs?sentinel_password=spw")
        == "redis+sentinel://app:***@s1:1,s2:2/logs?sentinel_password=***"
    )
    assert connection.redact("rediss://h:1/0?ssl_keyfile=/k&ssl_password=x") == (
        "rediss://h:1/0?ssl_keyfile=/k&ssl_password=***"
    )
    assert connection.redact("redis://:secret@h:1/0") == "redis://:***@h:1/0"


PACKED_COMMANDS = [
    ("PING",),
    ("SET", "k", "v"),
    ("CONFIG GET", "maxmemory"),
    (b"CLIENT SETNAME", b"x"),
    ("EVALSHA", "0" * 40, 2, "logs:a", b"logs:a:feed", 3.5, -7, 2**70, "é", b"\x00\r\n" * 5000),
    ("SET", bytearray(b"k"), memoryview(b"v")),
    ("LPUSH", "k", *[b"{}" for _ in range(3000)]),
]


@pytest.mark.parametrize("command", PACKED_COMMANDS, ids=lambda c: str(c[0])[:20])
def test_commands_are_packed_as_redis_py_packs_them(command: tuple[object, ...]) -> None:
    encoder = Encoder("utf-8", "strict", False)
    theirs = PythonRespSerializer(6000, encoder.encode).pack(*command)
    assert connection.CommandPacker(encoder).pack(*command) == [b"".join(theirs)]


@pytest.mark.parametrize("command", PACKED_COMMANDS, ids=lambda c: str(c[0])[:20])
def test_bulk_arguments_are_packed_as_the_plain_ones(command: tuple[object, ...]) -> None:
    """Arguments handed over as bulk strings make the same command."""
    encoder = Encoder("utf-8", "strict", False)
    packer = connection.CommandPacker(encoder)
    head, tail = command[:2], [encoder.encode(arg) for arg in command[2:]]
    bulk = connection.Bulk([serialize.bulk(arg) for arg in tail])
    assert packer.pack(*head, bulk) == packer.pack(*command)


@pytest.mark.parametrize("value", [True, None, object(), [b"x"]])
def test_arguments_redis_py_refuses_are_refused(value: object) -> None:
    with pytest.raises(redis.DataError):
        connection.CommandPacker(Encoder("utf-8", "strict", False)).pack("SET", "k", value)


def test_clients_pack_with_it(redis_url: str) -> None:
    """A client connect() makes sends every command through CommandPacker,
    and the server understands them."""
    client = connection.connect(connection.resolve(redis_url))
    try:
        assert client.ping()
        pool = client.connection_pool
        conn = pool.get_connection()  # type: ignore[no-untyped-call]
        assert isinstance(conn._command_packer, connection.CommandPacker)
        pool.release(conn)
        assert connection.takes_bulk(client)
        assert not connection.takes_bulk(redis.Redis.from_url(redis_url))
        values = [f"v{i}".encode() * 100 for i in range(2500)]
        client.delete("packed")
        assert client.rpush("packed", *values) == 2500
        assert client.lrange("packed", 0, -1) == values
        client.delete("packed")
    finally:
        client.close()
