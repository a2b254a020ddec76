"""``redislog stats`` on a terminal: a bar chart of records per level over time,
then the levels, the share of errors, the rate and the busiest loggers.

One row per time bucket, oldest first; each bar is stacked from the least to
the most severe level, so errors sit at its end, and a level that has records
in a bucket always gets at least one cell there when it is an error.  In
color every level has its own color; without color, its own letter.  Level
and logger names and log keys are data: they pass through ``escapes.escape``
and into rich ``Text`` objects, never into markup.
"""

from __future__ import annotations

import time
from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from redislog import levels
from redislog.escapes import escape
from redislog.stats import Stats, level_order

# By ``levels.color_key``; a number below ERROR that has no name of its own
# gets a colour of its own too, so it cannot pass for its neighbour.
_COLORS = {
    "none": "white",
    "trace": "bright_black",
    "debug": "bright_black",
    "info": "green",
    "notice": "cyan",
    "warning": "yellow",
    "error": "red",
    "critical": "magenta",
    "alert": "magenta",
    "emergency": "magenta",
}
_UNNAMED = "blue"
_NAME_MAX = 60


def _style(levelno: int | None) -> str:
    if levelno is not None and levelno < levels.ERROR and levels.named(levelno) is None:
        return _UNNAMED
    return _COLORS[levels.color_key(levelno)]


def _letter(levelno: int | None) -> str:
    return "?" if levelno is None else levels.label(levelno)[:1].upper()


def _name(text: str | None, limit: int = _NAME_MAX) -> str:
    if text is None:
        return "(none)"
    shown = escape(text, newlines=True)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _duration_text(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _clock(ts: float, utc: bool, fmt: str) -> str:
    moment = time.gmtime(ts) if utc else time.localtime(ts)
    return time.strftime(fmt, moment)


def _label_format(stats: Stats, utc: bool) -> str:
    assert stats.start is not None
    assert stats.end is not None
    if stats.width >= 86400:
        return "%Y-%m-%d"
    same_day = _clock(stats.start, utc, "%Y%m%d") == _clock(stats.end, utc, "%Y%m%d")
    clock = "%H:%M:%S" if stats.width < 60 else "%H:%M"
    return clock if same_day else f"%m-%d {clock}"


def _bar(counts: dict[int | None, int], scale: float, glyph: str | None) -> Text:
    """One stacked bar: cells proportional to the counts, rounded cumulatively."""
    bar = Text()
    done = 0
    cumulative = 0
    for levelno in level_order(counts):
        count = counts[levelno]
        if not count:
            continue
        cumulative += count
        end = round(cumulative * scale)
        if end <= done and levelno is not None and levelno >= levels.ERROR:
            end = done + 1  # errors never round away
        if end > done:
            cells = end - done
            if glyph is None:
                bar.append(_letter(levelno) * cells)
            else:
                bar.append(glyph * cells, style=_style(levelno))
            done = end
    return bar


def show(stats: Stats, file: TextIO, *, color: bool, utc: bool, width: int | None = None) -> None:
    """Write the chart and the summary of *stats* to *file*."""
    console = Console(
        file=file,
        color_system="standard" if color else None,
        force_terminal=color,
        no_color=not color,
        markup=False,
        emoji=False,
        highlight=False,
        width=width,
    )
    unicode = "utf" in (getattr(file, "encoding", None) or "utf-8").lower()
    glyph = ("█" if unicode else "#") if color else None
    keys = ", ".join(_name(key) for key in stats.keys[:3])
    if len(stats.keys) > 3:
        keys += f" and {len(stats.keys) - 3} more"
    title = Text(f"{keys}: {stats.total:,} records", style="bold")
    if stats.total != stats.scanned:
        title.append(f" matched of {stats.scanned:,} read", style="")
    console.print(title, soft_wrap=True)
    if stats.buckets and stats.start is not None and stats.end is not None:
        span = f"{_clock(stats.start, utc, '%Y-%m-%d %H:%M:%S')} to "
        span += f"{_clock(stats.end, utc, '%Y-%m-%d %H:%M:%S')}{' UTC' if utc else ''}"
        console.print(
            Text(f"{span}, one bar per {_duration_text(stats.width)}", style="dim"), soft_wrap=True
        )
        _chart(console, stats, utc, glyph)
    console.print()
    # A terminal wraps long lines itself, wherever they reach its edge.
    _summary(console, stats, utc, wrap=width is not None or file.isatty())
    if stats.loggers:
        console.print()
        _loggers(console, stats)


def _chart(console: Console, stats: Stats, utc: bool, glyph: str | None) -> None:
    legend = Text()
    for levelno in level_order(stats.levels):
        swatch = glyph if glyph is not None else _letter(levelno)
        legend.append(swatch, style=_style(levelno) if glyph is not None else "")
        legend.append(f" {_name(levels.label(levelno), 20)}")
        legend.append("  ")
    legend.rstrip()
    console.print(legend, soft_wrap=True)
    fmt = _label_format(stats, utc)
    labels = [_clock(bucket.start, utc, fmt) for bucket in stats.buckets]
    totals = [f"{bucket.total:,}" for bucket in stats.buckets]
    room = console.width - max(map(len, labels)) - max(map(len, totals)) - 4
    biggest = max((bucket.total for bucket in stats.buckets), default=0)
    scale = max(room, 10) / biggest if biggest else 0.0
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(no_wrap=True, overflow="crop")
    grid.add_column(justify="right", no_wrap=True)
    for bucket, label, total in zip(stats.buckets, labels, totals, strict=True):
        grid.add_row(label, _bar(dict(bucket.levels), scale, glyph), total)
    console.print(grid)


def _summary(console: Console, stats: Stats, utc: bool, wrap: bool) -> None:
    # Plain lines, not a table: nothing is padded to the terminal's width.
    shares = []
    for levelno in level_order(stats.levels):
        count = stats.levels[levelno]
        share = count / stats.total if stats.total else 0.0
        item = Text(_name(levels.label(levelno), 20), style=_style(levelno))
        item.append(f" {count:,} ({share:.1%})")
        shares.append(item)
    _items(console, "levels   ", shares or [Text("-")], wrap)
    errors = Text("errors   ", style="bold")
    errors.append(f"{stats.errors:,}", style="red" if stats.errors else "")
    errors.append(f" of {stats.total:,} ({stats.error_share:.2%}) at ERROR or worse")
    console.print(errors, soft_wrap=True)
    rate = Text("rate     ", style="bold")
    rate.append(f"{stats.last_minute:,}/min in the last minute")
    if stats.peak is not None:
        at, count = stats.peak
        rate.append(f"; peak {count:,}/min from {_clock(at, utc, '%Y-%m-%d %H:%M:%S')}")
    console.print(rate, soft_wrap=True)
    if stats.untimed:
        untimed = Text("untimed  ", style="bold")
        untimed.append(f"{stats.untimed:,} records without a time (not charted)")
        console.print(untimed, soft_wrap=True)


def _items(console: Console, head: str, items: list[Text], wrap: bool) -> None:
    """*head*, then *items* two spaces apart; with *wrap*, lines break between
    items (never inside one) and go on under the first."""
    line = Text(head, style="bold")
    used = len(head)
    for number, item in enumerate(items):
        gap = 2 if number else 0
        if wrap and number and used + gap + item.cell_len > console.width:
            console.print(line, soft_wrap=True)
            line, used, gap = Text(" " * len(head)), len(head), 0
        line.append(" " * gap)
        line.append_text(item)
        used += gap + item.cell_len
    console.print(line, soft_wrap=True)


def _loggers(console: Console, stats: Stats) -> None:
    table = Table(box=None, padding=(0, 2), pad_edge=False, header_style="bold")
    table.add_column("busiest loggers", no_wrap=True, overflow="ellipsis")
    table.add_column("records", justify="right", no_wrap=True)
    table.add_column("share", justify="right", no_wrap=True)
    table.add_column("errors", justify="right", no_wrap=True)
    for name, count, errors in stats.loggers:
        share = count / stats.total if stats.total else 0.0
        table.add_row(
            Text(_name(name)),
            f"{count:,}",
            f"{share:.1%}",
            Text(f"{errors:,}", style="red" if errors else "dim"),
        )
    console.print(table)
