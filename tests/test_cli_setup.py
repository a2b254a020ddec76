"""Setting up and looking around: which server (ls, info, server status|stop),
what the records hold (fields), quiet writes, default keys, completion."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
import redis

from redislog import embedded, keys
from tests.servers import Server
from tests.support import cli_env, log_records, one_line_error, run_cli, run_script
from tests.support.processes import ROOT


@pytest.fixture
def home() -> Iterator[Path]:
    """The embedded server's directory (the autouse fixture points it at tmp)."""
    path = embedded.home()
    yield path
    embedded.stop(path)


def test_ls_says_which_server_it_lists(redis_url: str, key: str) -> None:
    """ls names the server on stderr, as every viewer command does."""
    log_records(redis_url, key, 1)
    result = run_cli("ls", key, "--url", redis_url)
    assert result.returncode == 0
    assert result.stderr == f"redislog: listing the log keys on {redis_url} (argument)\n"


def test_ls_on_a_server_without_logs_exits_1(server_factory: Callable[..., Server]) -> None:
    """ls finds nothing to list on a fresh server: one line, exit 1."""
    server = server_factory()
    result = run_cli("ls", "--url", server.url)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"redislog: no log keys on {server.url} (argument) (nothing has logged there yet)"
    )


def test_info_says_in_words_what_the_server_risks(
    server_factory: Callable[..., Server],
) -> None:
    """info says what no append-only file and an eviction policy mean for logs."""
    bare = server_factory()
    result = run_cli("info", "--url", bare.url)
    assert result.returncode == 0
    assert "persist:  no append-only file, no snapshots: a restart loses every log" in result.stdout
    assert "eviction: noeviction (no maxmemory): nothing is evicted" in result.stdout
    snapshots = server_factory("--maxmemory", "100mb", "--maxmemory-policy", "allkeys-lru")
    snapshots.client().config_set("save", "3600 1")
    result = run_cli("info", "--url", snapshots.url)
    assert (
        "persist:  no append-only file: a crash loses records since the last snapshot"
        in result.stdout
    )
    assert (
        "eviction: allkeys-lru (maxmemory 100.00M): whole log lists can be evicted when "
        "memory is full" in result.stdout
    )
    assert "redislog: warning: maxmemory-policy allkeys-lru can evict whole log lists" in (
        result.stderr
    )
    safe = server_factory("--appendonly", "yes")
    result = run_cli("info", "--url", safe.url)
    assert "persist:  append-only file: records survive a crash and a restart" in result.stdout
    assert "warning" not in result.stderr


def test_fields_lists_names_counts_and_escaped_examples(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """fields counts each field name (nested ones dotted) and shows a few of
    its values, escaped."""
    for i, extra in enumerate(
        [{"order": {"id": 42}, "user": "ada lovelace"}, {"order": {"id": 43}}, {"evil": "\x1b[2J"}]
    ):
        client.lpush(key, orjson.dumps({"ts": 1.7e9 + i, "msg": f"m{i}", **extra}))
    client.lpush(key, b"plain text")
    client.sadd(keys.INDEX, key)
    result = run_cli("fields", key, "--url", redis_url)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert rows["FIELD"].split() == ["FIELD", "RECORDS", "SHARE", "EXAMPLES"]
    assert rows["order.id"].split() == ["order.id", "2", "50%", "43,", "42"]
    assert rows["user"].endswith('"ada lovelace"')
    assert rows["evil"].endswith("\\x1b[2J")
    assert "\x1b" not in result.stdout
    assert "1 of the records read are not JSON objects" in result.stderr
    as_json = json.loads(run_cli("fields", key, "-o", "json", "-q", "--url", redis_url).stdout)
    assert as_json["records"] == 4
    assert {"field": "evil", "records": 1, "examples": ["\x1b[2J"]} in as_json["fields"]
    none = run_cli("fields", key, "-g", "nowhere", "--url", redis_url)
    assert none.returncode == 1


def from_bash(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m redislog ARGS`` from bash, as a user types it: the
    completion options find the shell they serve among their parent processes."""
    command = shlex.join([sys.executable, "-m", "redislog", *args])
    return subprocess.run(
        ["bash", "-c", f"{command}; exit $?"],  # (a list: bash forks, not execs)
        capture_output=True, text=True, timeout=60, env=cli_env(**env), stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_shell_completion_installs_and_completes(tmp_path: Path) -> None:
    """--show-completion prints a script for the shell, --install-completion
    installs it where the shell reads it, and completion names the commands."""
    script = from_bash("--show-completion")
    assert script.returncode == 0, script.stderr
    assert "_REDISLOG_COMPLETE=complete_bash" in script.stdout
    installed = from_bash("--install-completion", HOME=str(tmp_path))
    assert installed.returncode == 0, installed.stderr
    assert "redislog" in (tmp_path / ".bashrc").read_text()
    words = subprocess.run(
        [sys.executable, "-m", "redislog"],
        capture_output=True,
        text=True,
        env=cli_env(_REDISLOG_COMPLETE="complete_bash", COMP_WORDS="redislog se", COMP_CWORD="1"),
        timeout=60,
    )
    assert set(words.stdout.split()) == {"search", "send", "serve", "server"}
    help_text = run_cli("--help").stdout
    assert "--install-completion" in help_text


def test_send_is_silent_on_success_even_on_the_embedded_server(home: Path) -> None:
    """send prints nothing when it stored the record, whichever server it used;
    info and the viewer say which server that was."""
    result = run_cli("send", "logs:cron", "backup done", "files=12")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    search = run_cli("search", "logs:cron", "-o", "cat")
    assert search.stdout == "backup done\n"
    assert f"{home / embedded.SOCKET} (embedded)" in search.stderr


def test_quiet_writes_keep_errors(redis_url: str, client: redis.Redis, key: str) -> None:
    """-q silences send's and pipe's notices, not their errors."""
    client.set(key, "x")
    for command in (["send", key, "m", "-q"], ["pipe", key, "-q"]):
        line = one_line_error(run_cli(*command, "--url", redis_url), 2)
        assert "holds a Redis string, not a log list" in line


def test_a_program_writing_to_a_key_of_another_type_is_told_in_words(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """An application logging to a key that holds a string reads the key's
    type in words on stderr, not the script error."""
    client.set(key, "not a list")
    result = run_script(
        """
        import logging, sys
        from redislog import RedisHandler
        handler = RedisHandler(url=sys.argv[1], key=sys.argv[2])
        logging.getLogger().addHandler(handler)
        logging.getLogger().warning("lost")
        handler.flush(5)
        """,
        redis_url,
        key,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        f"redislog: cannot write to {redis_url}: '{key}' holds a Redis string, not a log list; "
        "dropping the records it refuses\n"
    )


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("-m myapp", "logs:myapp"),
        ("-m myapp.tool", "logs:myapp.tool"),
        ("-c", "logs:python"),
        ("stdin", "logs:python"),
        ("script", "logs:runner"),
        ("directory", "logs:myapp"),
    ],
)
def test_the_default_key_names_the_program(tmp_path: Path, how: str, expected: str) -> None:
    """The default key is the module run with -m, the script's name, and
    'python' for -c and standard input, in real interpreters."""
    package = tmp_path / "myapp"
    package.mkdir()
    code = textwrap.dedent(
        """
        from redislog import RedisHandler
        handler = RedisHandler(url="redis://127.0.0.1:1/0", flush_on_signal=False)
        print(handler.key)
        """
    )
    for name in ("__init__.py", "__main__.py", "tool.py"):
        (package / name).write_text(code if name != "__init__.py" else "")
    (tmp_path / "runner.py").write_text(code)
    argv = {
        "-m myapp": ["-m", "myapp"],
        "-m myapp.tool": ["-m", "myapp.tool"],
        "-c": ["-c", code],
        "stdin": ["-"],
        "script": [str(tmp_path / "runner.py")],
        "directory": [str(package)],
    }[how]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    env.pop("REDISLOG_KEY", None)
    result = subprocess.run(
        [sys.executable, *argv],
        input=code if how == "stdin" else None,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{expected}\n"


def test_server_status_and_stop(home: Path) -> None:
    """server status says whether the embedded server runs and where it keeps
    its socket and data; server stop shuts it down and keeps the data."""
    status = run_cli("server", "status")
    assert status.returncode == 1
    assert status.stdout.splitlines()[:2] == ["running:  no", f"socket:   {home / 'redis.sock'}"]
    assert run_cli("send", "logs:kept", "before the stop").returncode == 0
    status = run_cli("server", "status")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0] == "running:  yes"
    pid = int(lines[1].removeprefix("pid:      "))
    assert Path(f"/proc/{pid}").exists() or pid > 0
    assert lines[2].startswith("version:  redis 6.2")
    assert lines[3] == f"socket:   {home / 'redis.sock'}"
    assert lines[4].startswith(f"data:     {home} (append-only file: ")
    assert lines[5] == "in use:   yes (no REDISLOG_URL or REDIS_URL is set)"
    elsewhere = run_cli("server", "status", REDISLOG_URL="redis://example.invalid:6380/0")
    assert "in use:   no (REDISLOG_URL names the server to use)" in elsewhere.stdout
    stopped = run_cli("server", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout == f"stopped the embedded server; its data stays in {home}\n"
    assert run_cli("server", "status").returncode == 1
    again = run_cli("server", "stop")
    assert again.returncode == 1
    assert again.stderr.startswith("redislog: the embedded server is not running")
    search = run_cli("search", "logs:kept", "-o", "cat", "-q")
    assert search.stdout == "before the stop\n"


def test_commands_keep_freed_memory_for_their_next_window() -> None:
    """glibc (Linux's C library here) takes both settings that keep a viewer's
    freed windows in the process (else each window's pages are faulted in anew)."""
    from redislog.cli import _allocator

    assert _allocator.keep_freed_memory() is True
