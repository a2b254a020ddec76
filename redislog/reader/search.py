"""``redislog search`` (and ``stats``): stored records, newest first, in bounded windows."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from redislog import keys as keyspace
from redislog import prefilter, scripts
from redislog.connection import ERRORS, Client, describe
from redislog.entry import Entry, decode
from redislog.filters import Query
from redislog.reader._shared import WINDOW, Pacer, ReaderError, Recent, effective, matching, merge
from redislog.reader._windows import PlainWindows
from redislog.scripts import WindowStatus

# Field conditions and loggers are checked here, on a local server, when at
# most this share of the newest window holds the query's needles: a script's
# LRANGE costs Redis about 1.5 µs a record, shipping one 0.4 µs, and decoding
# a candidate here about 6 µs.
_HERE_SHARE = 0.1


@dataclass
class Progress:
    """How far a search got."""

    scanned: int = 0
    matched: int = 0
    total: int = 0
    #: Keys whose oldest records were trimmed away while being searched.
    trimmed: list[str] = field(default_factory=list)
    #: The time of the oldest record read so far (a tail's backlog sets it).
    reached: float | None = None


class Search:
    """Matching stored records, newest first, read in bounded windows.

    Records pushed while searching move older ones up; each window starts
    right after the last record of the previous one (found again by its
    bytes), so nothing is skipped or read twice.  Records trimmed by the cap
    before the search reached them are gone (see ``progress.trimmed``).

    Two ways to pre-filter (see ``prefilter``): when the query has text to
    look for and the server is near (*local*), plain LRANGE windows are
    checked here, a few C-level passes over each window's bytes (cheaper for
    Redis than any script, and no slower over a local socket), unless field
    conditions or loggers would have many records of the newest window
    decoded here; otherwise the ``SCAN`` script filters on the server and
    only candidates cross the network.  A query the server cannot narrow
    reads plain windows wherever the server is: every record crosses anyway.

    Args:
        client: a connected client.
        keys: the log keys.
        query: only records it matches are returned (``None`` for all).
        on_window: called after each window with the progress so far.
        where: how to name the server in errors.
        local: the server is on this machine.
        window: records per plain window at most (windows the server's
            filter reads are sized by its pace).
    """

    def __init__(
        self,
        client: Client,
        keys: Sequence[str],
        *,
        query: Query | None = None,
        on_window: Callable[[Progress], None] | None = None,
        where: str = "the server",
        local: bool = False,
        window: int = WINDOW,
    ) -> None:
        self._client = client
        self._where = where
        self._keys = list(keys)
        self._query = effective(query)
        self._pre = prefilter.for_query(self._query)
        self._filter_args = self._pre.args()
        self._on_window = on_window
        self._window = window
        self._pacer = Pacer()
        self._local = local
        # Plain windows when the query filters nothing, near or far: every
        # record crosses anyway, and a script reading them costs Redis more.
        self._here = (local and bool(self._pre.groups)) or self._pre.empty
        self.progress = Progress()

    def newest_first(self) -> Iterator[Entry]:
        """Matching records, newest first, several keys merged by time.

        Raises:
            ReaderError: the server failed or refused.
        """
        try:
            self.progress.total = sum(self._lengths())
            recent = Recent()
            streams = [self._matching(self._scan(key), key) for key in self._keys]
            for entry in merge(streams, newest_first=True):
                if recent.fresh(entry):
                    self.progress.matched += 1
                    yield entry
        except ERRORS as exc:
            raise self._failed(exc) from None

    def windows(self) -> Iterator[tuple[str, list[bytes]]]:
        """Candidate records of each key in turn, window by window, newest first.

        Not decoded, matched against the query or freed of repeats: for
        callers that read only part of each record (``stats``, which reads
        levels and times from the records' heads as cheaply as the server
        would: on a local server, plain windows are read and pre-filtered here
        whatever the query; otherwise, as :meth:`newest_first` reads).

        Raises:
            ReaderError: the server failed or refused.
        """
        scan = self._scan_here if self._local else self._scan
        try:
            self.progress.total = sum(self._lengths())
            for key in self._keys:
                for raws in scan(key):
                    yield key, raws
                    self._report()
        except ERRORS as exc:
            raise self._failed(exc) from None

    def _failed(self, exc: BaseException) -> ReaderError:
        return ReaderError(f"searching {self._where} failed: {describe(exc)}")

    def _report(self) -> None:
        if self._on_window is not None:
            self._on_window(self.progress)

    def _lengths(self) -> list[int]:
        pipe = self._client.pipeline(transaction=False)
        for key in self._keys:
            pipe.llen(keyspace.encoded(key))
        return [int(n) for n in pipe.execute()]

    def _scan(self, key: str) -> Iterator[list[bytes]]:
        """Candidates of *key*, filtered here or by the server, whichever is cheaper."""
        if not self._here:
            return self._scan_there(key)
        windows = PlainWindows(self._client, keyspace.encoded(key), self._window)
        if self._pre.decides and not pays_here(self._pre, windows):
            return self._scan_there(key)
        return self._scan_here(key, windows)

    def _matching(self, windows: Iterator[list[bytes]], key: str) -> Iterator[Entry]:
        for raws in windows:
            yield from matching(raws, key, self._query)
            self._report()

    def _scan_there(self, key: str) -> Iterator[list[bytes]]:
        """Candidates of *key*, window by window, filtered by the server.

        The next window is asked for (on another connection) as soon as a
        window's reply is in, so the server filters it while this one's
        candidates are decoded and checked: where it starts depends only on
        the reply, never on the checking.
        """
        since = self._pre.since

        def call(start: int, anchor: bytes | None) -> tuple[scripts.ScanReply, float, int]:
            started = time.monotonic()
            size = self._pacer.size
            reply = scripts.scan(
                self._client, log=key, start=start, count=size, anchor=anchor,
                filter_args=self._filter_args,
            )  # fmt: skip
            return reply, time.monotonic() - started, size

        pool = ThreadPoolExecutor(1, thread_name_prefix="redislog-search")
        try:
            anchor: bytes | None = None
            pending = pool.submit(call, 0, anchor)
            while True:
                reply, elapsed, size = pending.result()
                if reply.status is WindowStatus.TRIMMED:
                    self.progress.trimmed.append(key)
                    return
                start = reply.start
                if reply.status is WindowStatus.RELOCATING:
                    pending = pool.submit(call, start, anchor)
                    continue
                self._pacer.measure(elapsed, reply.read)
                self.progress.scanned += reply.read
                # Short: the end of the list; older than --since: newest
                # first, everything further is older still.
                done = reply.read < size or (
                    since is not None and reply.maxts is not None and reply.maxts < since
                )
                if not done:
                    anchor = reply.last
                    pending = pool.submit(call, start + reply.read, anchor)
                yield reply.candidates
                if done:
                    return
        finally:
            # Not waiting for a call in flight: when the search is given up
            # (Ctrl-C, or enough matches), a frozen server must not hold the
            # way out.
            pool.shutdown(wait=False, cancel_futures=True)

    def _scan_here(self, key: str, windows: PlainWindows | None = None) -> Iterator[list[bytes]]:
        """Candidates of *key*, window by window, filtered here (from
        *windows* when they were looked into already)."""
        since = self._pre.since
        if windows is None:
            windows = PlainWindows(self._client, keyspace.encoded(key), self._window)
        for raws in windows:
            self.progress.scanned += len(raws)
            yield self._pre.candidates(raws)
            if since is not None and raws and before(raws, key, since):
                return  # newest first: everything further is older still
        if windows.trimmed:
            self.progress.trimmed.append(key)


def pays_here(pre: prefilter.Prefilter, windows: PlainWindows) -> bool:
    """Whether a local server's list is cheaper filtered here, in its plain
    *windows*, than by its own filter, judged by their first window (read
    only when that decides it).

    Here, the needles and plain numbers are checked as cheaply as there, but
    fields and loggers only by decoding each candidate: worth it when few
    records of the newest ones could match.
    """
    if not pre.groups:
        return False  # levels and times alone: the server reads heads cheaply
    if not pre.decides:
        return True
    newest = windows.first()
    return len(pre.candidates(newest)) <= len(newest) * _HERE_SHARE


def before(raws: list[bytes], key: str, since: float) -> bool:
    """Whether the window *raws* (newest first) is older than *since*, by its ends."""
    newest, oldest = decode(raws[0], key).ts, decode(raws[-1], key).ts
    return newest is not None and oldest is not None and max(newest, oldest) < since


@dataclass(frozen=True)
class Shown:
    """A record to show: a match, or one of the records around a match."""

    entry: Entry
    matched: bool
    #: Its place among the records read, newest first (0 for the newest):
    #: two records shown with places not next to each other have a gap
    #: between them.
    place: int


class Around:
    """Matches and the records around them, as grep's ``-B``/``-A`` show.

    Reads records newest first (every record, not only matches: see
    :meth:`Search.newest_first` with a query of the time window alone).

    Args:
        query: what a match is.
        before: records shown before each match (older ones).
        after: records shown after each match (newer ones).
        limit: stop at this many matches (None: no limit); :attr:`more`
            then tells whether another match followed.
    """

    def __init__(self, query: Query, *, before: int, after: int, limit: int | None) -> None:
        self._query = query
        self._before = before
        self._after = after
        self._limit = limit
        self.matches = 0
        self.more = False

    def select(self, entries: Iterable[Entry]) -> Iterator[Shown]:
        """The records of *entries* (newest first) to show, newest first."""
        newer: deque[tuple[int, Entry]] = deque(maxlen=self._after or None)
        older_left = 0
        for place, entry in enumerate(entries):
            if self._query.matches(entry):
                if self._limit is not None and self.matches >= self._limit:
                    self.more = True
                    return
                if self._after:
                    for at, pending in newer:
                        yield Shown(pending, matched=False, place=at)
                newer.clear()
                self.matches += 1
                older_left = self._before
                yield Shown(entry, matched=True, place=place)
            elif older_left:
                older_left -= 1
                yield Shown(entry, matched=False, place=place)
            elif self._after:
                newer.append((place, entry))
