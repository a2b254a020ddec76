"""The pre-filter: the cheap part of a query, checked on raw records.

Decoding every record is what makes a search slow.  Before decoding, the
records a query cannot match are dropped on their bytes alone: by the level
and time that redislog's own records carry at their start (``record.HEAD``),
by plain text that every match must contain (needles, found in the
query's regexes, logger names and field conditions), and, on the server,
by the field conditions and loggers themselves, tested on the record as
Redis's cjson decodes it (only when the needles let it through).  It never
drops a match: it may keep too much, and every record it keeps is checked
against the full query after decoding.

It runs in two places with one set of arguments (:meth:`Prefilter.args`):
on the server, inside the scripts that read windows of a list (:data:`LUA`,
so only candidates cross the network), or here, a few passes over each
window's bytes (:meth:`Prefilter.candidates`, cheaper for a near server).
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redislog.filters import Condition, Query

# (ignore case, fold, needles): see Prefilter.
_Group = tuple[bool, bool, tuple[str, ...]]
# (op, key, value, number, needles): one field condition the server decides
# (see _field_tests); a tuple of them is one test, passed when any is.
_Field = tuple[str, str, str, str, tuple[str, ...]]
_Test = tuple[_Field, ...]
# Letters that Python's case-insensitive matching ties to non-ASCII letters.
_FOLDING_SPLIT = re.compile("[iks]")


@dataclass(frozen=True)
class Prefilter:
    """What may be checked on raw records, before decoding them.

    Every group is (ignore case, fold, needles): any record the query accepts
    holds one of the needles somewhere in its raw bytes (lower-cased first
    when ignoring case), or, with fold, one of the non-ASCII letters that
    case-insensitive matching ties to i, k or s.
    """

    min_level: int | None = None
    max_level: int | None = None
    since: float | None = None
    until: float | None = None
    groups: tuple[_Group, ...] = ()
    #: Field conditions decided on the server, on the decoded record (every
    #: test must pass; a test passes when one of its conditions may hold).
    tests: tuple[_Test, ...] = ()
    #: Logger names decided on the server (the record's logger is one of
    #: them or a child); empty for no logger filter.
    loggers: tuple[str, ...] = ()

    @property
    def decides(self) -> bool:
        """Whether the server-side filter decodes records (fields or loggers)."""
        return bool(self.tests or self.loggers)

    def args(self) -> list[str]:
        """The arguments of the server-side filter (see :data:`LUA`)."""
        out = [_arg(self.min_level), _arg(self.max_level)]
        out += [_arg(self.since), _arg(self.until), str(len(self.groups))]
        for icase, fold, needles in self.groups:
            out += ["1" if icase else "0", "1" if fold else "0"]
            out += [str(len(needles)), *needles]
        out += [str(len(self.loggers)), *self.loggers, str(len(self.tests))]
        for test in self.tests:
            out.append(str(len(test)))
            for op, key, value, number, needles in test:
                out += [op, key, value, number, str(len(needles)), *needles]
        return out

    def candidates(self, raws: list[bytes]) -> list[bytes]:
        """The records of *raws* that hold a needle of every group."""
        if not self.groups:
            return raws
        # One pass per needle over the whole window joined, instead of one per
        # record; a hit's record is found by its offset.  (A hit that spans two
        # records only makes the first a candidate, which the full check drops.)
        joined = b"".join(raws)
        lowered: bytes | None = None
        starts = list(itertools.accumulate(map(len, raws), initial=0))
        keep: set[int] | None = None
        for icase, fold, needles in self.groups:
            hay = joined
            if icase:
                lowered = joined.lower() if lowered is None else lowered
                hay = lowered
            hits: set[int] = set()
            for needle in needles:
                _occurrences(hay.find, needle.encode(), starts, hits)
            # A JSON \u escape (or a non-ASCII letter that folds to an ASCII
            # one) can hide a needle from a byte search: keep those records.
            markers = _FOLD_MARKERS if fold else _ESCAPE_MARKERS
            _occurrences(_searcher(markers, joined), b"", starts, hits)
            keep = hits if keep is None else keep & hits
            if not keep:
                return []
        assert keep is not None
        return [raws[i] for i in sorted(keep)]


# A JSON \u escape of a plain character hides text from a byte search: such
# records always stay candidates.  Folding also needs the non-ASCII letters
# (and any \u escape, which may spell one).  (A regex finds these faster
# than bytes.find: backslashes are common in records, matches are not.)
_ESCAPE_MARKERS = re.compile(rb"\\u00")
_FOLD_MARKERS = re.compile(rb"\xc4\xb0|\xc4\xb1|\xe2\x84\xaa|\xc5\xbf|\\u")


def _searcher(pattern: re.Pattern[bytes], hay: bytes) -> Callable[[bytes, int], int]:
    """A ``bytes.find``-like search of *hay* for *pattern* (the needle is unused)."""

    def find(_needle: bytes, start: int = 0) -> int:
        match = pattern.search(hay, start)
        return -1 if match is None else match.start()

    return find


def _occurrences(
    find: Callable[..., int], needle: bytes, starts: list[int], hits: set[int]
) -> None:
    """Add the index of every record holding *needle*, searched with *find*
    over the records joined; *starts* are their offsets there."""
    at = find(needle)
    while at >= 0:
        index = bisect.bisect_right(starts, at) - 1
        hits.add(index)
        at = find(needle, starts[index + 1])  # on to the next record


def _arg(value: float | None) -> str:
    return "" if value is None else repr(value)


# Why a needle found nowhere in a record's raw bytes proves the record does
# not match: the client matches the decoded message, traceback or stack (or
# logger).  When that is a JSON string in the record (a traceback always is),
# its text appears verbatim in the raw bytes as long as the needle holds no
# character a JSON encoder may escape.  When
# the record is not a JSON object, the whole text is the message.  When the
# message is another JSON value (number, object...), the client re-encodes
# it, which can change spacing, punctuation and how numbers are written, but
# cannot create a run of characters that includes a letter other than e/E
# (letters only ever come from strings and from true/false/null/NaN/
# Infinity), with no JSON punctuation in it; the one literal whose raw form
# differs is Infinity (an overflowing number such as 1e999), hence the
# exception below.
_NEEDLE_CHARS = frozenset(chr(c) for c in range(0x20, 0x7F) if chr(c) not in "\"\\/<>&',:[]{}")
_WORD_LETTERS = frozenset("abcdfghijklmnopqrstuvwxyzABCDFGHIJKLMNOPQRSTUVWXYZ")


def usable(needle: str) -> bool:
    """Whether *needle* may be looked for in raw records (see above)."""
    return (
        len(needle) >= 2
        and all(char in _NEEDLE_CHARS for char in needle)
        and any(char in _WORD_LETTERS for char in needle)
        and needle.lower() not in "-infinity"
    )


def for_query(query: Query | None) -> Prefilter:
    """The part of *query* that can be checked on raw records."""
    if query is None:
        return Prefilter()
    groups = []
    if query.grep is not None:
        group = _grep_group(query.grep)
        if group is not None:
            groups.append(group)
    if query.loggers and all(usable(name) for name in query.loggers):
        groups.append((False, False, tuple(query.loggers)))
    groups.extend(_condition_groups(query.conditions))
    loggers = query.loggers if all(map(_exact, query.loggers)) else ()
    return Prefilter(
        min_level=query.min_level,
        max_level=query.max_level,
        since=query.since,
        until=query.until,
        groups=tuple(groups),
        tests=_field_tests(query.conditions),
        loggers=tuple(loggers),
    )


def _exact(text: str) -> bool:
    """Whether *text* reaches the server as the same UTF-8 bytes Python
    compares (not so with lone surrogates, which stand for raw bytes)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _field_tests(conditions: Sequence[Condition]) -> tuple[_Test, ...]:
    """The field conditions the server-side filter can decide.

    Grouped as ``Query`` groups them (several ``=`` on one key: any of
    them).  Left out, so never a reason to drop a record: ``!~`` (any value
    may match), ``level=`` and ``level!=`` (level names compare loosely),
    and text that is not plain UTF-8.  ``~`` goes as "the key is there, and
    a string value holds one of the regex's plain runs" (a case-sensitive
    regex only; the runs of each alternative, as for ``-g``).
    """
    equal: dict[str, list[_Field]] = {}
    tests: list[_Test] = []
    broken: set[str] = set()
    for condition in conditions:
        field = _field(condition)
        if condition.op == "=":
            if field is None:
                broken.add(condition.key)
            equal.setdefault(condition.key, [])
            if field is not None:
                equal[condition.key].append(field)
        elif field is not None:
            tests.append((field,))
    tests[:0] = [tuple(fields) for key, fields in equal.items() if key not in broken]
    return tuple(tests)


def _field(condition: Condition) -> _Field | None:
    key, op = condition.key, condition.op
    if op == "!~" or (key == "level" and op in ("=", "!=")):
        return None
    value = condition.value or ""
    if not (_exact(key) and _exact(value)):
        return None
    needles: tuple[str, ...] = ()
    if op == "~":
        pattern = condition.pattern
        if pattern is None:
            return None
        if not pattern.flags & re.IGNORECASE:
            branches = literal_runs(pattern)
            if branches and all(branches):
                needles = tuple(dict.fromkeys(max(runs, key=len) for runs in branches))
    return (op, key, value, _arg(condition.number), needles)


def _condition_groups(conditions: Sequence[Condition]) -> list[_Group]:
    """Needles for field conditions (see ``filters.Condition``).

    ``key=text`` needs the text (the value's text equals it: a string, or
    true/false/null; numbers never pass :func:`usable`); ``key~regex`` needs
    the regex's plain text; ``=``, ``~``, ``>``, ``<``... and bare ``key``
    need the key's last name.  Several ``=`` on one key are alternatives.
    Negations and ``level=`` (which compares level names loosely) need
    nothing.
    """
    equal: dict[str, list[str]] = {}
    groups = []
    names = []
    for condition in conditions:
        key, op = condition.key, condition.op
        if key == "level":
            continue
        if op in ("=", "~", ">", ">=", "<", "<=", "present"):
            names.append(key.rsplit(".", 1)[-1])
        if op == "=":
            equal.setdefault(key, []).append(condition.value or "")
        elif op == "~" and condition.pattern is not None:
            group = _grep_group(condition.pattern)
            if group is not None:
                groups.append(group)
    for values in equal.values():
        if all(usable(value) for value in values):
            groups.append((False, False, tuple(dict.fromkeys(values))))
    # (A key is in the record's bytes as itself, or escaped with \u00XX.)
    groups.extend((False, False, (name,)) for name in dict.fromkeys(names) if usable(name))
    return groups


def _grep_group(pattern: re.Pattern[str]) -> _Group | None:
    icase = bool(pattern.flags & re.IGNORECASE)
    branches = literal_runs(pattern)
    needles = []
    fold = False
    for runs in branches:
        if not runs:
            return None
        best = max(runs, key=len)
        if icase:
            best = best.lower()
            # Ignoring case, i, k and s also match non-ASCII letters, which
            # would have to be looked for too: prefer a piece without them.
            pieces = [p for run in runs for p in _FOLDING_SPLIT.split(run.lower())]
            piece = max((p for p in pieces if usable(p)), key=len, default="")
            if len(piece) >= min(3, len(best)):
                best = piece
            else:
                fold = fold or _FOLDING_SPLIT.search(best) is not None
        needles.append(best)
    if not needles:
        return None
    return (icase, fold, tuple(dict.fromkeys(needles)))


def literal_runs(pattern: re.Pattern[str]) -> list[list[str]]:
    """Plain text that every match of *pattern* contains, per alternative.

    Reads the regex's parse tree: for the whole pattern, or for each branch
    of a top-level alternation, the runs of plain characters it must match
    that can be looked for in raw records (see :func:`usable`).  An empty
    list means "unknown"; so does an empty list for one branch.
    """
    try:
        from re import _parser  # type: ignore[attr-defined]
    except ImportError:  # Python 3.10
        import sre_parse as _parser
    try:
        tree = list(_parser.parse(pattern.pattern, pattern.flags))
    except Exception:  # noqa: BLE001 - a private API: any surprise means "unknown"
        return []
    while len(tree) == 1 and str(tree[0][0]) == "SUBPATTERN":
        _group, add, remove, inner = tree[0][1]
        if add or remove:
            break
        tree = list(inner)
    branches = [tree]
    if len(tree) == 1 and str(tree[0][0]) == "BRANCH":
        branches = [list(branch) for branch in tree[0][1][1]]
    return [_runs(branch) for branch in branches]


def _runs(items: list[Any]) -> list[str]:
    runs = []
    run: list[str] = []
    for op, value in [*items, (None, None)]:
        name = str(op)
        if name == "LITERAL" and chr(value) in _NEEDLE_CHARS:
            run.append(chr(value))
            continue
        if name == "AT":  # zero-width (^, $, \\b): the run goes on
            continue
        text = "".join(run)
        if usable(text):
            runs.append(text)
        run = []
    return runs


# The server-side half, shared by the BACKLOG and SCAN scripts.  It only rejects
# records that the client's full query rejects too (the client re-checks every
# record it gets back), so it may keep too much but never drops a match.
# ARGV from index F on:
#   min levelno, max levelno, since, until ('' when unset), group count, then
#   per group: ignore case '1'/'0', fold '1'/'0', needle count, needles.
# A record passes a group when one of its needles occurs in the record
# (lower-cased when ignoring case), or when it holds a \u00XX escape (which
# could spell a needle's character); the note above :func:`usable` explains
# why that is safe.  With fold set, records holding the non-ASCII letters that Python's
# case-insensitive matching ties to i, k and s (U+0130, U+0131, U+212A,
# U+017F; raw or \u-escaped) pass too.
# Then: logger count, loggers, test count, then per test: condition count,
# then per condition: op, key, value, number ('' when not one), needle count,
# needles (see _field_tests).  When a record passes the needles and there are
# loggers or tests, it is decoded with cjson and kept unless that proves the
# client's Query rejects it: a condition that cannot be decided the way
# Python decides it (a number beyond 2^53, which cjson holds as a double; a
# JSON text compared as text; a non-ASCII path part where a list is) counts
# as passing, and so does a record cjson cannot decode.  Before decoding, a
# test fails on the bytes alone when each of its conditions is = or a
# comparison on a plain key name and every "key": in the record (the
# top-level one among them, unless a \u escape could spell it) is followed by
# a plain number that fails the condition: most records never get decoded.
# Levels and times are read from redislog's own record head (record.HEAD:
# {"ts":...,"level":"...","levelno":N,...), only when no second "ts" or
# "levelno" key follows (JSON decoders keep the last duplicate), and times
# are scaled like entry.timestamp() (milli-, micro-, nanoseconds).  Records
# without that head stay candidates.
LUA = r"""
local find, byte, lower, match = string.find, string.byte, string.lower, string.match
local tonumber, abs = tonumber, math.abs
local minlv = tonumber(ARGV[F])
local maxlv = tonumber(ARGV[F + 1])
local since = tonumber(ARGV[F + 2])
local untl = tonumber(ARGV[F + 3])
local groups = {}
local a = F + 5
for g = 1, tonumber(ARGV[F + 4]) do
  local m = tonumber(ARGV[a + 2])
  local needles = {}
  for j = 1, m do
    needles[j] = ARGV[a + 2 + j]
  end
  groups[g] = {ARGV[a] == '1', ARGV[a + 1] == '1', needles}
  a = a + 3 + m
end
local ngroups = #groups
local loggers = {}
for j = 1, tonumber(ARGV[a]) do
  loggers[j] = ARGV[a + j]
end
a = a + 1 + #loggers
local tests = {}
for g = 1, tonumber(ARGV[a]) do
  local test = {}
  for c = 1, tonumber(ARGV[a + 1]) do
    local key, m = ARGV[a + 3], tonumber(ARGV[a + 6])
    local parts = nil
    if find(key, '.', 1, true) then
      parts = {}
      local i = 1
      while true do
        local j = find(key, '.', i, true)
        if not j then
          parts[#parts + 1] = key:sub(i)
          break
        end
        parts[#parts + 1] = key:sub(i, j - 1)
        i = j + 1
      end
    end
    local needles = {}
    for j = 1, m do
      needles[j] = ARGV[a + 6 + j]
    end
    local op, number = ARGV[a + 2], tonumber(ARGV[a + 5])
    local plain = nil
    if not parts and match(key, '^[%w_-]+$') and (op == '=' or (number and (op == '>'
        or op == '>=' or op == '<' or op == '<='))) then
      plain = '"' .. key .. '"'
    end
    test[c] = {op = op, key = key, parts = parts, value = ARGV[a + 4], number = number,
      needles = needles, plain = plain}
    a = a + 5 + m
  end
  tests[g] = test
  a = a + 1
end
local ntests, nloggers = #tests, #loggers
local decode = nil
if ntests > 0 or nloggers > 0 then
  decode = cjson.decode
end
local MISSING, UNKNOWN = {}, {}
local BIG = 2 ^ 53
-- The value at a condition's key, as filters.lookup finds it.
local function lookup(t, c)
  local v = t[c.key]
  if v ~= nil then
    return v
  end
  local parts = c.parts
  if not parts then
    return MISSING
  end
  v = t
  for i = 1, #parts do
    if type(v) ~= 'table' then
      return MISSING
    end
    local p = parts[i]
    local w = v[p]
    if w == nil and match(p, '^%d+$') then
      w = v[tonumber(p) + 1]
    end
    if w == nil then
      if find(p, '[\128-\255]') then
        return UNKNOWN  -- Python's isdigit knows other digits
      end
      return MISSING
    end
    v = w
  end
  return v
end
-- Whether the value's text equals c.value (nil: cannot tell).
local function equal(c, v, kind)
  if kind == 'string' then
    return v == c.value
  elseif kind == 'number' then
    if v ~= v or abs(v) >= BIG then
      return nil
    end
    return c.number ~= nil and v == c.number
  elseif kind == 'boolean' then
    return (v and 'true' or 'false') == c.value
  elseif kind == 'table' then
    local first = byte(c.value, 1)
    if first == 123 or first == 91 then
      return nil
    end
    return false
  end
  return c.value == 'null'
end
-- A string's number as Python's float() reads it: nil when that is not
-- sure, false when it is surely not a finite number.
local function numeric(s)
  local text = match(s, '^%s*([+-]?[%d.]+[eE]?[+-]?%d*)%s*$')
  if text then
    local n = tonumber(text)
    if n and n == n and abs(n) ~= math.huge then
      return n
    end
    return nil
  end
  if find(s, '[%d\128-\255]') then
    return nil
  end
  return false
end
-- Whether a number n satisfies a comparison or = condition.
local function holds(c, n)
  local op, limit = c.op, c.number
  if op == '=' then
    return limit ~= nil and n == limit
  elseif op == '>' then
    return n > limit
  elseif op == '>=' then
    return n >= limit
  elseif op == '<' then
    return n < limit
  end
  return n <= limit
end
-- Whether the decoded record t may satisfy condition c.
local function may(c, t)
  local v = lookup(t, c)
  if v == UNKNOWN then
    return true
  end
  local op = c.op
  if v == MISSING then
    return op == '!=' or op == 'absent'
  end
  if op == 'present' then
    return true
  elseif op == 'absent' then
    return false
  end
  local kind = type(v)
  if op == '=' or op == '!=' then
    local same = equal(c, v, kind)
    if same == nil then
      return true
    end
    return same == (op == '=')
  elseif op == '~' then
    local needles = c.needles
    if kind ~= 'string' or #needles == 0 then
      return true
    end
    for j = 1, #needles do
      if find(v, needles[j], 1, true) then
        return true
      end
    end
    return false
  end
  local n
  if kind == 'number' then
    if v ~= v then
      return false
    end
    if abs(v) >= BIG then
      return true
    end
    n = v
  elseif kind == 'string' then
    n = numeric(v)
    if n == nil then
      return true
    elseif n == false then
      return false
    end
  else
    return false
  end
  return holds(c, n)
end
local LOGGER_KEYS = {'logger', 'logger_name', 'log.logger'}
-- The record's logger as entry.decode finds it (UNKNOWN for a number).
local function logger_of(t)
  for i = 1, 3 do
    local v = t[LOGGER_KEYS[i]]
    local kind = type(v)
    if kind == 'string' then
      return v
    elseif kind == 'number' then
      return UNKNOWN
    end
  end
  if t['name'] ~= nil and (t['levelname'] ~= nil or t['v'] ~= nil) then
    local v = t['name']
    if type(v) == 'string' then
      return v
    elseif type(v) == 'number' then
      return UNKNOWN
    end
  end
  return nil
end
-- Whether condition c surely fails on el's bytes alone (without decoding):
-- its key is a plain name and every place "key": appears in el (the
-- top-level key among them, when el holds no \u escape that could spell
-- it) holds a plain number that fails it.
local function fails_plainly(el, c)
  local pattern = c.plain
  if not pattern then
    return false
  end
  local at = 1
  while true do
    local _, stop = find(el, pattern, at, true)
    if not stop then
      return true
    end
    local text = match(el, '^%s*:%s*(-?%d+%.?%d*[eE]?[+-]?%d*)%s*[,}%]]', stop + 1)
    if text then
      local n = tonumber(text)
      if not n or n ~= n or abs(n) >= BIG or holds(c, n) then
        return false
      end
    elseif find(el, '^%s*:', stop + 1) then
      return false  -- the key, with a value that is not a plain number
    end
    at = stop + 1
  end
end
-- Whether the record el may pass the loggers and field tests.
local function decided(el)
  if not find(el, '\\u', 1, true) then
    for g = 1, ntests do
      local test = tests[g]
      local fails = true
      for c = 1, #test do
        if not fails_plainly(el, test[c]) then
          fails = false
          break
        end
      end
      if fails then
        return false
      end
    end
  end
  local ok, t = pcall(decode, el)
  if not ok then
    return true
  end
  if type(t) ~= 'table' then
    return false
  end
  if nloggers > 0 then
    local name = logger_of(t)
    if name == nil then
      return false
    end
    if name ~= UNKNOWN then
      local hit = false
      for j = 1, nloggers do
        local l = loggers[j]
        if name == l or (#name > #l and byte(name, #l + 1) == 46 and name:sub(1, #l) == l) then
          hit = true
          break
        end
      end
      if not hit then
        return false
      end
    end
  end
  for g = 1, ntests do
    local test = tests[g]
    local pass = false
    for c = 1, #test do
      if may(test[c], t) then
        pass = true
        break
      end
    end
    if not pass then
      return false
    end
  end
  return true
end
local headed = minlv or maxlv or since or untl
local HEAD = '^{"ts":([%d%.eE+-]+),"level":"[^"\\]*","levelno":(%-?%d+)()[,}]'
local function seconds(n)
  if not n or n ~= n then
    return nil
  end
  for _ = 1, 3 do
    if abs(n) < 1e11 then
      break
    end
    n = n / 1000
  end
  if n >= 0 and n < 1e11 then
    return n
  end
  return nil
end
local function single(el, stop)
  return not find(el, '"ts":', stop, true) and not find(el, '"levelno":', stop, true)
end
local function folded(el)
  return find(el, '\196', 1, true) or find(el, '\197', 1, true)
    or find(el, '\226', 1, true) or find(el, '\\u', 1, true)
end
local cur_ts = nil
-- Returns whether el is a candidate; sets cur_ts to its head time (or nil).
local function keep(el)
  cur_ts = nil
  if headed then
    local t, lv, stop = match(el, HEAD)
    if t then
      cur_ts = seconds(tonumber(t))
      lv = tonumber(lv)
      local ts = cur_ts
      if ((minlv and lv < minlv) or (maxlv and lv > maxlv)
          or (ts and ((since and ts < since) or (untl and ts > untl))))
          and single(el, stop) then
        return false
      end
    end
  end
  local low = nil
  for g = 1, ngroups do
    local group = groups[g]
    local hay = el
    if group[1] then
      low = low or lower(el)
      hay = low
    end
    local needles = group[3]
    local hit = false
    for j = 1, #needles do
      if find(hay, needles[j], 1, true) then
        hit = true
        break
      end
    end
    if not hit and not find(el, '\\u00', 1, true) and not (group[2] and folded(el)) then
      return false
    end
  end
  if decode then
    return decided(el)
  end
  return true
end
-- Finds the anchor element at index pos or after it (records pushed at the
-- head move older ones to higher indices).  Returns its index, else nil and
-- the index to resume from (-1 once past the end of the list).
local function relocate(key, pos, anchor, budget)
  if redis.call('LINDEX', key, pos) == anchor then
    return pos
  end
  local from = pos + 1
  while budget > 0 do
    local window = redis.call('LRANGE', key, from, from + 999)
    if #window == 0 then
      return nil, -1
    end
    for i = 1, #window do
      if window[i] == anchor then
        return from + i - 1
      end
    end
    from = from + #window
    budget = budget - #window
  end
  return nil, from
end
-- Appends the candidates among records to out; returns the newest head time
-- seen, as text ('' if none).
local function filter(records, out)
  local maxts = nil
  for i = 1, #records do
    if keep(records[i]) then
      out[#out + 1] = records[i]
    end
    if cur_ts and (not maxts or cur_ts > maxts) then
      maxts = cur_ts
    end
  end
  if maxts then
    return string.format('%.17g', maxts)
  end
  return ''
end
"""
