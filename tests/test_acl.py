"""Least-privilege users: exactly the README's ACL SETUSER lines, on the server under test.

Redis 6.2 servers get the README's 6.2 lines; Redis 7 servers get both sets.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis

from redislog import keys
from tests.servers import Server
from tests.support import (
    Background,
    log_records,
    one_line_error,
    run_cli,
    run_with_input,
    wait_for,
)
from tests.support.acl import as_user, load_users, readme_acl, variants

VARIANTS = variants()


def test_the_readme_has_both_users_for_each_version() -> None:
    """The README gives a writer and a reader for Redis 6.2 and for Redis 7."""
    lines = readme_acl()
    assert sorted(lines) == ["6.2", "7.0"]
    for variant in lines.values():
        assert [line.split()[2] for line in variant] == ["logwriter", "logreader"]


def refused(client: redis.Redis, *command: Any) -> None:
    with pytest.raises(redis.exceptions.NoPermissionError):
        client.execute_command(*command)


@pytest.mark.parametrize("variant", VARIANTS)
def test_writer_logs_and_cannot_read(
    variant: str,
    server_factory: Callable[..., Server],
    configure: Callable[[dict[str, Any]], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The writer stores every record (and feeds live tails) but reads nothing."""
    server = server_factory()
    admin = load_users(server, variant)
    key = "logs:acl:writer"
    admin.rpush("other:data", "not yours")
    now_ms = int(time.time() * 1000)
    admin.zadd(keys.tails(key), {"live": now_ms + 60_000, "dead": now_ms - 1})
    admin.rpush(keys.inbox(key, "dead"), b"stale")
    url = as_user(server, "logwriter")
    configure(
        {
            "handlers": {"w": {"class": "redislog.RedisHandler", "url": url, "key": key}},
            "loggers": {"acl.writer": {"handlers": ["w"], "level": "INFO", "propagate": False}},
        }
    )
    logger = logging.getLogger("acl.writer")
    for i in range(200):
        logger.info("record %d", i, extra={"i": i})
    handler: Any = logger.handlers[0]
    handler.flush()
    assert handler.stats == {"submitted": 200, "delivered": 200, "dropped": 0, "pending": 0}
    assert [json.loads(raw)["i"] for raw in reversed(admin.lrange(key, 0, -1))] == list(range(200))
    assert admin.llen(keys.inbox(key, "live")) == 200
    assert not admin.exists(keys.inbox(key, "dead"))
    assert admin.sismember(keys.INDEX, key)
    assert "redislog:" not in capsys.readouterr().err  # nothing refused on the way

    writer = redis.Redis.from_url(url)
    for command in [
        ("LRANGE", key, 0, -1),
        ("LINDEX", key, 0),
        ("RPOP", key),
        ("LRANGE", keys.inbox(key, "live"), 0, -1),
        ("GET", "other:data"),
        ("LRANGE", "other:data", 0, -1),
        ("SMEMBERS", keys.INDEX),
        ("KEYS", "*"),
        ("SCAN", 0),
        ("DEL", key),
        ("DEL", "other:data"),
        ("UNLINK", key),
        ("FLUSHALL",),
    ]:
        refused(writer, *command)
    # A script of its own runs with the writer's rights too.
    sha = writer.script_load("return redis.call('LRANGE', KEYS[1], 0, -1)")
    with pytest.raises(redis.ResponseError, match=r"(?i)permission|can't|cannot"):
        writer.evalsha(sha, 1, key)
    writer.close()
    one_line_error(run_cli("search", key, "--url", url), 2)
    admin.close()


@pytest.mark.parametrize("variant", VARIANTS)
def test_writer_sends_and_pipes(variant: str, server_factory: Callable[..., Server]) -> None:
    """``send`` and ``pipe`` need no more than the handler's rights."""
    server = server_factory()
    admin = load_users(server, variant)
    key = "logs:acl:shell"
    url = as_user(server, "logwriter")
    sent = run_cli("send", key, "disk full", "-p", "error", "used=0.97", "--url", url)
    assert (sent.returncode, sent.stderr) == (0, ""), sent.stderr
    piped = run_with_input("pipe", key, "--url", url, data=b"one\ntwo\n")
    assert (piped.returncode, piped.stderr) == (0, b"")
    stored = [json.loads(raw) for raw in reversed(admin.lrange(key, 0, -1))]
    assert [(r["msg"], r["level"]) for r in stored] == [
        ("disk full", "ERROR"),
        ("one", "INFO"),
        ("two", "INFO"),
    ]
    assert stored[0]["used"] == 0.97
    assert admin.sismember(keys.INDEX, key)
    admin.close()


@pytest.mark.parametrize("variant", VARIANTS)
def test_reader_searches_tails_and_lists_and_cannot_delete(
    variant: str, server_factory: Callable[..., Server]
) -> None:
    """The reader's search, tail, ls and info work; changing or deleting logs is refused."""
    server = server_factory()
    admin = load_users(server, variant)
    key = "logs:acl:reader"
    log_records(server.url, key, 100)
    url = as_user(server, "logreader")

    found = run_cli("search", key, "-k", "seq>=95", "-o", "json", "-q", "--url", url)
    assert found.returncode == 0, found.stderr
    assert [json.loads(line)["seq"] for line in found.stdout.splitlines()] == list(range(95, 100))
    listed = run_cli("ls", "--url", url)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[1].split()[:2] == [key, "100"]
    assert run_cli("info", "--url", url).returncode == 0
    counted = run_cli("stats", key, "-o", "json", "--url", url)
    assert counted.returncode == 0, counted.stderr
    assert json.loads(counted.stdout)["records"] == 100

    tail = Background("tail", key, "-n", "5", "-o", "json", "--url", url)
    try:
        tail.wait_lines(5)
        wait_for(lambda: admin.zcard(keys.tails(key)) == 1)
        log_records(server.url, key, 50)
        lines = tail.wait_lines(55)
        assert [json.loads(line)["seq"] for line in lines] == [*range(95, 100), *range(50)]
    finally:
        assert tail.stop() == 130
    assert admin.zcard(keys.tails(key)) == 0
    assert "Traceback" not in "\n".join(tail.errors)

    reader = redis.Redis.from_url(url)
    for command in [
        ("DEL", key),
        ("UNLINK", key),
        ("LPUSH", key, "forged"),
        ("LTRIM", key, 0, 0),
        ("LSET", key, 0, "forged"),
        ("SET", key, "gone"),
        ("EXPIRE", key, 1),
        ("PEXPIREAT", key, 1),
        ("RENAME", key, "logs:elsewhere"),
        ("FLUSHALL",),
    ]:
        refused(reader, *command)
    for command in (["trim", key, "--older-than", "0s"], ["rm", key, "--yes"]):
        # Refused by the server: directly, or inside the trim script.
        error = one_line_error(run_cli(*command, "--url", url), 2)
        assert re.search(r"permission|can't run this command", error), error
    if variant == "7.0":
        # Read-only key patterns: not even the reader's own pops reach the log.
        refused(reader, "RPOP", key)
        error = one_line_error(
            run_cli("tail", key, "--consume", "--no-follow", "-q", "--url", url), 2
        )
        assert "permission" in error
    reader.close()
    assert admin.llen(key) == 150
    admin.close()
