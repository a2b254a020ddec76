"""Everything the viewer reads from Redis: keys, tails, consumers, search, ``ls``.

Nothing here prints.  Records come back as :class:`~redislog.entry.Entry`
objects in batches; notices for the user (reconnecting, records missed) go to
a *notify* callback as plain text, which the caller escapes and shows.

A :class:`Tail` is non-destructive.  It registers with the ``ATTACH`` script,
which also snapshots the list at that instant, reads the backlog from the
snapshot in bounded windows (``BACKLOG``), then pops the private inbox that
every writer fills (``keys`` explains the layout).  So the backlog and the
live records meet with no gap and no overlap, and any number of tails see
every record.  Heartbeats keep the registration alive (a killed tail's inbox
expires by itself), report records the inbox lost because the tail was slow,
and pick up log keys that appear later and match the tail's globs.  After a
lost connection or registration, the tail registers again and finds its
place in the list by the last record it saw.

A :class:`Consumer` pops the log lists themselves (oldest first): each record
goes to exactly one consumer.

A :class:`Search` scans stored records newest first in bounded windows (a
PING sent meanwhile waits a few milliseconds at most), pre-filters them
cheaply before decoding (see :func:`prefilter`), and stops early once
records are older than ``--since``.

Records are matched and shown after ``entry.decode``; repeats of a record id
(a retried write can land twice) are dropped from a bounded memory of recent
ids.

Redis Cluster: every key one script touches shares its log key's slot, so
each log key is read on its own node; a cluster refuses one ``BRPOP`` over
keys of several slots, so there tails and consumers block per slot, each on
a thread and connection of its own (see :class:`_Pops`).  Pipelines of
per-key commands (``ls``, resolving globs) are split by node by redis-py.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import queue
import random
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Protocol

import redis

from redislog import keys as keyspace
from redislog import scripts
from redislog.connection import ERRORS, Client, describe, is_cluster, transient
from redislog.entry import Entry, decode

#: Seconds a tail's registration lives without a heartbeat.
TTL = 30.0
#: Seconds between heartbeats.
HEARTBEAT_EVERY = 5.0
#: Seconds one BRPOP blocks; the socket timeout must be longer.
BLOCK = 2.0
#: Socket timeout of the reader's connections (BRPOP included).
SOCKET_TIMEOUT = BLOCK + 3.0
#: Records popped per call after a BRPOP wakes up.
DRAIN = 1000
#: Newest records read when a tail re-registers, to find where it left off.
RESUME = 5000
#: Record ids remembered to drop repeats (a retried write may land twice).
REMEMBER = 100_000
#: List elements compared per call while looking for a moved anchor.
RELOCATE_BUDGET = 20_000

_WINDOW = 5000
# Windows fetched ahead while one is checked (search on a local server).
# More than one did not help: checking holds the GIL, fetching mostly not.
_AHEAD = 1
_WINDOW_MIN = 500
_WINDOW_MAX = 20_000
# Aim for script calls of about this many seconds: a PING sent meanwhile
# waits at most that long (plus one window's overshoot while adapting).
_CALL_TARGET = 0.010

_GLOB = re.compile(r"[*?\[]")
# Letters that Python's case-insensitive matching ties to non-ASCII letters.
_FOLDING_SPLIT = re.compile("[iks]")

Connect = Callable[[float], Client]
Notify = Callable[[str], None]


class ReaderError(Exception):
    """A failure to report in one line: no such key, wrong type, refused."""


def _quiet(message: str) -> None:
    pass


def _twin(client: Client, connect: Connect, timeout: float) -> Client:
    """A client for the same server as *client*, on new connections with
    *timeout* (for one server, without starting the embedded server, as
    connecting would)."""
    if is_cluster(client):
        return connect(timeout)
    assert isinstance(client, redis.Redis)
    pool = client.connection_pool
    kwargs = {**pool.connection_kwargs, "socket_timeout": timeout}
    kwargs["socket_connect_timeout"] = timeout
    # (A Sentinel pool's connections find the master through the pool's
    # proxy, which rides along in the connection arguments.)
    return redis.Redis(
        connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs)
    )


# -- keys ---------------------------------------------------------------------


def is_glob(pattern: str) -> bool:
    """Whether *pattern* holds glob characters (``*``, ``?``, ``[``)."""
    return _GLOB.search(pattern) is not None


def indexed(client: Client) -> list[str]:
    """The log keys in the index, sorted."""
    members: Any = client.smembers(keyspace.INDEX)
    return sorted(keyspace.decoded(member) for member in members)


def resolve(client: Client, patterns: Sequence[str], notify: Notify = _quiet) -> list[str]:
    """The log keys that *patterns* name, in order, without repeats.

    No pattern means every key in the index.  Globs match the index.  A key
    that globs (or the index) name but that holds another Redis type is
    skipped with a notice.

    Raises:
        ReaderError: a key that does not exist, holds another type, or a glob
            that matches nothing.
    """
    members = indexed(client)
    chosen: list[tuple[str, bool]] = []
    if not patterns:
        if not members:
            raise ReaderError(
                "no log keys on this server yet (nothing has logged here; see `redislog info`)"
            )
        chosen = [(member, False) for member in members]
    for pattern in patterns:
        if is_glob(pattern):
            found = [m for m in members if fnmatchcase(m, pattern)]
            if not found:
                raise ReaderError(f"no log key matches '{pattern}' (see `redislog ls`)")
            chosen.extend((member, False) for member in found)
        else:
            if pattern == keyspace.INDEX:
                raise ReaderError(f"'{pattern}' is redislog's index, not a log key")
            chosen.append((pattern, True))
    seen: set[str] = set()
    unique = []
    for name, explicit in chosen:
        if name not in seen:
            seen.add(name)
            unique.append((name, explicit))
    pipe = client.pipeline(transaction=False)
    for name, _ in unique:
        pipe.type(keyspace.encoded(name))
    kinds = [keyspace.decoded(kind) for kind in pipe.execute()]
    result = []
    for (name, explicit), kind in zip(unique, kinds, strict=True):
        if kind == "list":
            result.append(name)
        elif kind == "none":
            if explicit and name not in members:
                raise ReaderError(f"no such log key '{name}' (see `redislog ls`)")
            result.append(name)  # indexed but empty: consumed or not written yet
        elif explicit:
            raise ReaderError(f"'{name}' holds a Redis {kind}, not a log list")
        else:
            notify(f"skipping '{name}': it holds a Redis {kind}, not a log list")
    if not result:
        raise ReaderError("none of the keys holds a log list (see `redislog ls`)")
    return result


# -- the pre-filter ----------------------------------------------


class QueryLike(Protocol):
    """The parts of ``filters.Query`` the reader needs."""

    @property
    def min_level(self) -> int | None: ...
    @property
    def max_level(self) -> int | None: ...
    @property
    def loggers(self) -> tuple[str, ...]: ...
    @property
    def grep(self) -> re.Pattern[str] | None: ...
    @property
    def conditions(self) -> tuple[Any, ...]: ...
    @property
    def since(self) -> float | None: ...
    @property
    def until(self) -> float | None: ...
    @property
    def empty(self) -> bool: ...
    def matches(self, entry: Entry) -> bool: ...


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
    groups: tuple[tuple[bool, bool, tuple[str, ...]], ...] = ()

    def args(self) -> list[str]:
        """The arguments of the scripts' filter (see ``scripts._FILTER``)."""
        out = [_arg(self.min_level), _arg(self.max_level)]
        out += [_arg(self.since), _arg(self.until), str(len(self.groups))]
        for icase, fold, needles in self.groups:
            out += ["1" if icase else "0", "1" if fold else "0"]
            out += [str(len(needles)), *needles]
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
# not match: the client matches the decoded message (or logger).  When that
# is a JSON string in the record, its text appears verbatim in the raw bytes
# as long as the needle holds no character a JSON encoder may escape.  When
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


def prefilter(query: QueryLike | None) -> Prefilter:
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
    return Prefilter(
        min_level=query.min_level,
        max_level=query.max_level,
        since=query.since,
        until=query.until,
        groups=tuple(groups),
    )


def _condition_groups(conditions: Sequence[Any]) -> list[tuple[bool, bool, tuple[str, ...]]]:
    """Needles for field conditions (see ``filters.Condition``).

    ``key=text`` needs the text (the value's text equals it: a string, or
    true/false/null; numbers never pass :func:`usable`); ``key~regex`` needs
    the regex's plain text; ``>``, ``<``... and bare ``key`` need the key's
    last name.  Several ``=`` on one key are alternatives.  Negations and
    ``level=`` (which compares level names loosely) need nothing.
    """
    equal: dict[str, list[str]] = {}
    groups = []
    for condition in conditions:
        key, op = condition.key, condition.op
        if key == "level":
            continue
        if op == "=":
            equal.setdefault(key, []).append(condition.value or "")
        elif op == "~" and condition.pattern is not None:
            group = _grep_group(condition.pattern)
            if group is not None:
                groups.append(group)
        elif op in (">", ">=", "<", "<=", "present"):
            name = key.rsplit(".", 1)[-1]
            if usable(name):
                groups.append((False, False, (name,)))
    for values in equal.values():
        if all(usable(value) for value in values):
            groups.append((False, False, tuple(dict.fromkeys(values))))
    return groups


def _grep_group(pattern: re.Pattern[str]) -> tuple[bool, bool, tuple[str, ...]] | None:
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


# -- small helpers ----------------------------------------------------------------


class _Recent:
    """The ids of the last *size* records seen, to drop repeats."""

    def __init__(self, size: int = REMEMBER) -> None:
        self._size = size
        self._set: set[str] = set()
        self._order: deque[str] = deque()

    def fresh(self, entry: Entry) -> bool:
        """False if *entry* repeats a record seen recently."""
        record_id = entry.id
        if record_id is None:
            return True
        if record_id in self._set:
            return False
        self._set.add(record_id)
        self._order.append(record_id)
        if len(self._order) > self._size:
            self._set.discard(self._order.popleft())
        return True


class _Pacer:
    """Sizes read windows so each script call takes about ``_CALL_TARGET``."""

    def __init__(self, size: int = _WINDOW) -> None:
        self.size = size

    def measure(self, elapsed: float, count: int) -> None:
        if count < self.size // 2 or elapsed <= 0:
            return  # a short window (end of list, filtered) says little
        ideal = count * _CALL_TARGET / elapsed
        # Shrink at once, grow gently.
        size = min(ideal, self.size * 1.5)
        self.size = int(max(_WINDOW_MIN, min(_WINDOW_MAX, size)))


def _sort_keys(entries: Iterable[Entry], start: float) -> Iterator[tuple[float, Entry]]:
    """Pairs (time, entry) for merging; untimed entries keep the last time
    (*start* before the first)."""
    last = start
    for entry in entries:
        if entry.ts is not None:
            last = entry.ts
        yield last, entry


def _merge(streams: Sequence[Iterable[Entry]], *, newest_first: bool = False) -> Iterator[Entry]:
    """Merge per-key streams by time, keeping each stream's own order."""
    if len(streams) == 1:
        yield from streams[0]
        return
    start = float("inf") if newest_first else float("-inf")
    pairs = [_sort_keys(stream, start) for stream in streams]
    for _, entry in heapq.merge(*pairs, key=lambda pair: pair[0], reverse=newest_first):
        yield entry


def _batches(entries: Iterable[Entry], size: int = 1000) -> Iterator[list[Entry]]:
    batch: list[Entry] = []
    for entry in entries:
        batch.append(entry)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


class _Pops:
    """Blocking pops from several lists: (list, records) as records arrive.

    On one server a single BRPOP waits on every list, rotated so a busy one
    cannot starve the others.  A cluster refuses a BRPOP whose keys span hash
    slots, so there each slot's lists get a thread that blocks on a
    connection of its own; what the threads pop meets in *arrived*, which
    outlives this object, so records popped just before a failure are still
    delivered after reconnecting.

    Args:
        client: a connected client (its socket timeout must exceed *block*).
        names: the lists.
        block: seconds one BRPOP blocks.
        drain: most records taken per list after a BRPOP wakes up.
        arrived: where the threads put what they pop (cluster only).
    """

    def __init__(
        self,
        client: Client,
        names: Sequence[bytes],
        *,
        block: float,
        drain: int,
        arrived: queue.SimpleQueue[tuple[_Pops, Any]],
    ) -> None:
        self._client = client
        self._block = block
        self._drain = drain
        self._arrived = arrived
        self._stopped = threading.Event()
        self._order = deque(names)
        if not is_cluster(client):
            return
        slots: dict[int, list[bytes]] = {}
        for name in names:
            slots.setdefault(client.keyslot(name), []).append(name)  # type: ignore[union-attr]
        for group in slots.values():
            threading.Thread(
                target=self._follow, args=(deque(group),), name="redislog-pop", daemon=True
            ).start()

    def _pop(self, order: deque[bytes]) -> tuple[bytes, list[bytes]] | None:
        client = self._client
        reply: Any = client.brpop(list(order), timeout=self._block)
        order.rotate(-1)
        if reply is None:
            return None
        name, raw = reply
        more: Any = client.rpop(name, self._drain)
        return name, [raw, *(more or ())]

    def _follow(self, order: deque[bytes]) -> None:
        while not self._stopped.is_set():
            try:
                popped = self._pop(order)
            except Exception as exc:  # noqa: BLE001 - handed to the reading thread
                self._arrived.put((self, exc))
                return
            if popped is not None:
                self._arrived.put((self, popped))

    def next(self) -> tuple[bytes, list[bytes]] | None:
        """The next list and its records, or None after *block* seconds.

        Raises:
            what a pop raised.
        """
        if not is_cluster(self._client):
            return self._pop(self._order)
        deadline = time.monotonic() + self._block
        while True:
            try:
                source, item = self._arrived.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if isinstance(item, BaseException):
                if source is self:
                    raise item
                continue  # from threads stopped before a reconnection
            return item  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop the threads (each ends when its BRPOP returns)."""
        self._stopped.set()


# -- tail ---------------------------------------------------------------------


@dataclass(eq=False)
class _Registration:
    key: str
    tail_id: str
    log: bytes = b""
    tails: bytes = b""
    inbox: bytes = b""
    gaps: bytes = b""
    # Pushes since ATTACH that the server cannot count for us: records popped
    # from the inbox, gaps already reported, corrections for foreign pushes.
    base: int = 0
    attached: bool = False
    last_raw: bytes | None = None

    def __post_init__(self) -> None:
        self.log = keyspace.encoded(self.key)
        self.tails = keyspace.encoded(keyspace.tails(self.key))
        self.inbox = keyspace.encoded(keyspace.inbox(self.key, self.tail_id))
        self.gaps = keyspace.encoded(keyspace.gaps(self.key))


@dataclass
class _Window:
    status: int
    read: int = 0
    oldest: bytes = b""
    maxts: float | None = None
    candidates: list[bytes] = field(default_factory=list)


class Tail:
    """The newest records of some log keys, then every new one as it arrives.

    Args:
        client: a connected client (its socket timeout must exceed ``BLOCK``).
        connect: makes a new client with the given socket timeout (used to
            reconnect).
        keys: the log keys.
        lines: how many of the newest matching records to show first
            (``None`` for all of them).
        follow: keep following after the backlog.
        query: only records it matches are returned (``None`` for all).
        notify: receives one-line notices for the user.
        where: how to name the server in notices.
        ttl: seconds the registration lives without a heartbeat.
        heartbeat: seconds between heartbeats.
        block: seconds one BRPOP blocks.
        window: records read per backlog window, at first (it adapts).
        watch: globs over the index: log keys that appear later and match
            one are followed too (``*`` for every key).
    """

    def __init__(
        self,
        client: Client,
        connect: Connect,
        keys: Sequence[str],
        *,
        lines: int | None = 10,
        follow: bool = True,
        query: QueryLike | None = None,
        notify: Notify = _quiet,
        where: str = "the server",
        ttl: float = TTL,
        heartbeat: float = HEARTBEAT_EVERY,
        block: float = BLOCK,
        window: int = _WINDOW,
        watch: Sequence[str] = (),
    ) -> None:
        self.tail_id = secrets.token_hex(8)
        self._watch = list(watch)
        self._new: list[_Registration] = []
        self._client = client
        self._connect = connect
        self._regs = [_Registration(key, self.tail_id) for key in keys]
        self._lines = lines
        self._follow = follow
        self._query = query if query is not None and not query.empty else None
        self._pre = prefilter(self._query)
        self._pre_args = self._pre.args()
        self._notify = notify
        self._where = where
        self._ttl_ms = int(ttl * 1000)
        self._beat_every = heartbeat
        self._block = block
        self._next_beat = 0.0
        self._recent = _Recent()
        self._pacer = _Pacer(window)
        self._started = time.time()
        self._closed = False
        self._arrived: queue.SimpleQueue[tuple[_Pops, Any]] = queue.SimpleQueue()
        self._scripts(client)

    def _scripts(self, client: Client) -> None:
        self._attach_script = client.register_script(scripts.ATTACH)
        self._backlog_script = client.register_script(scripts.BACKLOG)
        self._heartbeat_script = client.register_script(scripts.HEARTBEAT)

    @property
    def keys(self) -> list[str]:
        """The log keys this tail reads."""
        return [reg.key for reg in self._regs]

    def batches(self) -> Generator[list[Entry], None, None]:
        """Batches of records, oldest first; unregisters when done.

        Raises:
            ReaderError: Redis refused something for good.
        """
        try:
            yield from self._run()
        finally:
            self.close()

    def close(self) -> None:
        """Unregister (idempotent; best effort, it never raises)."""
        if self._closed:
            return
        self._closed = True
        regs = [reg for reg in self._regs if reg.attached]
        client = None
        try:
            if regs:
                # The old connection may be mid-reply (interrupted): use a new one.
                client = _twin(self._client, self._connect, 1.0)
                pipe = client.pipeline(transaction=False)
                for reg in regs:
                    pipe.zrem(reg.tails, self.tail_id)
                    pipe.delete(reg.inbox)
                    pipe.hdel(reg.gaps, self.tail_id)
                pipe.execute()
        except Exception:  # noqa: BLE001 - the registration expires by itself
            pass
        finally:
            for reg in regs:
                reg.attached = False
            if client is not None:
                client.close()
            self._client.close()

    # -- the run ------------------------------------------------------------

    def _matching(self, raws: Iterable[bytes], key: str) -> Iterator[Entry]:
        query = self._query
        for raw in raws:
            entry = decode(raw, key)
            if query is None or query.matches(entry):
                yield entry

    def _fresh(self, entries: Iterable[Entry]) -> list[Entry]:
        fresh = self._recent.fresh
        return [entry for entry in entries if fresh(entry)]

    def _run(self) -> Iterator[list[Entry]]:
        try:
            snapshots = [self._attach(reg, self._first_count()) for reg in self._regs]
            self._next_beat = time.monotonic() + self._beat_every
            for batch in _batches(self._backlog(snapshots)):
                batch = self._fresh(batch)
                if batch:
                    yield batch
        except ERRORS as exc:
            if not transient(exc) or not self._follow:
                raise ReaderError(f"reading from {self._where} failed: {describe(exc)}") from None
            yield from self._recover(exc)
        while self._follow:
            try:
                yield from self._live()
            except ERRORS as exc:
                if not transient(exc):
                    raise ReaderError(
                        f"reading from {self._where} failed: {describe(exc)}"
                    ) from None
                yield from self._recover(exc)

    def _first_count(self) -> int:
        lines = self._lines
        if lines == 0:
            return 0
        if lines is None or self._query is not None:
            return self._pacer.size
        return min(lines, self._pacer.size)

    def _attach(self, reg: _Registration, count: int) -> tuple[int, list[bytes]]:
        reply: Any = self._attach_script(
            keys=[reg.tails],
            args=[reg.log, self.tail_id, self._ttl_ms, count],
            client=self._client,
        )
        reg.base = 0
        reg.attached = True
        records: list[bytes] = list(reply[1:])
        if records:
            reg.last_raw = records[0]
        return int(reply[0]), records

    # -- the backlog -----------------------------------------------------------

    def _backlog(self, snapshots: list[tuple[int, list[bytes]]]) -> Iterator[Entry]:
        lines = self._lines
        if lines == 0:
            return
        regs = list(self._regs)
        if lines is None:
            yield from _merge(
                [self._oldest_first(reg, *snap) for reg, snap in zip(regs, snapshots, strict=True)]
            )
            return
        newest = [
            self._newest_first(reg, *snap, lines) for reg, snap in zip(regs, snapshots, strict=True)
        ]
        chosen: list[Entry] = []
        for entry in _merge(newest, newest_first=True):
            chosen.append(entry)
            if len(chosen) >= lines:
                break
        chosen.reverse()
        yield from chosen

    def _window(
        self, reg: _Registration, lo: int, hi: int, anchor: tuple[int, bytes] | None
    ) -> _Window:
        """Snapshot indices lo..hi of *reg*'s ATTACH snapshot, newest first."""
        while True:
            self._heartbeat()
            if not reg.attached:
                return _Window(-1)
            index, raw = anchor if anchor is not None else (0, b"")
            started = time.monotonic()
            reply: Any = self._backlog_script(
                keys=[reg.tails, reg.inbox, reg.gaps],
                args=[
                    reg.log,
                    self.tail_id,
                    reg.base,
                    lo,
                    hi,
                    "1" if anchor is not None else "0",
                    index,
                    raw,
                    RELOCATE_BUDGET,
                    *self._pre_args,
                ],
                client=self._client,
            )
            status = int(reply[0])
            if status == -1:
                reg.attached = False
                return _Window(-1)
            if status == -3:
                return _Window(-3)
            reg.base += int(reply[3])
            if status == -2:
                continue
            read = int(reply[7])
            self._pacer.measure(time.monotonic() - started, read)
            return _Window(
                0,
                read=read,
                oldest=reply[6],
                maxts=float(reply[4]) if reply[4] else None,
                candidates=list(reply[8:]),
            )

    # How the backlog stays exact while the list changes: ATTACH records the
    # list's length L at the instant of registration, and from then on every
    # record pushed reaches this tail's inbox too.  A snapshot record at
    # index i is therefore at i + P now, where P is the number of pushes
    # since, counted from the inbox side (see scripts.BACKLOG); LTRIM only
    # removes indices >= the cap, so a window that runs past the list's
    # current end lost its oldest records to the cap, and exactly that many
    # are reported.  An anchor record read earlier is checked at its expected
    # index in the same script call, which catches pushes that bypassed the
    # inbox (plain LPUSH by other programs) and corrects P for them.

    def _oldest_first(self, reg: _Registration, length: int, first: list[bytes]) -> Iterator[Entry]:
        """The whole snapshot, oldest first, read in windows from its old end."""
        done = len(first)
        # The anchor is the newest-side record: trimming reaches it last, so
        # when it is gone, so is everything still unread.
        anchor = (done - 1, first[-1]) if first else None
        hi = length - 1
        missing = 0
        while hi >= done:
            lo = max(done, hi - self._pacer.size + 1)
            window = self._window(reg, lo, hi, anchor)
            if window.status == -1:
                self._notify(
                    f"{reg.key}: the tail's registration expired while reading the "
                    "backlog; older records were skipped"
                )
                break
            if window.status == -3:
                missing += hi - done + 1
                break
            missing += hi - lo + 1 - window.read
            yield from self._matching(reversed(window.candidates), reg.key)
            hi = lo - 1
        if missing:
            self._notify(
                f"{reg.key}: {_plural(missing, 'older record was', 'older records were')} "
                "trimmed by the list's cap before they could be read"
            )
        yield from self._matching(reversed(first), reg.key)

    def _newest_first(
        self, reg: _Registration, length: int, first: list[bytes], lines: int
    ) -> list[Entry]:
        """Up to *lines* matching records of the snapshot, newest first."""
        found = list(itertools.islice(self._matching(first, reg.key), lines))
        index = len(first)
        anchor = (index - 1, first[-1]) if first else None
        since = self._pre.since
        while len(found) < lines and index < length:
            size = self._pacer.size
            if self._query is None:
                size = min(size, lines - len(found))
            hi = min(length - 1, index + size - 1)
            window = self._window(reg, index, hi, anchor)
            if window.status != 0:
                break
            for entry in self._matching(window.candidates, reg.key):
                found.append(entry)
                if len(found) >= lines:
                    break
            if window.read < hi - index + 1:
                break  # the rest was trimmed by the cap
            anchor = (hi, window.oldest)
            if since is not None and window.maxts is not None and window.maxts < since:
                break  # everything further is older still
            index = hi + 1
        return found

    # -- live records ------------------------------------------------------------

    def _heartbeat(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._next_beat:
            return
        self._next_beat = now + self._beat_every
        if self._follow and not force:
            self._discover()
        for reg in self._regs:
            if not reg.attached:
                continue
            gap = int(
                self._heartbeat_script(
                    keys=[reg.tails, reg.inbox, reg.gaps],
                    args=[self.tail_id, self._ttl_ms],
                    client=self._client,
                )
            )
            if gap < 0:
                reg.attached = False
            elif gap > 0:
                reg.base += gap
                self._notify(
                    f"{reg.key}: {_plural(gap, 'record', 'records')} dropped from this tail's "
                    "buffer because it read too slowly"
                )

    def _discover(self) -> None:
        """Follow log keys that appeared in the index and match a watched glob."""
        if not self._watch:
            return
        known = {reg.key for reg in self._regs}
        found = [
            name
            for name in indexed(self._client)
            if name not in known and any(fnmatchcase(name, glob) for glob in self._watch)
        ]
        if not found:
            return
        pipe = self._client.pipeline(transaction=False)
        for name in found:
            pipe.type(keyspace.encoded(name))
        for name, kind in zip(found, pipe.execute(), strict=True):
            if keyspace.decoded(kind) in ("list", "none"):
                reg = _Registration(name, self.tail_id)
                self._regs.append(reg)
                self._new.append(reg)
                self._notify(f"now also reading {name}")

    def _live(self) -> Iterator[list[Entry]]:
        by_inbox: dict[bytes, _Registration] = {}
        pops: _Pops | None = None
        try:
            while True:
                self._heartbeat()
                lost = [reg for reg in self._regs if not reg.attached and reg not in self._new]
                if lost:
                    yield from self._reattach(lost, "the tail's registration expired")
                if self._new:
                    new, self._new = self._new, []
                    yield from self._reattach(new, None)
                if pops is None or len(by_inbox) != len(self._regs):
                    by_inbox = {reg.inbox: reg for reg in self._regs}
                    if pops is not None:
                        pops.close()
                    pops = _Pops(
                        self._client, list(by_inbox), block=self._block, drain=DRAIN,
                        arrived=self._arrived,
                    )  # fmt: skip
                popped = pops.next()
                if popped is None:
                    continue
                inbox, raws = popped
                reg = by_inbox[inbox]
                reg.base += len(raws)
                reg.last_raw = raws[-1]
                batch = self._fresh(self._matching(raws, reg.key))
                if batch:
                    yield batch
        finally:
            if pops is not None:
                pops.close()

    def _reattach(self, regs: list[_Registration], why: str | None) -> Iterator[list[Entry]]:
        """Register (again), and return what was logged since the last record
        seen; say *why* records may be missing when that record is gone."""
        streams = []
        for reg in regs:
            previous = reg.last_raw  # the newest record this tail accounted for
            _, records = self._attach(reg, RESUME)
            last = None
            if previous is not None:
                try:
                    last = records.index(previous)
                except ValueError:
                    pass
            if last is not None:
                newer = records[:last]
            else:
                newer = records
                if previous is None:
                    # Nothing was read before: show only what was logged since
                    # the tail started (with some room for clock skew).
                    newer = [
                        raw
                        for raw in records
                        if (ts := decode(raw, reg.key).ts) is None or ts >= self._started - 1
                    ]
                if why is not None:
                    self._notify(f"{reg.key}: {why}; records logged meanwhile may be missing")
            streams.append(list(self._matching(reversed(newer), reg.key)))
        self._next_beat = time.monotonic() + self._beat_every
        for batch in _batches(_merge(streams)):
            batch = self._fresh(batch)
            if batch:
                yield batch

    def _recover(self, exc: BaseException) -> Iterator[list[Entry]]:
        """Reconnect with backoff, then pick up where the tail left off."""

        def ready(client: Client) -> None:
            self._client = client
            self._scripts(client)
            self._heartbeat(force=True)

        _reconnect(self._client, self._connect, self._where, self._notify, exc, ready)
        # Records popped from an inbox just as the connection broke (or that a
        # failover took with the old master) never arrived: catch up from the
        # log itself, after the last record seen.  Those also still waiting in
        # the inbox come again later and are dropped as repeats.
        kept = [reg for reg in self._regs if reg.attached]
        if kept:
            yield from self._reattach(kept, None)
        lost = [reg for reg in self._regs if not reg.attached]
        if lost:
            yield from self._reattach(lost, "the server lost this tail's buffer")


def _reconnect(
    old: Client,
    connect: Connect,
    where: str,
    notify: Notify,
    exc: BaseException,
    ready: Callable[[Client], None] = lambda client: None,
) -> Client:
    """Say the connection was lost, then connect again with backoff until a
    new client answers and *ready* (setup on it) succeeds; return the client."""
    notify(f"lost connection to {where}: {describe(exc)}; reconnecting")
    old.close()
    delay = 0.05
    while True:
        time.sleep(random.uniform(delay / 2, delay))
        delay = min(2.0, delay * 2)
        client = None
        try:
            client = connect(SOCKET_TIMEOUT)
            client.ping()
            ready(client)
        except ERRORS as error:
            if client is not None:
                client.close()
            if not transient(error):
                raise ReaderError(f"cannot reconnect to {where}: {describe(error)}") from None
            continue
        notify(f"reconnected to {where}")
        return client


# -- consume ------------------------------------------------------------------


class Consumer:
    """Pops records off the log lists themselves, oldest first.

    Each record goes to exactly one consumer and leaves the list.  A record
    popped just as the connection breaks is lost with it.

    Args:
        client: a connected client (its socket timeout must exceed ``BLOCK``).
        connect: makes a new client with the given socket timeout.
        keys: the log keys.
        follow: keep waiting for records once the lists are empty.
        notify: receives one-line notices for the user.
        where: how to name the server in notices.
    """

    def __init__(
        self,
        client: Client,
        connect: Connect,
        keys: Sequence[str],
        *,
        follow: bool = True,
        notify: Notify = _quiet,
        where: str = "the server",
        block: float = BLOCK,
    ) -> None:
        self._client = client
        self._connect = connect
        self._keys = list(keys)
        self._follow = follow
        self._notify = notify
        self._where = where
        self._block = block
        self._recent = _Recent()
        self._arrived: queue.SimpleQueue[tuple[_Pops, Any]] = queue.SimpleQueue()

    def batches(self) -> Generator[list[Entry], None, None]:
        """Batches of records, oldest first.

        Raises:
            ReaderError: Redis refused something for good.
        """
        try:
            while True:
                try:
                    yield from self._pop()
                    return
                except ERRORS as exc:
                    if not transient(exc):
                        raise ReaderError(
                            f"reading from {self._where} failed: {describe(exc)}"
                        ) from None
                    self._reconnect(exc)
        finally:
            self._client.close()

    def _batch(self, name: bytes | str, raws: list[bytes]) -> list[Entry]:
        key = keyspace.decoded(name)
        fresh = self._recent.fresh
        return [entry for raw in raws if fresh(entry := decode(raw, key))]

    def _pop(self) -> Iterator[list[Entry]]:
        client = self._client
        if not self._follow:
            while True:
                empty = True
                for key in self._keys:
                    raws: Any = client.rpop(keyspace.encoded(key), DRAIN)
                    if raws:
                        empty = False
                        batch = self._batch(key, raws)
                        if batch:
                            yield batch
                if empty:
                    return
        pops = _Pops(
            client, [keyspace.encoded(key) for key in self._keys], block=self._block,
            drain=DRAIN - 1, arrived=self._arrived,
        )  # fmt: skip
        try:
            while True:
                popped = pops.next()
                if popped is not None:
                    name, raws = popped
                    batch = self._batch(name, raws)
                    if batch:
                        yield batch
        finally:
            pops.close()

    def _reconnect(self, exc: BaseException) -> None:
        self._client = _reconnect(self._client, self._connect, self._where, self._notify, exc)


# -- search -------------------------------------------------------------------


@dataclass
class Progress:
    """How far a search got."""

    scanned: int = 0
    matched: int = 0
    total: int = 0
    #: Keys whose oldest records were trimmed away while being searched.
    trimmed: list[str] = field(default_factory=list)


class Search:
    """Matching stored records, newest first, read in bounded windows.

    Records pushed while searching move older ones up; each window starts
    right after the last record of the previous one (found again by its
    bytes), so nothing is skipped or read twice.  Records trimmed by the cap
    before the search reached them are gone (see ``progress.trimmed``).

    Two ways to pre-filter: when the query has text to look for and the
    server is near (*local*), plain LRANGE windows are checked here, a
    few C-level passes over each window's bytes (cheaper for Redis than any
    script, and no slower over a local socket); otherwise the ``SCAN``
    script filters on the server and only candidates cross the network.

    Args:
        client: a connected client.
        keys: the log keys.
        query: only records it matches are returned (``None`` for all).
        on_window: called after each window with the progress so far.
        where: how to name the server in errors.
        local: the server is on this machine.
        window: records read per window (at first, for the server's filter).
    """

    def __init__(
        self,
        client: Client,
        keys: Sequence[str],
        *,
        query: QueryLike | None = None,
        on_window: Callable[[Progress], None] | None = None,
        where: str = "the server",
        local: bool = False,
        window: int = _WINDOW,
    ) -> None:
        self._client = client
        self._where = where
        self._keys = list(keys)
        self._query = query if query is not None and not query.empty else None
        self._pre = prefilter(self._query)
        self._pre_args = self._pre.args()
        self._on_window = on_window
        self._script = client.register_script(scripts.SCAN)
        self._window = window
        self._pacer = _Pacer(window)
        self._here = local and bool(self._pre.groups)
        self.progress = Progress()

    def newest_first(self) -> Iterator[Entry]:
        """Matching records, newest first, several keys merged by time.

        Raises:
            ReaderError: the server failed or refused.
        """
        try:
            self.progress.total = sum(self._lengths())
            recent = _Recent()
            scan = self._scan_here if self._here else self._scan_there
            streams = [self._matching(scan(key), key) for key in self._keys]
            for entry in _merge(streams, newest_first=True):
                if recent.fresh(entry):
                    self.progress.matched += 1
                    yield entry
        except ERRORS as exc:
            raise ReaderError(f"searching {self._where} failed: {describe(exc)}") from None

    def windows(self, *, here: bool | None = None) -> Iterator[tuple[str, list[bytes]]]:
        """Candidate records of each key in turn, window by window, newest first.

        Not decoded, matched against the query or freed of repeats: for
        callers that read only part of each record (``stats``).

        Args:
            here: read plain windows and pre-filter them here (True) or on the
                server (False); by default, as :meth:`newest_first` does.

        Raises:
            ReaderError: the server failed or refused.
        """
        scan = self._scan_here if (self._here if here is None else here) else self._scan_there
        try:
            self.progress.total = sum(self._lengths())
            for key in self._keys:
                for raws in scan(key):
                    yield key, raws
                    if self._on_window is not None:
                        self._on_window(self.progress)
        except (redis.RedisError, OSError) as exc:
            raise ReaderError(f"searching {self._where} failed: {describe(exc)}") from None

    def _lengths(self) -> list[int]:
        pipe = self._client.pipeline(transaction=False)
        for key in self._keys:
            pipe.llen(keyspace.encoded(key))
        return [int(n) for n in pipe.execute()]

    def _matching(self, windows: Iterator[list[bytes]], key: str) -> Iterator[Entry]:
        query = self._query
        for raws in windows:
            for raw in raws:
                entry = decode(raw, key)
                if query is None or query.matches(entry):
                    yield entry
            if self._on_window is not None:
                self._on_window(self.progress)

    def _scan_there(self, key: str) -> Iterator[list[bytes]]:
        """Candidates of *key*, window by window, filtered by the server."""
        name = keyspace.encoded(key)
        since = self._pre.since
        start = 0
        anchor: bytes | None = None
        while True:
            started = time.monotonic()
            size = self._pacer.size
            reply: Any = self._script(
                keys=[keyspace.encoded(keyspace.meta(key))],
                args=[
                    name,
                    start,
                    size,
                    "1" if anchor is not None else "0",
                    anchor or b"",
                    RELOCATE_BUDGET,
                    *self._pre_args,
                ],
                client=self._client,
            )
            status = int(reply[0])
            if status == -1:
                self.progress.trimmed.append(key)
                return
            if status == -2:
                start = int(reply[1])
                continue
            start = int(reply[1])
            read = int(reply[5])
            self._pacer.measure(time.monotonic() - started, read)
            self.progress.scanned += read
            yield list(reply[6:])
            if read < size:
                return  # the end of the list
            maxts = float(reply[3]) if reply[3] else None
            if since is not None and maxts is not None and maxts < since:
                return  # newest first: everything further is older still
            anchor = reply[4]
            start += read

    def _scan_here(self, key: str) -> Iterator[list[bytes]]:
        """Candidates of *key*, window by window, filtered here.

        The next windows are fetched (on other connections) while this one
        is checked, on the guess that nothing is pushed meanwhile; each
        window starts one record early, and that record (the anchor, the
        last one checked) tells whether the guess held.
        """
        name = keyspace.encoded(key)
        client = self._client
        since = self._pre.since
        size = self._window

        def fetch(first: int) -> list[bytes]:
            return list(client.lrange(name, first, first + size - 1))  # type: ignore[arg-type]

        start = 0
        anchor: bytes | None = None
        with ThreadPoolExecutor(_AHEAD, thread_name_prefix="redislog-search") as pool:
            pending: deque[tuple[int, Future[list[bytes]]]] = deque()
            pending.append((0, pool.submit(fetch, 0)))
            while True:
                first, future = pending.popleft()
                raws = future.result()
                if first != (start if anchor is None else start - 1):
                    pending.clear()  # a guess gone wrong: fetch from here on
                    first = start if anchor is None else start - 1
                    pending.append((first, pool.submit(fetch, first)))
                    continue
                full = len(raws) >= size  # else the window reached the list's end
                if anchor is not None:
                    if not raws or raws[0] != anchor:
                        moved = _index(raws, anchor)
                        if moved is None:
                            if not full:
                                self.progress.trimmed.append(key)
                                return  # the anchor was trimmed, and all before it
                            start += size - 1  # pushed further than one window
                            pending.clear()
                            pending.append((start - 1, pool.submit(fetch, start - 1)))
                            continue
                        start += moved
                        raws = raws[moved:]
                    raws = raws[1:]
                if full:
                    guess = start + len(raws) - 1
                    for queued, _ in pending:
                        guess = queued + size - 1
                    while len(pending) < _AHEAD:
                        pending.append((guess, pool.submit(fetch, guess)))
                        guess += size - 1
                self.progress.scanned += len(raws)
                yield self._pre.candidates(raws)
                if not full or not raws:
                    return
                if since is not None:
                    newest, oldest = decode(raws[0], key).ts, decode(raws[-1], key).ts
                    if newest is not None and oldest is not None and max(newest, oldest) < since:
                        return  # newest first: everything further is older still
                anchor = raws[-1]
                start += len(raws)


def _index(raws: list[bytes], anchor: bytes) -> int | None:
    try:
        return raws.index(anchor)
    except ValueError:
        return None


# -- ls -----------------------------------------------------------------------


def risks(client: Client) -> list[str]:
    """What in the server's configuration can lose logs (nothing if it won't say)."""
    found: list[str] = []
    try:
        aof = bool(client.info("persistence").get("aof_enabled"))
        policy = str(client.info("memory").get("maxmemory_policy", ""))
    except redis.RedisError:  # INFO may be forbidden to this user
        return found
    if not aof:
        try:
            save = client.config_get("save").get("save", "")
        except redis.RedisError:  # so may CONFIG
            save = "?"
        if not save:
            found.append("the server keeps no data on disk: a restart loses every log")
        else:
            found.append("no append-only file: a crash loses records since the last snapshot")
    if policy.startswith("allkeys"):
        found.append(f"maxmemory-policy {policy} can evict whole log lists")
    return found


@dataclass
class LogInfo:
    """One log key as ``redislog ls`` shows it."""

    key: str
    kind: str  # "list", "none" (gone or empty) or another Redis type
    length: int = 0
    maxlen: int | None = None
    oldest: Entry | None = None
    newest: Entry | None = None
    tails: int = 0


def describe_logs(client: Client, patterns: Sequence[str] = ()) -> list[LogInfo]:
    """Length, cap, oldest and newest record and live tails of each log key.

    Raises:
        ReaderError: a glob matches nothing, or a named key does not exist.
    """
    members = indexed(client)
    names: list[str] = []
    if not patterns:
        names = members
    for pattern in patterns:
        if is_glob(pattern):
            found = [m for m in members if fnmatchcase(m, pattern)]
            if not found:
                raise ReaderError(f"no log key matches '{pattern}'")
            names.extend(found)
        else:
            names.append(pattern)
    names = list(dict.fromkeys(names))
    now: Any = client.time()
    now_ms = int(now[0]) * 1000 + int(now[1]) // 1000
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.type(keyspace.encoded(name))
    kinds = [keyspace.decoded(kind) for kind in pipe.execute()]
    pipe = client.pipeline(transaction=False)
    for name, kind in zip(names, kinds, strict=True):
        if kind == "list":
            pipe.llen(keyspace.encoded(name))
            pipe.lindex(keyspace.encoded(name), -1)
            pipe.lindex(keyspace.encoded(name), 0)
        pipe.hget(keyspace.encoded(keyspace.meta(name)), "maxlen")
        pipe.zcount(keyspace.encoded(keyspace.tails(name)), now_ms, "+inf")
    replies = iter(pipe.execute())
    infos = []
    for name, kind in zip(names, kinds, strict=True):
        if kind == "none" and name not in members:
            raise ReaderError(f"no such log key '{name}'")
        info = LogInfo(name, kind)
        if kind == "list":
            info.length = int(next(replies))
            oldest, newest = next(replies), next(replies)
            info.oldest = decode(oldest, name) if oldest is not None else None
            info.newest = decode(newest, name) if newest is not None else None
        maxlen = next(replies)
        info.maxlen = int(maxlen) if maxlen is not None and maxlen.isdigit() else None
        info.tails = int(next(replies))
        infos.append(info)
    return infos
