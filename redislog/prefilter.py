"""The pre-filter: the cheap part of a query, checked on raw records.

Decoding every record is what makes a search slow.  Before decoding, the
records a query cannot match are dropped on their bytes alone: by the level
and time that redislog's own records carry at their start (``record.HEAD``),
by plain text that every match must contain (needles, found in the
query's regexes, logger names and field conditions), by plain numbers
that fail a field's comparison (both here and on the server), and, on the
server, by the field conditions and loggers themselves, tested on the record
as Redis's cjson decodes it (only when the needles let it through).  It never
drops a match: it may keep too much, and every record it keeps is checked
against the full query after decoding.

It runs in two places with one set of arguments (:meth:`Prefilter.args`):
on the server, inside the scripts that read windows of a list
(``scripts.filtering.LUA``,
so only candidates cross the network), or here, a few passes over each
window's bytes (:meth:`Prefilter.candidates`, cheaper for a near server).
"""

from __future__ import annotations

import bisect
import functools
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
    def empty(self) -> bool:
        """Whether it lets every record through."""
        return self == _EVERYTHING

    @property
    def decides(self) -> bool:
        """Whether the server-side filter decodes records (fields or loggers)."""
        return bool(self.tests or self.loggers)

    def args(self) -> list[str]:
        """The arguments of the server-side filter (see ``scripts.filtering``)."""
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

    @functools.cached_property
    def _local(self) -> tuple[tuple[_Group, ...], tuple[_Plain, ...]]:
        """The groups and the plain tests :meth:`candidates` checks: a plain
        test finds its key's name itself, so that name's group goes."""
        plain = tuple(plain for test in self.tests if (plain := _Plain.of(test)) is not None)
        found = {(False, False, (test.key,)) for test in plain}
        return tuple(group for group in self.groups if group not in found), plain

    def candidates(self, raws: list[bytes]) -> list[bytes]:
        """The records of *raws* that hold a needle of every group and may
        pass the field tests that their bytes decide (see :class:`_Plain`)."""
        groups, plain = self._local
        if not groups and not plain:
            return raws
        # One pass per needle over the whole window joined, instead of one per
        # record; a hit's record is found by its offset.  (A hit that spans two
        # records only makes the first a candidate, which the full check drops.)
        joined = b"".join(raws)
        lowered: bytes | None = None
        starts = list(itertools.accumulate(map(len, raws), initial=0))
        keep: set[int] | None = None
        if plain:
            escaped: set[int] = set()
            _occurrences(_searcher(_ESCAPES, joined), b"", starts, escaped)
            for test in plain:
                hits = test.kept(joined, starts) | escaped
                keep = hits if keep is None else keep & hits
                if not keep:
                    return []
        for icase, fold, needles in groups:
            hay = joined
            if icase:
                lowered = joined.lower() if lowered is None else lowered
                hay = lowered
            hits = set()
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


_EVERYTHING = Prefilter()

# A JSON key that no escape but \u spells otherwise.
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = re.compile(rb"\\u")
_COMPARISONS = frozenset((">", ">=", "<", "<="))
#: Numbers from here on may have been rounded by a float (cjson's or here).
_BIG = 2.0**53
# A plain number as the server's filter reads one, followed by the end of
# the value.  (Each optional part starts with a character the part before
# cannot hold: any other shape backtracks for a time cubic in a long run.)
_NUMBER = rb"-?\d+(?:\.\d*)?(?:[eE][+-]?\d*)?(?=\s*[,}\]])"
#: Failing values a plain test skips within its regex, at most.
_SKIPPED = 64
#: Values whose verdict a plain test remembers, at most.
_REMEMBERED = 4096


class _Plain:
    """A field test decided on a record's bytes alone, as the server's filter
    first tries (``fails_plainly`` in ``scripts.filtering``): each of its
    conditions is ``=`` or a comparison with a number on a plain key name,
    and a record fails it when every ``"key":`` in its bytes (the top-level
    one among them, unless a \\u escape spells the key: such records are
    kept) is followed by a plain number that fails every condition.

    Values repeat (a status, a user id): the failing values seen so far are
    skipped by the regex itself, so most windows cost one pass in C.
    """

    def __init__(self, key: str, conditions: tuple[tuple[str, float | None], ...]) -> None:
        self.key = key
        self._conditions = conditions
        self._verdicts: dict[bytes, bool] = {}
        self._failing: list[bytes] = []
        self._suspects = self._pattern()

    @classmethod
    def of(cls, test: _Test) -> _Plain | None:
        """The plain form of *test*, if it has one."""
        keys = {key for _op, key, _value, _number, _needles in test}
        if len(keys) != 1:
            return None
        key = keys.pop()
        conditions = []
        for op, _key, _value, number, _needles in test:
            limit = float(number) if number else None
            if op != "=" and (op not in _COMPARISONS or limit is None):
                return None
            conditions.append((op, limit))
        if _PLAIN_KEY.fullmatch(key) is None or all(limit is None for _, limit in conditions):
            return None  # (no number passes: only the needles can tell)
        return cls(key, tuple(conditions))

    def _pattern(self) -> re.Pattern[bytes]:
        """Each ``"key":`` whose value is not a known failing one, with that
        value: a plain number, or b"" for any other."""
        skip = b""
        if self._failing:
            known = b"|".join(map(re.escape, self._failing))
            skip = rb"(?!(?:%s)(?=\s*[,}\]]))" % known
        # (?!\s): whitespace given back would let a value be skipped or read
        # from within the spaces.
        return re.compile(rb'"%s"\s*:\s*(?!\s)%s(%s|)' % (self.key.encode(), skip, _NUMBER))

    def kept(self, joined: bytes, starts: list[int]) -> set[int]:
        """The indexes of the records (joined, at offsets *starts*) that may pass."""
        kept: set[int] = set()
        learned = False
        verdicts = self._verdicts
        for hit in self._suspects.finditer(joined):
            text = hit[1]
            may = verdicts.get(text)
            if may is None:
                may = self._may(text)
                if len(verdicts) < _REMEMBERED:
                    verdicts[text] = may
                if not may and len(self._failing) < _SKIPPED:
                    self._failing.append(text)
                    learned = True
            if may:
                kept.add(bisect.bisect_right(starts, hit.start()) - 1)
        if learned:
            self._suspects = self._pattern()
        return kept

    def _may(self, text: bytes) -> bool:
        try:
            number = float(text)
        except ValueError:
            return True  # not a plain number (b"") or one no float reads
        if abs(number) >= _BIG:
            return True
        return any(_holds(op, number, limit) for op, limit in self._conditions)


def _holds(op: str, number: float, limit: float | None) -> bool:
    if op == "=":
        return number == limit
    assert limit is not None
    if op == ">":
        return number > limit
    if op == ">=":
        return number >= limit
    if op == "<":
        return number < limit
    return number <= limit


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

    ``key=text`` needs the text, quoted where it can only be a string's
    (see :func:`_value_needle`; numbers need nothing); ``key~regex`` needs
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
        needles = [needle for needle in map(_value_needle, values) if needle is not None]
        if len(needles) == len(values):
            groups.append((False, False, tuple(dict.fromkeys(needles))))
    # (A key is in the record's bytes as itself, or escaped with \u00XX.)
    groups.extend((False, False, (name,)) for name in dict.fromkeys(names) if usable(name))
    return groups


# Printable ASCII that no JSON encoder writes otherwise inside a string,
# but as a \u00XX escape (which keeps the record a candidate anyway).
_STRING_CHARS = frozenset(chr(c) for c in range(0x20, 0x7F) if chr(c) not in '"\\/')


def _value_needle(value: str) -> str | None:
    """What a record whose field text equals *value* holds in its raw bytes.

    Text that is no number, object or list can only be the text of a string
    (or of true, false, null): quoted, it is found only as a whole value,
    which tells ``id=ab:1`` from ``ab:10`` and needs no letter, unlike a
    needle for the message (see :func:`usable`).  (``entry.text_of`` also
    writes an int too long to convert as ``<int of N bits>``: text starting
    with ``<`` is never quoted.)
    """
    if value in ("true", "false", "null"):
        return value
    if all(char in _STRING_CHARS for char in value) and not value.startswith(("{", "[", "<")):
        try:
            float(value)
        except ValueError:
            return f'"{value}"'
    return value if usable(value) else None


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
