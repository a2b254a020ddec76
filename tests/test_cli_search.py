"""``redislog search``: limits, order, filters, exit status, several keys, hostile input."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable

import orjson
import pytest
import redis

from redislog import RedisHandler, keys
from tests.servers import Server
from tests.support import attach, log_records, one_line_error, run_cli, run_in_terminal
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


def test_search_says_when_the_limit_cut_the_result(redis_url: str, key: str) -> None:
    """When --limit leaves matches out, stderr says how many are shown and that
    more exist; when it does not, nothing is said."""
    log_records(redis_url, key, 250)
    for extra in ((), ("-r",)):
        result = run_cli("search", key, "-o", "json", "--url", redis_url, *extra)
        assert len(result.stdout.splitlines()) == 100
        assert result.stderr.splitlines()[-1] == (
            "redislog: showing the newest 100 records that matched; older ones match too "
            "(--limit all shows every one)"
        )
    exact = run_cli("search", key, "--limit", "250", "-o", "json", "--url", redis_url)
    assert len(exact.stdout.splitlines()) == 250
    assert "older ones match" not in exact.stderr
    assert (
        "older ones match"
        not in run_cli("search", key, "--limit", "all", "--url", redis_url).stderr
    )
    quiet = run_cli("search", key, "-q", "--url", redis_url)
    assert quiet.stderr == ""


def test_grep_finds_words_in_the_traceback(redis_url: str, key: str) -> None:
    """-g matches the message and its traceback; -e drops on either."""
    handler = RedisHandler(url=redis_url, key=key)
    logger = attach(handler, "app.pay")
    try:
        raise TimeoutError("upstream did not answer")
    except TimeoutError:
        logger.exception("charge failed")
    logger.info("all good")
    handler.flush()
    handler.close()

    def messages(*args: str) -> list[str]:
        result = run_cli("search", key, *args, "-o", "json", "-q", "--url", redis_url)
        assert result.returncode == 0, result.stderr
        return [json.loads(line)["msg"] for line in result.stdout.splitlines()]

    assert messages("-g", "TimeoutError") == ["charge failed"]
    assert messages("-g", "did not answer", "-p", "error") == ["charge failed"]
    assert messages("-e", "did not answer") == ["all good"]
    help_text = " ".join(run_cli("search", "--help").stdout.split())
    assert "Only records whose message or traceback matches this regex" in help_text


def test_context_around_matches(redis_url: str, key: str) -> None:
    """-B/-A/-C show records before and after each match, groups split by --."""
    log_records(redis_url, key, 20)

    def shown(*args: str) -> list[str]:
        result = run_cli("search", key, "-o", "cat", "-q", "--url", redis_url, *args)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    assert shown("-g", "^record (5|12)$", "-C", "1") == [
        "record 4", "record 5", "record 6", "--", "record 11", "record 12", "record 13",
    ]  # fmt: skip
    assert shown("-g", "^record (5|7)$", "-B", "2") == [
        "record 3", "record 4", "record 5", "record 6", "record 7",
    ]  # fmt: skip
    assert shown("-g", "^record 18$", "-A", "5") == ["record 18", "record 19"]
    assert shown("-g", "^record (5|12)$", "-A", "1", "-r") == [
        "record 13", "record 12", "--", "record 6", "record 5",
    ]  # fmt: skip
    limited = run_cli(
        "search", key, "-g", "^record (5|12)$", "-C", "1", "--limit", "1", "-o", "cat",
        "--url", redis_url,
    )  # fmt: skip
    assert limited.stdout.splitlines() == ["record 11", "record 12", "record 13"]
    assert "showing the newest 1 record that matched" in limited.stderr
    as_json = run_cli(
        "search", key, "-g", "^record (5|12)$", "-C", "1", "-o", "json", "-q", "--url", redis_url
    )
    assert [json.loads(line)["seq"] for line in as_json.stdout.splitlines()] == [
        4, 5, 6, 11, 12, 13,
    ]  # fmt: skip


def test_progress_shows_only_when_stdout_and_stderr_are_terminals(
    server_factory: Callable[..., Server], key: str
) -> None:
    """A long search shows progress on a terminal, but not while stdout goes
    to a pager or a file (the progress line would overwrite its prompt)."""
    server = server_factory()
    client = server.client()
    raws = [orjson.dumps({"ts": 1.7e9 + i, "msg": f"m {i}"}) for i in range(200_000)]
    for first in range(0, len(raws), 20_000):
        client.lpush(key, *raws[first : first + 20_000])
    client.sadd(keys.INDEX, key)

    def search(stdout_terminal: bool) -> str:
        thawer = threading.Timer(1.5, server.thaw)

        def freeze_once_searching(shown: str) -> None:
            # The server stops answering for 1.5 s once the search began:
            # the search outlasts the second before progress shows.
            if "searching" in shown and not thawer.is_alive() and not thawer.finished.is_set():
                server.freeze()
                thawer.start()

        try:
            code, terminal, _ = run_in_terminal(
                "search", key, "-g", "nowhere", "--url", server.url,
                stdout_terminal=stdout_terminal, react=freeze_once_searching,
            )  # fmt: skip
        finally:
            thawer.cancel()
            server.thaw()
        assert code == 1, terminal
        return terminal

    progress = re.compile(r"searched [0-9,]+ of 200,000 records")
    assert not progress.search(search(stdout_terminal=False))
    assert progress.search(search(stdout_terminal=True))


def _scripts_run(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("eval", "evalsha"))


@pytest.mark.parametrize(("setting", "server_filters"), [("yes", False), ("no", True)])
def test_redislog_local_says_where_a_search_filters(
    redis_url: str, client: redis.Redis, key: str, setting: str, server_filters: bool
) -> None:
    """A server reached at localhost may be far away (a tunnel): with
    REDISLOG_LOCAL=no the search filters inside Redis, so only matches cross;
    with yes (what localhost means by default) it reads plain windows and
    filters here.  Either way it finds the same records."""
    log_records(redis_url, key, 300)
    before = _scripts_run(client)
    result = run_cli(
        "search", key, "-g", "record 7", "--limit", "all", "-o", "json", "-q",
        "--url", redis_url, REDISLOG_LOCAL=setting,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert seqs(result.stdout) == [7, *range(70, 80)]
    assert (_scripts_run(client) > before) is server_filters


def test_an_unclear_redislog_local_is_refused_by_readers(redis_url: str, key: str) -> None:
    log_records(redis_url, key, 3)
    for command in (("search", key), ("tail", key, "--no-follow"), ("stats", key)):
        line = one_line_error(
            run_cli(*command, "-q", "--url", redis_url, REDISLOG_LOCAL="maybe"), 2
        )
        assert line == (
            "redislog: REDISLOG_LOCAL must be yes or no (whether the Redis server runs "
            "on this machine), not 'maybe'"
        )
