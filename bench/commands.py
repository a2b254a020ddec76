"""Benchmark of ``redislog pipe`` and ``redislog stats``, each against a baseline
measured in the same round.

1. **pipe**: ``seq 1 N | redislog pipe KEY`` (``--n``, default 100,000; the
   lines come from Python when ``seq`` is missing) as a whole process, start-up
   included, until it exits (it exits once every record is stored); checked:
   the list holds exactly the N lines, in order.  Against: the write-path
   benchmark's RedisHandler case (``bench.handler``), N records logged and
   delivered (loop start until LLEN = N, in its own interpreter, start-up
   excluded); and ``redislog --version`` alone, so the pipe's own work can be
   told from the interpreter's start-up.

2. **stats**: ``redislog stats KEY -o json`` over ``--stats-n`` records
   (default 1,000,000, the viewer benchmark's web-shop data), with and without
   ``-p error``.  Against: ``redislog search KEY --limit all -o json`` with no
   filter (it reads and prints every record), with ``-g timeout`` (the
   search's own benchmark case: few are printed) twice, filtered here on
   plain windows (what a server on this machine gets) and filtered inside
   Redis, with both commands run as for a server across a network
   (``REDISLOG_LOCAL=no``), and with ``-p error``, on
   the same list, run back to back with the stats command (their order
   alternating between rounds).  The ratio is taken within the round.  The
   target: stats over every record at most 1.0x the ``-g timeout`` search
   filtered inside Redis (the other ratios are shown without one).
   Meanwhile another client PINGs every 5 ms: the worst reply during any
   stats or search must be at most 10 ms.  Redis's slow log shows the
   longest command the server itself ran meanwhile.
   Checked: stats counts every record, and as many ERROR-or-worse records as
   the search prints.

Every round runs the cases in a new order.  Medians with min-max.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from bench import handler as write_bench
from bench import viewer as view_bench
from bench._server import Server, private_server

BenchError = view_bench.BenchError


# -- 1. pipe ----------------------------------------------------------------------


def _pipe_once(server: Server, workdir: Path, n: int) -> float:
    key = f"bench:pipe:{uuid.uuid4().hex[:12]}"
    command = [*view_bench.viewer_command(), "pipe", key, "--url", server.url]
    out, err = workdir / "pipe.out", workdir / "pipe.err"
    seq = shutil.which("seq")
    try:
        if seq:
            seconds, status = view_bench.run_pipeline([seq, "1", str(n)], command, out, err)
        else:
            lines = workdir / "lines"
            lines.write_bytes(b"".join(b"%d\n" % i for i in range(1, n + 1)))
            with lines.open("rb") as source, out.open("wb") as sink, err.open("wb") as errors:
                start = time.perf_counter()
                process = subprocess.Popen(command, stdin=source, stdout=sink, stderr=errors)
                status = view_bench._wait(process, " ".join(command))
                seconds = time.perf_counter() - start
        if status != 0:
            raise BenchError(f"redislog pipe failed (exit {status}): {view_bench._tail_of(err)}")
        client = server.client()
        stored: list[bytes] = []
        for start in range(0, n, 10_000):
            stored.extend(client.lrange(key, start, start + 9_999))
        stored.reverse()
        got = [orjson.loads(raw)["msg"] for raw in stored]
        if got != [str(i) for i in range(1, n + 1)]:
            raise BenchError(f"{key} holds {len(got)} records, not lines 1..{n} in order")
        client.close()
        return seconds
    finally:
        with server.client() as client:
            client.delete(key)


@dataclass
class PipeResult:
    pipe: list[float] = field(default_factory=list)
    handler: list[float] = field(default_factory=list)
    startup: list[float] = field(default_factory=list)


def measure_pipe(server: Server, workdir: Path, n: int, rounds: int) -> PipeResult:
    result = PipeResult()
    cases: dict[str, Callable[[], None]] = {
        "pipe": lambda: result.pipe.append(_pipe_once(server, workdir, n)),
        "handler": lambda: result.handler.append(
            write_bench._run_case(write_bench.REDIS, n, server, workdir)["total"]
        ),
        "startup": lambda: result.startup.append(
            view_bench.run_timed(
                [*view_bench.viewer_command(), "--version"], workdir / "v.out", workdir / "v.err"
            )[0]
        ),
    }
    for round_no in range(1, rounds + 1):
        order = list(cases)
        random.shuffle(order)
        for name in order:
            cases[name]()
        print(
            f"round {round_no}/{rounds}  pipe {result.pipe[-1]:.3f} s  "
            f"handler {result.handler[-1]:.3f} s  start-up {result.startup[-1]:.3f} s",
            file=sys.stderr,
            flush=True,
        )
    return result


def _pipe_table(result: PipeResult, n: int) -> list[str]:
    spread = write_bench._spread
    own = [p - s for p, s in zip(result.pipe, result.startup, strict=True)]
    ratios = [p / h for p, h in zip(result.pipe, result.handler, strict=True)]
    own_ratios = [o / h for o, h in zip(own, result.handler, strict=True)]
    return [
        f"{n:,} lines stored: seq 1 {n} | redislog pipe KEY, against RedisHandler",
        f"  redislog pipe, whole process          {spread(result.pipe, '.3f'):>22} s",
        f"  RedisHandler, logged and delivered    {spread(result.handler, '.3f'):>22} s",
        f"  redislog --version (start-up alone)   {spread(result.startup, '.3f'):>22} s",
        f"  pipe / handler                        {spread(ratios, '.2f'):>22}",
        f"  (pipe - start-up) / handler           {spread(own_ratios, '.2f'):>22}",
        f"  pipe records/s, start-up excluded     {n / statistics.median(own):>22,.0f}",
    ]


# -- 2. stats ---------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    name: str
    stats: tuple[str, ...]
    search: tuple[str, ...]
    target: float | None = None  # stats / search, at most
    #: Both run as for a server across a network: the search filters inside Redis.
    far: bool = False

    @property
    def environment(self) -> dict[str, str]:
        return {"REDISLOG_LOCAL": "no"} if self.far else {}


PAIRS = (
    # stats reads every record; the search that reads every record too prints
    # them all, and one for a term prints few: the target is set against that
    # one filtered inside Redis, where stats counts the records it ships.
    Pair("all", (), ()),
    Pair("all/term", (), ("-g", view_bench.TERM)),
    Pair("all/far", (), ("-g", view_bench.TERM), target=1.0, far=True),
    Pair("errors", ("-p", "error"), ("-p", "error")),
)
PING_TARGET_MS = view_bench.TARGETS["ping ms"]


@dataclass
class PairResult:
    pair: Pair
    stats: list[float] = field(default_factory=list)
    search: list[float] = field(default_factory=list)
    # The worst PING and the longest command in Redis, per run: stats, search.
    ping_ms: list[float] = field(default_factory=list)
    redis_ms: list[float] = field(default_factory=list)
    search_ping_ms: list[float] = field(default_factory=list)
    search_redis_ms: list[float] = field(default_factory=list)


def _stats_once(server: Server, workdir: Path, key: str, pair: Pair) -> tuple[float, dict]:
    out, err = workdir / "stats.out", workdir / "stats.err"
    command = [*view_bench.viewer_command(), "stats", key, "-o", "json", "-q",
               "--url", server.url, *pair.stats]  # fmt: skip
    with view_bench.Pinger(server) as pinger:
        seconds, status = view_bench.run_timed(command, out, err, **pair.environment)
    if status != 0:
        raise BenchError(f"redislog stats failed (exit {status}): {view_bench._tail_of(err)}")
    summary = json.loads(out.read_text())
    summary["ping_ms"] = pinger.worst_ms
    summary["redis_ms"] = pinger.longest_ms
    return seconds, summary


def _search_once(
    server: Server, workdir: Path, key: str, pair: Pair
) -> tuple[float, list[dict], view_bench.Pinger]:
    out, err = workdir / "search.out", workdir / "search.err"
    command = [*view_bench.viewer_command(), "search", key, "--limit", "all", "-o", "json",
               "-q", "--url", server.url, *pair.search]  # fmt: skip
    with view_bench.Pinger(server) as pinger:
        seconds, status = view_bench.run_timed(command, out, err, **pair.environment)
    if status != 0:
        raise BenchError(f"redislog search failed (exit {status}): {view_bench._tail_of(err)}")
    return seconds, [orjson.loads(line) for line in out.read_bytes().splitlines()], pinger


def measure_stats(server: Server, workdir: Path, n: int, rounds: int) -> list[PairResult]:
    client = server.client()
    key = "logs:shop"
    started = time.perf_counter()
    view_bench.fill(client, key, n)
    print(f"filled {key}: {n:,} records in {time.perf_counter() - started:.1f} s",
          file=sys.stderr, flush=True)  # fmt: skip
    results = [PairResult(pair) for pair in PAIRS]
    for round_no in range(1, rounds + 1):
        order = list(results)
        random.shuffle(order)
        for result in order:
            # The two commands' order alternates between rounds.
            if round_no % 2 == 0:
                search_s, rows, pinger = _search_once(server, workdir, key, result.pair)
                stats_s, summary = _stats_once(server, workdir, key, result.pair)
            else:
                stats_s, summary = _stats_once(server, workdir, key, result.pair)
                search_s, rows, pinger = _search_once(server, workdir, key, result.pair)
            if not result.pair.stats and summary["records"] != n:
                raise BenchError(f"stats counted {summary['records']:,} of {n:,} records")
            if not result.pair.search and len(rows) != n:
                raise BenchError(f"search printed {len(rows):,} of {n:,} records")
            if result.pair.stats and summary["records"] != len(rows):
                raise BenchError(
                    f"stats -p error counted {summary['records']:,}, search printed {len(rows):,}"
                )
            result.stats.append(stats_s)
            result.search.append(search_s)
            result.ping_ms.append(summary["ping_ms"])
            result.redis_ms.append(summary["redis_ms"])
            result.search_ping_ms.append(pinger.worst_ms)
            result.search_redis_ms.append(pinger.longest_ms)
            print(
                f"round {round_no}/{rounds}  stats {result.pair.name:<8} {stats_s:.3f} s  "
                f"search {search_s:.3f} s",
                file=sys.stderr,
                flush=True,
            )
    client.delete(key)
    client.close()
    return results


def _stats_table(results: list[PairResult], n: int) -> list[str]:
    spread = write_bench._spread
    lines = [f"stats over {n:,} stored records, against search on the same list (whole commands)"]
    for result in results:
        ratios = [a / b for a, b in zip(result.stats, result.search, strict=True)]
        target = result.pair.target
        if target is None:
            verdict = "(no target)"
        else:
            held = statistics.median(ratios) <= target
            verdict = f"(target <= {target:g}) {'holds' if held else 'MISSED'}"
        if result.pair.far:
            lines.append("  as for a server across a network (REDISLOG_LOCAL=no):")
        lines += [
            f"  redislog stats -o json {' '.join(result.pair.stats):<12}"
            f"{spread(result.stats, '.3f'):>22} s  worst PING {max(result.ping_ms):.1f} ms"
            f" (longest command in Redis {max(result.redis_ms):.1f} ms)",
            f"  redislog search -o json {' '.join(result.pair.search):<11}"
            f"{spread(result.search, '.3f'):>22} s  worst PING {max(result.search_ping_ms):.1f} ms"
            f" (longest command in Redis {max(result.search_redis_ms):.1f} ms)",
            f"    stats / search {spread(ratios, '.2f'):>38}  {verdict}",
        ]
    worst = max(ms for r in results for ms in (*r.ping_ms, *r.search_ping_ms))
    verdict = "holds" if worst <= PING_TARGET_MS else "MISSED"
    longest = max(ms for r in results for ms in (*r.redis_ms, *r.search_redis_ms))
    lines += [
        f"  worst PING during every stats and search (another client, every "
        f"{view_bench.PING_EVERY * 1e3:g} ms): {worst:.1f} ms "
        f"(target <= {PING_TARGET_MS:g}) {verdict}",
        f"  longest command Redis ran for any of them (its slow log, from "
        f"{view_bench.SLOWLOG_FROM_US / 1e3:g} ms): {longest:.1f} ms",
    ]
    return lines


# -- the driver -------------------------------------------------------------------

PARTS = ("pipe", "stats")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench commands",
        description="Benchmark redislog pipe against RedisHandler, and stats against search.",
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--n", type=int, default=100_000, help="lines piped (default 100000)")
    parser.add_argument(
        "--stats-n", type=int, default=1_000_000, help="records counted (default 1000000)"
    )
    parser.add_argument("--parts", default=",".join(PARTS), help="pipe, stats or both")
    args = parser.parse_args(argv)
    args.parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    if args.rounds < 1 or args.n < 10 or args.stats_n < 1000 or set(args.parts) - set(PARTS):
        parser.error("--rounds >= 1, --n >= 10, --stats-n >= 1000, --parts from pipe,stats")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    signal.signal(signal.SIGTERM, view_bench._stop_on_sigterm)
    report: list[str] = []
    try:
        with private_server() as server, tempfile.TemporaryDirectory(prefix="redislog-") as tmp:
            workdir = Path(tmp)
            report += [
                f"redislog pipe and stats: {args.rounds} rounds, median (min-max)",
                *(f"  {fact}" for fact in write_bench._facts(server, workdir)),
            ]
            if "pipe" in args.parts:
                report += ["", *_pipe_table(measure_pipe(server, workdir, args.n, args.rounds),
                                            args.n)]  # fmt: skip
            if "stats" in args.parts:
                results = measure_stats(server, workdir, args.stats_n, args.rounds)
                report += ["", *_stats_table(results, args.stats_n)]
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
