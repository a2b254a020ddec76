"""Record times as ``tail`` and ``search`` show them (``--time``).

========= ===============================================================
``time``  ``01:02:03.456``, the time of day (the default); a date line
          marks each change of day
``full``  ``2026-11-26 01:02:03.456`` (alias ``date``)
``iso``   ``2026-11-26T01:02:03.456+01:00``, ISO 8601 with the offset
``unix``  ``1795654923.456``, epoch seconds
``rel``   ``3m12s ago``, from the moment it is shown (alias ``relative``)
========= ===============================================================

Times are local, or UTC with ``utc=True``, then marked with ``Z``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

__all__ = ["FORMATS", "TimeFormat", "parse_format"]

FORMATS = ("time", "full", "iso", "unix", "rel")
_ALIASES = {"date": "full", "relative": "rel", "epoch": "unix"}
# Each format's column width (the same for every record, so columns line up).
_WIDTHS = {"time": 12, "full": 23, "iso": 29, "unix": 14, "rel": 10}
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def parse_format(name: str) -> str:
    """The time format *name* spells (an alias too).

    Raises:
        ValueError: *name* is not a time format.
    """
    word = name.strip().lower()
    word = _ALIASES.get(word, word)
    if word not in FORMATS:
        raise ValueError(f"unknown time format {name!r}: use time, full, iso, unix or rel")
    return word


class TimeFormat:
    """Formats epoch seconds in one format, padded to one width.

    Args:
        name: a format of :data:`FORMATS` (or an alias).
        utc: UTC times marked ``Z`` instead of local ones.
        now: the clock ``rel`` measures from.

    Raises:
        ValueError: *name* is not a time format.
    """

    def __init__(
        self, name: str = "time", *, utc: bool = False, now: Callable[[], float] = time.time
    ) -> None:
        self.name = parse_format(name)
        self.utc = utc
        self._now = now
        zoned = utc and self.name in ("time", "full")
        self._zone = "Z" if zoned else ""
        #: The width of every formatted time.
        self.width = (
            _WIDTHS[self.name] + (1 if zoned else 0) - (5 if utc and self.name == "iso" else 0)
        )
        #: What stands for an unknown time.
        self.unknown = ("--:--:--.---" if self.name == "time" else "-" * 10).ljust(self.width)
        self.clock = time.gmtime if utc else time.localtime

    def __call__(self, ts: float | None) -> str:
        """*ts* formatted, or :attr:`unknown` when it is unknown or out of range."""
        text = None if ts is None else self._format(ts)
        return self.unknown if text is None else text.ljust(self.width)

    def _format(self, ts: float) -> str | None:
        if not math.isfinite(ts):
            return None
        if self.name == "unix":
            return f"{ts:.3f}"
        if self.name == "rel":
            return relative(self._now() - ts)
        try:
            tm = self.clock(ts)
        except (OverflowError, OSError, ValueError):
            return None
        millis = min(int((ts - math.floor(ts)) * 1000), 999)
        clock = f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}.{millis:03d}"
        if self.name == "time":
            return clock + self._zone
        date = f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}"
        if self.name == "full":
            return f"{date} {clock}{self._zone}"
        return f"{date}T{clock}{'Z' if self.utc else _offset(tm.tm_gmtoff or 0)}"


def _offset(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    minutes = abs(seconds) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def relative(seconds: float) -> str:
    """*seconds* ago in words: ``now``, ``12s ago``, ``3m12s ago``, ``in 5s``."""
    whole = int(abs(seconds))
    if whole < 1:
        return "now"
    parts: list[str] = []
    for unit, size in _UNITS:
        if whole >= size or parts:
            parts.append(f"{whole // size}{unit}")
            whole %= size
        if len(parts) == 2:
            break
    if parts[-1].startswith("0"):  # 3m, not 3m0s
        parts.pop()
    words = "".join(parts)
    return f"{words} ago" if seconds > 0 else f"in {words}"
