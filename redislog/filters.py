"""The filters shared by ``tail`` and ``search``: pure predicates over entries.

``parse_query`` turns the command-line filter options into a :class:`Query`;
``Query.matches`` tests one :class:`~redislog.entry.Entry`.  Every filter
given must match (AND), with two exceptions taken from journalctl: several
``key=value`` conditions on the *same* key match when any of them does (OR),
and several loggers match when any of them does.

Rules worth knowing:

- A level filter keeps records in the range, inclusive; records without a
  level only pass when no level filter is given.  The same goes for the time
  window and records without a time.
- The logger ``app.db`` selects ``app.db`` and its children
  (``app.db.pool``), not ``app.dbx``.
- ``grep`` searches what the record shows, its message and its traceback
  (and stack), with smart case: a pattern without upper-case letters ignores
  case.  ``exclude`` drops a record on the same text.
- Field conditions look at the record's JSON: ``order_id=42`` compares the
  value's text (the number 42 and the string ``"42"`` both match; ``true``,
  ``false`` and ``null`` spell JSON's literals); ``!=`` and ``!~`` also match
  records without the key; ``>``, ``>=``, ``<``, ``<=`` compare numbers (a
  numeric string counts; anything else never matches); ``~`` is a regex
  search on the value's text (add ``(?i)`` to ignore case); a bare ``key``
  tests presence and ``!key`` absence.  ``a.b.c`` reaches into nested
  objects (a top-level key literally named ``a.b.c`` wins) and list indexes
  (``items.0.sku``).  ``level=warn`` compares level names, ignoring case and
  aliases.
- Elements that are not JSON objects pass only queries without level, logger
  and field conditions; ``grep`` still searches their text.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from typing import Any

from redislog import levels
from redislog.entry import Entry, parse_iso, text_of

_UNITS = {
    **dict.fromkeys(("ms", "msec", "msecs"), 0.001),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("w", "week", "weeks"), 7 * 86400),
}
_DAYS = {"yesterday": -1, "today": 0, "tomorrow": 1}
_RELATIVE = re.compile(r"([+-])?\s*((?:\d+(?:\.\d+)?\s*[a-z]+\s*)+?)(?:\s*ago)?")
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_CLOCK = re.compile(
    r"(?:(yesterday|today|tomorrow)\s+)?(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6})\d*)?)?"
)
_CONDITION = re.compile(r"\s*([^=!~<>]*?)\s*(==|=~|!~|!=|>=|<=|=|~|>|<)(.*)", re.DOTALL)
_ESCAPED = re.compile(r"\\.", re.DOTALL)

_TIME_HELP = "use 10m, 2h30m, 5m ago, HH:MM, today, yesterday, now, @EPOCH or ISO 8601"
_LEVEL_HELP = (
    "use debug, info, warning, error or critical (or d/i/w/e/c, a number), "
    "or a range like info..error"
)


class FilterError(ValueError):
    """A filter option that cannot be parsed; ``str(exc)`` is one line for the user."""


_MISSING = object()


@dataclass(frozen=True)
class Condition:
    """One field condition, such as ``order_id=42`` or ``!user``."""

    text: str
    key: str
    op: str  # = != ~ !~ > >= < <= present absent
    value: str | None = None
    number: float | None = None
    pattern: re.Pattern[str] | None = None

    def matches(self, data: dict[str, Any]) -> bool:
        """Whether the JSON object *data* satisfies the condition."""
        value = lookup(data, self.key)
        op = self.op
        if value is _MISSING:
            return op in ("!=", "!~", "absent")
        if op == "=":
            return self._equal(value)
        if op == "!=":
            return not self._equal(value)
        if op == "~" or op == "!~":
            assert self.pattern is not None
            found = self.pattern.search(text_of(value)) is not None
            return found if op == "~" else not found
        if op == "present":
            return True
        if op == "absent":
            return False
        return _compare(op, value, self.number)

    def _equal(self, value: Any) -> bool:
        text = text_of(value)
        if text == self.value:
            return True
        if self.number is not None and isinstance(value, (int, float)):
            return not isinstance(value, bool) and value == self.number
        if self.key == "level" and isinstance(value, str) and self.value is not None:
            return levels.canonical(value) == levels.canonical(self.value)
        return False

    def __str__(self) -> str:
        return self.text


def lookup(data: dict[str, Any], key: str) -> Any:
    """The value at *key* in *data*: a top-level key, else a dotted path.

    Returns a private sentinel when there is no such value.
    """
    if key in data:
        return data[key]
    if "." not in key:
        return _MISSING
    value: Any = data
    for part in key.split("."):
        if isinstance(value, dict):
            if part not in value:
                return _MISSING
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _compare(op: str, value: Any, number: float | None) -> bool:
    assert number is not None
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return False
        if not math.isfinite(value):
            return False
    elif isinstance(value, float):
        if math.isnan(value):
            return False
    elif not isinstance(value, int):
        return False
    # int vs float compares exactly in Python, even for huge ints.
    if op == ">":
        return bool(value > number)
    if op == ">=":
        return bool(value >= number)
    if op == "<":
        return bool(value < number)
    return bool(value <= number)


@dataclass(frozen=True)
class Query:
    """A set of filters; ``Query()`` matches everything."""

    min_level: int | None = None
    max_level: int | None = None
    loggers: tuple[str, ...] = ()
    grep: re.Pattern[str] | None = None
    conditions: tuple[Condition, ...] = ()
    since: float | None = None
    until: float | None = None
    #: Patterns whose match in the message drops the record.
    exclude: tuple[re.Pattern[str], ...] = ()
    _groups: tuple[tuple[Condition, ...], ...] = field(
        init=False, repr=False, compare=False, default=()
    )
    _prefixes: tuple[str, ...] = field(init=False, repr=False, compare=False, default=())
    # The level and time windows as (low, high), None when open on both ends.
    _levels: tuple[float, float] | None = field(init=False, repr=False, compare=False, default=None)
    _times: tuple[float, float] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        groups: dict[str, list[Condition]] = {}
        singles: list[tuple[Condition, ...]] = []
        for condition in self.conditions:
            if condition.op == "=":
                groups.setdefault(condition.key, []).append(condition)
            else:
                singles.append((condition,))
        grouped = tuple(tuple(group) for group in groups.values())
        object.__setattr__(self, "_groups", grouped + tuple(singles))
        object.__setattr__(self, "_prefixes", tuple(f"{name}." for name in self.loggers))
        object.__setattr__(self, "_levels", _window(self.min_level, self.max_level))
        object.__setattr__(self, "_times", _window(self.since, self.until))

    @property
    def structured(self) -> bool:
        """True when the query has level, logger or field conditions."""
        return bool(self._levels or self.loggers or self.conditions)

    @property
    def empty(self) -> bool:
        """True when the query has no filter at all."""
        return not (self.structured or self.grep or self._times or self.exclude)

    def matches(self, entry: Entry) -> bool:
        """Whether *entry* passes every filter."""
        data = entry.data
        if data is None:
            if self.structured:
                return False
        else:
            levels = self._levels
            if levels is not None:
                levelno = entry.levelno
                if levelno is None or not levels[0] <= levelno <= levels[1]:
                    return False
            if self.loggers:
                logger = entry.logger
                if logger is None:
                    return False
                if logger not in self.loggers and not logger.startswith(self._prefixes):
                    return False
            for group in self._groups:
                if not any(condition.matches(data) for condition in group):
                    return False
        times = self._times
        if times is not None:
            ts = entry.ts
            if ts is None or not times[0] <= ts <= times[1]:
                return False
        if self.grep is not None and not _shows(self.grep, entry):
            return False
        return not any(_shows(pattern, entry) for pattern in self.exclude)


def _shows(pattern: re.Pattern[str], entry: Entry) -> bool:
    """Whether *pattern* is found in what the record shows: its message, its
    traceback or its stack."""
    if pattern.search(entry.msg) is not None:
        return True
    return any(text and pattern.search(text) is not None for text in (entry.exc, entry.stack))


def _window(low: float | None, high: float | None) -> tuple[float, float] | None:
    if low is None and high is None:
        return None
    return (-math.inf if low is None else low, math.inf if high is None else high)


def parse_query(
    level: str | None = None,
    loggers: Sequence[str] = (),
    grep: str | None = None,
    fields: Sequence[str] = (),
    since: str | float | None = None,
    until: str | float | None = None,
    *,
    case_sensitive: bool | None = None,
    exclude: Sequence[str] = (),
) -> Query:
    """Build a :class:`Query` from command-line options.

    Args:
        level: ``warning`` (that level and worse) or a range ``info..error``.
        loggers: logger names; each also matches its children.
        grep: a regex searched in the message; smart case unless
            *case_sensitive* is given.
        fields: field conditions (see :func:`parse_condition`).
        since: the start of the time window: epoch seconds, or text (see
            :func:`parse_time`; relative to the clock).
        until: the end of the time window.
        case_sensitive: force case (in)sensitivity of *grep* and *exclude*.
        exclude: regexes; a record whose message matches one is dropped.

    Raises:
        FilterError: an option cannot be parsed.
    """
    now = time.time()
    min_level = max_level = None
    if level is not None:
        low, high = parse_level(level)
        min_level = low
        max_level = high if high < levels.MAX else None
    names = []
    for name in loggers:
        name = name.strip()
        if not name:
            raise FilterError("bad logger '': the name is empty")
        names.append(name)
    start = _time(since, now)
    end = _time(until, now)
    if start is not None and end is not None and start > end:
        raise FilterError(
            f"bad time range: the start ({_show(start)}) is after the end ({_show(end)})"
        )
    return Query(
        min_level=min_level,
        max_level=max_level,
        loggers=tuple(names),
        grep=None if grep is None else parse_regex(grep, case_sensitive),
        conditions=tuple(parse_condition(text) for text in fields),
        since=start,
        until=end,
        exclude=tuple(parse_regex(text, case_sensitive) for text in exclude),
    )


def _time(value: str | float | None, now: float) -> float | None:
    if value is None or isinstance(value, (int, float)):
        return value
    return parse_time(value, now)


def _show(ts: float) -> str:
    try:
        return datetime.fromtimestamp(ts).isoformat(sep=" ", timespec="seconds")
    except (ValueError, OverflowError, OSError):
        return f"@{ts:g}"


def parse_regex(text: str, case_sensitive: bool | None = None) -> re.Pattern[str]:
    """Compile *text*; with smart case unless *case_sensitive* is given.

    Smart case: a pattern with no upper-case letter (outside backslash escapes
    such as ``\\S``) ignores case.
    """
    if case_sensitive is None:
        case_sensitive = any(c.isupper() for c in _ESCAPED.sub("", text))
    try:
        return re.compile(text, 0 if case_sensitive else re.IGNORECASE)
    except re.error as exc:
        raise FilterError(f"bad regex {text!r}: {exc}") from None


def parse_level(text: str) -> tuple[int, int]:
    """The inclusive range of level numbers that *text* selects.

    ``warning`` is ``(30, levels.MAX)``; ``info..error`` is ``(20, 40)``;
    either end of a range may be left out.  Each end is a level as
    :func:`levels.number` reads it.
    """
    if ".." in text:
        first, _, last = text.partition("..")
        low = _level_number(first, text) if first.strip() else 0
        high = _level_number(last, text) if last.strip() else levels.MAX
        if low > high:
            raise FilterError(
                f"bad level range {text!r}: it runs from the less to the more severe "
                f"level ({last.strip()}..{first.strip()})"
            )
        return low, high
    return _level_number(text, text), levels.MAX


def _level_number(word: str, text: str) -> int:
    number = levels.number(word)
    if number is None:
        raise FilterError(f"bad level {text!r}: {_LEVEL_HELP}")
    return number


def parse_time(text: str, now: float) -> float:
    """Epoch seconds for a point in time written by a user.

    Accepts ``now``, ``today``, ``yesterday``, ``tomorrow`` (midnight, local),
    durations before *now* (``10m``, ``2h30m``, ``-5m``, ``5m ago``, ``1d``;
    ``+5m`` is after *now*), ``HH:MM[:SS]`` today (optionally after
    ``today``/``yesterday``), ISO 8601 with or without a zone (no zone means
    local time), and ``@<epoch seconds>``.

    Raises:
        FilterError: *text* is none of these.
    """
    word = text.strip().lower()
    try:
        if word == "now":
            return now
        if word in _DAYS:
            return _at(now, _DAYS[word], clock())
        if word.startswith("@"):
            value = float(word[1:])
            if math.isfinite(value):
                return value
        match = _CLOCK.fullmatch(word)
        if match:
            day, hour, minute, second, frac = match.groups()
            moment = clock(
                int(hour), int(minute), int(second or 0), int((frac or "0").ljust(6, "0"))
            )
            return _at(now, _DAYS[day or "today"], moment)
        match = _RELATIVE.fullmatch(word)
        if match and not (match.group(1) == "+" and word.endswith("ago")):
            seconds = 0.0
            for amount, unit in _PART.findall(match.group(2)):
                if unit not in _UNITS:
                    raise ValueError(unit)
                seconds += float(amount) * _UNITS[unit]
            return now + seconds if match.group(1) == "+" else now - seconds
        absolute = parse_iso(text)
        if absolute is not None:
            return absolute
    except (ValueError, OverflowError, OSError):
        pass
    raise FilterError(f"bad time {text!r}: {_TIME_HELP}")


def _at(now: float, days: int, moment: clock) -> float:
    day: date = datetime.fromtimestamp(now).date() + timedelta(days=days)
    return datetime.combine(day, moment).timestamp()


def parse_condition(text: str) -> Condition:
    """Parse one field condition.

    ``key=value``, ``key!=value``, ``key~regex`` (also ``=~``), ``key!~regex``,
    ``key>n``, ``key>=n``, ``key<n``, ``key<=n``, ``key`` (present), ``!key``
    (absent).  Keys may be dotted paths into nested objects.

    Raises:
        FilterError: *text* is not a condition.
    """
    match = _CONDITION.fullmatch(text)
    if match is None:
        key = text.strip()
        op = "present"
        if key.startswith("!"):
            key, op = key[1:].strip(), "absent"
        if not key:
            raise FilterError(f"bad field condition {text!r}: no field name")
        if any(c in key for c in "=!~<>"):
            raise FilterError(f"bad field condition {text!r}: use key=value, key~regex, ...")
        return Condition(text, key, op)
    key, op, value = match.groups()
    if not key:
        raise FilterError(f"bad field condition {text!r}: no field name before {op!r}")
    if op == "==":
        op = "="
    elif op == "=~":
        op = "~"
    if op in ("~", "!~"):
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise FilterError(f"bad field condition {text!r}: {exc}") from None
        return Condition(text, key, op, value, pattern=pattern)
    number = _number(value)
    if op in ("=", "!="):
        return Condition(text, key, op, value, number)
    if number is None:
        raise FilterError(f"bad field condition {text!r}: {value!r} is not a number")
    return Condition(text, key, op, value, number)


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
