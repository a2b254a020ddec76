"""Live follow for many HTTP clients on few Redis connections.

A :class:`Feed` runs one :class:`~redislog.reader.Tail` (one Redis inbox per
log key, one blocking connection) on a thread of its own, and hands every
batch to each of its :class:`Subscriber`\\ s, whose queues the event loop
reads.  The :class:`Hub` keeps one feed per set of log keys and filter, so a
thousand browsers following ``logs:web`` with the same filter cost the server
what one ``redislog tail`` costs.  The last subscriber to leave stops the feed
(its inbox is removed).

A subscriber's queue is bounded: a client that reads too slowly loses the
oldest records it has not taken, and is told how many (as the CLI tail is
told about its inbox), so the server never buffers without bound.

A feed ends by :meth:`Tail.stop <redislog.reader.Tail.stop>`: the tail
notices within its poll time and unregisters.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

import orjson

from redislog import jsonlines
from redislog import keys as keyspace
from redislog.connection import ERRORS
from redislog.entry import Entry
from redislog.filters import Query
from redislog.reader import Link, ReaderError, Tail, Timing


def record_json(entry: Entry) -> bytes:
    """One record as JSON: the stored bytes when they are one strict JSON
    object on one line, else as ``-o json`` writes it (``jsonlines``)."""
    raw = entry.raw
    if isinstance(raw, (bytearray, memoryview)):
        raw = bytes(raw)
    if entry.data is not None and entry.verbatim and b"\n" not in raw and b"\r" not in raw:
        return raw.strip()
    return jsonlines.line(entry).rstrip("\n").encode("ascii")


def event(entry: Entry) -> bytes:
    """One Server-Sent Event for *entry*: its id the record id."""
    lines = []
    if entry.id is not None and "\n" not in entry.id and "\r" not in entry.id:
        lines.append(b"id: " + entry.id.encode("utf-8", "backslashreplace"))
    data = b'{"key":' + orjson.dumps(entry.key) + b',"record":' + record_json(entry) + b"}"
    lines += [b"event: record", b"data: " + data]
    return b"\n".join(lines) + b"\n\n"


_TIMING = Timing()
#: Records a subscriber may have waiting before the oldest are dropped.
QUEUE_MAX = 10_000
#: Seconds a stopping server waits for each feed's tail to unregister.
STOP_WAIT = 3.0


@dataclass(eq=False)
class Subscriber:
    """One client's view of a feed: records waiting, and how many it missed."""

    loop: asyncio.AbstractEventLoop
    limit: int = QUEUE_MAX
    #: (record id, encoded event) pairs.
    waiting: deque[tuple[str | None, bytes]] = field(default_factory=deque)
    missed: int = 0
    failed: str | None = None
    ended: bool = False
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, batch: list[tuple[str | None, bytes]]) -> None:
        """Add *batch* (called on the event loop)."""
        self.waiting.extend(batch)
        over = len(self.waiting) - self.limit
        if over > 0:
            for _ in range(over):
                self.waiting.popleft()
            self.missed += over
        self._wake.set()

    def fail(self, message: str) -> None:
        """The feed ended for good (called on the event loop)."""
        self.failed = message
        self._wake.set()

    def end(self) -> None:
        """The server is stopping: the stream ends after what is waiting
        (called on the event loop)."""
        self.ended = True
        self._wake.set()

    async def wait(self, timeout: float) -> None:
        """Until something arrives, or *timeout* seconds."""
        if self.waiting or self.failed is not None or self.ended:
            return
        self._wake.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    def take(self) -> tuple[list[tuple[str | None, bytes]], int]:
        """Everything waiting, and the records missed since the last take."""
        batch = list(self.waiting)
        self.waiting.clear()
        missed, self.missed = self.missed, 0
        return batch, missed


class Feed:
    """One tail, its thread, and the subscribers it feeds.

    Args:
        link: the tail's own connection (it blocks on it).
        keys: the log keys.
        query: the filter (None for every record).
        loop: the event loop the subscribers live on.
        timing: the tail's pacing (tests shorten it).
        on_error: told about Redis errors the tail reports or survives.
    """

    def __init__(
        self,
        link: Link,
        keys: Sequence[str],
        query: Query | None,
        loop: asyncio.AbstractEventLoop,
        *,
        timing: Timing = _TIMING,
        on_error: Callable[[], None] = lambda: None,
    ) -> None:
        self.keys = list(keys)
        self.subscribers: set[Subscriber] = set()
        self._loop = loop
        self._link = link
        self._on_error = on_error
        link.notify = self._notice
        self.tail = Tail(link, self.keys, lines=0, follow=True, query=query, timing=timing)
        self._stopping = threading.Event()
        #: Verified registered on every key (later subscribers need not check).
        self.ready = False
        self._thread = threading.Thread(target=self._run, name="redislog-follow", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def attached(self) -> bool:
        """Whether the tail is registered on every key (records reach it)."""
        client = self._link.twin(2.0)
        try:
            pipe = client.pipeline(transaction=False)
            for key in self.keys:
                pipe.zscore(keyspace.encoded(keyspace.tails(key)), self.tail.tail_id)
            return all(score is not None for score in pipe.execute())
        except ERRORS:
            return False
        finally:
            client.close()

    def running(self) -> bool:
        """Whether the feed's thread still runs."""
        return self._thread.is_alive()

    def join(self, timeout: float) -> None:
        """Wait until the feed's thread has ended, *timeout* seconds at most."""
        if self._thread.is_alive():
            self._thread.join(timeout)

    def stop(self) -> None:
        """Stop the tail (from any thread): it ends within its poll time and
        unregisters on its way out."""
        self._stopping.set()
        self.tail.stop()

    def _notice(self, message: str) -> None:
        if message.startswith("lost connection"):
            self._on_error()

    def _deliver(self, batch: list[tuple[str | None, bytes]]) -> None:
        for subscriber in list(self.subscribers):
            subscriber.offer(batch)

    def _fail(self, message: str) -> None:
        for subscriber in list(self.subscribers):
            subscriber.fail(message)

    def _run(self) -> None:
        batches = self.tail.batches()
        try:
            for batch in batches:
                if self._stopping.is_set():
                    break
                # Encoded once here for every subscriber.
                encoded = [(entry.id, event(entry)) for entry in batch]
                if encoded:
                    self._loop.call_soon_threadsafe(self._deliver, encoded)
        except ReaderError as exc:
            self._on_error()
            message = str(exc)
            with contextlib.suppress(RuntimeError):  # the loop is closed
                self._loop.call_soon_threadsafe(self._fail, message)
        except Exception:  # noqa: BLE001 - a feed thread never takes the server down
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._fail, "the live feed failed")
        finally:
            batches.close()


class Hub:
    """One :class:`Feed` per (log keys, filter), shared by every subscriber.

    Args:
        connect: a new :class:`Link` for a feed.
        timing: the feeds' tail pacing.
        on_error: told about Redis errors.
    """

    def __init__(
        self,
        connect: Callable[[], Link],
        *,
        timing: Timing = _TIMING,
        on_error: Callable[[], None] = lambda: None,
    ) -> None:
        self._connect = connect
        self._timing = timing
        self._on_error = on_error
        self.feeds: dict[Hashable, Feed] = {}
        self._starting = asyncio.Lock()
        self._leaving: list[Feed] = []  # stopping, their last follower gone

    @property
    def followers(self) -> int:
        """Subscribers over every feed."""
        return sum(len(feed.subscribers) for feed in self.feeds.values())

    async def subscribe(
        self, keys: Sequence[str], query: Query | None, signature: Hashable
    ) -> tuple[Feed, Subscriber]:
        """A new subscriber of the feed for *keys* and *query* (started and
        registered on every key before this returns, so nothing logged from
        then on is missed)."""
        loop = asyncio.get_running_loop()
        name = (tuple(sorted(keys)), signature)
        subscriber = Subscriber(loop)
        async with self._starting:  # two first followers must not start two feeds
            feed = self.feeds.get(name)
            if feed is None:
                link = await asyncio.to_thread(self._connect)
                feed = Feed(link, keys, query, loop, timing=self._timing, on_error=self._on_error)
                self.feeds[name] = feed
                feed.subscribers.add(subscriber)
                feed.start()
            else:
                feed.subscribers.add(subscriber)
        for _ in range(200):
            if feed.ready or await asyncio.to_thread(feed.attached):
                feed.ready = True
                break
            await asyncio.sleep(0.02)
        return feed, subscriber

    def unsubscribe(self, feed: Feed, subscriber: Subscriber) -> None:
        """Remove *subscriber* (on the event loop, without waiting: a client
        that went away may be cancelling); the last one stops the feed."""
        feed.subscribers.discard(subscriber)
        if feed.subscribers:
            return
        for name, known in list(self.feeds.items()):
            if known is feed:
                del self.feeds[name]
        self._leaving = [known for known in self._leaving if known.running()]
        self._leaving.append(feed)
        threading.Thread(target=feed.stop, name="redislog-unfollow", daemon=True).start()

    def end_streams(self) -> None:
        """End every client's stream: the server is stopping, and open
        streams would hold its graceful shutdown (called on the event loop)."""
        for feed in self.feeds.values():
            for subscriber in list(feed.subscribers):
                subscriber.end()

    async def close(self) -> None:
        """Stop every feed, and wait (a little) for their tails to unregister."""
        feeds, self.feeds = list(self.feeds.values()), {}
        for feed in feeds:
            await asyncio.to_thread(feed.stop)
        # Those the last follower left just before are stopping too.
        feeds += self._leaving
        self._leaving = []
        for feed in feeds:
            await asyncio.to_thread(feed.join, STOP_WAIT)
