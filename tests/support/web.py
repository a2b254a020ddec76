"""``redislog serve`` as a real process on a free port, and its tokens."""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import redis

from redislog import tokens
from tests.servers import free_port
from tests.support.polling import wait_for
from tests.support.processes import cli_env

#: Seconds the served tails block in one pop (short: stopping and tests are quicker).
BLOCK = "0.5"


class Served:
    """``python -m redislog serve`` on a free loopback port, for *url*."""

    def __init__(self, url: str, *args: str, **env: str) -> None:
        self.url = url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "redislog", "serve", "--port", str(self.port), "--url", url,
             *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(REDISLOG_SERVE_BLOCK=BLOCK, **env),
        )  # fmt: skip
        self.errors: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        wait_for(self._up, 30, every=0.05, what=lambda: f"serve to answer: {self.errors}")

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.errors.append(line.rstrip("\n"))

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"serve exited {self.process.returncode}: {self.errors}")
        try:
            return httpx.get(self.base + "/healthz", timeout=2).status_code in (200, 503)
        except httpx.TransportError:
            return False

    def client(self, secret: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {} if secret is None else {"Authorization": f"Bearer {secret}"}
        return httpx.Client(base_url=self.base, headers=headers, timeout=30, **kwargs)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._reader.join(5)
        if self.process.stderr is not None:
            self.process.stderr.close()


@contextlib.contextmanager
def served(url: str, *args: str, **env: str) -> Iterator[Served]:
    running = Served(url, *args, **env)
    try:
        yield running
    finally:
        running.stop()


def make_token(
    client: redis.Redis,
    scope: str = "read",
    keys: str = "*",
    *,
    ttl: float | None = None,
    **fields: Any,
) -> str:
    """A new token's secret (its name unique)."""
    name = f"t{next(_names)}-{scope}-{secrets.token_hex(3)}"
    _, secret = tokens.create(client, name, scope, keys=keys, fields=fields, ttl=ttl)
    return secret


_names = iter(range(10**9))


class Events:
    """Server-Sent Events read on a thread: ``(event, id, data)`` tuples."""

    def __init__(self, http: httpx.Client, path: str, **headers: str) -> None:
        self.events: list[tuple[str, str | None, str]] = []
        self.status: int | None = None
        self._http = http
        self._path = path
        self._headers = headers
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        wait_for(lambda: self.kinds().count("hello") >= 1 or self.status not in (None, 200), 30,
                 what="the event stream to open")  # fmt: skip

    def _run(self) -> None:
        try:
            self._read()
        except Exception:  # closed from the test's side
            pass

    def _read(self) -> None:
        with self._http.stream("GET", self._path, headers=self._headers, timeout=None) as response:
            self.status = response.status_code
            if response.status_code != 200:
                return
            kind, ident, data = "message", None, []
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if not line:
                    if data:
                        self.events.append((kind, ident, "\n".join(data)))
                    kind, ident, data = "message", None, []
                elif line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("id: "):
                    ident = line[4:]
                elif line.startswith("data: "):
                    data.append(line[6:])

    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.events]

    def records(self) -> list[tuple[str | None, str]]:
        """(id, data) of each record event."""
        return [(ident, data) for kind, ident, data in self.events if kind == "record"]

    def close(self) -> None:
        self._stop.set()
        self._http.close()
        self._thread.join(10)
