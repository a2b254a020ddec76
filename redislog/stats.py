"""What ``redislog stats`` counts: records per level over time, per logger,
the rate now and at its peak, the share of errors.

Records are read with the search's windows (``reader.Search.windows``:
bounded, pre-filtered, newest first) and only as much of each is decoded as
the counts need.  redislog's own records begin with the same head
(``record.HEAD``)::

    {"ts":1795657225.759,"level":"INFO","levelno":20,"logger":"app.db",...

so when the query asks about levels, loggers and time only, one regex pass
over a window's heads yields (time slot, level, logger) for every record, and
those are counted in C (``collections.Counter``); the query is then applied
once per distinct triple.  A window holding anything else (other JSON shapes,
text, a time just at ``--since`` or ``--until``, whose slot the window would
split) is decoded record by record, as is every record when the query looks
at messages or fields.  Like the search, the head is trusted as the JSON
decoder would read it; unlike the search, repeated record ids (a retried
write stored twice) are counted twice.

Counting happens here, not in a server-side script: on a local server a
script's LRANGE alone cost 1.5 µs per record (its records become Lua
strings), counting there 2.2 µs, against about 0.4 µs to ship a record and
0.6 µs to count it here.

Times are counted in slots of 10 seconds (1 second for a window shorter than
:data:`FINE_SPAN`), which is as fine as the chart and the per-minute rates go.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from redislog import connection, levels
from redislog import keys as keyspace
from redislog.entry import Entry, decode, text_of
from redislog.filters import Query

#: Bucket widths the chart picks from (seconds).
WIDTHS = (
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
    86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400,
)  # fmt: skip
#: Rows of the chart at most, unless a width is given.
BARS = 24
#: Time ranges shorter than this are counted by the second, others by 10 s.
FINE_SPAN = 600.0

# Two groups, the time slot and the level number with the logger: every
# group found is an object made per record, the cost that dominates.
_HEAD = (
    rb'\{"ts":(\d{%d})\d{%d}(?:\.\d+)?,"level":"[^"\\\n]*",'
    rb'"levelno":(-?\d{1,9},"logger":"[^"\\\n]*)"[,}]'
)
_LOGGER = b',"logger":"'
_EMPTY: dict[str, Any] = {}


@dataclass
class Bucket:
    """Records counted in ``[start, start + width)``, per level number."""

    start: float
    levels: Counter[int | None] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.levels.values())


@dataclass
class Stats:
    """The counts ``redislog stats`` shows."""

    keys: list[str]
    scanned: int = 0
    total: int = 0
    #: The range charted (None when no record has a time).
    start: float | None = None
    end: float | None = None
    width: int = 60
    buckets: list[Bucket] = field(default_factory=list)
    levels: Counter[int | None] = field(default_factory=Counter)
    #: (logger, records, errors), busiest first.
    loggers: list[tuple[str | None, int, int]] = field(default_factory=list)
    errors: int = 0
    untimed: int = 0
    #: Records in the minute before now (or before ``--until``).
    last_minute: int = 0
    #: The busiest minute (its start) and its records.
    peak: tuple[float, int] | None = None

    @property
    def error_share(self) -> float:
        return self.errors / self.total if self.total else 0.0


class Counts:
    """Counts windows of raw records.

    Args:
        query: only matching records count (``None`` or empty for all).
        resolution: seconds per time slot (1 or 10).
    """

    def __init__(self, query: Query | None, resolution: int) -> None:
        self.query = query if query is not None and not query.empty else None
        self.resolution = resolution
        #: The query's time window, if any.
        self.since = None if self.query is None else self.query.since
        self.until = None if self.query is None else self.query.until
        digits = 1 if resolution == 10 else 0
        # Windows are joined with a separator no record can be made to hold
        # (random), so every head found begins a record: as many heads as
        # records, and each record has its own.
        self._separator = secrets.token_bytes(8)
        self._head = re.compile(re.escape(self._separator) + _HEAD % (10 - digits, digits))
        # Heads say nothing about messages and fields.
        self._heads = self.query is None or not (
            self.query.grep is not None or self.query.conditions or self.query.exclude
        )
        self._split = {
            str(int(edge // resolution)).encode()
            for edge in (self.since, self.until)
            if edge is not None
        }
        self.heads: Counter[tuple[bytes, bytes]] = Counter()
        self.timed: Counter[tuple[int, int | None, str | None]] = Counter()
        self.untimed: Counter[tuple[int | None, str | None]] = Counter()

    def add(self, key: str, raws: list[bytes]) -> None:
        """Count the records of one window of log *key*."""
        if self._heads and raws:
            found = self._head.findall(self._separator.join([b"", *raws]))
            if len(found) == len(raws):
                if not self._split:
                    self.heads.update(found)  # counted in C
                    return
                window = Counter(found)
                if not any(slot in self._split for slot, _ in window):
                    self.heads.update(window)
                    return
        self._decode(key, raws)

    def _decode(self, key: str, raws: list[bytes]) -> None:
        query = self.query
        resolution = self.resolution
        for raw in raws:
            entry = decode(raw, key)
            if query is not None and not query.matches(entry):
                continue
            if entry.ts is None:
                self.untimed[entry.levelno, entry.logger] += 1
            else:
                self.timed[int(entry.ts // resolution), entry.levelno, entry.logger] += 1

    def records(self) -> Iterator[tuple[int, int | None, str | None, int]]:
        """(slot, level number, logger, count) of every timed record counted."""
        yield from ((slot, lv, lg, n) for (slot, lv, lg), n in self.timed.items())
        query = self.query
        resolution = self.resolution
        for (slot_text, rest), count in self.heads.items():
            slot = int(slot_text)
            levelno_text, _, logger_bytes = rest.partition(_LOGGER)
            levelno = int(levelno_text)
            logger = logger_bytes.decode("utf-8", "replace")
            if query is not None and not query.matches(_light(slot * resolution, levelno, logger)):
                continue
            yield slot, levelno, logger, count


def _light(ts: float, levelno: int, logger: str) -> Entry:
    """An entry with just what a head says, for the query's level, logger and time."""
    return Entry("", b"", _EMPTY, ts, None, levelno, logger, "", None, None, _EMPTY, None)


def time_span(client: connection.Client, keys: Iterable[str]) -> float | None:
    """Seconds from the oldest to the newest record of *keys*, judged by
    each list's two ends (None if none has a time)."""
    names = list(keys)
    pipe = client.pipeline(transaction=False)
    for name in names:
        raw = keyspace.encoded(name)
        pipe.lindex(raw, 0)
        pipe.lindex(raw, -1)
    times = [
        ts
        for name, raw in zip([n for n in names for _ in (0, 1)], pipe.execute(), strict=True)
        if raw is not None and (ts := decode(raw, name).ts) is not None
    ]
    return max(times) - min(times) if times else None


def resolution_for(span: float | None) -> int:
    """Seconds per time slot for a range of *span* seconds (None: unknown)."""
    return 1 if span is not None and span < FINE_SPAN else 10


def pick_width(span: float, resolution: int, bars: int = BARS) -> int:
    """The narrowest width of :data:`WIDTHS` that charts *span* in *bars* rows."""
    for width in WIDTHS:
        if width % resolution == 0 and span / width <= bars:
            return width
    return WIDTHS[-1]


def summarize(
    counts: Counts,
    keys: list[str],
    *,
    scanned: int = 0,
    now: float | None = None,
    width: int | None = None,
    bars: int = BARS,
    top: int = 10,
    utc: bool = False,
) -> Stats:
    """Turn *counts* (of *scanned* records read) into what the chart and the JSON show.

    The charted range is the query's window (``--since`` up to ``--until``,
    else now), else the span of the records counted.  The last minute ends
    at *until*, else now.
    """
    now = time.time() if now is None else now
    since, until = counts.since, counts.until
    resolution = counts.resolution
    stats = Stats(keys, scanned=scanned)
    per_slot: Counter[tuple[int, int | None]] = Counter()
    loggers: Counter[str | None] = Counter()
    logger_errors: Counter[str | None] = Counter()
    for slot, levelno, logger, count in counts.records():
        per_slot[slot, levelno] += count
        _tally(stats, loggers, logger_errors, levelno, logger, count)
    for (levelno, logger), count in counts.untimed.items():
        stats.untimed += count
        _tally(stats, loggers, logger_errors, levelno, logger, count)
    stats.loggers = [
        (name, count, logger_errors[name])
        for name, count in sorted(loggers.items(), key=lambda item: (-item[1], item[0] or ""))[:top]
    ]
    slots = [slot for slot, _ in per_slot]
    if since is None and not slots:
        return stats
    start = since if since is not None else min(slots) * resolution
    end = until if until is not None else (now if since is not None else max(slots) * resolution)
    if slots:  # records out of time order may lie outside the window's hint
        start = min(start, min(slots) * resolution)
        end = max(end, (max(slots) + 1) * resolution - 1e-6)
    stats.start, stats.end = start, end
    stats.width = width or pick_width(end - start, resolution, bars)
    offset = 0 if utc else _utc_offset(start)
    first = math.floor((start + offset) / stats.width)
    last = math.floor((end + offset) / stats.width)
    stats.buckets = [
        Bucket(index * stats.width - offset) for index in range(first, max(last, first) + 1)
    ]
    per_time: Counter[int] = Counter()
    for (slot, levelno), count in per_slot.items():
        index = math.floor((slot * resolution + offset) / stats.width) - first
        stats.buckets[index].levels[levelno] += count
        per_time[slot] += count
    last = math.floor((until if until is not None else now) / resolution)
    stats.last_minute, stats.peak = _minutes(per_time, resolution, last)
    return stats


def _minutes(
    per_slot: Counter[int], resolution: int, last: int
) -> tuple[int, tuple[float, int] | None]:
    """The records of the minute that ends with slot *last*, and the busiest
    minute (its start, its records) among all spans of one minute's slots:
    the last minute is one of those spans, so the peak is never below it."""
    span = 60 // resolution
    recent = sum(count for slot, count in per_slot.items() if last - span < slot <= last)
    slots = sorted(per_slot)
    peak: tuple[float, int] | None = None
    running = 0
    first = 0
    for slot in slots:
        running += per_slot[slot]
        while slots[first] <= slot - span:
            running -= per_slot[slots[first]]
            first += 1
        if peak is None or running >= peak[1]:
            peak = (float(slots[first] * resolution), running)
    return recent, peak


def _tally(
    stats: Stats,
    loggers: Counter[str | None],
    logger_errors: Counter[str | None],
    levelno: int | None,
    logger: str | None,
    count: int,
) -> None:
    stats.total += count
    stats.levels[levelno] += count
    loggers[logger] += count
    if levelno is not None and levelno >= levels.ERROR:
        stats.errors += count
        logger_errors[logger] += count


def _utc_offset(ts: float) -> int:
    try:
        return int(time.localtime(ts).tm_gmtoff)
    except (OverflowError, OSError, ValueError):
        return 0


def level_order(levels: Iterable[int | None]) -> list[int | None]:
    """Level numbers from the least to the most severe (no level first)."""
    return sorted(levels, key=lambda levelno: -1 if levelno is None else levelno)


def as_json(stats: Stats) -> dict[str, Any]:
    """*stats* as plain JSON values (``redislog stats -o json``)."""
    order = level_order(stats.levels)
    return {
        "keys": stats.keys,
        "scanned": stats.scanned,
        "records": stats.total,
        "from": stats.start,
        "to": stats.end,
        "every": stats.width,
        "levels": {levels.label(levelno): stats.levels[levelno] for levelno in order},
        "errors": stats.errors,
        "error_share": stats.error_share,
        "untimed": stats.untimed,
        "rate": {
            "last_minute": stats.last_minute,
            "peak_minute": stats.peak[1] if stats.peak else 0,
            "peak_at": stats.peak[0] if stats.peak else None,
        },
        "series": [
            {
                "start": bucket.start,
                "records": bucket.total,
                "levels": {
                    levels.label(levelno): bucket.levels[levelno]
                    for levelno in level_order(bucket.levels)
                },
            }
            for bucket in stats.buckets
        ],
        "loggers": [
            {"logger": name, "records": count, "errors": errors}
            for name, count, errors in stats.loggers
        ],
    }


#: Distinct example values kept per field.
EXAMPLES = 3
#: Nested objects are counted down to this depth, as dotted paths (``a.b``).
FIELD_DEPTH = 3


@dataclass
class Field:
    """One field name across records: how many have it, a few of its values."""

    name: str
    records: int = 0
    examples: list[str] = field(default_factory=list)


class FieldCounts:
    """Counts the field names of records (``redislog fields``).

    Nested objects count as dotted paths (``order.id``), as ``-k`` reaches
    them; examples are the first distinct values seen, as text.
    """

    def __init__(self) -> None:
        self.records = 0
        #: Records that are not JSON objects (no fields).
        self.unstructured = 0
        self._fields: dict[str, Field] = {}

    def add(self, entry: Entry) -> None:
        """Count the fields of one record."""
        self.records += 1
        if entry.data is None:
            self.unstructured += 1
            return
        for name, value in _paths(entry.data, "", 1):
            counted = self._fields.get(name)
            if counted is None:
                counted = self._fields[name] = Field(name)
            counted.records += 1
            if len(counted.examples) < EXAMPLES:
                text = text_of(value)
                if text not in counted.examples:
                    counted.examples.append(text)

    def fields(self) -> list[Field]:
        """Every field, the most common first (then by name)."""
        return sorted(self._fields.values(), key=lambda f: (-f.records, f.name))


def _paths(data: dict[str, Any], prefix: str, depth: int) -> Iterator[tuple[str, Any]]:
    for name, value in data.items():
        path = f"{prefix}{name}"
        if isinstance(value, dict) and value and depth < FIELD_DEPTH:
            yield from _paths(value, f"{path}.", depth + 1)
        else:
            yield path, value
