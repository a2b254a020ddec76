"""RedisHandler inside real servers, configured the way their own docs say.

gunicorn forks workers right after its master logged (the writer thread
making its first connection meanwhile); uvicorn stops by raising the signal it
caught again once the previous handler is back.  Neither may lose a record or
break a worker.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.servers import free_port
from tests.support import stored, wait_for

ROOT = Path(__file__).parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

WSGI_APP = """
import logging, os

log = logging.getLogger("app")


def app(environ, start_response):
    n = int(environ["QUERY_STRING"] or 0)
    log.info("request", extra={"n": n, "worker": os.getpid()})
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
"""

GUNICORN_CONF = """
bind = "127.0.0.1:{port}"
workers = 4
worker_class = "{worker_class}"
preload_app = {preload}
logconfig_dict = {{
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {{"redis": {{"class": "redislog.RedisHandler",
                           "url": "{url}", "key": "{key}"}}}},
    "root": {{"level": "INFO", "handlers": ["redis"]}},
    "loggers": {{
        "gunicorn.error": {{"level": "INFO", "handlers": ["redis"], "propagate": False}},
    }},
}}
"""


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def serve_every_worker(port: int, first: int, workers: set[int] | None = None) -> list[int]:
    """Send requests (8 at a time) until 4 workers answered; every answer must
    be a 200.  Returns the request numbers sent."""
    seen: set[int] = set()
    sent: list[int] = []
    n = first
    with ThreadPoolExecutor(8) as pool:
        while len(seen) < 4:
            assert n - first < 4000, f"only workers {seen} answered"
            batch = list(range(n, n + 40))
            n += 40
            for status, body in pool.map(lambda i: get(port, f"/?{i}"), batch):
                assert status == 200, body
                seen.add(int(body))
            sent += batch
    if workers is not None:
        workers.update(seen)
    return sent


def gunicorn(
    tmp_path: Path, url: str, key: str, worker_class: str, preload: bool
) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    (tmp_path / "app.py").write_text(WSGI_APP)
    (tmp_path / "gunicorn.conf.py").write_text(
        GUNICORN_CONF.format(
            port=port, url=url, key=key, worker_class=worker_class, preload=preload
        )
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:app"],
        cwd=tmp_path,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: listening(port) or process.poll() is not None, timeout=30)
    assert process.poll() is None, process.communicate()
    return process, port


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    return err


def booted(records: list[dict[str, Any]]) -> Counter[int]:
    """How often each worker pid was booted, by gunicorn's own records."""
    found = (re.fullmatch(r"Booting worker with pid: (\d+)", r["msg"]) for r in records)
    return Counter(int(m[1]) for m in found if m)


def test_twenty_gunicorn_starts_answer_from_every_worker_and_store_every_record(
    redis_url: str, client: redis.Redis, tmp_path: Path, key: str
) -> None:
    """gunicorn with 4 sync workers started 20 times: every worker of every
    start answers (no 500), and every request's record and every worker's
    boot and exit records are stored."""
    for start in range(20):
        run_key = f"{key}:{start}"
        process, port = gunicorn(tmp_path, redis_url, run_key, "sync", preload=False)
        workers: set[int] = set()
        try:
            sent = serve_every_worker(port, 0, workers)
        finally:
            err = stop(process)
        assert process.returncode == 0, err
        records = stored(client, run_key)
        requests = [r["n"] for r in records if r["msg"] == "request"]
        assert sorted(requests) == sorted(sent), f"start {start}"
        assert set(booted(records)) == workers, f"start {start}"
        exited = {r["msg"] for r in records if r["msg"].startswith("Worker exiting")}
        assert exited == {f"Worker exiting (pid: {pid})" for pid in workers}, f"start {start}"


@pytest.mark.parametrize(("worker_class", "preload"), [("gthread", True), ("sync", True)])
def test_gunicorn_reloaded_with_hup_keeps_every_record(
    redis_url: str,
    client: redis.Redis,
    tmp_path: Path,
    key: str,
    worker_class: str,
    preload: bool,
) -> None:
    """gunicorn (gthread or sync, the app preloaded in the master) reloaded
    with SIGHUP: the new workers answer too, and the records of both
    generations are stored."""
    process, port = gunicorn(tmp_path, redis_url, key, worker_class, preload=preload)
    old: set[int] = set()
    new: set[int] = set()
    try:
        sent = serve_every_worker(port, 0, old)
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: len(booted(stored(client, key))) == 8, timeout=30)
        # Old workers finish gracefully; ask until only new ones answer.
        wait_for(lambda: not (old & {int(get(port, "/?-1")[1]) for _ in range(8)}), timeout=30)
        sent += serve_every_worker(port, 10_000, new)
    finally:
        err = stop(process)
    assert process.returncode == 0, err
    assert not old & new
    records = stored(client, key)
    requests = [r["n"] for r in records if r["msg"] == "request" and r["n"] >= 0]
    assert sorted(requests) == sorted(sent)
    assert set(booted(records)) == old | new


ASGI_APP = """
import logging, os

log = logging.getLogger("app")


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                log.info("lifespan startup", extra={"worker": os.getpid()})
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                log.info("lifespan shutdown", extra={"worker": os.getpid()})
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = str(os.getpid()).encode()
    log.info("request", extra={"worker": os.getpid()})
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})
"""


def uvicorn(
    tmp_path: Path, handler: dict[str, Any], workers: int, stop_with: signal.Signals
) -> tuple[int, str]:
    """Run uvicorn with *handler* for every logger, answer a few requests,
    stop it with *stop_with*; return its exit status and stderr."""
    port = free_port()
    (tmp_path / "app.py").write_text(ASGI_APP)
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"main": handler},
        "root": {"level": "INFO", "handlers": ["main"]},
        "loggers": {
            name: {"level": "INFO", "handlers": ["main"], "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
    (tmp_path / "logging.json").write_text(json.dumps(config))
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app:app", "--port", str(port),
         "--log-config", "logging.json", "--workers", str(workers)],
        cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: listening(port) or process.poll() is not None, timeout=30)
        assert process.poll() is None, process.communicate()
        pids = set()
        deadline = time.monotonic() + 30
        while len(pids) < workers and time.monotonic() < deadline:
            status, body = get(port, "/")
            assert status == 200, body
            pids.add(int(body))
        time.sleep(0.2)
    finally:
        process.send_signal(stop_with)
        _, err = process.communicate(timeout=60)
    return process.returncode, err


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_uvicorn_stopped_by_a_signal_stores_every_shutdown_record(
    redis_url: str,
    client: redis.Redis,
    tmp_path: Path,
    key: str,
    workers: int,
    stop_with: signal.Signals,
) -> None:
    """uvicorn (one process, or 2 workers) stopped as docker, systemd or
    Ctrl-C stop it: every process's shutdown records are stored, and the exit
    status is the one uvicorn has with a StreamHandler."""
    plain = {"class": "logging.StreamHandler"}
    expected, _ = uvicorn(tmp_path, plain, workers, stop_with)
    redis_handler = {"class": "redislog.RedisHandler", "url": redis_url, "key": key}
    status, err = uvicorn(tmp_path, redis_handler, workers, stop_with)
    assert status == expected, err
    records = stored(client, key)
    servers = {
        int(m[1])
        for r in records
        if (m := re.fullmatch(r"Started server process \[(\d+)\]", r["msg"]))
    }
    assert len(servers) == workers
    for pid in servers:
        mine = [r["msg"] for r in records if r["pid"] == pid]
        shutdown = ["Waiting for application shutdown.", "lifespan shutdown"]
        shutdown += ["Application shutdown complete.", f"Finished server process [{pid}]"]
        assert set(shutdown) <= set(mine), (pid, mine)
    if workers > 1:
        assert any(r["msg"].startswith("Stopping parent process") for r in records)
