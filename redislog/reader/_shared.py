"""What the tail, the consumer and the search share: the link to the server
and reconnecting, errors, windows sized to the server's pace, dropping
repeated records and merging several keys by time."""

from __future__ import annotations

import heapq
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import redis

from redislog.connection import ERRORS, Client, describe, is_cluster, transient
from redislog.entry import Entry, decode
from redislog.filters import Query

#: Seconds one BRPOP blocks.
BLOCK = 2.0
#: Socket timeout of the viewer's connections: longer than a blocking pop.
READ_TIMEOUT = BLOCK + 3.0
#: Records popped per call after a BRPOP wakes up.
DRAIN = 1000
#: Record ids remembered to drop repeats (a retried write may land twice).
REMEMBER = 100_000
#: Records per plain window (an LRANGE, sized by bytes within it) at most.
WINDOW = 5000
#: Records in the first window a script reads, and the fewest in any: what a
#: script costs is not known before it runs, and at the largest a record may
#: be (64 KiB), copying 8 of them into a script takes a few milliseconds.
WINDOW_MIN = 8
WINDOW_MAX = 20_000
#: Seconds one script call that reads a window should take: a PING sent
#: meanwhile waits about that long.  Windows of the same size vary by half
#: or more on a busy machine, so this stays well under the 10 ms that
#: another client's PING is allowed to wait.
CALL_TARGET = 0.004

Connect = Callable[[float], Client]
Notify = Callable[[str], None]


class ReaderError(Exception):
    """A failure to report in one line: no such key, wrong type, refused."""


class MissingLog(ReaderError):
    """Nothing to read: no such log key, no key matching a glob, no logs yet."""


def quiet(message: str) -> None:
    """A notice nobody wants."""


@dataclass
class Link:
    """How a reader reaches the server and talks about it.

    Args:
        client: a connected client (for following, its socket timeout must
            exceed :data:`BLOCK`); replaced on reconnecting.
        connect: makes a new client with the given socket timeout.
        where: how to name the server in notices and errors.
        notify: receives one-line notices for the user.
    """

    client: Client
    connect: Connect
    where: str = "the server"
    notify: Notify = quiet

    def failed(self, doing: str, exc: BaseException) -> ReaderError:
        """The one-line error for *exc*, raised while *doing* (``reading from``)."""
        return ReaderError(f"{doing} {self.where} failed: {describe(exc)}")

    def twin(self, timeout: float) -> Client:
        """A client for the same server on new connections with *timeout* (on
        one server, without starting the embedded server, as connecting would)."""
        client = self.client
        if is_cluster(client):
            return self.connect(timeout)
        assert isinstance(client, redis.Redis)
        pool = client.connection_pool
        kwargs = {**pool.connection_kwargs, "socket_timeout": timeout}
        kwargs["socket_connect_timeout"] = timeout
        # (A Sentinel pool's connections find the master through the pool's
        # proxy, which rides along in the connection arguments.)
        return redis.Redis(
            connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs)
        )

    def reconnect(self, exc: BaseException, ready: Callable[[], None] = lambda: None) -> None:
        """Say the connection was lost, then connect again with backoff until a
        new client answers and *ready* (setup on it) succeeds.

        Raises:
            ReaderError: the server refuses for good.
        """
        self.notify(f"lost connection to {self.where}: {describe(exc)}; reconnecting")
        self.client.close()
        delay = 0.05
        while True:
            time.sleep(random.uniform(delay / 2, delay))
            delay = min(2.0, delay * 2)
            client = None
            try:
                client = self.connect(READ_TIMEOUT)
                client.ping()
                self.client = client
                ready()
            except ERRORS as error:
                if client is not None:
                    client.close()
                if not transient(error):
                    raise ReaderError(
                        f"cannot reconnect to {self.where}: {describe(error)}"
                    ) from None
                continue
            self.notify(f"reconnected to {self.where}")
            return


def matching(raws: Iterable[bytes], key: str, query: Query | None) -> Iterator[Entry]:
    """The records of *raws* (from log *key*) that *query* matches, decoded."""
    for raw in raws:
        entry = decode(raw, key)
        if query is None or query.matches(entry):
            yield entry


def effective(query: Query | None) -> Query | None:
    """*query*, or None when it filters nothing (no matching to do at all)."""
    return query if query is not None and not query.empty else None


class Recent:
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

    def only_fresh(self, entries: Iterable[Entry]) -> list[Entry]:
        """The entries of *entries* that repeat nothing seen recently."""
        fresh = self.fresh
        return [entry for entry in entries if fresh(entry)]


class Pacer:
    """Sizes the windows scripts read so each call keeps Redis busy for about
    :data:`CALL_TARGET`.

    The first window holds :data:`WINDOW_MIN` records, whatever their size;
    each call measured sizes the next, shrinking at once and growing by half
    at most.  The quickest call seen so far stands for the round trip and is
    left out: counted as Redis's time, a distant server's round trip would
    shrink every window to the least.
    """

    def __init__(self) -> None:
        self.size = WINDOW_MIN
        self._trip = float("inf")

    def measure(self, elapsed: float, count: int) -> None:
        """Adapt the size to a window of *count* records read in *elapsed* seconds."""
        self._trip = min(self._trip, elapsed)
        if count < self.size // 2 or elapsed <= 0:
            return  # a short window (end of list, filtered) says little
        # A call hardly slower than the quickest one: grow (by half at most).
        busy = max(elapsed - self._trip, CALL_TARGET / 100)
        ideal = count * CALL_TARGET / busy
        # Shrink at once, grow gently.
        size = min(ideal, self.size * 1.5)
        self.size = int(max(WINDOW_MIN, min(WINDOW_MAX, size)))


def _sort_keys(entries: Iterable[Entry], start: float) -> Iterator[tuple[float, Entry]]:
    """Pairs (time, entry) for merging; untimed entries keep the last time
    (*start* before the first)."""
    last = start
    for entry in entries:
        if entry.ts is not None:
            last = entry.ts
        yield last, entry


def merge(streams: Sequence[Iterable[Entry]], *, newest_first: bool = False) -> Iterator[Entry]:
    """Merge per-key streams by time, keeping each stream's own order."""
    if len(streams) == 1:
        yield from streams[0]
        return
    start = float("inf") if newest_first else float("-inf")
    pairs = [_sort_keys(stream, start) for stream in streams]
    for _, entry in heapq.merge(*pairs, key=lambda pair: pair[0], reverse=newest_first):
        yield entry


def batches(entries: Iterable[Entry], size: int = 1000) -> Iterator[list[Entry]]:
    """*entries* in lists of *size*."""
    batch: list[Entry] = []
    for entry in entries:
        batch.append(entry)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def plural(count: int, one: str, many: str) -> str:
    """``1 record`` or ``1,234 records``."""
    return f"{count:,} {one if count == 1 else many}"
