"""Cluster benchmark: write throughput over several log keys on a 3-master Redis Cluster.

One thread logs ``--n`` records (default 100,000) round-robin over ``KEYS``
log keys, one ``RedisHandler`` each (so one writer thread each), shaped like
the write-path benchmark's records.  The same workload runs, as the baseline
in the same round, against a single redis-server.  The cluster's keys are
chosen to fall on all three masters; the client is given a plain URL of one
node, as a user would.

Two spans per case, as in ``bench.handler``: **us/call**, the logging loop's
duration divided by n, and **delivered**, from the start of the loop until
every key holds its records (LLEN polled every 1 ms; nothing flushed by hand).
Every case runs in a fresh interpreter; every round runs the cases in a new
random order; the table shows the median and the min-max over the rounds.
Every case checks that each key holds exactly its records.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from redis.cluster import RedisCluster

from bench._server import Server, private_server
from redislog import RedisHandler, connection
from tests.servers import Cluster

ROOT = Path(__file__).resolve().parent.parent
KEYS = 4
POLL = 0.001
DELIVERY_TIMEOUT = 120.0

CASES = {
    "single": f"one redis-server, {KEYS} keys",
    "cluster": f"cluster of 3 masters, {KEYS} keys",
}


class BenchError(RuntimeError):
    """A case did not deliver what it logged: its numbers mean nothing."""


# -- the logging side (runs in the child interpreter) ---------------------------


def _child(url: str, names: list[str], n: int) -> dict[str, float]:
    client = connection.connect(connection.resolve(url), socket_timeout=30)
    client.ping()
    loggers = []
    for index, name in enumerate(names):
        logger = logging.getLogger(f"bench.cluster.{index}")
        logger.addHandler(RedisHandler(url=url, key=name))
        logger.propagate = False
        logger.setLevel(logging.INFO)
        loggers.append(logger)
    count = len(loggers)
    start = time.perf_counter()
    for i in range(n):
        loggers[i % count].info(
            "order %s processed", i, extra={"order_id": i, "customer": "acme-corp"}
        )
    loop = time.perf_counter() - start
    expected = [len(range(k, n, count)) for k in range(count)]
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while True:
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.llen(name)
        if pipe.execute() == expected:
            break
        if time.monotonic() > deadline:
            raise BenchError("records did not land in time")
        time.sleep(POLL)
    total = time.perf_counter() - start
    for k, name in enumerate(names):
        ids = sorted(json.loads(raw)["order_id"] for raw in client.lrange(name, 0, -1))
        if ids != list(range(k, n, count)):
            raise BenchError(f"{name} does not hold exactly its {expected[k]} records")
    for logger in loggers:
        for handler in logger.handlers:
            handler.close()
    client.close()
    return {"loop": loop, "total": total}


# -- the driver (runs in the parent interpreter) --------------------------------


def _run_case(url: str, names: list[str], n: int) -> dict[str, float]:
    command = [
        sys.executable, "-m", "bench.cluster", "--child", "--url", url,
        "--names", ",".join(names), "--n", str(n),
    ]  # fmt: skip
    limit = DELIVERY_TIMEOUT + 60 + n / 1000
    try:
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=limit, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"a case did not finish in {limit:g}s") from exc
    if done.returncode != 0:
        raise BenchError(f"a case failed (exit {done.returncode}):\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@contextlib.contextmanager
def _cluster() -> Iterator[Cluster]:
    with tempfile.TemporaryDirectory(prefix="redislog-bench-") as tmp:
        cluster = Cluster(Path(tmp))
        try:
            yield cluster.start()
        finally:
            cluster.stop()


def _flush(single: Server, cluster: Cluster) -> None:
    with contextlib.closing(single.client()) as client:
        client.flushall()
    with contextlib.closing(RedisCluster(host="127.0.0.1", port=cluster.nodes[0].port)) as c:
        c.flushall(target_nodes=RedisCluster.PRIMARIES)


def _spread(values: list[float], fmt: str) -> str:
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{mid:{fmt}} ({low:{fmt}}-{high:{fmt}})"


def _report(results: dict[str, list[dict[str, float]]], n: int, rounds: int) -> str:
    lines = [
        f"redislog on Redis Cluster: {n:,} records per case over {KEYS} log keys, "
        f"{rounds} rounds, median (min-max)",
        "",
    ]
    width = max(len(label) for label in CASES.values())
    header = f"{'case':<{width}}  {'us/call (app)':>22}  {'delivered s':>19}  {'records/s':>10}"
    lines += [header, "-" * len(header)]
    for name, runs in results.items():
        per_call = [1e6 * run["loop"] / n for run in runs]
        total = [run["total"] for run in runs]
        rate = n / statistics.median(total)
        lines.append(
            f"{CASES[name]:<{width}}  {_spread(per_call, '.2f'):>22}  "
            f"{_spread(total, '.3f'):>19}  {rate:>10,.0f}"
        )
    ratios = [
        c["total"] / s["total"] for c, s in zip(results["cluster"], results["single"], strict=True)
    ]
    lines += [
        "",
        f"cluster / single server, delivery time in the same round: {_spread(ratios, '.2f')}",
        "us/call: logging loop time / n, in the application's thread.",
        "delivered: loop start until every key holds its records; records/s: n / that.",
    ]
    return "\n".join(lines)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench cluster",
        description="Write throughput on a 3-master Redis Cluster against one server.",
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--n", type=int, default=100_000, help="records per case (default 100000)")
    parser.add_argument("--json", type=Path, help="also write every run's numbers here")
    # The parent re-runs this module with these to measure one case.
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    for hidden in ("--url", "--names"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.n < KEYS:
        parser.error(f"--rounds must be >= 1 and --n >= {KEYS}")
    return args


def _stop_on_sigterm(signum: int, _frame: object) -> None:
    # Turn a plain kill into an exception so the servers are stopped on the way out.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.child:
        print(json.dumps(_child(args.url, args.names.split(","), args.n)))
        return 0
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    results: dict[str, list[dict[str, float]]] = {name: [] for name in CASES}
    try:
        with private_server() as single, _cluster() as cluster:
            spread = cluster.spread(f"bench:{uuid.uuid4().hex[:8]}", KEYS)
            names = {"single": spread, "cluster": spread}
            urls = {"single": single.url, "cluster": cluster.url}
            order = list(CASES)
            for round_no in range(1, args.rounds + 1):
                random.shuffle(order)
                for name in order:
                    run = _run_case(urls[name], names[name], args.n)
                    _flush(single, cluster)
                    results[name].append(run)
                    print(
                        f"round {round_no}/{args.rounds}  {name:<8} "
                        f"{1e6 * run['loop'] / args.n:7.2f} us/call  {run['total']:7.3f} s",
                        file=sys.stderr,
                        flush=True,
                    )
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    print(_report(results, args.n, args.rounds))
    if args.json:
        args.json.write_text(json.dumps({"n": args.n, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
