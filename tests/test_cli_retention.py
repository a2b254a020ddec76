"""``redislog trim``, ``redislog rm`` and the memory column of ``redislog ls``."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import threading
import time

import pytest
import redis

from redislog import RedisHandler, keys, retention
from tests.support import (
    Background,
    attach,
    cli_env,
    log_records,
    one_line_error,
    run_cli,
    stored,
    wait_for,
)
from tests.support.records import ours

DAY = 86400.0


def fill_days(client: redis.Redis, key: str, days: int, per_day: int, now: float) -> list[float]:
    """Records from *days* ago until now, oldest pushed first; their times.

    They fall half-way between whole fractions of a day, so a cut-off a few
    seconds off a whole number of days finds the same ones older.
    """
    step = DAY / per_day
    times = [now - days * DAY + (i + 0.5) * step for i in range(days * per_day)]
    records = [ours(i, ts=ts, logger="t") for i, ts in enumerate(times)]
    for first in range(0, len(records), 1000):
        client.lpush(key, *records[first : first + 1000])
    client.sadd(keys.INDEX, key)
    return times


def test_trim_drops_exactly_the_records_older_than_the_age(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    now = time.time()
    times = fill_days(client, key, 10, 97, now)
    client.hset(keys.meta(key), "maxlen", 5000)
    older = sum(1 for ts in times if ts < now - 7 * DAY)
    assert 0 < older < len(times)

    dry = run_cli("trim", key, "--older-than", "7d", "-n", "--url", redis_url)
    assert dry.returncode == 0, dry.stderr
    assert f"would drop {older:,} records older than" in dry.stdout
    assert client.llen(key) == len(times)

    done = run_cli("trim", key, "--older-than", "7d", "--url", redis_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{key}: dropped {older:,} records older than ")
    assert done.stdout.endswith(f", {len(times) - older:,} left\n")
    kept = [row["ts"] for row in stored(client, key)]
    assert kept == times[older:]
    assert client.hget(keys.meta(key), "maxlen") == b"5000"
    assert client.sismember(keys.INDEX, key)

    again = run_cli("trim", key, "--older-than", "7d", "--url", redis_url)
    assert again.stdout.startswith(f"{key}: no records older than ")
    everything = run_cli("trim", key, "--older-than", "now", "--url", redis_url)
    assert f"dropped {len(times) - older:,} records" in everything.stdout
    assert client.llen(key) == 0


def test_trim_keeps_what_writers_push_meanwhile(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """Records logged at the head while trim runs are all kept; only old ones go."""
    now = time.time()
    times = fill_days(client, key, 3, 20_000, now - 60)
    older = sum(1 for ts in times if ts < now - DAY)
    handler = RedisHandler(url=redis_url, key=key, maxlen=10**6)
    logger = attach(handler, f"app.{key}")
    stop = threading.Event()
    logged = 0

    def write() -> None:
        nonlocal logged
        while not stop.is_set():
            logger.info("live %d", logged)
            logged += 1
            if logged % 100 == 0:
                time.sleep(0.001)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        wait_for(lambda: logged > 1000)
        result = run_cli("trim", key, "--older-than", "1d", "--url", redis_url)
    finally:
        stop.set()
        writer.join()
        handler.close()
    assert result.returncode == 0, result.stderr
    assert f"dropped {older:,} records" in result.stdout
    rows = stored(client, key)
    assert [row["ts"] for row in rows[: len(times) - older]] == times[older:]
    assert [row["msg"] for row in rows[len(times) - older :]] == [
        f"live {i}" for i in range(logged)
    ]


def test_trim_never_cuts_past_a_record_without_a_time(client: redis.Redis, key: str) -> None:
    now = time.time()
    fill_days(client, key, 4, 10, now)
    client.rpush(key, b"plain text at the old end")
    assert retention.trim(client, key, now - DAY).dropped == 0
    client.rpop(key)
    assert retention.trim(client, key, now - DAY).dropped == 30


def test_trim_usage_errors(redis_url: str, key: str) -> None:
    """A bad or future --older-than exits 2, a missing key 1, each with one line."""
    log_records(redis_url, key, 1)
    for args, expected in [
        (["--older-than", "soon"], "bad --older-than 'soon'"),
        (["--older-than", "+1h"], "that is in the future"),
    ]:
        line = one_line_error(run_cli("trim", key, *args, "--url", redis_url), 2)
        assert expected in line, line
    line = one_line_error(run_cli("trim", "logs:nope", "--older-than", "1d", "--url", redis_url), 1)
    assert line == "redislog: no such log key 'logs:nope' (see `redislog ls`)"


def make_log_with_everything(redis_url: str, client: redis.Redis, key: str) -> None:
    """A log with records, a cap, a live tail (inbox, gaps) and a producer's batch number."""
    log_records(redis_url, key, 3)
    tail = Background("tail", key, "-o", "cat", "--url", redis_url)
    try:
        tail.wait_lines(3)
        log_records(redis_url, key, 1)
        tail.wait_lines(4)
        client.hset(keys.gaps(key), "someone", 1)
        client.lpush(keys.inbox(key, "gone"), b"x")  # a tail that died
        assert len(retention.derived_keys(client, key)) >= 6
    finally:
        tail.kill()


def test_rm_with_yes_removes_the_log_and_what_derives_from_it(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    make_log_with_everything(redis_url, client, key)
    sibling, tagged = f"{key}:other", f"{{{key}}}:tail:look-alike"
    for name in (sibling, tagged):
        client.lpush(name, b"keep me")
        client.sadd(keys.INDEX, name)
    result = run_cli("rm", key, "--yes", "--url", redis_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"removed {key} (4 records)\n"
    left = {name.decode() for name in client.keys("*")}
    assert {name for name in left if key in name} == {sibling, tagged}
    assert retention.derived_keys(client, key) == [
        k.encode() for k in (keys.meta(key), keys.tails(key), keys.gaps(key))
    ]
    assert not client.exists(keys.meta(key), keys.tails(key), keys.gaps(key))
    assert not client.sismember(keys.INDEX, key)
    assert client.sismember(keys.INDEX, sibling)


def test_rm_refuses_to_guess(redis_url: str, client: redis.Redis, key: str) -> None:
    """Without a terminal and without --yes nothing goes; a non-log key is never removed."""
    log_records(redis_url, key, 2)
    line = one_line_error(run_cli("rm", key, "--url", redis_url), 2)
    assert "stdin is not a terminal (add --yes)" in line
    assert client.llen(key) == 2
    client.hset(f"{key}:hash", "a", "b")
    line = one_line_error(run_cli("rm", f"{key}:hash", "--yes", "--url", redis_url), 2)
    assert "holds a Redis hash, not a log list" in line
    assert client.exists(f"{key}:hash")


@pytest.mark.parametrize(("answer", "removed"), [("y", True), ("n", False), ("", False)])
def test_rm_asks_on_a_terminal(
    redis_url: str, client: redis.Redis, key: str, answer: str, removed: bool
) -> None:
    log_records(redis_url, key, 2)
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "redislog", "rm", key, "--url", redis_url],
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=cli_env(),
            text=True,
        )
        os.write(controller, f"{answer}\n".encode())
        out, err = process.communicate(timeout=60)
    finally:
        os.close(controller)
        os.close(terminal)
    assert f"redislog: remove {key} (2 records, " in err
    assert f"from {redis_url} (argument)? [y/N] " in err
    if removed:
        assert process.returncode == 0
        assert out == f"removed {key} (2 records)\n"
        assert not client.exists(key)
    else:
        assert process.returncode == 1
        assert err.endswith("redislog: nothing removed\n")
        assert client.llen(key) == 2


def test_ls_shows_memory(redis_url: str, client: redis.Redis, key: str) -> None:
    """ls shows each log's memory as Redis measures it, in ls -h units."""
    log_records(redis_url, key, 2000)
    client.lpush(f"{key}:small", b"x")
    client.sadd(keys.INDEX, f"{key}:small")
    result = run_cli("ls", f"{key}*", "--url", redis_url)
    assert result.returncode == 0, result.stderr
    header, *lines = result.stdout.splitlines()
    assert header.split()[:4] == ["KEY", "RECORDS", "CAP", "MEMORY"]
    memory = {line.split()[0]: line.split()[3] for line in lines}
    assert re.fullmatch(r"\d+(\.\d)?K", memory[key]), memory
    assert re.fullmatch(r"\d+B", memory[f"{key}:small"]), memory
    size = client.memory_usage(key, samples=retention.MEMORY_SAMPLES)
    assert memory[key] == retention.human_bytes(size)


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0B"), (1023, "1023B"), (1024, "1.0K"), (1536, "1.5K"), (10 * 1024, "10K"),
     (5 * 1024**2 + 1, "5.0M"), (354 * 1024**2, "354M"), (3 * 1024**4, "3.0T")],
)  # fmt: skip
def test_human_bytes(size: int, text: str) -> None:
    """Sizes read like ls -h: 512B, 1.5K, 10K, 354M."""
    assert retention.human_bytes(size) == text
