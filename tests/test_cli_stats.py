"""``redislog stats``: counts that agree with the data and with ``search``."""

from __future__ import annotations

import json
import math
import random
import re
import time
from collections import Counter
from typing import Any

import orjson
import pytest
import redis

from redislog import keys
from redislog.levels import label
from tests.support import one_line_error, run_cli, run_in_terminal
from tests.support.hostile import RAW_CONTROLS
from tests.support.records import ours

WIDTH = 900
LOGGERS = ("app.a", "app.a.sub", "app.b", "other")

Fact = tuple[float | None, int | None, str | None]  # time, level number, logger


def head(ts: float, levelno: int, logger: str, i: int) -> bytes:
    """Record *i* as redislog writes them (the head the fast path reads first)."""
    return ours(i, ts=ts, levelno=levelno, logger=logger, host="h", pid=1, n=i)


def fill(client: redis.Redis, key: str, now: float, seed: int = 7) -> list[Fact]:
    """Three hours of records (a burst in one minute, a few in the last one), in
    *key*; in ``<key>:foreign`` some that redislog did not write.  Pushed oldest
    first.  Returns what each one is."""
    rng = random.Random(seed)
    facts: list[Fact] = []
    raws: list[bytes] = []
    foreign: list[bytes] = []
    start = now - 3 * 3600
    times = sorted(start + rng.uniform(0, 3 * 3600 - 120) for _ in range(6000))
    times += [start + 5000 + i * 0.05 for i in range(600)]  # a burst
    times += [now - 25 + i for i in range(5)]  # the last minute
    for i, ts in enumerate(sorted(times)):
        levelno = rng.choice((10, 20, 20, 20, 30, 40, 50))
        logger = rng.choice(LOGGERS)
        raws.append(head(ts, levelno, logger, i))
        facts.append((ts, levelno, logger))
        if i % 500 == 0:  # shapes the head does not cover
            iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".250Z"
            foreign.append(orjson.dumps({"event": "sl", "level": "warning", "timestamp": iso}))
            facts.append((math.floor(ts) + 0.25, 30, None))
            foreign.append(b"plain text, no time")
            facts.append((None, None, None))
            foreign.append(orjson.dumps({"ts": int(ts * 1000), "level": "INFO", "levelno": 20,
                                      "logger": "ms", "msg": "ms"}))  # fmt: skip
            facts.append((int(ts * 1000) / 1000, 20, "ms"))
            foreign.append(orjson.dumps({"ts": ts, "level": "ERROR", "levelno": 40,
                                      "logger": "evil\x1b[2J", "msg": "x"}))  # fmt: skip
            facts.append((ts, 40, "evil\x1b[2J"))
    for first in range(0, len(raws), 1000):
        client.lpush(key, *raws[first : first + 1000])
    client.lpush(f"{key}:foreign", *foreign)
    client.sadd(keys.INDEX, key, f"{key}:foreign")
    return facts


def expected(facts: list[Fact], width: int = WIDTH) -> dict[str, Any]:
    """The counts, computed straight from the facts."""
    series: dict[float, Counter[str]] = {}
    levels: Counter[str] = Counter()
    loggers: Counter[str | None] = Counter()
    slots: Counter[int] = Counter()
    for ts, levelno, logger in facts:
        name = label(levelno)
        levels[name] += 1
        loggers[logger] += 1
        if ts is not None:
            series.setdefault(math.floor(ts / width) * width, Counter())[name] += 1
            slots[math.floor(ts / 10)] += 1
    return {
        "records": len(facts),
        "levels": levels,
        "loggers": loggers,
        "errors": sum(1 for _, levelno, _ in facts if levelno is not None and levelno >= 40),
        "untimed": sum(1 for ts, _, _ in facts if ts is None),
        "series": series,
        "peak": busiest_minute(slots),
    }


def busiest_minute(slots: Counter[int]) -> tuple[float, int]:
    """The busiest span of six 10-second slots: its first slot's start, its records
    (the latest of equals)."""
    best = (0.0, 0)
    for end in sorted(slots):
        window = [slot for slot in slots if end - 6 < slot <= end]
        total = sum(slots[slot] for slot in window)
        if total >= best[1]:
            best = (min(window) * 10.0, total)
    return best


def stats_json(*args: str) -> dict[str, Any]:
    result = run_cli("stats", *args, "-o", "json", "-q")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_stats_agrees_with_the_data(redis_url: str, client: redis.Redis, key: str) -> None:
    """The JSON counts per level, bucket, logger and minute match the records' own."""
    now = time.time()
    facts = fill(client, key, now)
    want = expected(facts)
    got = stats_json(f"{key}*", "--utc", "--every", "15m", "--top", "20", "--url", redis_url)
    assert got["records"] == got["scanned"] == want["records"]
    assert got["levels"] == dict(want["levels"])
    assert list(got["levels"]) == ["none", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
    assert (got["errors"], got["untimed"]) == (want["errors"], want["untimed"])
    assert got["error_share"] == pytest.approx(want["errors"] / want["records"])
    assert got["every"] == WIDTH
    charted = {row["start"]: row["levels"] for row in got["series"] if row["records"]}
    assert charted == {start: dict(counts) for start, counts in want["series"].items()}
    starts = [row["start"] for row in got["series"]]
    assert starts == [starts[0] + WIDTH * i for i in range(len(starts))]
    shown = {row["logger"]: row["records"] for row in got["loggers"]}
    assert shown == dict(want["loggers"])
    start, count = want["peak"]
    assert got["rate"] == {"last_minute": 5, "peak_minute": count, "peak_at": start}


def test_the_chart_shows_the_same_counts(redis_url: str, client: redis.Redis, key: str) -> None:
    """The chart's legend, bars and summary show the counts the JSON gives."""
    now = time.time()
    facts = fill(client, key, now)
    want = expected(facts)
    result = run_cli("stats", f"{key}*", "--utc", "--every", "15m", "--url", redis_url, "-q")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{key}, {key}:foreign: {want['records']:,} records"
    assert lines[2].split() == [
        "?", "none", "D", "DEBUG", "I", "INFO", "W", "WARNING", "E", "ERROR", "C", "CRITICAL",
    ]  # fmt: skip
    # Labels gain the date ("12-07 00:15") when the three hours span midnight.
    rows = [
        re.fullmatch(r"(?:\d\d-\d\d )?(\d\d:\d\d) ([?DIWEC]*) +([\d,]+)", line)
        for line in lines[3:]
    ]
    bars = [row for row in rows if row is not None]
    counted = {
        time.strftime("%H:%M", time.gmtime(start)): sum(counts.values())
        for start, counts in want["series"].items()
    }
    assert {m[1]: int(m[3].replace(",", "")) for m in bars if m[3] != "0"} == counted
    biggest = max(counted.values())
    for row in bars:
        total = int(row[3].replace(",", ""))
        assert abs(len(row[2]) - total / biggest * len(max((r[2] for r in bars), key=len))) <= 3
    assert f"errors   {want['errors']:,} of {want['records']:,} (" in result.stdout
    assert "untimed  " in result.stdout
    assert "evil\\x1b[2J" in result.stdout
    for char in RAW_CONTROLS:
        assert char not in result.stdout
    colored = run_cli("stats", f"{key}*", "--color", "always", "--url", redis_url, "-q")
    assert "\x1b[" in colored.stdout
    assert "\x1b[2J" not in colored.stdout


@pytest.mark.parametrize(
    "filters",
    [
        ("-p", "error"),
        ("-p", "info..warning", "-l", "app.a"),
        ("-g", "m1"),
        ("-k", "n>=5000", "-e", "m5"),
        ("-l", "ms",),
        ("-S", "@{since}", "-U", "@{until}"),
        ("-S", "@{since}", "-p", "w"),
    ],
)  # fmt: skip
def test_stats_counts_what_search_finds(
    redis_url: str, client: redis.Redis, key: str, filters: tuple[str, ...]
) -> None:
    now = time.time()
    fill(client, key, now)
    # Absolute times: the two commands must not start their windows a moment apart.
    filters = tuple(f.format(since=now - 5400, until=now - 1800) for f in filters)
    found = run_cli("search", f"{key}*", *filters, "--limit", "all", "-o", "json", "-q",
                    "--url", redis_url)  # fmt: skip
    rows = [json.loads(line) for line in found.stdout.splitlines()]
    got = stats_json(f"{key}*", *filters, "--url", redis_url)
    assert got["records"] == len(rows) > 0
    assert got["errors"] == sum(1 for row in rows if row.get("levelno", 0) >= 40)


def test_a_time_window_cuts_inside_a_slot(redis_url: str, client: redis.Redis, key: str) -> None:
    """Records a second apart on either side of --since and --until: counted exactly."""
    edge = math.floor(time.time()) - 3600 + 0.5
    raws = [
        head(edge + offset, 20, "app.a", i) for i, offset in enumerate((-1, 0.25, 1, 598.5, 600.75))
    ]
    client.lpush(key, *raws)
    client.sadd(keys.INDEX, key)
    got = stats_json(key, "-S", f"@{edge}", "-U", f"@{edge + 600}", "--url", redis_url)
    assert got["records"] == 3


def test_nothing_matched_is_not_an_error(redis_url: str, client: redis.Redis, key: str) -> None:
    fill(client, key, time.time())
    result = run_cli("stats", key, "-g", "nowhere-to-be-found", "--url", redis_url, "-q")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{key}: 0 records matched of ")
    assert stats_json(key, "-k", "missing", "--url", redis_url)["series"] == []


def test_stats_usage_errors(redis_url: str, client: redis.Redis, key: str) -> None:
    """A bad output, --every or level exits 2 with one line."""
    client.lpush(key, b"x")
    client.sadd(keys.INDEX, key)
    for args, expected_text in [
        (["-o", "cat"], "unknown output 'cat' for stats: use pretty or json"),
        (["--every", "soon"], "bad --every 'soon'"),
        (["--every", "0s"], "bad --every"),
        (["-p", "loud"], "bad level"),
    ]:
        line = one_line_error(run_cli("stats", key, *args, "--url", redis_url), 2)
        assert expected_text in line, line


def test_redislog_records_are_counted_from_their_heads(client: redis.Redis) -> None:
    """Windows of redislog's own records never need a full decode; others do."""
    from redislog import stats

    now = time.time()
    raws = [head(now - i, 20 + 10 * (i % 2), "app.a", i) for i in range(100)]
    counts = stats.Counts(None, 10)
    counts.add("k", raws)
    assert sum(counts.heads.values()) == 100
    assert not counts.timed
    counts.add("k", [*raws[:10], b"text"])
    assert sum(counts.timed.values()) == 10
    assert sum(counts.untimed.values()) == 1
    summary = stats.summarize(counts, ["k"], scanned=111, now=now)
    assert summary.total == summary.scanned == 111
    assert summary.levels == {20: 55, 30: 55, None: 1}


def test_heads_inside_a_record_are_not_taken_for_records(client: redis.Redis) -> None:
    """A text record holding head-like lines (after newlines, as a joined
    window would) cannot pass for records: the window is decoded, and the
    text counts as one."""
    from redislog import stats

    now = time.time()
    raws = [head(now - i, 20, "app.a", i) for i in range(5)]
    fake = b"text\n" + head(now, 50, "app.fake", 98) + b"\n" + head(now, 50, "app.fake", 99)
    counts = stats.Counts(None, 10)
    counts.add("k", [*raws, fake, b"no head"])
    summary = stats.summarize(counts, ["k"], scanned=7, now=now)
    assert not counts.heads
    assert summary.levels == {20: 5, None: 2}


def test_the_peak_minute_is_never_below_the_last_minute(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """The busiest minute is the busiest span of sixty seconds, so it holds at
    least as many records as the last minute, even across a minute's turn."""
    turn = math.floor(time.time() / 60) * 60 - 600  # a minute boundary, in the past
    for at in (turn - 20, turn + 20):
        client.lpush(key, *(orjson.dumps({"ts": at, "levelno": 20, "msg": "x"}) for _ in range(20)))
    client.sadd(keys.INDEX, key)
    window = ("-S", f"@{turn - 300}", "-U", f"@{turn + 30}")
    got = stats_json(key, *window, "--url", redis_url)
    assert got["rate"] == {"last_minute": 40, "peak_minute": 40, "peak_at": turn - 20.0}
    chart = run_cli("stats", key, *window, "--utc", "-q", "--url", redis_url).stdout
    at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(turn - 20))
    assert f"rate     40/min in the last minute; peak 40/min from {at}" in chart


def test_the_levels_line_breaks_between_levels_on_a_narrow_terminal(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """At 80 columns the levels line goes on under itself, never breaking a number."""
    now = time.time()
    for levelno in (10, 20, 25, 30, 40, 50):
        client.lpush(key, *(orjson.dumps({"ts": now - i, "levelno": levelno, "msg": "x"})
                            for i in range(1234)))  # fmt: skip
    client.sadd(keys.INDEX, key)
    code, terminal, _ = run_in_terminal("stats", key, "--color", "never", "-q", "--url", redis_url)
    assert code == 0, terminal
    lines = terminal.replace("\r\n", "\n").splitlines()
    assert max(len(line) for line in lines) <= 80, lines
    first = next(i for i, line in enumerate(lines) if line.startswith("levels   "))
    shown = [lines[first]]
    while lines[first + len(shown)].startswith(" " * 9):
        shown.append(lines[first + len(shown)])
    assert len(shown) > 1
    items = re.findall(r"([A-Z0-9]+) ([0-9,]+) \(([0-9.]+)%\)", " ".join(shown))
    assert [(name, count) for name, count, _ in items] == [
        (name, "1,234") for name in ("DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL")
    ]
