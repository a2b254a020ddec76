"""Write-path benchmark: what one logging call costs, and how soon records land.

Every case logs ``--n`` records (default 100,000) shaped like an application's::

    logger.info("order %s processed", i, extra={"order_id": i, "customer": "acme-corp"})

through a logger holding only the handler under test (``propagate=False``,
level INFO), and times two spans with ``time.perf_counter`` and the CPU the
logging threads used:

- **µs/call**: the logging loop's duration divided by n, what the application's
  thread pays.  With several threads, the whole logging phase (first start to
  last end) divided by n.
- **delivered**: from the start of the loop until every record is at its
  destination: in the Redis list (LLEN polled every 1 ms from the main thread,
  nothing flushed by hand), written and closed in the file, or drained by the
  queue listener into its file.
- **CPU µs/call**: the CPU time the logging thread(s) used during the loop
  (``time.thread_time``, kernel time included), divided by n: the handler's
  own work, without the time the thread waited for the GIL or for a CPU that
  the writer thread, the queue listener or redis-server held.  The machine's
  steal time during the case (``/proc/stat``, both CPUs) shows how much a
  shared host took from it.

Cases: ``RedisHandler`` (one thread, and 4 threads sharing the n records) and,
as baselines measured in the same run, the stdlib ``NullHandler``;
``FileHandler`` with the default formatter (only the message: the cheapest
file log, and the baseline of the ratios; 1 and 4 threads) and with a
timestamped format (time, level, logger: closer to what a record in Redis
carries); ``QueueHandler`` + ``QueueListener`` feeding a ``FileHandler``, so
that its delivery, like RedisHandler's, means the records reached storage and
its listener thread competes with the caller for the GIL as redislog's writer
does; and the raw Redis limit: records encoded by redislog beforehand, pushed
with a redis-py pipeline of one LPUSH of 1000 values + LTRIM, no logging at all.

Each case runs in a fresh interpreter (no threads or garbage left over from
another case) against a private redis-server; every round runs the cases in a
new random order.  The table shows the median and the min-max over the rounds;
ratios to the FileHandler are taken within each round, then their median.
Every case checks what it delivered (count, order, content) and the run fails
loudly if anything is missing.  Garbage collection stays on.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import logging
import logging.handlers
import os
import platform
import queue
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis
import redis.utils

from bench._server import Server, private_server
from redislog import RedisHandler, serialize
from redislog.record import Producer, build

ROOT = Path(__file__).resolve().parent.parent
THREADS = 4
BATCH = 1000  # values per LPUSH in the raw-Redis reference
POLL = 0.001
DELIVERY_TIMEOUT = 120.0

FILE = "file"
FILE_FORMATTED = "file-fmt"
REDIS = "redis"
FILE_THREADS = "file-4t"
REDIS_THREADS = "redis-4t"
NULL = "null"
QUEUE = "queue"

# A typical production file format; every line ends with ": <message>".
TIMESTAMPED = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Targets, RedisHandler against FileHandler in the same round: one thread's
# logging call and delivery, and the logging call of 4 threads each.
TARGETS = {"per call": 1.0, "delivery": 1.0}
TARGETS_THREADS = {"per call": 0.6}


class BenchError(RuntimeError):
    """A case did not deliver what it logged: its numbers mean nothing."""


@dataclass(frozen=True)
class Context:
    """What a case needs: how many records, where to put them."""

    n: int
    url: str
    key: str
    workdir: Path


@dataclass(frozen=True)
class Case:
    name: str
    label: str
    run: Callable[[Context], dict[str, float]]


# -- the logging side (runs in the child interpreter) ---------------------------


def _logger(name: str, handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(f"bench.{name}")
    for old in list(logger.handlers):
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def _log(logger: logging.Logger, first: int, stop: int) -> None:
    for i in range(first, stop):
        logger.info("order %s processed", i, extra={"order_id": i, "customer": "acme-corp"})


@dataclass(frozen=True)
class Logged:
    """When the logging phase started and ended, and the CPU its threads used."""

    start: float
    end: float
    cpu: float

    def numbers(self, done: float) -> dict[str, float]:
        """A case's result, with *done* the moment the records were delivered."""
        return {"loop": self.end - self.start, "total": done - self.start, "cpu": self.cpu}


def _log_timed(logger: logging.Logger, n: int, threads: int = 1) -> Logged:
    """Log records 0..n-1 from *threads* threads."""
    if threads == 1:
        cpu = time.thread_time()
        start = time.perf_counter()
        _log(logger, 0, n)
        end = time.perf_counter()
        return Logged(start, end, time.thread_time() - cpu)
    bounds = [n * k // threads for k in range(threads + 1)]
    spans: list[tuple[float, float, float] | None] = [None] * threads
    # Every thread starts logging at once, as in a busy application.
    gate = threading.Barrier(threads)

    def work(k: int) -> None:
        gate.wait()
        cpu = time.thread_time()
        start = time.perf_counter()
        _log(logger, bounds[k], bounds[k + 1])
        spans[k] = (start, time.perf_counter(), time.thread_time() - cpu)

    workers = [threading.Thread(target=work, args=(k,), name=f"app-{k}") for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    done = [span for span in spans if span is not None]
    if len(done) != threads:
        raise BenchError(f"{threads - len(done)} logging threads died")
    return Logged(
        min(start for start, _, _ in done),
        max(end for _, end, _ in done),
        sum(cpu for _, _, cpu in done),
    )


def _client(url: str) -> redis.Redis:
    # RESP2 like the handler's own connection; connected before any timing.
    client = redis.Redis.from_url(url, protocol=2, socket_timeout=30)
    client.ping()
    return client


def _check_lines(path: Path, n: int, threads: int = 1, formatted: bool = False) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    if formatted:
        lines = [line.split(": ", 1)[-1] for line in lines]
    expected = [f"order {i} processed" for i in range(n)]
    # Threads interleave; each record must still be there exactly once.
    if threads > 1:
        lines.sort()
        expected.sort()
    if lines != expected:
        raise BenchError(
            f"{path.name} holds {len(lines)} lines, not the {n} records logged "
            f"(first {lines[:1]}, last {lines[-1:]})"
        )


def _check_list(client: redis.Redis, key: str, n: int, threads: int) -> None:
    """The list holds exactly the n records, each once, in each thread's order."""
    length = client.llen(key)
    if length != n:
        raise BenchError(f"{key} holds {length} records, expected {n}")
    oldest, newest = client.lindex(key, -1), client.lindex(key, 0)
    for what, raw, want in (("first", oldest, 0), ("last", newest, n - 1)):
        try:
            got = json.loads(raw)["order_id"]
        except (TypeError, ValueError, KeyError) as exc:
            raise BenchError(f"the {what} record is not a redislog record: {raw!r}") from exc
        if threads == 1 and got != want:
            raise BenchError(f"the {what} record has order_id {got}, expected {want}")
    stored: list[bytes] = []
    for start in range(0, n, 10_000):
        stored.extend(client.lrange(key, start, start + 9_999))
    stored.reverse()  # LPUSH puts the newest at the head
    records = [json.loads(raw) for raw in stored]
    for entry in records:
        if (
            entry.get("msg") != f"order {entry.get('order_id')} processed"
            or entry.get("customer") != "acme-corp"
            or entry.get("level") != "INFO"
        ):
            raise BenchError(f"a stored record lost its fields: {entry}")
    if len({entry["id"] for entry in records}) != n:
        raise BenchError("record ids repeat: some records were stored twice")
    order_ids = [entry["order_id"] for entry in records]
    if sorted(order_ids) != list(range(n)):
        raise BenchError("the stored order_ids are not exactly 0..n-1")
    per_thread: dict[str, list[int]] = {}
    for entry in records:
        per_thread.setdefault(entry["thread"], []).append(entry["order_id"])
    for name, ids in per_thread.items():
        if ids != sorted(ids):
            raise BenchError(f"records of thread {name} are out of order")


def _await_list(client: redis.Redis, key: str, n: int, handler: RedisHandler) -> float:
    """Poll LLEN until all n records are in; the moment they were."""
    deadline = time.perf_counter() + DELIVERY_TIMEOUT
    while (length := client.llen(key)) < n:
        if time.perf_counter() > deadline:
            raise BenchError(
                f"only {length} of {n} records reached Redis in {DELIVERY_TIMEOUT:g}s "
                f"(handler stats: {handler.stats})"
            )
        time.sleep(POLL)
    return time.perf_counter()


def run_null(ctx: Context) -> dict[str, float]:
    logger = _logger("null", logging.NullHandler())
    logged = _log_timed(logger, ctx.n)
    return logged.numbers(logged.end)


def _file(ctx: Context, threads: int, fmt: str | None = None) -> dict[str, float]:
    path = ctx.workdir / f"{ctx.key}.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    if fmt:
        handler.setFormatter(logging.Formatter(fmt))
    logger = _logger(f"file{threads}", handler)
    logged = _log_timed(logger, ctx.n, threads)
    handler.close()
    done = time.perf_counter()
    _check_lines(path, ctx.n, threads, formatted=fmt is not None)
    path.unlink()
    return logged.numbers(done)


def run_file(ctx: Context) -> dict[str, float]:
    return _file(ctx, 1)


def run_file_formatted(ctx: Context) -> dict[str, float]:
    return _file(ctx, 1, TIMESTAMPED)


def run_file_threads(ctx: Context) -> dict[str, float]:
    return _file(ctx, THREADS)


def run_queue(ctx: Context) -> dict[str, float]:
    path = ctx.workdir / f"{ctx.key}.log"
    target = logging.FileHandler(path, encoding="utf-8")
    # The documented recipe: an unbounded queue.Queue and a listener thread.
    records: queue.Queue[logging.LogRecord] = queue.Queue(-1)
    listener = logging.handlers.QueueListener(records, target)
    listener.start()
    logger = _logger("queue", logging.handlers.QueueHandler(records))
    logged = _log_timed(logger, ctx.n)
    listener.stop()  # returns once the listener has drained the queue
    target.close()
    done = time.perf_counter()
    _check_lines(path, ctx.n)
    path.unlink()
    return logged.numbers(done)


def _redis(ctx: Context, threads: int) -> dict[str, float]:
    handler = RedisHandler(url=ctx.url, key=ctx.key, maxlen=ctx.n + 1000)
    logger = _logger(f"redis{threads}", handler)
    client = _client(ctx.url)
    logged = _log_timed(logger, ctx.n, threads)
    done = _await_list(client, ctx.key, ctx.n, handler)
    handler.close()
    stats = handler.stats
    if stats["delivered"] != ctx.n or stats["dropped"]:
        raise BenchError(f"handler stats {stats}, expected {ctx.n} delivered, 0 dropped")
    _check_list(client, ctx.key, ctx.n, threads)
    return logged.numbers(done)


def run_redis(ctx: Context) -> dict[str, float]:
    return _redis(ctx, 1)


def run_redis_threads(ctx: Context) -> dict[str, float]:
    return _redis(ctx, THREADS)


def run_raw(ctx: Context) -> dict[str, float]:
    # Real redislog records, encoded before the clock starts.
    logger = logging.getLogger("bench.raw")
    producer = Producer()
    encoded = []
    for i in range(ctx.n):
        record = logger.makeRecord(
            logger.name, logging.INFO, __file__, 0, "order %s processed", (i,), None,
            func="_log", extra={"order_id": i, "customer": "acme-corp"},
        )  # fmt: skip
        encoded.append(serialize.dumps(build(record, producer.next_id())))
    client = _client(ctx.url)
    pipe = client.pipeline(transaction=False)
    maxlen = ctx.n + 1000
    cpu = time.thread_time()
    start = time.perf_counter()
    for first in range(0, ctx.n, BATCH):
        pipe.lpush(ctx.key, *encoded[first : first + BATCH])
        pipe.ltrim(ctx.key, 0, maxlen - 1)
        pipe.execute()
    end = time.perf_counter()
    logged = Logged(start, end, time.thread_time() - cpu)
    _check_list(client, ctx.key, ctx.n, 1)
    return logged.numbers(end)


CASES = {
    case.name: case
    for case in (
        Case(REDIS, "RedisHandler", run_redis),
        Case(REDIS_THREADS, f"RedisHandler, {THREADS} threads", run_redis_threads),
        Case(NULL, "stdlib NullHandler", run_null),
        Case(FILE, "stdlib FileHandler", run_file),
        Case(FILE_FORMATTED, "stdlib FileHandler, timestamped format", run_file_formatted),
        Case(FILE_THREADS, f"stdlib FileHandler, {THREADS} threads", run_file_threads),
        Case(QUEUE, "stdlib QueueHandler+Listener -> FileHandler", run_queue),
        Case("raw", f"raw Redis: pipeline LPUSH {BATCH} + LTRIM (reference)", run_raw),
    )
}


def _child(args: argparse.Namespace) -> int:
    ctx = Context(args.n, args.url, args.key, Path(args.workdir))
    result = CASES[args.child].run(ctx)
    print(json.dumps(result))
    return 0


# -- the driver (runs in the parent interpreter) --------------------------------


def _run_case(name: str, n: int, server: Server, workdir: Path) -> dict[str, float]:
    key = f"bench:{name}:{uuid.uuid4().hex[:12]}"
    command = [
        sys.executable, "-m", "bench.handler", "--child", name, "--n", str(n),
        "--url", server.url, "--key", key, "--workdir", str(workdir),
    ]  # fmt: skip
    limit = DELIVERY_TIMEOUT + 60 + n / 1000
    stolen = _steal()
    try:
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=limit, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"case {name} did not finish in {limit:g}s") from exc
    finally:
        # Each case leaves ~n records behind; the server is ours alone.
        with contextlib.closing(server.client()) as client:
            client.flushall()
    if done.returncode != 0:
        raise BenchError(f"case {name} failed (exit {done.returncode}):\n{done.stderr}")
    if done.stderr.strip():
        print(f"[{name}] {done.stderr.strip()}", file=sys.stderr)
    result = dict(json.loads(done.stdout.strip().splitlines()[-1]))
    result["steal"] = _steal() - stolen
    return result


def _steal() -> float:
    """Seconds of CPU the hypervisor gave to others so far, on all CPUs
    (``/proc/stat``; 0 where there is none)."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        with open("/proc/stat", encoding="ascii") as stat:
            fields = stat.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    return 0.0


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _filesystem(path: Path) -> str:
    """The type of the filesystem holding *path* (Linux), for the file cases."""
    best, kind = "", "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            fields = line.split()
            mount = fields[1]
            inside = str(path).startswith(mount.rstrip("/") + "/")
            if inside and len(mount) > len(best):
                best, kind = mount, fields[2]
    return kind


def _revision() -> str:
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT, capture_output=True, text=True, timeout=10, check=True,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip()


def _facts(server: Server, workdir: Path) -> list[str]:
    cpus = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    hiredis = _version("hiredis")
    used = "used" if redis.utils.HIREDIS_AVAILABLE else "not used"
    return [
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.machine()}",
        f"cpus: {cpus} ({usable} usable), {_cpu_model()}; load average {load}",
        f"redis-server {server.version()} ({server.binary}), loopback TCP, no persistence",
        f"redis-py {_version('redis')}, hiredis {hiredis} ({used} by redis-py), "
        f"orjson {_version('orjson')}, redislog {_version('redislog')} ({_revision()})",
        f"files in {workdir} ({_filesystem(workdir)})",
    ]


def _spread(values: list[float], fmt: str) -> str:
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{mid:{fmt}} ({low:{fmt}}-{high:{fmt}})"


def _report(
    results: dict[str, list[dict[str, float]]], n: int, rounds: int, facts: list[str]
) -> str:
    lines = [
        f"redislog write path: {n:,} records per case, {rounds} rounds, median (min-max)",
        *(f"  {fact}" for fact in facts),
        "",
    ]
    width = max(len(CASES[name].label) for name in results)
    header = (
        f"{'case':<{width}}  {'us/call (app)':>22}  {'CPU us/call':>11}  {'delivered s':>19}  "
        f"{'drain ms':>8}  {'records/s':>10}  {'steal ms':>8}"
    )
    lines += [header, "-" * len(header)]
    for name, runs in results.items():
        per_call = [1e6 * run["loop"] / n for run in runs]
        cpu = statistics.median(1e6 * run["cpu"] / n for run in runs)
        total = [run["total"] for run in runs]
        drain = statistics.median(1e3 * (run["total"] - run["loop"]) for run in runs)
        rate = n / statistics.median(total)
        steal = statistics.median(1e3 * run["steal"] for run in runs)
        lines.append(
            f"{CASES[name].label:<{width}}  {_spread(per_call, '.2f'):>22}  {cpu:>11.2f}  "
            f"{_spread(total, '.3f'):>19}  {drain:>8.1f}  {rate:>10,.0f}  {steal:>8.0f}"
        )
    lines += [
        "",
        "us/call: logging loop time / n, in the application's thread(s).",
        "CPU us/call: CPU time of the logging thread(s) during the loop / n (median),",
        "without the time they waited for the GIL or for a CPU.",
        "delivered: loop start until every record is in Redis (LLEN = n), written",
        "and closed in the file, or drained by the QueueListener into its file;",
        "drain: how long delivery lagged behind the end of the loop.",
        "records/s: n / median delivered.",
        "steal ms: CPU time the hypervisor gave to others during the case (median).",
    ]
    # The targets are set against the default FileHandler; the other rows
    # show how the picture changes with a richer file format or a queue.
    rows: list[tuple[str, str, str, dict[str, float]]] = [
        (REDIS, FILE, "RedisHandler / FileHandler", TARGETS),
        (REDIS, FILE_FORMATTED, "RedisHandler / FileHandler, timestamped", {}),
        (REDIS_THREADS, FILE_THREADS, f"the same, {THREADS} threads each", TARGETS_THREADS),
        (REDIS, QUEUE, "RedisHandler / QueueHandler", {}),
        # No handler can cost less than the logging call itself: this row is
        # the floor under the first one.
        (NULL, FILE, "NullHandler / FileHandler (floor)", {}),
    ]
    rows = [row for row in rows if row[0] in results and row[1] in results]
    if rows:
        lines += [
            "",
            "Ratios in the same round (median of the per-round ratios, min-max),",
            "with the target where there is one:",
            f"{'':<{width}}  {'per call':>32}  {'delivery':>32}  {'CPU per call':>16}",
        ]
    for mine, base, label, targets in rows:
        cells = []
        for what, field in (("per call", "loop"), ("delivery", "total"), ("CPU", "cpu")):
            ratios = [
                a[field] / b[field] for a, b in zip(results[mine], results[base], strict=True)
            ]
            cell = _spread(ratios, ".2f")
            if what in targets:
                verdict = "holds" if statistics.median(ratios) <= targets[what] else "MISSED"
                cell += f" <= {targets[what]:g} {verdict:>6}"
            cells.append(cell)
        lines.append(f"{label:<{width}}  {cells[0]:>32}  {cells[1]:>32}  {cells[2]:>16}")
    return "\n".join(lines)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench handler",
        description="Benchmark RedisHandler against the stdlib handlers and raw Redis.",
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--n", type=int, default=100_000, help="records per case (default 100000)")
    parser.add_argument(
        "--cases",
        default=",".join(CASES),
        help=f"comma-separated subset of: {', '.join(CASES)}",
    )
    parser.add_argument("--json", type=Path, help="also write every run's numbers here")
    # The parent re-runs this module with these to measure one case.
    for hidden in ("--child", "--url", "--key", "--workdir"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.n < THREADS:
        parser.error(f"--rounds must be >= 1 and --n >= {THREADS}")
    args.cases = [name.strip() for name in args.cases.split(",") if name.strip()]
    unknown = [name for name in args.cases if name not in CASES]
    if unknown:
        parser.error(f"unknown cases {unknown}; choose from {', '.join(CASES)}")
    return args


def _stop_on_sigterm(signum: int, _frame: object) -> None:
    # Turn a plain kill into an exception so the server is stopped on the way out.
    raise SystemExit(128 + signum)


def _measure(args: argparse.Namespace) -> tuple[dict[str, list[dict[str, float]]], list[str]]:
    results: dict[str, list[dict[str, float]]] = {name: [] for name in args.cases}
    with private_server() as server, tempfile.TemporaryDirectory(prefix="redislog-bench-") as tmp:
        workdir = Path(tmp)
        facts = _facts(server, workdir)
        order = list(args.cases)
        for round_no in range(1, args.rounds + 1):
            random.shuffle(order)
            for name in order:
                run = _run_case(name, args.n, server, workdir)
                results[name].append(run)
                print(
                    f"round {round_no}/{args.rounds}  {name:<9} "
                    f"{1e6 * run['loop'] / args.n:7.2f} us/call  {run['total']:7.3f} s",
                    file=sys.stderr,
                    flush=True,
                )
    return results, facts


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.child:
        return _child(args)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        results, facts = _measure(args)
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    print(_report(results, args.n, args.rounds, facts))
    if args.json:
        args.json.write_text(json.dumps({"n": args.n, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
