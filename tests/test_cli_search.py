"""``redislog search``: limits, order, filters, exit status, several keys, hostile input."""

from __future__ import annotations

import json
import time

import orjson
import pytest
import redis

from redislog import RedisHandler, keys
from tests.support import attach, log_records, run_cli
from tests.support.hostile import HOSTILE_ELEMENTS, assert_no_raw_controls


def seqs(stdout: str) -> list[int]:
    return [json.loads(line)["seq"] for line in stdout.splitlines()]


def test_limit_keeps_the_newest_matches_oldest_first(redis_url: str, key: str) -> None:
    log_records(redis_url, key, 250)
    common = ("search", key, "-o", "json", "-q", "--url", redis_url)
    default = run_cli(*common)
    assert default.returncode == 0
    assert seqs(default.stdout) == list(range(150, 250))
    assert seqs(run_cli(*common, "--limit", "3").stdout) == [247, 248, 249]
    assert seqs(run_cli(*common, "--limit", "3", "-r").stdout) == [249, 248, 247]
    assert seqs(run_cli(*common, "--limit", "all").stdout) == list(range(250))


def test_exit_status_is_1_when_nothing_matches(redis_url: str, key: str) -> None:
    log_records(redis_url, key, 5)
    result = run_cli("search", key, "-g", "nowhere", "--url", redis_url)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == "redislog: no matching records among 5 searched"
    quiet = run_cli("search", key, "-g", "nowhere", "-q", "--url", redis_url)
    assert (quiet.returncode, quiet.stderr) == (1, "")


def test_filters(redis_url: str, client: redis.Redis, key: str) -> None:
    """Level, logger, grep, exclude and field filters select the records search prints."""
    handler = RedisHandler(url=redis_url, key=key)
    db, http = attach(handler, "app.db"), attach(handler, "app.http")
    db.info("Connection Timeout", extra={"order": {"id": 42}, "ms": 1500})
    db.warning("connection refused", extra={"order": {"id": 43}, "ms": 20})
    http.error("GET /x timeout", extra={"order": {"id": 42}, "status": 504})
    attach(handler, "app.dbx").error("not a child of app.db")
    handler.flush()

    def msgs(*args: str) -> list[str]:
        result = run_cli("search", key, "-o", "cat", "-q", "--url", redis_url, *args)
        assert result.returncode in (0, 1), result.stderr
        return result.stdout.splitlines()

    assert msgs("-g", "timeout") == ["Connection Timeout", "GET /x timeout"]  # smart case
    assert msgs("-g", "Timeout") == ["Connection Timeout"]
    assert msgs("-g", "timeout|refused", "-p", "warning") == [
        "connection refused",
        "GET /x timeout",
    ]
    assert msgs("-l", "app.db") == ["Connection Timeout", "connection refused"]
    assert msgs("-k", "order.id=42", "-k", "ms>1000") == ["Connection Timeout"]
    assert msgs("-k", "status") == ["GET /x timeout"]
    assert msgs("-k", "!order", "-p", "e") == ["not a child of app.db"]
    assert msgs("-S", "1m", "-U", "+1m", "-e", "refused|child") == [
        "Connection Timeout",
        "GET /x timeout",
    ]
    assert msgs("-U", "1h") == []
    handler.close()


def test_several_keys_merge_by_time(redis_url: str, client: redis.Redis, key: str) -> None:
    base = time.time() - 60
    for name, times in ((f"{key}:a", (1, 4)), (f"{key}:b", (2, 3))):
        for ts in times:
            client.lpush(name, orjson.dumps({"ts": base + ts, "levelno": 20, "msg": f"t{ts}"}))
        client.sadd(keys.INDEX, name)
    result = run_cli("search", f"{key}:*", "-o", "json", "-q", "--url", redis_url)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(row["logkey"], row["msg"]) for row in rows] == [
        (f"{key}:a", "t1"),
        (f"{key}:b", "t2"),
        (f"{key}:b", "t3"),
        (f"{key}:a", "t4"),
    ]


@pytest.mark.parametrize("output", ["pretty", "json", "logfmt", "cat"])
def test_hostile_elements_are_searched_safely(
    redis_url: str, client: redis.Redis, key: str, output: str
) -> None:
    client.lpush(key, *HOSTILE_ELEMENTS)
    client.sadd(keys.INDEX, key)
    result = run_cli(
        "search", key, "-g", "says|bold|text|utf|unterminated", "--limit", "all",
        "-o", output, "--url", redis_url,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert_no_raw_controls(result.stdout)
    assert result.stdout.count("\n") >= 6
    everything = run_cli("search", key, "--limit", "all", "-o", output, "-q", "--url", redis_url)
    assert everything.returncode == 0
    assert_no_raw_controls(everything.stdout)


def test_single_line_keeps_each_record_on_one_line(redis_url: str, key: str) -> None:
    handler = RedisHandler(url=redis_url, key=key)
    logger = attach(handler, "app.lines")
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        logger.exception("first line\nsecond line")
    handler.flush()
    handler.close()
    args = ("search", key, "-q", "--color", "never", "--url", redis_url)
    assert run_cli(*args).stdout.count("\n") > 3
    result = run_cli(*args, "--single-line")
    assert result.stdout.count("\n") == 1
    assert "first line\\nsecond line" in result.stdout
