"""A list's records in plain windows, newest first, read ahead and kept in
place by an anchor."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from redislog.connection import Client

# Windows fetched ahead while one is used.  More than one did not help:
# checking holds the GIL, fetching mostly not.
_AHEAD = 1
# Records in the first window, whose size is not known yet: even at the
# largest a record may be (64 KiB), Redis copies them in a few milliseconds.
_PROBE = 100
# Bytes of the windows after it: an LRANGE blocks Redis for about 1 ms per
# 2 MB it copies (5,000 records of 10 KB took 27 ms), whatever the count.
_BYTES = 2 * 1024 * 1024
# Records per window at the least: one is the anchor, the rest are new.
_LEAST = 16


class PlainWindows:
    """The records of one list from an index to its old end, window by
    window, newest first, each read with a plain ``LRANGE`` (the cheapest read
    for Redis: no script turns records into Lua strings).

    Windows hold at most *size* records and, once the first has shown how
    large records are, about ``_BYTES``, so no read blocks Redis for long.
    The next windows are fetched (on other connections) while one is used,
    on the guess that nothing is pushed meanwhile; each window starts one
    record early, and that record (the anchor, the last one yielded) tells
    whether the guess held: records pushed meanwhile move it further up,
    where it is found again.  (Records with the same bytes as the anchor may
    mislead it by as many places; redislog's own records are unique.)

    Args:
        client: a connected client.
        name: the list's key, encoded.
        size: records per window, at most.
        start: the index of the first record to read (0: the newest).
        anchor: the record just before *start*, when *start* is not 0.
    """

    def __init__(
        self, client: Client, name: bytes, size: int, *, start: int = 0, anchor: bytes | None = None
    ) -> None:
        self._client = client
        self._name = name
        self._size = size
        self._start = start
        self._anchor = anchor
        self._first: tuple[int, list[bytes]] | None = None
        #: The anchor was trimmed away by the cap, and all older records with it.
        self.trimmed = False

    def first(self) -> list[bytes]:
        """The first window (read now, yielded first), for a look ahead of
        reading; with the anchor, when there is one."""
        return self._opening()[1]

    def _opening(self) -> tuple[int, list[bytes]]:
        """How many records the first window asked for, and the window."""
        if self._first is None:
            asked = min(self._size, _PROBE)
            at = self._start if self._anchor is None else self._start - 1
            self._first = asked, self._fetch(at, asked)
        return self._first

    def _fetch(self, first: int, size: int) -> list[bytes]:
        return list(self._client.lrange(self._name, first, first + size - 1))  # type: ignore[arg-type]

    def _fitting(self, raws: list[bytes]) -> int:
        """Records per window for records the size of *raws*."""
        fit = _BYTES * len(raws) // max(sum(map(len, raws)), 1)
        return max(_LEAST, min(self._size, fit))

    def __iter__(self) -> Iterator[list[bytes]]:
        size, opening = self._opening()
        start, anchor = self._start, self._anchor
        pool = ThreadPoolExecutor(_AHEAD, thread_name_prefix="redislog-windows")
        try:
            # (where a window starts, how many records were asked, the read)
            pending: deque[tuple[int, int, Future[list[bytes]]]] = deque()
            read: Future[list[bytes]] = Future()
            read.set_result(opening)
            pending.append((start if anchor is None else start - 1, size, read))
            while True:
                first, asked, future = pending.popleft()
                raws = future.result()
                if first != (start if anchor is None else start - 1):
                    pending.clear()  # a guess gone wrong: fetch from here on
                    first = start if anchor is None else start - 1
                    pending.append((first, size, pool.submit(self._fetch, first, size)))
                    continue
                full = len(raws) >= asked  # else the window reached the list's end
                if raws:
                    size = self._fitting(raws)
                if anchor is not None:
                    if not raws or raws[0] != anchor:
                        moved = _index(raws, anchor)
                        if moved is None:
                            if not full:
                                self.trimmed = True
                                return  # the anchor was trimmed, and all before it
                            start += asked - 1  # pushed further than one window
                            pending.clear()
                            pending.append(
                                (start - 1, size, pool.submit(self._fetch, start - 1, size))
                            )
                            continue
                        start += moved
                        raws = raws[moved:]
                    raws = raws[1:]
                if full:
                    guess = start + len(raws) - 1
                    for queued, queued_size, _ in pending:
                        guess = queued + queued_size - 1
                    while len(pending) < _AHEAD:
                        pending.append((guess, size, pool.submit(self._fetch, guess, size)))
                        guess += size - 1
                yield raws
                if not full or not raws:
                    return
                anchor = raws[-1]
                start += len(raws)
        finally:
            # Not waiting for a fetch in flight: when reading is given up
            # (Ctrl-C, or enough matches), a frozen server must not hold the
            # way out.
            pool.shutdown(wait=False, cancel_futures=True)


def _index(raws: list[bytes], anchor: bytes) -> int | None:
    try:
        return raws.index(anchor)
    except ValueError:
        return None
