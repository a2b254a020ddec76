"""How commands end: grep's exit statuses, one-line errors for every odd
flag, and Ctrl-C at any moment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import orjson
import pytest
import redis

from redislog import keys
from tests.servers import Server
from tests.support import (
    cli_env,
    log_records,
    one_line_error,
    redislog_command,
    run_cli,
    run_with_input,
)

HUGE = "9223372036854775808"


def test_help_states_the_exit_statuses() -> None:
    """redislog --help says what each exit status means."""
    result = run_cli("--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "Exit status, as grep's: 0 when something was found or done; 1 when nothing" in text
    assert "2 on an error (bad usage, the server cannot be reached or refuses the password" in text


def test_huge_and_odd_numbers_are_one_line_usage_errors(redis_url: str, key: str) -> None:
    """Counts, limits and durations out of range: one line on stderr, exit 2, no traceback."""
    log_records(redis_url, key, 3)
    cases = [
        (["tail", key, "-n", HUGE], "at most 1,000,000,000"),
        (["search", key, "--limit", HUGE], "at most 1,000,000,000"),
        (["search", key, "--limit", "0"], "bad --limit '0': use a whole number from 1"),
        (["search", key, "--limit", "-5"], "bad --limit '-5'"),
        (["tail", key, "-n", "-5"], "bad -n '-5'"),
        (["tail", key, "-n", "²"], "bad -n '²'"),
        (["search", key, "-C", HUGE], "at most 1,000,000,000"),
        (["search", key, "-A", "all"], "bad -A 'all'"),
        (["fields", key, "-n", "0"], "bad -n '0'"),
        (["stats", key, "--every", "99999999999999d"], "bad --every"),
        (["stats", key, "--top", "0"], "invalid value for '--top'"),
        (["search", key, "-S", "1e999d"], "bad time '1e999d'"),
        (["search", key, "-S", "@1e300"], None),
    ]
    for args, expected in cases:
        result = run_cli(*args, "-q", "--url", redis_url)
        if expected is None:  # accepted: a time far ahead matches nothing
            assert result.returncode == 1, result.stderr
            assert "Traceback" not in result.stderr
            continue
        line = one_line_error(result, 2)
        assert expected in line, (args, line)


def test_unknown_options_and_bad_values_get_the_one_line_style(key: str) -> None:
    """click's usage errors read like every other error: one line, exit 2."""
    cases = [
        (["search", "--bogus"], "redislog: no such option: --bogus (see redislog search --help)"),
        (["search", "--limt", "5"], "no such option: --limt"),
        (["stats", "--top", "x"], "invalid value for '--top': 'x' is not a valid"),
        (["send"], "redislog: missing argument 'KEY' (see redislog send --help)"),
        (["tail", "-n"], "option '-n' requires an argument"),
        (["nosuchcommand"], "no such command 'nosuchcommand'"),
    ]
    for args, expected in cases:
        result = run_cli(*args)
        line = one_line_error(result, 2)
        assert expected in line, (args, line)
        assert "Usage:" not in result.stderr


def test_a_url_must_name_a_database_by_number(redis_url: str, key: str) -> None:
    """A URL whose path is not a database number is refused, not read as db 0."""
    log_records(redis_url, key, 1)
    line = one_line_error(run_cli("search", key, "--url", f"{redis_url[:-2]}/abc"), 2)
    assert "bad database 'abc' in Redis URL" in line
    line = one_line_error(run_cli("ls", "--url", "redis://127.0.0.1:port/0"), 2)
    assert "bad port in Redis URL" in line
    assert run_cli("search", key, "-q", "--url", redis_url[:-2]).returncode == 0


def test_since_minus_five_minutes_is_five_minutes_ago(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """-S -5m, -S 5m and -S '5m ago' all mean five minutes ago, as in journalctl."""
    now = time.time()
    for age, msg in ((600, "ten minutes ago"), (60, "one minute ago")):
        client.lpush(key, orjson.dumps({"ts": now - age, "levelno": 20, "msg": msg}))
    client.sadd(keys.INDEX, key)
    for since in ("-5m", "5m", "5m ago", "-300s", "0h5m"):
        result = run_cli("search", key, "-S", since, "-o", "cat", "-q", "--url", redis_url)
        assert result.stdout == "one minute ago\n", since
    help_text = " ".join(run_cli("search", "--help").stdout.split())
    for form in ("2h30m", "-5m or 5m ago", "HH:MM[:SS]", "today", "yesterday", "now", "ISO 8601"):
        assert form in help_text, form


def test_a_reversed_level_range_is_refused(redis_url: str, key: str) -> None:
    """-p error..info is refused, saying which way round a range goes."""
    log_records(redis_url, key, 1)
    line = one_line_error(run_cli("search", key, "-p", "error..info", "--url", redis_url), 2)
    assert line == (
        "redislog: bad level range 'error..info': it runs from the less to the more "
        "severe level (info..error)"
    )


def test_usage_lines_show_that_several_keys_are_taken() -> None:
    """Commands that take several keys say so in their usage line."""
    for command in ("tail", "search", "stats", "ls", "fields"):
        usage = run_cli(command, "--help").stdout.splitlines()[0]
        assert usage == f"Usage: redislog {command} [OPTIONS] [KEY]...", usage


# -- Ctrl-C -----------------------------------------------------------------------


def _before_redislog(err: str) -> bool:
    """Whether *err* is the interpreter's own start-up interrupted, before any
    code of redislog ran: importing site or runpy, the modules that the
    console script imports first (``import re``), or the import system
    finding redislog's files; no frame of the traceback is in redislog."""
    if "init_import_site" in err or "Could not import runpy" in err:
        return True
    frames = [line.strip() for line in err.splitlines() if line.lstrip().startswith("File ")]
    ours = [frame for frame in frames if f"{os.sep}redislog{os.sep}" in frame]
    return bool(frames) and not ours


def _interrupt(command: list[str], delay: float, env: dict[str, str]) -> tuple[int, float, str]:
    """Start *command*, send SIGINT after *delay*; (status, seconds it took to end, stderr)."""
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,  # open: pipe waits for input
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    time.sleep(delay)
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    return process.returncode, time.monotonic() - sent, err.decode()


@pytest.mark.parametrize("module", [False, True], ids=["redislog", "python -m redislog"])
def test_ctrl_c_during_start_up_is_silent_and_exits_130(
    redis_url: str, key: str, module: bool
) -> None:
    """Ctrl-C at any moment of a command's first third of a second ends it
    silently with status 130 (or by the signal, which a shell shows as 130)."""
    log_records(redis_url, key, 2000)
    command = [sys.executable, "-m", "redislog"] if module else redislog_command()
    env = cli_env(REDISLOG_URL=redis_url)
    outcomes = []
    for step in range(18):
        args = ["pipe", key] if step % 2 else ["tail", key]  # neither ends by itself
        code, took, err = _interrupt([*command, *args], step * 0.02, env)
        outcomes.append((step, code, round(took, 3), err[-300:]))
        if _before_redislog(err):
            continue
        assert "Traceback" not in err, outcomes[-1]
        assert "KeyboardInterrupt" not in err, outcomes[-1]
        assert code in (130, -signal.SIGINT), outcomes[-1]
        assert took < 2, outcomes[-1]
        assert all(line.startswith("redislog: ") for line in err.splitlines()), outcomes[-1]


# A tail whose live wait is replaced by one where the Ctrl-C cannot reach the
# main thread's handler: the signal goes to a thread of some library's, and the
# main thread waits in a read that signal does not interrupt.
_UNREACHABLE = """
import os, signal, sys, threading, time
from redislog.reader import _pops

def wait(self):
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    print("waiting", file=sys.stderr, flush=True)
    os.read(os.pipe()[0], 1)

_pops.BlockingPops.next = wait
from redislog.cli import main
sys.argv = ["redislog", *sys.argv[1:]]
main()
"""

# ... and one where the Ctrl-C's KeyboardInterrupt is raised in a finalizer,
# which the interpreter swallows, before the live wait.
_SWALLOWED = """
import signal, sys
from redislog.reader import _pops

class Finalized:
    def __del__(self):
        signal.raise_signal(signal.SIGINT)

original = _pops.BlockingPops.next

def wait(self):
    if not hasattr(wait, "done"):
        wait.done = True
        print("waiting", file=sys.stderr, flush=True)
        Finalized()
    return original(self)

_pops.BlockingPops.next = wait
from redislog.cli import main
sys.argv = ["redislog", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize("script", [_UNREACHABLE, _SWALLOWED], ids=["unreachable", "swallowed"])
def test_a_ctrl_c_the_main_thread_never_takes_still_ends_the_command(
    redis_url: str, key: str, script: str
) -> None:
    """A Ctrl-C whose handler cannot run in the main thread, or whose
    KeyboardInterrupt a finalizer swallowed, still ends a tail within a
    fraction of a second, silently, with 130."""
    log_records(redis_url, key, 5)
    process = subprocess.Popen(
        [sys.executable, "-c", script, "tail", key, "--url", redis_url],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    assert process.stderr is not None
    lines = []
    while not lines or lines[-1] != b"waiting\n":
        line = process.stderr.readline()
        assert line, lines
        lines.append(line)
    sent = time.monotonic()
    if script is _UNREACHABLE:
        process.send_signal(signal.SIGINT)
    try:
        rest = process.communicate(timeout=10)[1]
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("the Ctrl-C did not end the tail")
    took = time.monotonic() - sent
    assert process.returncode == 130, rest
    assert b"Traceback" not in rest, rest
    assert took < 2


def test_ctrl_c_ends_a_search_of_a_frozen_server_at_once(
    server_factory: Callable[..., Server], key: str
) -> None:
    """A search waiting on a frozen server (windows fetched ahead on another
    thread) ends at Ctrl-C without waiting for the server."""
    server = server_factory()
    client = server.client()
    records = [orjson.dumps({"ts": 1.7e9 + i, "msg": f"m {i}"}) for i in range(60000)]
    for first in range(0, len(records), 10000):
        client.lpush(key, *records[first : first + 10000])
    client.sadd(keys.INDEX, key)
    process = subprocess.Popen(
        [*redislog_command(), "search", key, "-g", "nowhere to be found", "--url", server.url],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    assert process.stderr is not None
    announced = process.stderr.readline()
    server.freeze()
    try:
        time.sleep(1.0)
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        server.thaw()
    assert announced.startswith(b"redislog: searching")
    assert process.returncode == 130, err
    assert err == b""
    assert took < 2


def test_ctrl_c_ends_pipe_quickly_and_says_what_was_left(
    server_factory: Callable[..., Server], key: str
) -> None:
    """pipe interrupted while Redis is frozen ends at once (130) and says how many
    records it could not store, instead of waiting its --timeout."""
    server = server_factory()
    process = subprocess.Popen(
        [*redislog_command(), "pipe", key, "--url", server.url, "--timeout", "30"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    assert process.stdin is not None
    process.stdin.write(b"first\n")
    process.stdin.flush()
    client = server.client()
    deadline = time.monotonic() + 20
    while client.llen(key) < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    # One more round trip: the server writes the reply to pipe's push (which
    # may still be queued behind the LLEN's) before it reads the next command.
    client.ping()
    server.freeze()
    try:
        process.stdin.write(b"second\n")
        process.stdin.flush()
        time.sleep(0.5)
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        server.thaw()
    assert process.returncode == 130, err
    assert b"Traceback" not in err
    assert b"gave up on 1 unsent log record" in err, err
    assert took < 2


def test_count_and_json_counts(redis_url: str, key: str) -> None:
    """--count prints the number of matches (0 and exit 1 when none)."""
    log_records(redis_url, key, 30)
    result = run_cli("search", key, "--count", "-q", "--url", redis_url)
    assert (result.returncode, result.stdout) == (0, "30\n")
    result = run_cli("search", key, "--count", "-o", "json", "-q", "--url", redis_url)
    assert json.loads(result.stdout) == {"matches": 30, "levels": {"INFO": 30}, "keys": {key: 30}}
    result = run_cli("search", key, "--count", "-g", "nowhere", "-q", "--url", redis_url)
    assert (result.returncode, result.stdout) == (1, "0\n")
    line = one_line_error(run_cli("search", key, "--count", "-C", "2", "--url", redis_url), 2)
    assert "-A, -B and -C do not apply" in line


def test_send_and_pipe_exit_2_when_the_key_holds_another_type(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """Writing to a key of another type is an error (2), said in words."""
    client.set(key, "x")
    result = run_with_input("pipe", key, "--url", redis_url, data=b"one\n")
    assert result.returncode == 2
    assert result.stderr.decode() == f"redislog: '{key}' holds a Redis string, not a log list\n"
