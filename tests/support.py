"""Small helpers shared by the tests."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import redis


def stored(client: redis.Redis, key: str) -> list[dict[str, Any]]:
    """Every record in *key*, oldest first."""
    return [orjson.loads(raw) for raw in reversed(client.lrange(key, 0, -1))]


def attach(handler: logging.Handler, name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


def run_script(source: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run *source* in a fresh interpreter (no pytest warning filters, real exit)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )


def wait_until_following(client: redis.Redis) -> None:
    """Wait until some client waits in a BRPOP: a tail is following."""

    def blocked() -> bool:
        return any(
            c.get("cmd") == "brpop" and "b" in c.get("flags", "") for c in client.client_list()
        )

    wait_for(blocked)
