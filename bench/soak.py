"""Soak run: several processes log at a steady rate while faults hit Redis.

``make soak MINUTES=5`` (or ``python -m bench.soak --minutes 5``) starts a
private redis-server (append-only, fsync always, so whatever it acknowledged
survives a SIGKILL) behind a loopback fault proxy, then starts producer
processes that each log at a fixed rate through ``RedisHandler``.  Every few
seconds one fault strikes, in turn: the server frozen (SIGSTOP) for 3 s,
killed and restarted, writes paused (CLIENT PAUSE), busy (DEBUG SLEEP), the
connections cut, the connections stalled for 3 s.  At the end each producer
flushes and reports what it logged, its worst and 99th-percentile logging-call
latency and its peak memory; the run then reads back every record and prints
records logged, stored, duplicated, reported dropped, and missing (logged but
neither stored nor reported: must be 0).

Not a benchmark: ``python -m bench`` skips it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import orjson
import redis

from tests.proxy import Proxy
from tests.servers import Server, debug_args

KEY = "logs:soak"


def produce(url: str, seconds: float, rate: float) -> None:
    """One producer process: log at *rate* for *seconds*, print a JSON report."""
    from redislog import RedisHandler

    handler = RedisHandler(url=url, key=KEY, maxlen=10**8, socket_timeout=1.0)
    logger = logging.getLogger("soak")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    durations = []
    start = time.perf_counter()
    n = int(seconds * rate)
    for i in range(n):
        due = start + i / rate
        while (now := time.perf_counter()) < due:
            time.sleep(min(0.001, due - now))
        t0 = time.perf_counter()
        logger.info("soak %d", i, extra={"seq": i, "producer": os.getpid(), "pad": "p" * 200})
        durations.append(time.perf_counter() - t0)
    handler.flush(30)
    stats = handler.stats
    handler.close()
    durations.sort()
    report = {
        "pid": os.getpid(),
        "logged": n,
        "token": handler._producer.token,
        "dropped": stats["dropped"],
        "pending": stats["pending"],
        "p99_us": durations[int(len(durations) * 0.99)] * 1e6,
        "max_ms": durations[-1] * 1e3,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(report), flush=True)


def faults(server: Server, proxy: Proxy) -> list[tuple[str, object]]:
    admin = server.client

    def freeze() -> None:
        server.freeze()
        time.sleep(3)
        server.thaw()

    def stall() -> None:
        proxy.stall()
        time.sleep(3)
        proxy.restore()

    return [
        ("freeze 3s", freeze),
        ("kill and restart", server.restart),
        ("CLIENT PAUSE 2s", lambda: admin().execute_command("CLIENT", "PAUSE", 2000, "WRITE")),
        ("DEBUG SLEEP 1s", lambda: admin().execute_command("DEBUG", "SLEEP", 1)),
        ("cut connections", proxy.cut),
        ("stall 3s", stall),
    ]


def read_all(client: redis.Redis) -> list[dict[str, object]]:
    records = []
    total = client.llen(KEY)
    for start in range(0, total, 10_000):
        for raw in client.lrange(KEY, start, start + 9_999):
            records.append(orjson.loads(raw))
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--producers", type=int, default=3)
    parser.add_argument("--rate", type=float, default=500.0, help="records/s per producer")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between faults")
    parser.add_argument(
        "--producer", nargs=3, metavar=("URL", "SECONDS", "RATE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.producer:
        url, seconds, rate = args.producer
        produce(url, float(seconds), float(rate))
        return 0

    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory(prefix="redislog-soak-") as tmp:
        server = Server(Path(tmp), "--appendonly", "yes", "--appendfsync", "always", *debug_args())
        server.start()
        proxy = Proxy(server.port)
        try:
            procs = [
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "bench.soak",
                        "--producer",
                        proxy.url,
                        str(seconds),
                        str(args.rate),
                    ],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for _ in range(args.producers)
            ]
            schedule = faults(server, proxy)
            struck: Counter[str] = Counter()
            begin = time.monotonic()
            turn = 0
            while time.monotonic() - begin < seconds - args.every:
                time.sleep(args.every)
                name, fault = schedule[turn % len(schedule)]
                turn += 1
                print(f"[{time.monotonic() - begin:6.1f}s] {name}", flush=True)
                fault()  # type: ignore[operator]
                struck[name] += 1
            reports = [json.loads(p.communicate(timeout=seconds + 120)[0]) for p in procs]
            records = read_all(server.client())
        finally:
            proxy.close()
            server.stop()

    logged = sum(r["logged"] for r in reports)
    tokens = {r["token"] for r in reports}
    ids = Counter(
        str(r["id"]) for r in records if str(r.get("id", "")).split(":")[0] in tokens and "seq" in r
    )
    markers = {str(r["id"]): int(r["dropped"]) for r in records if r.get("logger") == "redislog"}
    reported = sum(markers.values())
    unique = len(ids)
    duplicates = sum(n - 1 for n in ids.values())
    print()
    print(
        f"soak: {args.minutes:g} min, {args.producers} producers x {args.rate:g} records/s, "
        f"a fault every {args.every:g}s ({sum(struck.values())} faults: "
        + ", ".join(f"{k} x{v}" for k, v in struck.items())
        + ")"
    )
    rows = [
        ("records logged", logged),
        ("records stored (unique ids)", unique),
        ("duplicates stored", duplicates),
        ("drops reported by markers", reported),
        ("missing (logged - stored - reported)", logged - unique - reported),
        ("pending at exit", sum(r["pending"] for r in reports)),
    ]
    for label, value in rows:
        print(f"  {label:<40} {value:>10,}")
    worst = max(r["max_ms"] for r in reports)
    p99 = max(r["p99_us"] for r in reports)
    rss = max(r["peak_rss_mb"] for r in reports)
    print(f"  {'worst logging call (ms)':<40} {worst:>10.2f}")
    print(f"  {'logging call p99, worst producer (us)':<40} {p99:>10.1f}")
    print(f"  {'peak RSS, worst producer (MB)':<40} {rss:>10.1f}")
    return 0 if logged - unique - reported == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
