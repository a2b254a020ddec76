"""Benchmark of ``redislog serve``, each part against a baseline measured in the same run.

1. **ingest**: ``--n`` records (default 100,000) as NDJSON, POSTed in batches
   of 1,000 over one keep-alive connection, until the last answer (each
   answer means its batch is stored).  Against: ``redislog pipe`` on the very
   same lines, as a whole process until it exits (start-up included).
   Checked: the list holds exactly N records.  Medians of ``--rounds``.

2. **follow**: ``--followers`` Server-Sent Events clients (default 200, in
   four processes, reading raw HTTP/1.0 streams) follow one key while a
   separate process logs ``--records`` records (default 10,000) through
   ``RedisHandler`` at ``--rate`` records a second (default 1,000).  Every
   follower must receive every record, in order, once.  Latency is the time
   from the record's ``ts`` (set when it was logged) to its arrival at a
   follower, over every event of every follower.  Against: one follower
   alone, in the same run.  The Redis connections the server holds are
   sampled (CLIENT LIST) throughout: they must not grow.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

from bench import viewer as view_bench
from bench._server import Server, private_server
from redislog import tokens
from tests.servers import free_port

BenchError = view_bench.BenchError


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench web")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--followers", type=int, default=200)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--parts", default="ingest,follow")
    return parser.parse_known_args(argv)[0]


class _Serve:
    def __init__(self, server: Server) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [*view_bench.viewer_command(), "serve", "--port", str(self.port), "--url", server.url,
             "--rate", "1000000", "--burst", "1000000"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise BenchError("redislog serve did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"


# -- 1. ingest ---------------------------------------------------------------------------


def _lines(n: int) -> list[bytes]:
    return [
        json.dumps({"msg": f"order {i} paid", "order": i, "amount": i % 997}).encode()
        for i in range(n)
    ]  # fmt: skip


def _post_once(serve: _Serve, server: Server, secret: str, lines: list[bytes]) -> float:
    key = f"bench:web:{uuid.uuid4().hex[:10]}"
    batches = [b"\n".join(lines[i : i + 1000]) for i in range(0, len(lines), 1000)]
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/x-ndjson"}
    with httpx.Client(base_url=serve.base, headers=headers, timeout=60) as http:
        http.get("/api/token")  # the token's digest is computed once per process: not timed
        started = time.perf_counter()
        for body in batches:
            response = http.post(f"/api/logs/{key}", content=body)
            if response.status_code != 201:
                raise BenchError(f"POST answered {response.status_code}: {response.text}")
        elapsed = time.perf_counter() - started
    client = server.client()
    if client.llen(key) != len(lines):
        raise BenchError(f"POST stored {client.llen(key)} of {len(lines)} records")
    client.delete(key)
    return elapsed


def _pipe_once(server: Server, workdir: Path, lines: list[bytes]) -> float:
    key = f"bench:pipe:{uuid.uuid4().hex[:10]}"
    data = workdir / "lines.ndjson"
    if not data.exists():
        data.write_bytes(b"\n".join(lines) + b"\n")
    with data.open("rb") as source:
        started = time.perf_counter()
        done = subprocess.run(
            [*view_bench.viewer_command(), "pipe", key, "-q", "--url", server.url],
            stdin=source, capture_output=True, check=False,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
    client = server.client()
    if done.returncode != 0 or client.llen(key) != len(lines):
        raise BenchError(f"pipe stored {client.llen(key)} of {len(lines)}: {done.stderr[-300:]!r}")
    client.delete(key)
    return elapsed


def measure_ingest(server: Server, serve: _Serve, n: int, rounds: int) -> list[str]:
    secret = tokens.create(server.client(), f"bench-{uuid.uuid4().hex[:6]}", "write")[1]
    lines = _lines(n)
    post: list[float] = []
    pipe: list[float] = []
    with tempfile.TemporaryDirectory(prefix="redislog-web-") as tmp:
        work = Path(tmp)
        for number in range(rounds):
            cases = [
                lambda: post.append(n / _post_once(serve, server, secret, lines)),
                lambda: pipe.append(n / _pipe_once(server, work, lines)),
            ]
            if number % 2:
                cases.reverse()
            for run in cases:
                run()
    ratios = [a / b for a, b in zip(post, pipe, strict=True)]
    return [
        f"ingest of {n:,} NDJSON records (records/s, median (min-max))",
        f"  POST /api/logs/KEY, batches of 1,000   {_median(post)}",
        f"  redislog pipe, same lines (baseline)   {_median(pipe)}",
        f"  POST / pipe                            {statistics.median(ratios):.2f}x",
    ]


# -- 2. follow ---------------------------------------------------------------------------


async def _follow(port: int, path: str, secret: str, expect: int, out: list[float],
                  problems: list[str], ready: threading.Event | None = None) -> None:  # fmt: skip
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
    writer.write(
        f"GET {path} HTTP/1.0\r\nHost: bench\r\nAuthorization: Bearer {secret}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n")[0]:
        problems.append(head.split(b"\r\n")[0].decode())
        return
    buffer = b""
    seen = 0
    while seen < expect:
        chunk = await reader.read(1 << 16)
        if not chunk:
            problems.append(f"stream ended after {seen} records")
            break
        now = time.time()
        buffer += chunk
        *events, buffer = buffer.split(b"\n\n")
        for event in events:
            if b"event: record" not in event:
                continue
            at = event.find(b'"ts":')
            ts = float(event[at + 5 : event.index(b",", at)])
            msg_at = event.find(b'"msg":"m') + 8
            number = int(event[msg_at : event.index(b'"', msg_at)])
            if number != seen:
                problems.append(f"record {number} arrived where {seen} was due")
                seen = number
            seen += 1
            out.append(now - ts)
    writer.close()


def _followers_process(port: int, path: str, secret: str, count: int, expect: int,
                       results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]  # fmt: skip
    async def main() -> tuple[list[float], list[str]]:
        latencies: list[float] = []
        problems: list[str] = []
        await asyncio.gather(
            *(_follow(port, path, secret, expect, latencies, problems) for _ in range(count))
        )
        return latencies, problems

    results.put(asyncio.run(main()))


_LOGGER = """
import logging, sys, time
from redislog import RedisHandler
url, key, n, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
log = logging.getLogger("bench.web")
log.propagate = False
log.setLevel(logging.INFO)
log.addHandler(RedisHandler(key=key, url=url))
start = time.perf_counter()
for i in range(n):
    due = start + i / rate
    while (late := due - time.perf_counter()) > 0:
        time.sleep(late)
    log.info("m%d", i)
logging.shutdown()
"""


def _follow_once(server: Server, serve: _Serve, secret: str, followers: int, records: int,
                 rate: float) -> dict[str, float]:  # fmt: skip
    key = f"bench:follow:{uuid.uuid4().hex[:8]}"
    client = server.client()
    baseline = len(client.client_list())
    results: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    groups = min(4, followers)
    sizes = [followers // groups + (1 if i < followers % groups else 0) for i in range(groups)]
    path = f"/api/logs/{key}/follow"
    processes = [
        multiprocessing.Process(
            target=_followers_process, args=(serve.port, path, secret, size, records, results)
        )
        for size in sizes
    ]
    for process in processes:
        process.start()
    deadline = time.monotonic() + 60
    with httpx.Client() as http:
        while f"redislog_followers {followers}" not in http.get(serve.base + "/metrics").text:
            if time.monotonic() > deadline:
                raise BenchError("the followers did not all connect")
            time.sleep(0.1)
    during = [len(client.client_list())]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            during.append(len(client.client_list()))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    logger = subprocess.Popen(
        [sys.executable, "-c", _LOGGER, server.url, key, str(records), str(rate)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )
    latencies: list[float] = []
    problems: list[str] = []
    for _ in processes:
        got, said = results.get(timeout=records / rate + 120)
        latencies += got
        problems += said
    for process in processes:
        process.join(30)
    logger.wait(60)
    stop.set()
    sampler.join()
    client.delete(key)
    if problems:
        raise BenchError(f"followers: {problems[:3]}")
    if len(latencies) != followers * records:
        raise BenchError(f"{len(latencies):,} events, {followers * records:,} expected")
    latencies.sort()
    return {
        "p50": latencies[len(latencies) // 2] * 1000,
        "p95": latencies[int(len(latencies) * 0.95)] * 1000,
        "max": latencies[-1] * 1000,
        "connections_before": baseline,
        "connections_min": min(during),
        "connections_max": max(during),
    }


def measure_follow(server: Server, serve: _Serve, followers: int, records: int,
                   rate: float) -> list[str]:  # fmt: skip
    secret = tokens.create(server.client(), f"bench-{uuid.uuid4().hex[:6]}", "read")[1]
    with httpx.Client() as http:  # the digest is computed once per process
        http.get(serve.base + "/api/token", headers={"Authorization": f"Bearer {secret}"})
    one = _follow_once(server, serve, secret, 1, records, rate)
    many = _follow_once(server, serve, secret, followers, records, rate)
    return [
        f"follow: {records:,} records logged at {rate:,.0f}/s by RedisHandler, every one "
        "received by every follower, in order, once (ms from logging to arrival)",
        f"  {'':<22}{'p50':>8}{'p95':>8}{'max':>8}   Redis connections (min-max while following)",
        *(
            f"  {label:<22}{r['p50']:>8.1f}{r['p95']:>8.1f}{r['max']:>8.1f}   "
            f"{r['connections_min']:.0f}-{r['connections_max']:.0f}"
            for label, r in ((f"{followers} followers", many), ("1 follower (baseline)", one))
        ),
        f"  p50 ratio {many['p50'] / max(one['p50'], 1e-9):.2f}x",
    ]


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    report: list[str] = []
    try:
        with private_server() as server:
            serve = _Serve(server)
            try:
                report.append(f"redislog serve: {args.rounds} rounds where stated, on "
                              f"{os.cpu_count()} CPUs")  # fmt: skip
                if "ingest" in args.parts:
                    report += ["", *measure_ingest(server, serve, args.n, args.rounds)]
                if "follow" in args.parts:
                    report += ["", *measure_follow(server, serve, args.followers, args.records,
                                                   args.rate)]  # fmt: skip
            finally:
                serve.stop()
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
