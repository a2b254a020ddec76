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


class PlainWindows:
    """The records of one list from an index to its old end, window by
    window, newest first, each read with a plain ``LRANGE`` (the cheapest read
    for Redis: no script turns records into Lua strings).

    The next windows are fetched (on other connections) while one is used,
    on the guess that nothing is pushed meanwhile; each window starts one
    record early, and that record (the anchor, the last one yielded) tells
    whether the guess held: records pushed meanwhile move it further up,
    where it is found again.  (Records with the same bytes as the anchor may
    mislead it by as many places; redislog's own records are unique.)

    Args:
        client: a connected client.
        name: the list's key, encoded.
        size: records per window.
        start: the index of the first record to read (0: the newest).
        anchor: the record just before *start*, when *start* is not 0.
        first: the window at *start*, when it was read already.
    """

    def __init__(
        self,
        client: Client,
        name: bytes,
        size: int,
        *,
        start: int = 0,
        anchor: bytes | None = None,
        first: list[bytes] | None = None,
    ) -> None:
        self._client = client
        self._name = name
        self._size = size
        self._start = start
        self._anchor = anchor
        self._first = first
        #: The anchor was trimmed away by the cap, and all older records with it.
        self.trimmed = False

    def _fetch(self, first: int) -> list[bytes]:
        size = self._size
        return list(self._client.lrange(self._name, first, first + size - 1))  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[list[bytes]]:
        size = self._size
        start, anchor = self._start, self._anchor
        pool = ThreadPoolExecutor(_AHEAD, thread_name_prefix="redislog-windows")
        try:
            pending: deque[tuple[int, Future[list[bytes]]]] = deque()
            if self._first is None:
                at = start if anchor is None else start - 1
                pending.append((at, pool.submit(self._fetch, at)))
            else:
                read: Future[list[bytes]] = Future()
                read.set_result(self._first)
                pending.append((start, read))
            while True:
                first, future = pending.popleft()
                raws = future.result()
                if first != (start if anchor is None else start - 1):
                    pending.clear()  # a guess gone wrong: fetch from here on
                    first = start if anchor is None else start - 1
                    pending.append((first, pool.submit(self._fetch, first)))
                    continue
                full = len(raws) >= size  # else the window reached the list's end
                if anchor is not None:
                    if not raws or raws[0] != anchor:
                        moved = _index(raws, anchor)
                        if moved is None:
                            if not full:
                                self.trimmed = True
                                return  # the anchor was trimmed, and all before it
                            start += size - 1  # pushed further than one window
                            pending.clear()
                            pending.append((start - 1, pool.submit(self._fetch, start - 1)))
                            continue
                        start += moved
                        raws = raws[moved:]
                    raws = raws[1:]
                if full:
                    guess = start + len(raws) - 1
                    for queued, _ in pending:
                        guess = queued + size - 1
                    while len(pending) < _AHEAD:
                        pending.append((guess, pool.submit(self._fetch, guess)))
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
