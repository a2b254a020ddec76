"""The ``redislog`` command line: ls, info, --version, errors."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable

import redis

from redislog import __version__, keys
from tests.servers import Server, free_port
from tests.support import Background, cli_env, log_records, one_line_error, run_cli


def test_version() -> None:
    """--version prints the package's version."""
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"redislog {__version__}"


def test_ls_shows_length_cap_times_and_gone_keys(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """ls lists each log key with its length, cap, times; a vanished key shows empty."""
    log_records(redis_url, key, 3)
    gone = f"{key}:gone"
    client.sadd(keys.INDEX, gone)
    hashed = f"{key}:hash"
    client.hset(hashed, "a", "b")
    client.sadd(keys.INDEX, hashed)
    result = run_cli("ls", f"{key}*", "--url", redis_url, "--utc")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert result.stdout.splitlines()[0].split() == [
        "KEY", "RECORDS", "CAP", "MEMORY", "OLDEST", "NEWEST", "TAILS",
    ]  # fmt: skip
    assert rows[key].split()[1:3] == ["3", "100,000"]
    assert rows[key].count("Z") == 2  # two UTC times
    assert "(empty)" in rows[gone]
    assert "not a log list" in rows[hashed]


def test_ls_escapes_hostile_key_names(redis_url: str, client: redis.Redis, key: str) -> None:
    hostile = f"{key}:\x1b]0;pwned\x07\x1b[2J"
    client.lpush(hostile, b"x")
    client.sadd(keys.INDEX, hostile)
    result = run_cli("ls", f"{key}*", "--url", redis_url)
    assert result.returncode == 0
    assert "\x1b" not in result.stdout
    assert "\x07" not in result.stdout
    assert "\\x1b]0;pwned\\x07" in result.stdout


def test_info_names_the_server(redis_url: str) -> None:
    result = run_cli("info", "--url", redis_url)
    assert result.returncode == 0
    assert f"server:   {redis_url} (argument)" in result.stdout
    assert "keeps no data on disk" in result.stderr


def test_usage_errors_exit_2_with_one_line(redis_url: str, key: str) -> None:
    """Bad filters, times, levels, outputs and URLs: one line on stderr, exit 2."""
    cases = [
        (["search", key, "-p", "loud"], "bad level"),
        (["search", key, "-S", "next tuesday-ish"], "bad time"),
        (["tail", key, "-n", "many"], "bad -n"),
        (["search", key, "--limit", "-3"], "bad --limit"),
        (["search", key, "-o", "xml"], "unknown output"),
        (["search", key, "-g", "("], "bad regex"),
        (["tail", key, "--consume", "-p", "error"], "cannot be combined with filters"),
    ]
    for args, expected in cases:
        line = one_line_error(run_cli(*args, "--url", redis_url), 2)
        assert expected in line, line
    line = one_line_error(run_cli("search", key, "--url", "http://example.com"), 2)
    assert "unsupported Redis URL" in line


def test_nothing_to_read_exits_1(redis_url: str) -> None:
    """A missing log key or a glob that matches none is "nothing found": exit 1, one line."""
    line = one_line_error(run_cli("search", "logs:nope", "--url", redis_url), 1)
    assert line == "redislog: no such log key 'logs:nope' (see `redislog ls`)"
    line = one_line_error(run_cli("search", "nomatch:*", "--url", redis_url), 1)
    assert "no log key matches 'nomatch:*'" in line


def test_an_unreachable_server_exits_2_for_every_command(key: str) -> None:
    """Every command that talks to Redis exits 2 with one line when it cannot."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    for command in (
        ["tail", key], ["search", key], ["stats", key], ["fields", key], ["ls"], ["info"],
        ["send", key, "m"], ["pipe", key], ["trim", key, "--older-than", "1d"],
        ["rm", key, "--yes"],
    ):  # fmt: skip
        line = one_line_error(run_cli(*command, "--url", dead), 2)
        assert f"cannot reach {dead} (argument)" in line, (command, line)


def test_a_refused_password_says_authentication_failed(
    server_factory: Callable[..., Server], key: str
) -> None:
    """A wrong password is an authentication failure (exit 2), not "cannot reach"."""
    locked = server_factory()
    locked.client().config_set("requirepass", "sesame")
    wrong = f"redis://:wrong@127.0.0.1:{locked.port}/0"
    for command in (["search"], ["ls"], ["send", key, "m"], ["tail", key]):
        line = one_line_error(run_cli(*command, "--url", wrong), 2)
        where = f"redis://:***@127.0.0.1:{locked.port}/0 (argument)"
        assert line.startswith(f"redislog: authentication failed at {where}: "), line
        assert "wrong" not in line
    missing = f"redis://127.0.0.1:{locked.port}/0"
    line = one_line_error(run_cli("search", "--url", missing), 2)
    assert line.startswith(f"redislog: authentication failed at {missing} (argument): "), line


def test_wrong_type_key_is_an_error(redis_url: str, client: redis.Redis, key: str) -> None:
    """A key of another type is refused by every viewer with one line and exit 2."""
    client.set(key, "not a list")
    for command in ("tail", "search", "stats", "fields"):
        line = one_line_error(run_cli(command, key, "--url", redis_url), 2)
        assert line == f"redislog: '{key}' holds a Redis string, not a log list"


def test_server_is_named_on_stderr_unless_quiet(redis_url: str, key: str) -> None:
    log_records(redis_url, key, 1)
    result = run_cli("search", key, "-o", "cat", "--url", redis_url)
    assert result.stderr == f"redislog: searching {key} on {redis_url} (argument)\n"
    quiet = run_cli("search", key, "-q", "-o", "cat", REDISLOG_URL=redis_url)
    assert quiet.stderr == ""
    assert quiet.stdout == "record 0\n"
    loud = run_cli("tail", key, "--no-follow", REDISLOG_URL=redis_url)
    assert loud.stderr == (
        f"redislog: reading {key} from {redis_url} (REDISLOG_URL)\n"
        "redislog: warning: the server keeps no data on disk: a restart loses every log\n"
    )


def test_tail_and_info_warn_about_servers_that_lose_logs(
    server_factory: Callable[..., Server], key: str
) -> None:
    """No warning for a server with an append-only file; one for an evicting policy."""
    safe = server_factory("--appendonly", "yes")
    log_records(safe.url, key, 1)
    quiet = run_cli("tail", key, "--no-follow", "--url", safe.url)
    assert "warning" not in quiet.stderr
    risky = server_factory("--appendonly", "yes", "--maxmemory-policy", "allkeys-lru")
    log_records(risky.url, key, 1)
    tail = run_cli("tail", key, "--no-follow", "--url", risky.url)
    info = run_cli("info", "--url", risky.url)
    for result in (tail, info):
        assert result.stderr.endswith(
            "redislog: warning: maxmemory-policy allkeys-lru can evict whole log lists\n"
        )
    assert "persist:  append-only file" in info.stdout


def test_broken_pipe_is_quiet(redis_url: str, key: str) -> None:
    log_records(redis_url, key, 3000)
    command = (
        f"{sys.executable} -m redislog search {key} --limit all --url {redis_url} -q | head -1"
    )
    result = subprocess.run(
        command, shell=True, capture_output=True, text=True, env=cli_env(), timeout=60
    )
    assert result.stdout.count("\n") == 1
    assert result.stderr == ""


def test_sigterm_unregisters(redis_url: str, client: redis.Redis, key: str) -> None:
    """SIGTERM ends a tail with status 143, and its registration goes with it."""
    log_records(redis_url, key, 1)
    tail = Background("tail", key, "--url", redis_url, "-o", "cat")
    tail.wait_lines(1)
    assert client.zcard(keys.tails(key)) == 1
    assert tail.stop(signal.SIGTERM) == 128 + signal.SIGTERM
    assert client.zcard(keys.tails(key)) == 0
    assert not [e for e in tail.errors if "Traceback" in e]
