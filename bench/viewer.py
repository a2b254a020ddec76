"""Viewer benchmark: how fast ``redislog search`` and ``redislog tail`` are.

Everything runs against a private redis-server, and every viewer command runs
as a whole process (the ``redislog`` console script next to this interpreter,
else ``python -m redislog``), start-up included, as a user would run it; its
start-up alone (``redislog --version``) is timed in every round too.

The data: ``--n`` records (default 1,000,000) shaped like a web shop's logs
(access logs with ``status``, database, worker, cache, sign-in and payment
records, a few tracebacks), from a fixed seed, spread over six hours.  Each
is built by ``redislog.record.build`` from a ``LogRecord`` and encoded by
``redislog.serialize``, as ``RedisHandler`` stores it; worker processes build
them and this one pushes them oldest first with pipelined LPUSH of 1,000
values + LTRIM, then indexes the key as the handler's writer does.  About
0.1% of the messages mention a time-out ("timeout", "Timeout" or "TIMEOUT",
and nothing else in any record contains those letters); about 0.1% of the
records are access logs with a 5xx ``status``.

1. **search**: each filter, as ``redislog search KEY --limit all -o json``,
   against the shell pipeline a user would type instead, on the same list,
   each with its target for the ratio redislog / pipeline:

   - ``-g timeout`` (smart case: lower case ignores case) vs ``grep -i timeout``
     (0.5)
   - ``-g timeout --case-sensitive`` vs ``grep timeout`` (0.5)
   - ``-k 'status>=500'`` vs ``grep -E '"status":5[0-9][0-9][,}]'`` (0.7)
   - ``-k order_id=7`` (a value about 1 in 25,000 records holds) vs
     ``grep -E '"order_id":7[,}]'`` (0.7)

   where the pipeline is ``redis-cli --raw lrange KEY 0 -1 | grep ...``
   (redis-cli and grep from PATH; without them the pipeline rows are skipped,
   with a note).  Both write to a file.  Every round runs each pair back to
   back, in a new order of the cases, the pair's order alternating between
   rounds; the ratio is taken within the round.  Both outputs are checked:
   redislog's records and grep's lines must be the same records (by id), as
   many as the generator wrote, each really matching; otherwise the run
   fails.  Meanwhile another client sends a PING every 5 ms and keeps the
   slowest reply: a search must not block Redis (target: at most 10 ms),
   while ``LRANGE 0 -1`` does for as long as the server builds its reply.
   Redis's slow log over the same span gives the longest command the server
   ran, which tells a blocked server from a PING that waited for a CPU.

2. **oldest**: a filtered tail whose only match is the oldest record, on
   the same list (filled here when ``search`` does not run):
   ``redislog tail KEY -k id=ID -n 1 --no-follow -o json`` with the ``id``
   of ``LINDEX KEY -1``, against ``redis-cli --raw lrange KEY 0 -1 | grep -F
   '"id":"ID"'``; both write to a file, each round the pair's order
   alternates, and the ratio redislog / pipeline (target: at most 0.7) is
   taken within the round.  Each output must be exactly one record, the
   oldest, else the run fails.  The worst PING during the tail must stay at
   most 10 ms as in a search.

3. **tail render rate**: ``redislog tail KEY -n all --no-follow -o MODE
   --color never`` into a file, over ``--tail-n`` records (default 100,000,
   their own key), in pretty and json mode; the same with ``-n 1`` measures
   the start-up, and the rate is ``(n - 1) / (T(all) - T(1))`` within each
   round.  The output must show every record (json: first and last by id).

4. **log call to line**: ``redislog tail KEY -n 0 -o json`` runs with its
   stdout read line by line by a thread here; once it is attached (a warm-up
   record logged after it started reached it), this process logs one record
   every 100-150 ms through ``RedisHandler`` and times from just before the
   logging call until its line is read, ``--samples`` times (default 60).

The tables show medians with the min-max over the rounds.  ``--parts``
picks some of the four.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import multiprocessing
import os
import queue
import random
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import redis

from bench import handler as write_bench
from bench._server import Server, private_server
from redislog import RedisHandler, keys, serialize
from redislog.record import Producer, build

SEED = 20_261_126
SPAN = 6 * 3600.0  # seconds from the oldest stored record to the newest
CHUNK = 10_000  # records built per task when filling
BATCH = 1000  # values per LPUSH when filling, as the handler sends them
PING_EVERY = 0.005
# Commands Redis logs as slow (from 1 ms), and how many it keeps.
SLOWLOG_FROM_US = 1000
SLOWLOG_LEN = 10_000
COMMAND_TIMEOUT = 300.0
LINE_TIMEOUT = 5.0
ATTACH_TIMEOUT = 15.0

TERM = "timeout"
# A pretty line that starts a record: its time of day first.
RECORD_LINE = re.compile(rb"^\d\d:\d\d:\d\d\.\d{3} ", re.MULTILINE)

# The targets; each search case has its own ratio target.
TARGETS = {"ping ms": 10.0, "oldest ratio": 0.7, "median ms": 50.0, "p95 ms": 200.0}

PARTS = ("search", "oldest", "tail", "latency")


class BenchError(RuntimeError):
    """A measurement did not do what it claims: its numbers mean nothing."""


# -- the data ---------------------------------------------------------------------

# Tallies the generator keeps of what it wrote, to check the outputs against.
TERM_ANY = "term, any case"
TERM_LOWER = "term, lower case"
SERVER_ERROR = "status >= 500"
ORDER = "order_id = 7"

_PATHS = (
    ("GET", "/api/products"),
    ("GET", "/api/products/{}"),
    ("GET", "/api/cart"),
    ("POST", "/api/cart/items"),
    ("GET", "/api/orders/{}"),
    ("POST", "/api/orders"),
    ("POST", "/api/checkout"),
    ("GET", "/api/users/me"),
    ("GET", "/static/app.{}.js"),
    ("GET", "/healthz"),
)
_OK = (200, 200, 200, 200, 200, 200, 201, 204, 304, 302)
_CLIENT_ERRORS = (400, 401, 403, 404, 404, 404, 409, 422, 429)
_SERVER_ERRORS = (500, 502, 503, 504)
_TABLES = ("orders", "order_items", "products", "customers", "carts", "inventory")
_QUEUES = ("emails", "invoices", "exports", "webhooks")
_UPSTREAMS = ("inventory-svc", "pricing-svc", "tax-api.example.com", "psp.example.net")
_THREADS = ("MainThread", "ThreadPoolExecutor-0_0", "ThreadPoolExecutor-0_1", "worker-3")


@dataclass(frozen=True)
class Chunk:
    """Records first..first+count-1 of n, all ending at *end* (epoch seconds)."""

    seed: int
    first: int
    count: int
    n: int
    end: float


def _failure(kind: type[Exception], text: str) -> Any:
    def deep(depth: int) -> None:
        if depth:
            deep(depth - 1)
        raise kind(text)

    try:
        deep(3)
    except Exception:
        return sys.exc_info()


def _pick(rng: random.Random, items: Sequence[Any]) -> Any:
    # rng.choice and rng.randint cost a microsecond each: too much per record.
    return items[int(rng.random() * len(items))]


def _between(rng: random.Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low + 1))


class _Shapes:
    """``Logger.makeRecord``, but one ``LogRecord`` per shape, given new values.

    Making a LogRecord costs as much as building and encoding the record
    together; ``build`` reads the same attributes either way.
    """

    def __init__(self) -> None:
        self._logger = logging.getLogger("bench.viewer.fill")
        self._made: dict[tuple[str, int, str], logging.LogRecord] = {}

    def make(
        self,
        name: str,
        level: int,
        path: str,
        line: int,
        msg: str,
        args: tuple[Any, ...],
        exc_info: Any,
        func: str,
        extra: dict[str, Any] | None,
    ) -> logging.LogRecord:
        shape = (name, level, msg)
        record = self._made.get(shape)
        if record is None:
            record = self._logger.makeRecord(
                name, level, path, line, msg, args, exc_info, func=func, extra=extra
            )
            self._made[shape] = record
            return record
        record.args = args
        record.exc_info, record.exc_text = exc_info, None  # build() caches the text
        if extra:
            record.__dict__.update(extra)  # the same keys: their order stays
        return record


def _record(
    rng: random.Random, shapes: _Shapes, failures: Sequence[Any]
) -> tuple[logging.LogRecord, tuple[str, ...]]:
    """One application record, and the tallies it counts towards."""
    roll = rng.random()
    make = shapes.make
    info, debug, warning, error = logging.INFO, logging.DEBUG, logging.WARNING, logging.ERROR
    tags: tuple[str, ...] = ()
    if roll < 0.001:  # the selective term, in messages only
        pick = rng.random()
        if pick < 0.55:
            upstream = _pick(rng, _UPSTREAMS)
            elapsed = _between(rng, 3000, 9000)
            record = make(
                "shop.http.client", warning, "/srv/shop/shop/http/client.py", 141,
                "upstream timeout calling %s after %d ms", (upstream, elapsed), None,
                func="call", extra={"upstream": upstream, "elapsed_ms": elapsed, "attempt": 1},
            )  # fmt: skip
            tags = (TERM_ANY, TERM_LOWER)
        elif pick < 0.9:
            table = _pick(rng, _TABLES)
            record = make(
                "shop.db", error, "/srv/shop/shop/db.py", 77,
                "Timeout waiting for row lock on %s", (table,), None,
                func="execute", extra={"table": table, "waited_ms": _between(rng, 5000, 30000)},
            )  # fmt: skip
            tags = (TERM_ANY,)
        else:
            job = f"{rng.getrandbits(40):010x}"
            record = make(
                "shop.worker", warning, "/srv/shop/shop/worker.py", 203,
                "job %s hit its TIMEOUT of %ds, retrying", (job, 300), None,
                func="run", extra={"job_id": job, "queue": _pick(rng, _QUEUES), "limit_s": 300},
            )  # fmt: skip
            tags = (TERM_ANY,)
    elif roll < 0.47:  # access log
        method, path = _pick(rng, _PATHS)
        path = path.format(_between(rng, 1, 99_999))
        kind = rng.random()
        if kind < 0.0022:
            status, level = _pick(rng, _SERVER_ERRORS), error
            tags = (SERVER_ERROR,)
        elif kind < 0.06:
            status, level = _pick(rng, _CLIENT_ERRORS), warning
        else:
            status, level = _pick(rng, _OK), info
        duration = round(rng.expovariate(1 / 40), 1)
        record = make(
            "shop.http.access", level, "/srv/shop/shop/http/middleware.py", 58,
            "%s %s %d %.1fms", (method, path, status, duration), None, func="__call__",
            extra={
                "method": method, "path": path, "status": status, "duration_ms": duration,
                "bytes": _between(rng, 120, 48_000),
                "client_ip": f"10.{_between(rng, 0, 9)}.{_between(rng, 0, 255)}"
                             f".{_between(rng, 1, 254)}",
                "request_id": f"{rng.getrandbits(64):016x}",
            },
        )  # fmt: skip
    elif roll < 0.65:
        table = _pick(rng, _TABLES)
        rows = _between(rng, 0, 500)
        duration = round(rng.expovariate(1 / 3), 2)
        record = make(
            "shop.db", debug, "/srv/shop/shop/db.py", 64,
            "SELECT on %s returned %d rows in %.2f ms", (table, rows, duration), None,
            func="execute", extra={"table": table, "rows": rows, "duration_ms": duration},
        )  # fmt: skip
    elif roll < 0.79:
        job = f"{rng.getrandbits(40):010x}"
        seconds = round(rng.expovariate(1 / 2), 3)
        record = make(
            "shop.worker", info, "/srv/shop/shop/worker.py", 188,
            "job %s done in %.3fs", (job, seconds), None, func="run",
            extra={"job_id": job, "queue": _pick(rng, _QUEUES),
                   "attempts": 1 + (rng.random() < 0.03), "duration_s": seconds},
        )  # fmt: skip
    elif roll < 0.89:
        hit = rng.random() < 0.8
        name = f"product:{_between(rng, 1, 99_999)}"
        record = make(
            "shop.cache", debug, "/srv/shop/shop/cache.py", 31,
            "cache %s for %s", ("hit" if hit else "miss", name), None, func="get",
            extra={"cache_key": name, "hit": hit},
        )  # fmt: skip
    elif roll < 0.95:
        user = _between(rng, 1, 250_000)
        if rng.random() < 0.1:
            record = make(
                "shop.auth", warning, "/srv/shop/shop/auth.py", 112,
                "failed sign-in for user %d: bad password", (user,), None, func="sign_in",
                extra={"user_id": user, "method": "password", "failures": _between(rng, 1, 5)},
            )  # fmt: skip
        else:
            record = make(
                "shop.auth", info, "/srv/shop/shop/auth.py", 97,
                "user %d signed in", (user,), None, func="sign_in",
                extra={"user_id": user, "method": _pick(rng, ("password", "sso", "token"))},
            )  # fmt: skip
    elif roll < 0.99:
        cents = _between(rng, 199, 250_000)
        order = _between(rng, 1, 1_000)
        record = make(
            "shop.payments", info, "/srv/shop/shop/payments.py", 45,
            "charged %d cents to customer %s", (cents, f"cus_{rng.getrandbits(48):012x}"), None,
            func="charge",
            extra={"amount_cents": cents, "currency": _pick(rng, ("EUR", "USD", "GBP")),
                   "order_id": order},
        )  # fmt: skip
        if order == 7:
            tags = (ORDER,)
    elif roll < 0.995:
        job = f"{rng.getrandbits(40):010x}"
        record = make(
            "shop.worker", error, "/srv/shop/shop/worker.py", 210,
            "job %s failed", (job,), _pick(rng, failures), func="run",
            extra={"job_id": job, "queue": _pick(rng, _QUEUES)},
        )  # fmt: skip
    else:
        record = make(
            "shop.scheduler", info, "/srv/shop/shop/scheduler.py", 20,
            "scheduled %d jobs", (_between(rng, 0, 40),), None, func="tick", extra=None,
        )  # fmt: skip
    record.threadName = _pick(rng, _THREADS)
    return record, tags


def encode_chunk(chunk: Chunk) -> tuple[list[bytes], dict[str, int]]:
    """The encoded records of *chunk*, oldest first, and their tallies.

    The same seed and bounds give the same records, in any process.
    """
    rng = random.Random(chunk.seed * 1_000_003 + chunk.first)
    shapes = _Shapes()
    producer = Producer()  # one per chunk: ids stay unique across processes
    failures = [
        _failure(KeyError, "sku-19923"),
        _failure(ValueError, "quantity must be positive"),
        _failure(ConnectionResetError, "[Errno 104] Connection reset by peer"),
    ]
    step = SPAN / max(chunk.n - 1, 1)
    tallies = dict.fromkeys((TERM_ANY, TERM_LOWER, SERVER_ERROR, ORDER), 0)
    out = []
    for i in range(chunk.first, chunk.first + chunk.count):
        record, tags = _record(rng, shapes, failures)
        record.created = chunk.end - (chunk.n - 1 - i) * step
        for tag in tags:
            tallies[tag] += 1
        data = serialize.dumps(build(record, producer.next_id()))
        # A copy sized to fit: orjson's own buffers are malloc'ed, and keeping
        # thousands of them costs a page fault each (glibc trims the heap).
        out.append(memoryview(data).tobytes())
    return out, tallies


@contextlib.contextmanager
def _builders() -> Iterator[Executor | None]:
    """Worker processes to build records on every core (none on one core)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if not cpus or cpus < 2:
        yield None
        return
    # fork starts quickest; the workers only ever run encode_chunk.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ProcessPoolExecutor(cpus, mp_context=context) as pool:
        yield pool


def fill(client: redis.Redis, key: str, n: int, seed: int = SEED) -> dict[str, int]:
    """Push *n* records to *key* (oldest first, so the newest is at the head).

    Returns the tallies of what was pushed.
    """
    end = time.time()
    chunks = [Chunk(seed, first, min(CHUNK, n - first), n, end) for first in range(0, n, CHUNK)]
    totals = dict.fromkeys((TERM_ANY, TERM_LOWER, SERVER_ERROR, ORDER), 0)
    pipe = client.pipeline(transaction=False)
    with _builders() as pool:
        results = pool.map(encode_chunk, chunks) if pool else map(encode_chunk, chunks)
        for encoded, tallies in results:
            for first in range(0, len(encoded), BATCH):
                pipe.lpush(key, *encoded[first : first + BATCH])
                pipe.ltrim(key, 0, n - 1)
            pipe.execute()
            for tag, count in tallies.items():
                totals[tag] += count
    # What the handler's writer records besides the list itself.
    client.hset(keys.meta(key), "maxlen", n)
    client.sadd(keys.INDEX, key)
    length = client.llen(key)
    if length != n:
        raise BenchError(f"{key} holds {length} records after filling, expected {n}")
    return totals


# -- running commands ---------------------------------------------------------------


def viewer_command() -> list[str]:
    """The ``redislog`` console script of this environment, else ``-m redislog``."""
    script = Path(sys.executable).with_name("redislog")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "redislog"]


def _environment(**extra: str) -> dict[str, str]:
    # Only the --url given on the command line may choose the server, and
    # only the case may say where it filters.
    unset = ("REDISLOG_URL", "REDIS_URL", "REDISLOG_LOCAL", "FORCE_COLOR")
    return {**{k: v for k, v in os.environ.items() if k not in unset}, **extra}


def _wait(process: subprocess.Popen[bytes], what: str) -> int:
    """The exit status of *process*, noticed the moment it exits.

    ``Popen.wait(timeout)`` polls with sleeps of up to 50 ms, which would show
    in the times; a timer kills a process that hangs instead.
    """
    fired = threading.Event()

    def kill() -> None:
        fired.set()
        process.kill()

    killer = threading.Timer(COMMAND_TIMEOUT, kill)
    killer.start()
    try:
        status = process.wait()
    finally:
        killer.cancel()
    if fired.is_set():
        raise BenchError(f"{what} did not finish in {COMMAND_TIMEOUT:g}s")
    return status


def run_timed(command: list[str], out: Path, err: Path, **env: str) -> tuple[float, int]:
    """Run *command* (with *env* added to the environment) with stdout to
    *out*; its wall time and exit status."""
    with out.open("wb") as stdout, err.open("wb") as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=_environment(**env)
        )
        status = _wait(process, " ".join(command))
        return time.perf_counter() - start, status


def run_pipeline(first: list[str], second: list[str], out: Path, err: Path) -> tuple[float, int]:
    """``first | second > out``; the wall time and the exit status of *second*."""
    with out.open("wb") as stdout, err.open("wb") as stderr:
        start = time.perf_counter()
        producer = subprocess.Popen(
            first, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr
        )
        assert producer.stdout is not None
        try:
            consumer = subprocess.Popen(second, stdin=producer.stdout, stdout=stdout, stderr=stderr)
        finally:
            producer.stdout.close()  # the consumer holds the only read end now
        status = _wait(consumer, " ".join(second))
        upstream = _wait(producer, " ".join(first))
        elapsed = time.perf_counter() - start
    if upstream != 0:
        raise BenchError(f"{' '.join(first)} failed (exit {upstream}): {_tail_of(err)}")
    return elapsed, status


def _tail_of(path: Path, size: int = 2000) -> str:
    text = path.read_text(errors="replace").strip()
    return text[-size:] if text else "(no output on stderr)"


class Pinger:
    """Another client that PINGs every few ms and keeps each round trip.

    It also reads Redis's slow log over the same span: the longest command
    the server itself ran tells a server blocked by a command from a PING
    that waited for a CPU (the client's, or the server's, on a busy machine).
    """

    def __init__(self, server: Server, every: float = PING_EVERY) -> None:
        self._client = server.client()
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pinger", daemon=True)
        self.times: list[float] = []
        self.error: Exception | None = None
        #: The longest command Redis ran meanwhile, in ms (0: none took 1 ms).
        self.longest_ms = 0.0

    def __enter__(self) -> Pinger:
        self._client.ping()  # connected before anything is timed
        self._client.config_set("slowlog-log-slower-than", SLOWLOG_FROM_US)
        self._client.config_set("slowlog-max-len", SLOWLOG_LEN)
        self._client.slowlog_reset()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        try:
            slow = self._client.slowlog_get(SLOWLOG_LEN)
            self.longest_ms = max((entry["duration"] / 1e3 for entry in slow), default=0.0)
        finally:
            self._client.close()
        if self.error is not None:
            raise BenchError(f"a PING failed: {self.error!r}")

    def _run(self) -> None:
        ping, clock = self._client.ping, time.perf_counter
        while not self._stop.is_set():
            start = clock()
            try:
                ping()
            except redis.RedisError as exc:
                self.error = exc
                return
            self.times.append(clock() - start)
            self._stop.wait(self._every)

    @property
    def worst_ms(self) -> float:
        return 1e3 * max(self.times, default=float("nan"))


# -- 1. search --------------------------------------------------------------------


@dataclass(frozen=True)
class SearchCase:
    name: str
    filters: tuple[str, ...]  # redislog search options
    grep: tuple[str, ...]  # grep options and pattern
    tally: str  # how many records match, from the generator's tallies
    check: Callable[[dict[str, Any]], bool]  # does one printed record really match?
    target: float  # redislog / the pipeline, at most


def _status(record: dict[str, Any]) -> int:
    status = record.get("status")
    return status if isinstance(status, int) else 0


SEARCH_CASES = (
    SearchCase(
        "grep", ("-g", TERM), ("-i", TERM), TERM_ANY,
        lambda r: TERM in str(r.get("msg", "")).lower(), 0.5,
    ),
    SearchCase(
        "case", ("-g", TERM, "--case-sensitive"), (TERM,), TERM_LOWER,
        lambda r: TERM in str(r.get("msg", "")), 0.5,
    ),
    SearchCase(
        "field", ("-k", "status>=500"), ("-E", '"status":5[0-9][0-9][,}]'), SERVER_ERROR,
        lambda r: _status(r) >= 500, 0.7,
    ),
    SearchCase(
        "order", ("-k", "order_id=7"), ("-E", '"order_id":7[,}]'), ORDER,
        lambda r: r.get("order_id") == 7, 0.7,
    ),
)  # fmt: skip


def _ids(path: Path, check: Callable[[dict[str, Any]], bool], who: str) -> list[str]:
    """The record ids of the JSON lines in *path*, each checked to match."""
    ids = []
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise BenchError(f"{who}: line {number} is not JSON: {line[:200]!r}") from exc
        if not isinstance(record, dict) or "id" not in record:
            raise BenchError(f"{who}: line {number} is not a record: {line[:200]!r}")
        if not check(record):
            raise BenchError(f"{who}: line {number} does not match the filter: {line[:300]!r}")
        ids.append(str(record["id"]))
    return ids


def _agree(case: SearchCase, mine: list[str], theirs: list[str] | None, expected: int) -> None:
    if len(set(mine)) != len(mine):
        raise BenchError(f"search {case.name}: redislog printed some records twice")
    if len(mine) != expected:
        raise BenchError(
            f"search {case.name}: redislog printed {len(mine)} records, the data holds "
            f"{expected} that match"
        )
    if theirs is None:
        return
    if len(theirs) != expected or set(theirs) != set(mine):
        missing = len(set(theirs) - set(mine))
        extra = len(set(mine) - set(theirs))
        raise BenchError(
            f"search {case.name}: grep counted {len(theirs)} records, redislog printed "
            f"{len(mine)} ({missing} only in grep's output, {extra} only in redislog's)"
        )


@dataclass
class Run:
    seconds: float
    ping_ms: float
    count: int
    #: The longest command Redis itself ran meanwhile (see Pinger).
    redis_ms: float = 0.0


@dataclass
class SearchResult:
    case: SearchCase
    viewer: list[Run] = field(default_factory=list)
    baseline: list[Run] = field(default_factory=list)


def _lrange(server: Server, key: str, cli: str | None, grep: str | None) -> list[str] | None:
    """``redis-cli --raw lrange KEY 0 -1``; None when the pipeline cannot run."""
    if not (cli and grep):
        return None
    return [cli, "-h", "127.0.0.1", "-p", str(server.port), "--raw", "lrange", key, "0", "-1"]


class _Searches:
    """Runs one case's two commands and checks what each printed."""

    def __init__(
        self, server: Server, workdir: Path, key: str, cli: str | None, grep: str | None
    ) -> None:
        self.server = server
        self.key = key
        self.grep = grep
        self.lrange = _lrange(server, key, cli, grep)
        self.out, self.err = workdir / "search.out", workdir / "search.err"
        self.base_out, self.base_err = workdir / "pipeline.out", workdir / "pipeline.err"

    def viewer(self, case: SearchCase) -> tuple[Run, list[str]]:
        command = [
            *viewer_command(), "search", self.key, "--url", self.server.url,
            "--limit", "all", "-o", "json", *case.filters,
        ]  # fmt: skip
        with Pinger(self.server) as pinger:
            seconds, status = run_timed(command, self.out, self.err)
        if status != 0:  # 1: nothing matched, which the data rules out
            raise BenchError(
                f"redislog search {case.name} failed (exit {status}): {_tail_of(self.err)}"
            )
        ids = _ids(self.out, case.check, f"redislog search {case.name}")
        return Run(seconds, pinger.worst_ms, len(ids), pinger.longest_ms), ids

    def baseline(self, case: SearchCase) -> tuple[Run, list[str]]:
        assert self.lrange is not None
        assert self.grep is not None
        with Pinger(self.server) as pinger:
            seconds, status = run_pipeline(
                self.lrange, [self.grep, *case.grep], self.base_out, self.base_err
            )
        if status != 0:
            raise BenchError(
                f"grep {shlex.join(case.grep)} failed (exit {status}): {_tail_of(self.base_err)}"
            )
        ids = _ids(self.base_out, case.check, f"lrange | grep {shlex.join(case.grep)}")
        return Run(seconds, pinger.worst_ms, len(ids), pinger.longest_ms), ids

    def startup(self) -> float:
        seconds, status = run_timed([*viewer_command(), "--version"], self.out, self.err)
        if status != 0:
            raise BenchError(f"redislog --version failed: {_tail_of(self.err)}")
        return seconds


def measure_search(
    server: Server,
    workdir: Path,
    key: str,
    tallies: dict[str, int],
    rounds: int,
    cli: str | None,
    grep: str | None,
) -> tuple[list[SearchResult], list[float]]:
    """Every case's two commands, *rounds* times; and redislog's start-up alone."""
    results = [SearchResult(case) for case in SEARCH_CASES]
    searches = _Searches(server, workdir, key, cli, grep)
    startups = []
    for round_no in range(1, rounds + 1):
        startups.append(searches.startup())
        order = list(results)
        random.shuffle(order)
        for result in order:
            case = result.case
            theirs: list[str] | None = None
            # Alternate which goes first: neither always meets a cold cache.
            if searches.lrange is not None and not round_no % 2:
                run, theirs = searches.baseline(case)
                result.baseline.append(run)
            run, mine = searches.viewer(case)
            result.viewer.append(run)
            if searches.lrange is not None and round_no % 2:
                run, theirs = searches.baseline(case)
                result.baseline.append(run)
            _agree(case, mine, theirs, tallies[case.tally])
            line = f"{result.viewer[-1].seconds:7.3f} s  ping {result.viewer[-1].ping_ms:6.1f} ms"
            if result.baseline:
                last = result.baseline[-1]
                line += f"   pipeline {last.seconds:7.3f} s  ping {last.ping_ms:6.1f} ms"
            print(
                f"round {round_no}/{rounds}  search {case.name:<6} {len(mine):>6} matches  {line}",
                file=sys.stderr,
                flush=True,
            )
    return results, startups


# -- 2. the oldest record through a filter ----------------------------------------


@dataclass
class OldestResult:
    id: str  # the oldest record's, the only one the filter lets through
    viewer: list[Run] = field(default_factory=list)
    baseline: list[Run] = field(default_factory=list)


def _one_record(path: Path, want: str, who: str) -> None:
    """*path* holds exactly one JSON record, the one with id *want*."""
    ids = _ids(path, lambda r: str(r.get("id")) == want, who)
    if ids != [want]:
        raise BenchError(f"{who} printed {len(ids)} records, expected only the oldest, {want}")


def measure_oldest(
    server: Server, workdir: Path, key: str, rounds: int, cli: str | None, grep: str | None
) -> OldestResult:
    """A filtered tail that must read back to the oldest record, against grep."""
    with contextlib.closing(server.client()) as client:
        raw: Any = client.lindex(key, -1)
    result = OldestResult(str(orjson.loads(raw)["id"]))
    tail = [
        *viewer_command(), "tail", key, "--url", server.url, "-k", f"id={result.id}",
        "-n", "1", "--no-follow", "-o", "json",
    ]  # fmt: skip
    pattern = f'"id":"{result.id}"'  # the closing quote: not id ...:10, ...:11
    quoted = shlex.quote(pattern)
    lrange = _lrange(server, key, cli, grep)
    out, err = workdir / "oldest.out", workdir / "oldest.err"

    def viewer() -> Run:
        with Pinger(server) as pinger:
            seconds, status = run_timed(tail, out, err)
        if status != 0:
            raise BenchError(f"redislog tail -k id=... failed (exit {status}): {_tail_of(err)}")
        _one_record(out, result.id, "redislog tail -k id=...")
        return Run(seconds, pinger.worst_ms, 1, pinger.longest_ms)

    def baseline() -> Run:
        assert lrange is not None
        assert grep is not None
        with Pinger(server) as pinger:
            seconds, status = run_pipeline(lrange, [grep, "-F", pattern], out, err)
        if status != 0:  # 1: no line matched
            raise BenchError(f"grep -F {quoted} failed (exit {status}): {_tail_of(err)}")
        _one_record(out, result.id, f"lrange | grep -F {quoted}")
        return Run(seconds, pinger.worst_ms, 1, pinger.longest_ms)

    for round_no in range(1, rounds + 1):
        # Alternate which goes first: neither always meets a cold cache.
        if lrange is not None and not round_no % 2:
            result.baseline.append(baseline())
        result.viewer.append(viewer())
        if lrange is not None and round_no % 2:
            result.baseline.append(baseline())
        line = f"{result.viewer[-1].seconds:7.3f} s  ping {result.viewer[-1].ping_ms:6.1f} ms"
        if result.baseline:
            last = result.baseline[-1]
            line += f"   pipeline {last.seconds:7.3f} s  ping {last.ping_ms:6.1f} ms"
        print(f"round {round_no}/{rounds}  oldest  {line}", file=sys.stderr, flush=True)
    return result


# -- 3. tail render rate -----------------------------------------------------------


@dataclass
class TailResult:
    mode: str
    all: list[float] = field(default_factory=list)
    one: list[float] = field(default_factory=list)


def _check_shown(path: Path, mode: str, count: int, first: bytes, last: bytes) -> None:
    """The output shows *count* records, from *first* to *last* (json: by id)."""
    data = path.read_bytes()
    if mode == "json":
        lines = data.splitlines()
        shown = len(lines)
        if shown == count:
            got = [orjson.loads(line).get("id") for line in (lines[0], lines[-1])]
            want = [orjson.loads(raw)["id"] for raw in (first, last)]
            if got != want:
                raise BenchError(f"tail -o json showed records {got}, expected {want}")
    else:
        shown = len(RECORD_LINE.findall(data))
    if shown != count:
        raise BenchError(f"tail -o {mode} showed {shown} records, expected {count}")


def measure_tail(server: Server, workdir: Path, key: str, n: int, rounds: int) -> list[TailResult]:
    results = [TailResult(mode) for mode in ("pretty", "json")]
    with contextlib.closing(server.client()) as client:
        # The oldest and the newest record: what -n all and -n 1 must start with.
        ends: Any = client.lindex(key, -1), client.lindex(key, 0)
    oldest, newest = bytes(ends[0]), bytes(ends[1])
    out, err = workdir / "tail.out", workdir / "tail.err"
    for round_no in range(1, rounds + 1):
        order = list(results)
        random.shuffle(order)
        for result in order:
            times = {}
            lines_order = ("all", "1") if round_no % 2 else ("1", "all")
            for lines in lines_order:
                command = [
                    *viewer_command(), "tail", key, "--url", server.url, "-n", lines,
                    "--no-follow", "-o", result.mode, "--color", "never",
                ]  # fmt: skip
                seconds, status = run_timed(command, out, err)
                if status != 0:
                    raise BenchError(f"{shlex.join(command[-8:])} failed: {_tail_of(err)}")
                if lines == "all":
                    _check_shown(out, result.mode, n, oldest, newest)
                else:
                    _check_shown(out, result.mode, 1, newest, newest)
                times[lines] = seconds
            result.all.append(times["all"])
            result.one.append(times["1"])
            rate = (n - 1) / max(times["all"] - times["1"], 1e-9)
            print(
                f"round {round_no}/{rounds}  tail {result.mode:<6} -n all {times['all']:6.3f} s  "
                f"-n 1 {times['1']:6.3f} s  {rate:>9,.0f} records/s",
                file=sys.stderr,
                flush=True,
            )
    return results


# -- 4. log call to line --------------------------------------------------------------


class _Lines:
    """A thread reading a process's stream, each line with when it was read."""

    def __init__(self, stream: Any, name: str) -> None:
        self.lines: queue.Queue[tuple[float, bytes]] = queue.Queue()
        self._stream = stream
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        clock = time.perf_counter
        for line in iter(self._stream.readline, b""):
            self.lines.put((clock(), line))

    def get(self, timeout: float) -> tuple[float, bytes] | None:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def drain(self) -> list[bytes]:
        out = []
        with contextlib.suppress(queue.Empty):
            while True:
                out.append(self.lines.get_nowait()[1])
        return out


def _probe(line: bytes) -> Any:
    with contextlib.suppress(orjson.JSONDecodeError, AttributeError):
        return orjson.loads(line).get("probe")
    return None


def measure_latency(server: Server, key: str, samples: int) -> tuple[list[float], list[str]]:
    """Seconds from each logging call to its line in a running tail; its notices."""
    handler = RedisHandler(url=server.url, key=key, maxlen=10_000)
    logger = logging.getLogger("bench.viewer.latency")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    # The key must exist before the tail starts: one record, delivered.
    logger.info("before the tail", extra={"probe": "before"})
    handler.flush(10)
    command = [
        *viewer_command(), "tail", key, "--url", server.url, "-n", "0", "-o", "json",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_environment(),
    )
    latencies: list[float] = []
    try:
        stdout, stderr = (
            _Lines(process.stdout, "tail-stdout"),
            _Lines(process.stderr, "tail-stderr"),
        )
        # Attached once a record logged now reaches it (the notice on stderr
        # comes before the tail registers, so it does not prove that).
        deadline = time.monotonic() + ATTACH_TIMEOUT
        attached = False
        while not attached:
            if time.monotonic() > deadline or process.poll() is not None:
                notes = b"".join(stderr.drain()).decode(errors="replace")
                raise BenchError(f"the tail never showed a warm-up record: {notes or 'no notice'}")
            logger.info("warm-up", extra={"probe": "warm-up"})
            got = stdout.get(0.25)
            attached = got is not None and _probe(got[1]) == "warm-up"
        time.sleep(0.3)
        stdout.drain()  # later warm-up records
        rng = random.Random(SEED)
        for i in range(samples):
            time.sleep(rng.uniform(0.100, 0.150))
            start = time.perf_counter()
            logger.info("probe %d", i, extra={"probe": i})
            got = stdout.get(LINE_TIMEOUT)
            if got is None:
                raise BenchError(f"probe {i} did not reach the tail in {LINE_TIMEOUT:g}s")
            seen, line = got
            if _probe(line) != i:
                raise BenchError(f"expected probe {i}, the tail printed {line[:200]!r}")
            latencies.append(seen - start)
        notices = [line.decode(errors="replace").rstrip() for line in stderr.drain()]
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        handler.close()
        logger.handlers[:] = []
    stats = handler.stats
    if stats["dropped"]:
        raise BenchError(f"the handler dropped records: {stats}")
    print(
        f"latency: {len(latencies)} samples, median {1e3 * statistics.median(latencies):.1f} ms",
        file=sys.stderr,
        flush=True,
    )
    return latencies, notices


# -- the report ----------------------------------------------------------------------


def _tool(name: str, path: str | None, *flags: str) -> str:
    if path is None:
        return f"{name} not found"
    try:
        done = subprocess.run(
            [path, *flags], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return path
    first = (done.stdout or done.stderr).strip().splitlines()
    return f"{first[0] if first else '?'} ({path})"


def _facts(server: Server, workdir: Path, cli: str | None, grep: str | None) -> list[str]:
    facts = write_bench._facts(server, workdir)
    locale = os.environ.get("LC_ALL") or os.environ.get("LC_CTYPE") or os.environ.get("LANG")
    facts += [
        f"viewer: {' '.join(viewer_command())}",
        f"baseline: {_tool('redis-cli', cli, '--version')}; {_tool('grep', grep, '--version')}; "
        f"locale {locale or 'unset (C)'}",
    ]
    return facts


def _spread(values: Sequence[float], fmt: str) -> str:
    return write_bench._spread(list(values), fmt)


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]


def _search_table(
    results: list[SearchResult], startups: list[float], n: int, cli: str | None
) -> list[str]:
    # (command, matches, seconds, worst PING, ratio)
    rows: list[tuple[str, str, str, str, str]] = []
    for result in results:
        mine, theirs = result.viewer, result.baseline
        ratio = ""
        if theirs:
            ratios = [a.seconds / b.seconds for a, b in zip(mine, theirs, strict=True)]
            verdict = "holds" if statistics.median(ratios) <= result.case.target else "MISSED"
            ratio = f"{_spread(ratios, '.2f')} <= {result.case.target:g} {verdict}"
        for label, runs, shown in (
            ("redislog search " + shlex.join(result.case.filters), mine, ratio),
            ("  lrange 0 -1 | grep " + shlex.join(result.case.grep), theirs, ""),
        ):
            if runs:
                rows.append(
                    (
                        label,
                        f"{runs[0].count:,}",
                        _spread([r.seconds for r in runs], ".3f"),
                        _spread([r.ping_ms for r in runs], ".1f"),
                        shown,
                    )
                )
    rows.append(("redislog --version (start-up alone)", "", _spread(startups, ".3f"), "", ""))
    width = max(len(row[0]) for row in rows)
    header = (
        f"{'command':<{width}}  {'matches':>7}  {'seconds':>21}  "
        f"{'worst PING ms':>19}  {'ratio, target':>31}"
    )
    lines = [
        f"search over {n:,} stored records: redislog search KEY --limit all -o json ...",
        header,
        "-" * len(header),
    ]
    for label, count, seconds, ping, ratio in rows:
        line = f"{label:<{width}}  {count:>7}  {seconds:>21}  {ping:>19}  {ratio:>31}"
        lines.append(line.rstrip())
    runs = [r for result in results for r in result.viewer]
    worst = max(r.ping_ms for r in runs)
    verdict = "holds" if worst <= TARGETS["ping ms"] else "MISSED"
    lines += [
        "",
        "seconds: the whole command, process start to exit, output to a file.",
        "matches: records printed, as many as the data holds; redislog's and grep's are the",
        "same records (checked).",
        f"worst PING ms: the slowest PING another client sent every {PING_EVERY * 1e3:g} ms "
        "during the command;",
        f"during every redislog search: {worst:.1f} ms (target <= {TARGETS['ping ms']:g}) "
        f"{verdict}; {_longest(runs)}.",
        "ratio: redislog / the pipeline in the same round (median, min-max), and its target.",
    ]
    if cli is None:
        lines.append("redis-cli (or grep) is not on PATH: the pipeline rows are skipped.")
    return lines


def _longest(runs: list[Run]) -> str:
    """What Redis's slow log says of *runs*: was the server itself blocked?"""
    longest = max(r.redis_ms for r in runs)
    if not longest:
        return f"no command of theirs ran {SLOWLOG_FROM_US / 1e3:g} ms in Redis (its slow log)"
    return f"the longest command Redis ran for them took {longest:.1f} ms (its slow log)"


def _oldest_table(result: OldestResult, n: int, cli: str | None) -> list[str]:
    target = TARGETS["oldest ratio"]
    mine, theirs = result.viewer, result.baseline
    ratio = ""
    if theirs:
        ratios = [a.seconds / b.seconds for a, b in zip(mine, theirs, strict=True)]
        verdict = "holds" if statistics.median(ratios) <= target else "MISSED"
        ratio = f"{_spread(ratios, '.2f')} <= {target:g} {verdict}"
    rows = [
        ("redislog tail KEY -k id=ID -n 1 --no-follow -o json", mine, ratio),
        ("  lrange 0 -1 | grep -F " + shlex.quote('"id":"ID"'), theirs, ""),
    ]
    width = max(len(label) for label, _, _ in rows)
    header = f"{'command':<{width}}  {'seconds':>21}  {'worst PING ms':>19}  {'ratio, target':>31}"
    lines = [
        f"the oldest of {n:,} stored records through a filter (its id, the only match: "
        f"{result.id})",
        header,
        "-" * len(header),
    ]
    for label, runs, shown in rows:
        if runs:
            seconds = _spread([r.seconds for r in runs], ".3f")
            ping = _spread([r.ping_ms for r in runs], ".1f")
            lines.append(f"{label:<{width}}  {seconds:>21}  {ping:>19}  {shown:>31}".rstrip())
    worst = max(r.ping_ms for r in mine)
    verdict = "holds" if worst <= TARGETS["ping ms"] else "MISSED"
    lines += [
        "",
        "both printed exactly the oldest record (checked).",
        f"worst PING during every redislog tail: {worst:.1f} ms "
        f"(target <= {TARGETS['ping ms']:g}) {verdict}; {_longest(mine)}.",
    ]
    if cli is None:
        lines.append("redis-cli (or grep) is not on PATH: the pipeline row is skipped.")
    return lines


def _tail_table(results: list[TailResult], n: int) -> list[str]:
    header = (
        f"{'command':<28}  {'-n all s':>21}  {'-n 1 s':>21}  {'records/s':>25}  {'us/record':>9}"
    )
    lines = [
        f"tail render rate, {n:,} records, --no-follow --color never, output to a file",
        header,
        "-" * len(header),
    ]
    for result in results:
        rates = [(n - 1) / max(a - b, 1e-9) for a, b in zip(result.all, result.one, strict=True)]
        per = 1e6 / statistics.median(rates)
        lines.append(
            f"{'redislog tail -o ' + result.mode:<28}  {_spread(result.all, '.3f'):>21}  "
            f"{_spread(result.one, '.3f'):>21}  {_spread(rates, ',.0f'):>25}  {per:>9.1f}"
        )
    lines += ["", "records/s: (n - 1) / (T(-n all) - T(-n 1)) in the same round."]
    return lines


def _latency_table(latencies: list[float], notices: list[str]) -> list[str]:
    ms = [1e3 * x for x in latencies]
    median, p95 = statistics.median(ms), _percentile(ms, 95)
    verdicts = [
        "holds" if value <= TARGETS[what] else "MISSED"
        for value, what in ((median, "median ms"), (p95, "p95 ms"))
    ]
    lines = [
        f"log call -> line in a running `redislog tail -n 0 -o json`, {len(ms)} records "
        "logged 100-150 ms apart through RedisHandler",
        f"  median {median:6.1f} ms  (target <= {TARGETS['median ms']:g})  {verdicts[0]}",
        f"  p95    {p95:6.1f} ms  (target <= {TARGETS['p95 ms']:g})  {verdicts[1]}",
        f"  min {min(ms):.1f} ms, max {max(ms):.1f} ms",
    ]
    if notices:
        lines.append("  the tail's notices: " + " | ".join(notices))
    return lines


# -- the driver ------------------------------------------------------------------------


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench viewer",
        description="Benchmark redislog search and tail against redis-cli | grep.",
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument(
        "--n", type=int, default=1_000_000, help="records stored for search (default 1000000)"
    )
    parser.add_argument(
        "--tail-n",
        type=int,
        help="records rendered by tail (default 100000, or --n if smaller)",
    )
    parser.add_argument(
        "--samples", type=int, default=60, help="records timed into a running tail (default 60)"
    )
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help=f"comma-separated subset of: {', '.join(PARTS)}",
    )
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the stored records")
    parser.add_argument("--json", type=Path, help="also write every run's numbers here")
    args = parser.parse_args(argv)
    if args.tail_n is None:
        args.tail_n = min(100_000, args.n)
    if args.rounds < 1 or args.n < 1000 or args.tail_n < 2 or args.samples < 1:
        parser.error("--rounds and --samples must be >= 1, --n >= 1000, --tail-n >= 2")
    args.parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    unknown = [part for part in args.parts if part not in PARTS]
    if unknown:
        parser.error(f"unknown parts {unknown}; choose from {', '.join(PARTS)}")
    return args


def _stop_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _measure(args: argparse.Namespace) -> tuple[list[str], dict[str, Any]]:
    cli, grep = shutil.which("redis-cli"), shutil.which("grep")
    if grep is None:
        cli = None  # no pipeline without grep
    report: list[str] = []
    numbers: dict[str, Any] = {"n": args.n, "tail_n": args.tail_n, "rounds": args.rounds}
    with private_server() as server, tempfile.TemporaryDirectory(prefix="redislog-bench-") as tmp:
        workdir = Path(tmp)
        client = server.client()
        facts = _facts(server, workdir, cli, grep)
        report += [
            f"redislog viewer: {args.rounds} rounds, median (min-max)",
            *(f"  {fact}" for fact in facts),
        ]
        key = "logs:shop"  # search and oldest share it: one fill for both
        if "search" in args.parts or "oldest" in args.parts:
            started = time.perf_counter()
            tallies = fill(client, key, args.n, args.seed)
            took = time.perf_counter() - started
            memory = client.info("memory")["used_memory_human"]
            print(
                f"filled {key}: {args.n:,} records in {took:.1f} s ({memory} used); {tallies}",
                file=sys.stderr,
                flush=True,
            )
        if "search" in args.parts:
            results, startups = measure_search(
                server, workdir, key, tallies, args.rounds, cli, grep
            )
            report += ["", *_search_table(results, startups, args.n, cli)]
            numbers["search"] = {
                r.case.name: {
                    "target": r.case.target,
                    "redislog": [vars(run) for run in r.viewer],
                    "pipeline": [vars(run) for run in r.baseline],
                }
                for r in results
            }
            numbers["startup"] = startups
        if "oldest" in args.parts:
            oldest = measure_oldest(server, workdir, key, args.rounds, cli, grep)
            report += ["", *_oldest_table(oldest, args.n, cli)]
            numbers["oldest"] = {
                "id": oldest.id,
                "target": TARGETS["oldest ratio"],
                "redislog": [vars(run) for run in oldest.viewer],
                "pipeline": [vars(run) for run in oldest.baseline],
            }
        client.delete(key)
        if "tail" in args.parts:
            key = "logs:shop:tail"
            fill(client, key, args.tail_n, args.seed + 1)
            tails = measure_tail(server, workdir, key, args.tail_n, args.rounds)
            client.delete(key)
            report += ["", *_tail_table(tails, args.tail_n)]
            numbers["tail"] = {t.mode: {"all": t.all, "one": t.one} for t in tails}
        if "latency" in args.parts:
            latencies, notices = measure_latency(server, "logs:shop:live", args.samples)
            report += ["", *_latency_table(latencies, notices)]
            numbers["latency"] = latencies
        client.close()
    return report, numbers


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        report, numbers = _measure(args)
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    print("\n".join(report))
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
