"""``redislog send`` and ``redislog pipe``: records from outside Python."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
import redis

from redislog import RedisHandler, ingest, keys
from tests.servers import Server, free_port
from tests.support import (
    Background,
    attach,
    cli_env,
    one_line_error,
    run_cli,
    run_with_input,
    stored,
    wait_for,
)


def leftovers(client: redis.Redis, key: str) -> list[bytes]:
    """Batch-number keys left behind for *key*."""
    return list(client.scan_iter(match=keys.seen(key, "*")))


# -- send ---------------------------------------------------------------------------


def test_send_is_found_by_search(redis_url: str, client: redis.Redis, key: str) -> None:
    """A sent record, its values typed, is found by level and field."""
    sent = run_cli(
        "send", key, "disk full", "-p", "error", "mount=/var", "used=0.97", "--url", redis_url
    )
    assert (sent.returncode, sent.stdout, sent.stderr) == (0, "", "")
    found = run_cli("search", key, "-p", "error", "-k", "used>0.9", "-o", "json", "-q",
                    "--url", redis_url)  # fmt: skip
    assert found.returncode == 0, found.stderr
    (row,) = [json.loads(line) for line in found.stdout.splitlines()]
    assert row["msg"] == "disk full"
    assert (row["level"], row["levelno"]) == ("ERROR", 40)
    assert (row["mount"], row["used"]) == ("/var", 0.97)
    assert list(row)[:3] == ["ts", "level", "levelno"]  # the head the server-side filter reads
    assert {"host", "pid", "id", "logger"} <= set(row)
    assert abs(row["ts"] - time.time()) < 60
    assert client.sismember(keys.INDEX, key)
    assert leftovers(client, key) == []


def test_send_types_values_and_keeps_reserved_names_apart(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    result = run_cli(
        "send", key, "typed", "-l", "cron.backup", "-p", "w",
        "n=42", "big=-7", "ratio=1.5e3", "ok=true", "no=false", "nothing=null",
        "zip=007", "text=12abc", "quoted=\"12\"", "empty=", "eq=a=b",
        "level=fake", "msg=other", "--url", redis_url,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (row,) = stored(client, key)
    assert (row["logger"], row["level"], row["levelno"], row["msg"]) == (
        "cron.backup", "WARNING", 30, "typed",
    )  # fmt: skip
    assert (row["n"], row["big"], row["ratio"]) == (42, -7, 1500.0)
    assert (row["ok"], row["no"], row["nothing"]) == (True, False, None)
    assert type(row["ok"]) is bool
    assert (row["zip"], row["text"], row["quoted"], row["empty"], row["eq"]) == (
        "007", "12abc", "12", "", "a=b",
    )  # fmt: skip
    assert row["extra"] == {"level": "fake", "msg": "other"}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0), ("-1", -1), ("1.25", 1.25), ("-0.5e-3", -0.0005), ("true", True),
        ("null", None), ("007", "007"), ("1.", "1."), (".5", ".5"), ("NaN", "NaN"),
        ("1e999", "1e999"), ("+1", "+1"), ("١٢", "١٢"), ("9" * 30, "9" * 30),
        ('"true"', "true"), ('"a', '"a'), ("True", "True"),
    ],
)  # fmt: skip
def test_typed(text: str, value: Any) -> None:
    """Field values spelled like JSON numbers and literals are typed; anything else stays text."""
    assert ingest.typed(text) == value
    assert type(ingest.typed(text)) is type(value)


@pytest.mark.parametrize(
    ("text", "level"),
    [("error", ("ERROR", 40)), ("WARN", ("WARNING", 30)), ("e", ("ERROR", 40)),
     ("notice", ("NOTICE", 25)), ("25", ("NOTICE", 25)), ("42", ("LEVEL 42", 42)),
     ("crit", ("CRITICAL", 50))],
)  # fmt: skip
def test_levels(text: str, level: tuple[str, int]) -> None:
    """send's levels: names, aliases, letters and numbers, named as the viewer shows them."""
    assert ingest.parse_level(text) == level


def test_send_honours_the_cap_and_reaches_live_tails(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """The cap the log already has is kept (not reset), and a running tail sees the record."""
    handler = RedisHandler(url=redis_url, key=key, maxlen=5)
    logger = attach(handler, f"app.{key}")
    for i in range(5):
        logger.info("app %d", i)
    handler.close()
    tail = Background("tail", key, "-n", "0", "-o", "cat", "--url", redis_url)
    try:
        wait_for(lambda: client.zcard(keys.tails(key)) == 1)
        for i in range(3):
            assert run_cli("send", key, f"sent {i}", "--url", redis_url).returncode == 0
        assert tail.wait_lines(3) == ["sent 0", "sent 1", "sent 2"]
    finally:
        tail.stop()
    assert [row["msg"] for row in stored(client, key)] == [
        "app 3", "app 4", "sent 0", "sent 1", "sent 2",
    ]  # fmt: skip
    assert client.hget(keys.meta(key), "maxlen") == b"5"
    assert run_cli("send", key, "x", "--maxlen", "2", "--url", redis_url).returncode == 0
    assert client.llen(key) == 2


def test_send_errors_are_one_line(
    redis_url: str, client: redis.Redis, key: str, server_factory: Callable[..., Server]
) -> None:
    cases = [
        (["send", key, "m", "-p", "loud"], 2, "bad level 'loud'"),
        (["send", key, "m", "-p", "info..error"], 2, "bad level"),
        (["send", key, "m", "novalue"], 2, "bad field 'novalue': use key=value"),
        (["send", key, "m", "=1"], 2, "bad field"),
        (["send", keys.INDEX, "m"], 2, "reserved"),
        (["pipe", key, "-p", "x"], 2, "bad level"),
    ]
    for args, code, expected in cases:
        line = one_line_error(run_cli(*args, "--url", redis_url), code)
        assert expected in line, line
    client.set(key, "a string")
    for command in (["send", key, "m"], ["pipe", key]):
        line = one_line_error(run_cli(*command, "--url", redis_url), 2)
        assert line == f"redislog: '{key}' holds a Redis string, not a log list"
    dead = f"redis://127.0.0.1:{free_port()}/0"
    for command in (["send", "logs:x", "m"], ["pipe", "logs:x"]):
        line = one_line_error(run_cli(*command, "--url", dead), 2)
        assert line.startswith(f"redislog: cannot reach {dead} (argument): ")
    locked = server_factory()
    locked.client().execute_command(
        "ACL", "SETUSER", "reader", "on", ">pw", "~*", "+@read", "+ping", "+type", "+hget"
    )
    readonly = f"redis://reader:pw@127.0.0.1:{locked.port}/0"
    line = one_line_error(run_cli("send", "logs:x", "m", "--url", readonly), 2)
    assert line.startswith("redislog: cannot write to redis://reader:***@127.0.0.1")


# -- pipe ---------------------------------------------------------------------------


def test_pipe_stores_every_line_in_order(redis_url: str, client: redis.Redis, key: str) -> None:
    """seq 1 100000 | redislog pipe KEY stores 100,000 records in order."""
    n = 100_000
    data = "".join(f"{i}\n" for i in range(1, n + 1)).encode()
    result = run_with_input("pipe", key, "--url", redis_url, data=data)
    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == (b"", b"")
    rows = stored(client, key)
    assert [row["msg"] for row in rows] == [str(i) for i in range(1, n + 1)]
    assert len({row["id"] for row in rows}) == n
    assert {row["level"] for row in rows} == {"INFO"}
    assert all(a["ts"] <= b["ts"] for a, b in itertools.pairwise(rows))
    assert client.sismember(keys.INDEX, key)
    assert leftovers(client, key) == []


def test_pipe_keeps_json_lines_structured(redis_url: str, client: redis.Redis, key: str) -> None:
    """A JSON line keeps its message, level, time, logger and fields; -p and -l fill the gaps."""
    lines = [
        {"msg": "hi", "level": "error", "user": 7},
        {"message": "from logstash", "@timestamp": "2026-01-02T03:04:05Z", "severity": "warn"},
        {"event": "from structlog", "level": "debug", "timestamp": 1767323045123},
        {"msg": "numbered", "level": 50, "logger": "app.db", "order": {"id": 3}},
        {"msg": "relayed", "host": "web-1", "pid": 4, "exc": "Traceback ...", "id": "a:1",
         "ts": 1767323046.5, "extra": {"msg": "collided"}},
        {"msg": "odd level", "level": "verbose", "levelno": "high"},
    ]  # fmt: skip
    data = b"\n".join(orjson.dumps(line) for line in lines) + b"\n"
    result = run_with_input("pipe", key, "-l", "batch", "-p", "notice", "--url", redis_url,
                            data=data)  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = stored(client, key)
    assert [list(row)[:3] for row in rows] == [["ts", "level", "levelno"]] * len(lines)
    hi, stash, slog, numbered, relayed, odd = rows
    assert (hi["msg"], hi["level"], hi["levelno"], hi["user"], hi["logger"]) == (
        "hi", "ERROR", 40, 7, "batch",
    )  # fmt: skip
    assert (stash["msg"], stash["level"], stash["ts"]) == ("from logstash", "WARNING", 1767323045.0)
    assert (slog["msg"], slog["levelno"], slog["ts"]) == ("from structlog", 10, 1767323045.123)
    assert (numbered["level"], numbered["logger"], numbered["order"]) == (
        "CRITICAL", "app.db", {"id": 3},
    )  # fmt: skip
    assert (relayed["host"], relayed["pid"], relayed["exc"], relayed["ts"]) == (
        "web-1", 4, "Traceback ...", 1767323046.5,
    )  # fmt: skip
    assert relayed["extra"] == {"msg": "collided", "id": "a:1"}
    assert relayed["id"] != "a:1"
    assert (odd["level"], odd["levelno"]) == ("VERBOSE", 25)
    assert odd["extra"] == {"levelno": "high"}
    found = run_cli("search", key, "-p", "error", "-k", "user=7", "-o", "cat", "-q",
                    "--url", redis_url)  # fmt: skip
    assert found.stdout == "hi\n"


def test_pipe_survives_any_bytes(redis_url: str, client: redis.Redis, key: str) -> None:
    """Invalid UTF-8, NUL, escapes, CRLF, blank lines, broken JSON, a huge line: all stored."""
    data = (
        b"\xff\xfe invalid \x00 nul\r\n"
        b"\x1b[2J clear\n"
        b"\n"
        b'{"msg": "unterminated\n'
        b"[1, 2]\n"
        b'{"msg": "bad utf-8 \xff inside"}\n' + b"x" * (ingest.LINE_MAX + 10) + b"\n"
        b"last, no newline"
    )
    result = run_with_input("pipe", key, "--url", redis_url, data=data)
    assert result.returncode == 0, result.stderr
    msgs = [row["msg"] for row in stored(client, key)]
    assert msgs[:6] == [
        "\\xff\\xfe invalid \x00 nul",
        "\x1b[2J clear",
        "",
        '{"msg": "unterminated',
        "[1, 2]",
        "bad utf-8 \ufffd inside",
    ]
    assert msgs[-1] == "last, no newline"
    # The long line was cut in two records; the first, too big, was shortened visibly.
    assert len(msgs) == 9
    assert msgs[6].startswith("xxx")
    assert "[truncated" in msgs[6]
    assert msgs[7] == "x" * 10
    shown = run_cli("search", key, "--limit", "all", "-q", "--color", "never", "--url", redis_url)
    assert "\x1b" not in shown.stdout
    assert "\\x1b[2J clear" in shown.stdout


def test_pipe_tee_passes_input_through(redis_url: str, client: redis.Redis, key: str) -> None:
    data = b"one\n\xff two\nthree"
    result = run_with_input("pipe", key, "--tee", "--url", redis_url, data=data)
    assert result.returncode == 0, result.stderr
    assert result.stdout == data
    assert client.llen(key) == 3


def test_pipe_reports_what_it_could_not_store(
    server_factory: Callable[..., Server], key: str
) -> None:
    """Redis frozen at the end of input: pipe waits --timeout, says how many were left, exits 1."""
    server = server_factory()
    client = server.client()
    process = subprocess.Popen(
        [sys.executable, "-m", "redislog", "pipe", key, "--timeout", "1", "--url", server.url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    assert process.stdin is not None
    try:
        process.stdin.write(b"first\n")
        process.stdin.flush()
        wait_for(lambda: client.llen(key) == 1)
        client.ping()  # the reply to pipe's push is written before this one's
        server.freeze()
        process.stdin.write(b"second\nthird\n")
        _, err = process.communicate(timeout=60)
    finally:
        server.thaw()
    assert process.returncode == 2
    assert f"gave up on 2 unsent log records for '{key}' after 1s" in err.decode()
    assert b"Traceback" not in err
