from __future__ import annotations

import itertools
import logging
import logging.config
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.servers import Cluster, Server

_names = itertools.count()


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real redis-server for the tests that don't hurt it."""
    server = Server(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(shared_server: Server) -> str:
    return shared_server.url


@pytest.fixture
def client(shared_server: Server) -> Iterator[redis.Redis]:
    c = shared_server.client()
    yield c
    c.close()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start private servers (for tests that kill, freeze or restart them)."""
    started: list[Server] = []

    def make(*args: str, port: int | None = None, start: bool = True) -> Server:
        server = Server(tmp_path / f"redis{len(started)}", *args, port=port)
        started.append(server)
        return server.start() if start else server

    yield make
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A real 3-master Redis Cluster for the tests that don't hurt it."""
    started = Cluster(tmp_path_factory.mktemp("cluster")).start()
    yield started
    started.stop()


@pytest.fixture
def configure() -> Iterator[Callable[[dict[str, Any]], None]]:
    """``logging.config.dictConfig``; the loggers it configured are reset after."""
    configured: list[str] = []

    def apply(config: dict[str, Any]) -> None:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False, **config})
        configured.extend(config.get("loggers", {}))

    yield apply
    for name in configured:
        logger = logging.getLogger(name)
        for handler in logger.handlers[:]:
            logger.removeHandler(handler)
            handler.close()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


@pytest.fixture
def key(request: pytest.FixtureRequest) -> str:
    """A log key no other test uses."""
    # No glob characters: parametrized names carry brackets.
    name = request.node.name[:40].translate(str.maketrans("[]*?", "()__"))
    return f"logs:{name}:{next(_names)}"


@pytest.fixture
def zone() -> Iterator[Callable[[str], None]]:
    """Switch the local time zone (POSIX TZ strings need no tz database)."""
    old = os.environ.get("TZ")

    def set_zone(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    yield set_zone
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the user's Redis settings or embedded server."""
    for name in ("REDISLOG_URL", "REDIS_URL", "REDISLOG_KEY", "REDISLOG_MAXLEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REDISLOG_HOME", str(tmp_path / "home"))
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def pytest_report_header() -> str:
    from tests.servers import binary

    choice = os.environ.get("REDISLOG_TEST_SERVER", "auto")
    return f"redis-server: {binary()} (REDISLOG_TEST_SERVER={choice})"
