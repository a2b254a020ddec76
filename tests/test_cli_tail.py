"""``redislog tail``: backlog, following, consuming, reconnecting, hostile input."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable

import orjson
import pytest
import redis

from redislog import RedisHandler, keys
from tests.servers import Server
from tests.support import (
    Background,
    attach,
    log_records,
    run_cli,
    run_in_terminal,
    wait_for,
    wait_until_following,
)
from tests.support.hostile import HOSTILE_ELEMENTS, SGR, assert_no_raw_controls

NO_DISK = "the server keeps no data on disk: a restart loses every log"


def test_backlog_is_the_newest_n_oldest_first(redis_url: str, key: str) -> None:
    log_records(redis_url, key, 30)
    result = run_cli("tail", key, "-n", "5", "--no-follow", "-o", "cat", "--url", redis_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"record {i}" for i in range(25, 30)]


def test_backlog_all_reads_a_long_list_in_windows(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """-n all prints every stored record, oldest first, read window by window."""
    count = 12_345
    pipe = client.pipeline()
    for start in range(0, count, 1000):
        pipe.lpush(key, *(f"line {i}" for i in range(start, min(start + 1000, count))))
    pipe.sadd(keys.INDEX, key)
    pipe.execute()
    result = run_cli("tail", key, "-n", "all", "--no-follow", "-o", "cat", "-q", "--url", redis_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"line {i}" for i in range(count)]


def test_two_consumers_get_each_record_exactly_once(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """Done when: two --consume tails receive each record once and leave the list empty."""
    client.sadd(keys.INDEX, key)
    consumers = [
        Background("tail", key, "--consume", "-o", "json", "--url", redis_url) for _ in range(2)
    ]
    try:
        for consumer in consumers:
            consumer.wait_for(lambda c=consumer: any("consuming" in e for e in c.errors))
        log_records(redis_url, key, 5000)
        wait_for(lambda: sum(len(c.lines) for c in consumers) >= 5000, timeout=30)
    finally:
        for consumer in consumers:
            consumer.stop()
    seen = Counter(json.loads(line)["seq"] for c in consumers for line in c.lines)
    assert seen == Counter(range(5000))
    assert client.llen(key) == 0
    for consumer in consumers:
        seqs = [json.loads(line)["seq"] for line in consumer.lines]
        assert seqs == sorted(seqs)  # oldest first


def test_consume_no_follow_drains_and_exits(redis_url: str, client: redis.Redis, key: str) -> None:
    log_records(redis_url, key, 2500)
    result = run_cli("tail", key, "--consume", "--no-follow", "-o", "cat", "--url", redis_url)
    assert result.returncode == 0
    assert result.stdout.splitlines() == [f"record {i}" for i in range(2500)]
    assert client.llen(key) == 0


def test_follow_survives_a_server_restart(server_factory: Callable[..., Server], key: str) -> None:
    """The tail reconnects by itself, says so once, and shows records logged after."""
    server = server_factory()
    handler = RedisHandler(url=server.url, key=key, socket_timeout=0.5, connect_timeout=0.25)
    logger = attach(handler, "app.restart")
    logger.info("before")
    handler.flush()
    tail = Background("tail", key, "-o", "cat", "--url", server.url)
    try:
        tail.wait_lines(1)
        with contextlib.closing(server.client()) as watcher:
            wait_until_following(watcher)
        server.restart()
        logger.info("after")
        handler.flush(10)
        tail.wait_for(lambda: "after" in tail.lines)
        tail.wait_for(lambda: any("reconnected" in e for e in tail.errors))
        logger.info("later")
        handler.flush()
        tail.wait_for(lambda: "later" in tail.lines)
    finally:
        code = tail.stop()
        handler.close()
    assert code == 130
    assert tail.lines == ["before", "after", "later"]
    notices = [e for e in tail.errors if "reading" not in e]
    assert any("lost connection to" in e and "reconnecting" in e for e in notices)
    assert sum("reconnected to" in e for e in notices) == 1
    assert any("may be missing" in e for e in notices)


@pytest.mark.parametrize("seconds", [3, 7])
def test_follow_survives_a_frozen_server(
    server_factory: Callable[..., Server], key: str, seconds: float
) -> None:
    """Redis frozen (SIGSTOP) under a running tail, shorter and longer than the
    tail's socket timeout: every record logged meanwhile shows up once, in order."""
    server = server_factory()
    handler = RedisHandler(url=server.url, key=key, socket_timeout=0.5)
    logger = attach(handler, "app.frozen")
    logger.info("r0")
    handler.flush()
    tail = Background("tail", key, "-o", "cat", "--url", server.url)
    try:
        tail.wait_lines(1)
        with contextlib.closing(server.client()) as watcher:
            wait_until_following(watcher)
        server.freeze()
        for i in range(1, 201):
            logger.info(f"r{i}")
        time.sleep(seconds)
        server.thaw()
        handler.flush(15)
        tail.wait_for(lambda: "r200" in tail.lines, timeout=30)
    finally:
        server.thaw()
        code = tail.stop()
        handler.close()
    assert code == 130
    assert tail.lines == [f"r{i}" for i in range(201)]
    notices = [e for e in tail.errors if "reading" not in e and "warning" not in e]
    assert sum("reconnected to" in e for e in notices) <= 1


def test_ctrl_c_exits_130_quietly_and_unregisters(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    log_records(redis_url, key, 1)
    tail = Background("tail", key, "--url", redis_url)
    tail.wait_lines(1)
    wait_for(lambda: client.zcard(keys.tails(key)) == 1)
    [tail_id] = client.zrange(keys.tails(key), 0, -1)
    log_records(redis_url, key, 1)
    tail.wait_lines(2)
    assert tail.stop(signal.SIGINT) == 130
    assert client.zcard(keys.tails(key)) == 0
    assert not client.exists(keys.inbox(key, tail_id.decode()))
    assert not client.hexists(keys.gaps(key), tail_id)
    assert tail.errors == [
        f"redislog: reading {key} from {redis_url} (argument)",
        f"redislog: warning: {NO_DISK}",
    ]


def test_several_keys_merge_by_time_with_a_key_prefix(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    for name, times in ((f"{key}:a", (1, 3, 5)), (f"{key}:b", (2, 4, 6))):
        for ts in times:
            record = {"ts": 1700000000 + ts, "level": "INFO", "levelno": 20, "msg": f"t{ts}"}
            client.lpush(name, orjson.dumps(record))
        client.sadd(keys.INDEX, name)
    result = run_cli("tail", f"{key}:*", "-n", "4", "--no-follow", "-o", "json", "--url", redis_url)
    assert result.returncode == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["msg"] for row in rows] == ["t3", "t4", "t5", "t6"]
    assert [row["logkey"] for row in rows] == [f"{key}:{s}" for s in "abab"]


def test_filters_apply_to_backlog_and_live_records(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    handler = RedisHandler(url=redis_url, key=key)
    logger = attach(handler, "app.filter")
    for i in range(50):
        logger.log(40 if i % 10 == 0 else 20, "old %d", i)
    handler.flush()
    tail = Background("tail", key, "-p", "error", "-n", "3", "-o", "cat", "--url", redis_url)
    try:
        tail.wait_lines(3)
        wait_for(lambda: client.zcard(keys.tails(key)) == 1)
        logger.info("quiet")
        logger.error("loud")
        handler.flush()
        tail.wait_lines(4)
    finally:
        tail.stop()
        handler.close()
    assert tail.lines == ["old 20", "old 30", "old 40", "loud"]


@pytest.mark.parametrize("output", ["pretty", "json", "logfmt", "cat"])
def test_hostile_elements_never_crash_or_reach_the_terminal(
    redis_url: str, client: redis.Redis, key: str, output: str
) -> None:
    client.lpush(key, *HOSTILE_ELEMENTS)
    client.sadd(keys.INDEX, key)
    args = ["tail", key, "-n", "all", "--no-follow", "-o", output, "--url", redis_url]
    result = run_cli(*args, "--color", "never")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert_no_raw_controls(result.stdout)
    if output != "json":
        assert "[bold red]x[/bold red] :cross_mark:" in result.stdout
    assert "structlog says hi" in result.stdout
    assert "logstash says hi" in result.stdout
    assert result.stdout.count("\n") >= len(HOSTILE_ELEMENTS)
    if output == "pretty":
        # In color, the same text plus our own SGR sequences, and nothing else.
        colored = run_cli(*args, "--color", "always")
        assert colored.returncode == 0
        assert SGR.sub("", colored.stdout) == result.stdout
        assert colored.stdout != result.stdout


# -- starting before the app -------------------------------------------------------


@pytest.mark.parametrize("indexed", [False, True], ids=["nothing logged yet", "logged before"])
def test_two_tails_started_before_any_log_see_every_record_once_in_order(
    redis_url: str, client: redis.Redis, key: str, indexed: bool
) -> None:
    """Done when: two tails started before a producer (of a key nothing has
    logged to yet: they wait, with one notice) show all of its records, in
    order, once; search then finds them all."""
    if indexed:
        client.sadd(keys.INDEX, key)  # the app ran before
    tails = [Background("tail", key, "-o", "json", "--url", redis_url) for _ in range(2)]
    try:
        wait_for(lambda: client.zcard(keys.tails(key)) == 2)
        log_records(redis_url, key, 10_000)
        for tail in tails:
            lines = tail.wait_lines(10_000, timeout=60)
            assert [json.loads(line)["seq"] for line in lines] == list(range(10_000))
    finally:
        codes = [tail.stop() for tail in tails]
    assert codes == [130, 130]
    waiting = [] if indexed else [f"redislog: waiting for {key} (nothing logged there yet)"]
    for tail in tails:
        assert tail.errors == [
            f"redislog: reading {key} from {redis_url} (argument)",
            *waiting,
            f"redislog: warning: {NO_DISK}",
        ]
    assert client.zcard(keys.tails(key)) == 0
    result = run_cli("search", key, "--limit", "all", "-o", "json", "-q", "--url", redis_url)
    assert result.returncode == 0
    assert [json.loads(line)["seq"] for line in result.stdout.splitlines()] == list(range(10_000))
    result = run_cli("search", f"{key}:nothing", "--url", redis_url)
    assert result.returncode == 1
    assert "no such log key" in result.stderr


def test_a_bare_tail_or_a_glob_on_an_empty_server_waits_for_the_first_log(
    server_factory: Callable[..., Server], key: str
) -> None:
    server = server_factory()
    tails = [Background("tail", *glob, "-o", "cat", "--url", server.url) for glob in ([], ["l*"])]
    try:
        for tail in tails:
            tail.wait_for(lambda t=tail: any("waiting" in e for e in t.errors))
        log_records(server.url, key, 3)
        for tail in tails:
            tail.wait_lines(3)
    finally:
        codes = [tail.stop() for tail in tails]
    assert codes == [130, 130]
    bare, glob = tails
    for tail in tails:
        assert tail.lines == ["record 0", "record 1", "record 2"]
        assert f"redislog: now also reading {key}" in tail.errors
    assert bare.errors[:2] == [
        f"redislog: reading logs from {server.url} (argument)",
        "redislog: waiting for logs (nothing logged on this server yet)",
    ]
    assert glob.errors[:2] == [
        f"redislog: reading l* from {server.url} (argument)",
        "redislog: waiting for l* (nothing logged there yet)",
    ]


def test_ctrl_c_while_waiting_for_a_missing_key(redis_url: str, key: str) -> None:
    tail = Background("tail", key, "--url", redis_url)
    tail.wait_for(lambda: any("waiting" in e for e in tail.errors))
    time.sleep(0.3)  # in the waiting loop
    sent = time.monotonic()
    code = tail.stop(signal.SIGINT)
    took = time.monotonic() - sent
    print(f"Ctrl-C while waiting: ended in {took * 1000:.0f} ms")
    assert code == 130
    assert not any("Traceback" in e or "KeyboardInterrupt" in e for e in tail.errors)
    assert took < 2


# -- records from every writer ---------------------------------------------------------


def _arrival(tail: Background, count: int, timeout: float = 10.0) -> float:
    """Seconds until the tail has printed *count* lines."""
    started = time.monotonic()
    deadline = started + timeout
    while len(tail.lines) < count:
        assert time.monotonic() < deadline, (tail.lines, tail.errors)
        assert tail.process.poll() is None, tail.errors
        time.sleep(0.0005)
    return time.monotonic() - started


def test_a_live_tail_shows_records_every_writer_pushed(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """Done when: a raw LPUSH shows within 2 s, in the list's order with the
    handler's records, none twice, and the handler's still arrive at once."""
    handler = RedisHandler(url=redis_url, key=key)
    logger = attach(handler, "app.every")
    logger.info("h0")
    handler.flush()
    tail = Background("tail", key, "-o", "cat", "--url", redis_url)
    try:
        tail.wait_lines(1)
        wait_for(lambda: client.zcard(keys.tails(key)) == 1)
        foreign = []
        for i in range(3):
            client.lpush(key, orjson.dumps({"msg": f"go {i}", "level": "info"}))
            foreign.append(_arrival(tail, 2 + i))
        client.lpush(key, b"plain text, not JSON")
        client.lpush(key, b"same", b"same")
        tail.wait_lines(7)
        latencies = []
        expected = ["h0", "go 0", "go 1", "go 2", "plain text, not JSON", "same", "same"]
        for i in range(1, 41):
            logger.info("h%d", i)
            expected.append(f"h{i}")
            latencies.append(_arrival(tail, len(expected)))
            if i % 10 == 0:  # other writers in between
                client.lpush(key, f"raw {i}".encode())
                expected.append(f"raw {i}")
                _arrival(tail, len(expected))
        time.sleep(1.2)  # two polls: nothing comes twice
    finally:
        code = tail.stop()
        handler.close()
    latencies.sort()
    median = latencies[len(latencies) // 2]
    print(f"LPUSH arrival: {', '.join(f'{t * 1000:.0f} ms' for t in foreign)}")
    print(f"handler median {median * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms")
    assert code == 130
    assert max(foreign) < 2
    assert median < 0.5  # milliseconds when quiet; generous for a shared machine
    assert tail.lines == expected


def test_tail_since_shows_everything_since_then(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """-S without -n is not capped at 10 (as journalctl); with -n, -n caps."""
    now = time.time()
    records = [{"ts": now - 7200 + i, "msg": f"old {i}"} for i in range(5)]
    records += [{"ts": now - 600 + i, "msg": f"new {i}"} for i in range(25)]
    client.lpush(key, *(orjson.dumps(record) for record in records))
    client.sadd(keys.INDEX, key)
    base = ["tail", key, "--no-follow", "-o", "cat", "-q", "--url", redis_url]
    result = run_cli(*base, "-S", "30m")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"new {i}" for i in range(25)]
    capped = run_cli(*base, "-S", "30m", "-n", "3")
    assert capped.stdout.splitlines() == [f"new {i}" for i in range(22, 25)]
    assert run_cli(*base).stdout.splitlines() == [f"new {i}" for i in range(15, 25)]


def test_a_filtered_tail_shows_how_far_back_it_looked_for_old_matches(
    server_factory: Callable[..., Server], key: str
) -> None:
    """A filtered tail whose only match is the oldest record shows progress
    while it reads its backlog, on a terminal only (not while stdout goes to
    a pager or a file), and then the match."""
    server = server_factory()
    client = server.client()
    raws = [orjson.dumps({"ts": 1.7e9 + i, "msg": f"m {i}", "seq": i}) for i in range(200_000)]
    for first in range(0, len(raws), 20_000):
        client.lpush(key, *raws[first : first + 20_000])
    client.sadd(keys.INDEX, key)

    def tail(stdout_terminal: bool) -> tuple[str, str]:
        thawer = threading.Timer(1.5, server.thaw)

        def freeze_once_reading(shown: str) -> None:
            # The server stops answering for 1.5 s once the tail began: the
            # backlog outlasts the second before progress shows.
            began = "redislog: reading" in shown
            if began and not thawer.is_alive() and not thawer.finished.is_set():
                server.freeze()
                thawer.start()

        try:
            code, terminal, out = run_in_terminal(
                "tail", key, "-k", "seq=0", "--no-follow", "-o", "cat", "--url", server.url,
                stdout_terminal=stdout_terminal, react=freeze_once_reading,
            )  # fmt: skip
        finally:
            thawer.cancel()
            server.thaw()
        assert code == 0, terminal
        return terminal, out

    progress = re.compile(r"read [0-9,]+ of 200,000 records, back to [^,]+ ago, looking")
    terminal, out = tail(stdout_terminal=False)
    assert not progress.search(terminal)
    assert out.splitlines() == ["m 0"]
    terminal, _ = tail(stdout_terminal=True)
    assert progress.search(terminal)
    # The progress line is cleared before the match is shown.
    assert terminal.endswith("\r\x1b[Km 0\r\n")
