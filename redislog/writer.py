"""The background writer: a bounded buffer and one thread that ships batches.

``submit`` is all the logging thread does: append encoded bytes to a deque and
wake the writer if it sleeps.  The writer thread takes everything buffered (up
to a batch limit), sends it in one round trip through the ``PUSH`` script, and
repeats, so a lone record leaves at once; when records come in by the hundred
while a batch is out, it lets up to a full batch gather (20 ms at most) before
the next.

Failures stay inside the thread: connection errors, timeouts and retryable
server replies are retried with jittered exponential backoff.  A batch whose
reply was lost may have landed: it is sent again exactly, under the same batch
number, and the script skips it if so, so retries never store a record twice.
When the buffer is full the oldest records are dropped and counted, and a
marker record reports them once Redis takes writes again.  Nothing here ever
logs through ``logging``: a handler that logs about itself can recurse.
"""

from __future__ import annotations

import queue
import random
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat

import redis

from redislog import connection, lifecycle, record, scripts, serialize

#: Default cap of a log list, in records.
MAXLEN = 100_000
#: Default bounds of what a writer holds while Redis is unreachable.
BUFFER_RECORDS = 100_000
BUFFER_BYTES = 64 * 1024 * 1024
#: Default seconds ``flush()`` and ``close()`` wait at most.
FLUSH_TIMEOUT = 5.0
BATCH_RECORDS = 1000
BATCH_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """How much a writer holds while Redis is unreachable, and how long it
    waits to deliver what it holds."""

    #: Most records held; beyond it the oldest are dropped and counted.
    records: int = BUFFER_RECORDS
    #: The same bound in bytes.
    bytes: int = BUFFER_BYTES
    #: The largest a submitted record can be.
    record_bytes: int = serialize.MAX_RECORD_BYTES
    #: Seconds flush() and close() wait, and a stopping process waits.
    flush_timeout: float = FLUSH_TIMEOUT


BACKOFF_BASE = 0.05
BACKOFF_CAP = 2.0
_MAX_PENDING_MARKERS = 16
_LAGGING = 4 * BATCH_RECORDS
_popleft = deque.popleft

# Our own generator: drawing from the module's would shift the application's
# random sequence (seeded for a reproducible run, say) with every retry.
_jitter = random.Random()
# What _step() returns to say "sleep until a record arrives".
_IDLE = -1.0
# While records keep coming (a batch went out less than _STEADY seconds ago),
# the writer looks again after _LINGER seconds instead of sleeping until the
# next record wakes it: a steady trickle (a web server's one record per
# request) would otherwise cost the logging thread a wake-up, and the writer
# a round trip, per record.
_LINGER = 0.002
_STEADY = 0.05
# What _step() returns to say "let more records gather": when at least
# _GATHER_FROM records came in while a batch was out, but fewer than a full
# batch, the writer waits up to _GATHER_SECONDS for more.  Every batch costs
# the writer (and Redis) a round trip's work and the logging threads the GIL
# handoffs around it: on 2 cores, with one thread logging, batches of 230-460
# records cost the writer twice the CPU per record that full ones do, CPU the
# application waits for.  Fewer records mean a rate (under some 10,000 a
# second) at which that costs little, and a live tail sees them at once.
_GATHER = -2.0
_GATHER_FROM = 100
_GATHER_SECONDS = 0.02


class _Tally:
    """What one logging thread has submitted."""

    __slots__ = ("bytes", "records", "thread")

    def __init__(self, thread: threading.Thread | None) -> None:
        self.thread = thread
        self.records = 0
        self.bytes = 0


def _import_what_connecting_imports() -> None:
    """Import now, in the caller's thread, what a first connection imports.

    Done in the writer thread, a fork at that instant would leave the child
    with half-imported modules (see ``lifecycle``).  redis-py encodes host
    names with the idna codec (``encodings.idna``, ``stringprep``,
    ``unicodedata``) and reads its own version through ``importlib.metadata``
    (``email.parser``) for ``CLIENT SETINFO``.
    """
    "localhost".encode("idna")
    redis.utils.get_lib_version()


class Writer:
    """Ships encoded records to one log key from a background thread.

    Args:
        connect: returns a Redis client; called in the writer thread.
        key: the log key.
        maxlen: the list's cap.
        where: how to name the server in messages (no password).
        producer: issues ids for drop markers.
        limits: how much it holds, and how long it waits when the process
            stops (a signal, a multiprocessing child's exit).
        flush_on_signal: deliver what is left when a stopping signal whose
            action is the default ends the process (see ``lifecycle``).
        bulk: records come as Redis protocol bulk strings
            (``serialize.dumps_bulk``), which a client that takes them
            (``connection.takes_bulk``) sends without touching each one.
    """

    def __init__(
        self,
        connect: Callable[[], connection.Client],
        key: str,
        maxlen: int,
        *,
        where: str,
        producer: record.Producer,
        limits: Limits = Limits(),
        flush_on_signal: bool = True,
        bulk: bool = False,
    ) -> None:
        _import_what_connecting_imports()
        self._connect = connect
        self.key = key
        self.maxlen = maxlen
        self.where = where
        self.capacity = limits.records
        self.capacity_bytes = limits.bytes
        self.bulk = bulk
        # The largest item the buffer can hold: a record, or its bulk string.
        framed = serialize.bulk_size(limits.record_bytes)
        self.record_bytes = framed if bulk else limits.record_bytes
        self.flush_timeout = limits.flush_timeout
        self._producer = producer
        #: True once a batch was delivered: the first connection is made.
        self.connected = False
        self._reset()
        lifecycle.register(self, signals=flush_on_signal)

    def renew(self) -> None:
        """Start afresh in a forked child, with new record ids.

        The parent's thread, locks and connection must not be touched there;
        the parent keeps and ships the records it had buffered.
        """
        _jitter.seed()  # or every forked worker retries in step with its parent
        self._producer.renew()
        self._reset()

    def _reset(self) -> None:
        self._buffer: deque[bytes] = deque()
        # submit() takes no lock (see RedisHandler.handle), so each logging
        # thread counts what it adds in its own tally; the writer thread alone
        # counts what it takes; drops change under _drop_lock.
        self._local = threading.local()
        self._tallies: list[_Tally] = []
        self._retired = _Tally(None)
        # Reentrant, like _drop_lock: a signal handler may log while held.
        self._tally_lock = threading.RLock()
        self._start_lock = threading.RLock()
        self._bytes_shed = 0
        self._bytes_out = 0
        self._bytes_checked_above = self._safe_size(0)
        self.dropped = 0
        self.delivered = 0
        self._reported = 0
        self._batch_seq = 0
        self._pending_markers: list[tuple[int, float, bytes]] = []
        self._first_drop = 0.0
        self._drop_lock = threading.RLock()
        # Wake-ups go through a SimpleQueue, whose put() is reentrant: a
        # signal handler or __del__ that logs inside submit() cannot deadlock
        # on it, as it could on an Event's lock.
        self._wakeups: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._idle = False
        self._stop = threading.Event()
        # Reentrant: a signal handler may flush while this thread waits here.
        self._progress = threading.Condition(threading.RLock())
        # The writer thread holds _busy whenever it is not waiting (it
        # connects, sends, handles a failure); a fork takes _gate and then
        # _busy, and the writer passes through _gate before each step, so a
        # writer kept busy by a stream of records cannot starve the fork.
        self._busy = threading.Lock()
        self._gate = threading.Lock()
        self._attempt = 0
        self._folded = time.monotonic()
        self._sent_at = 0.0
        # A batch whose write may have landed (the reply was lost) is sent
        # again exactly, under the same sequence number: the push script
        # skips a batch it has already applied, so a retry never stores
        # records twice.
        self._retained: tuple[int, list[bytes], list[bytes]] | None = None
        self._thread: threading.Thread | None = None
        self.thread_id: int | None = None
        self._stalled_at = -1
        self._closed = False
        self._client: connection.Client | None = None
        self._takes_bulk = False
        self._registered = False
        self._failing = False
        self._warned: set[str] = set()

    # -- the logging thread's side -------------------------------------------

    def submit(self, data: bytes) -> None:
        """Buffer *data* for sending; never blocks, never raises for Redis."""
        try:
            tally = self._local.tally
        except AttributeError:
            tally = self._new_tally()
        tally.records += 1
        if self._closed:
            self._count_drops(1)
            return
        tally.bytes += len(data)
        buffer = self._buffer
        buffer.append(data)
        size = len(buffer)
        # The byte count is only summed when the buffer could exceed it.
        if size > self.capacity or (size > self._bytes_checked_above and self._over_bytes(size)):
            self._shed()
        if self._idle:
            self._wake()
        elif size > _LAGGING and not self._failing:
            # The writer is falling behind, most likely waiting for the GIL
            # while logging threads hold it: give it a turn.  A long buffer
            # costs more than this (every record's memory stays in use).
            time.sleep(0)
        if self._thread is None:
            self._start()

    def _new_tally(self) -> _Tally:
        tally = _Tally(threading.current_thread())
        with self._tally_lock:
            self._tallies.append(tally)
        self._local.tally = tally
        return tally

    def _retire_tallies(self) -> None:
        """Fold the tallies of finished threads into one (run by the writer)."""
        with self._tally_lock:
            live = []
            for tally in self._tallies:
                if tally.thread is not None and tally.thread.is_alive():
                    live.append(tally)
                else:
                    self._retired.records += tally.records
                    self._retired.bytes += tally.bytes
            self._tallies = live

    @property
    def submitted(self) -> int:
        """Records handed to submit() so far."""
        # Under the lock: _retire_tallies() moves counts between the two.
        with self._tally_lock:
            return self._retired.records + sum(t.records for t in self._tallies)

    @property
    def buffered_bytes(self) -> int:
        """Bytes of the records waiting in the buffer."""
        with self._tally_lock:
            added = self._retired.bytes + sum(t.bytes for t in self._tallies)
        return added - self._bytes_shed - self._bytes_out

    def _safe_size(self, held: int) -> int:
        """How many records the buffer can hold before it might pass
        capacity_bytes, now that it holds *held* bytes: none is larger than
        record_bytes."""
        return max(self.capacity_bytes - held, 0) // self.record_bytes

    def _over_bytes(self, size: int) -> bool:
        held = self.buffered_bytes
        # Only records added from now on can push it over: the next sum is
        # due once enough of them could have.  Whoever removes records
        # (_take, _shed) resets this, as removing small records leaves a
        # buffer of large ones that fits fewer.
        self._bytes_checked_above = size + self._safe_size(held)
        return held > self.capacity_bytes

    def _shed(self) -> None:
        """Drop the oldest records until the buffer fits its bounds."""
        buffer = self._buffer
        with self._drop_lock:
            while len(buffer) > 1 and (
                len(buffer) > self.capacity or self.buffered_bytes > self.capacity_bytes
            ):
                try:
                    old = buffer.popleft()
                except IndexError:  # the writer emptied it meanwhile
                    return
                self._count_drops(1)
                self._bytes_shed += len(old)
            self._bytes_checked_above = self._safe_size(0)

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None:
                return
            thread = threading.Thread(
                target=self._run, name=f"redislog-writer:{self.key}", daemon=True
            )
            if self._thread is not None:  # a reentrant call started one meanwhile
                return
            self._thread = thread
            try:
                thread.start()
            except RuntimeError:
                # Interpreter shutdown: no new threads.  Count what cannot be sent.
                self._closed = True
                stranded = len(self._buffer)
                self._buffer.clear()
                self._count_drops(stranded)

    @property
    def pending(self) -> int:
        """Records submitted but neither delivered nor dropped yet."""
        return self.submitted - self.delivered - self.dropped

    def flush(self, timeout: float) -> bool:
        """Wait until everything submitted so far is settled; False on timeout."""
        target = self.submitted
        deadline = time.monotonic() + timeout
        with self._progress:
            while self.delivered + self.dropped < target:
                if self._thread is None or not self._thread.is_alive():
                    return False
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._stalled_at = self.delivered
                    return False
                self._wake()
                self._progress.wait(min(remaining, 0.1))
        return True

    def settle(self, timeout: float, *, waited: float | None = None) -> None:
        """Deliver what is buffered within *timeout* seconds; say on stderr
        how many records are left if some are (after *waited* seconds, when
        an earlier flush waited already)."""
        if self.flush(timeout):
            return
        left = self.pending
        if left > 0:
            _say(
                f"gave up on {left} unsent log records for {self.key!r} "
                f"after {timeout if waited is None else waited:g}s ({self.where})"
            )

    def close(self, timeout: float) -> None:
        """Deliver what is buffered within *timeout* seconds, then stop."""
        if self._closed:
            return
        # A flush that just timed out with nothing delivered since (as when
        # logging.shutdown() calls flush() then close()) is not waited twice.
        if self._stalled_at == self.delivered:
            self.settle(0.0, waited=timeout)
        else:
            self.settle(timeout)
        self._closed = True
        self._stop.set()
        self._wake()

    # -- the writer thread ---------------------------------------------------

    def _take(self) -> list[bytes]:
        buffer = self._buffer
        # Popped in one C loop, not a Python loop: every instruction here
        # holds the GIL that the logging threads wait for.  Under _drop_lock,
        # as _shed() is the only other remover: the count stays available.
        with self._drop_lock:
            batch = [*map(_popleft, repeat(buffer, min(len(buffer), BATCH_RECORDS)))]
        size = sum(map(len, batch))
        if size > BATCH_BYTES:
            # Large records: keep the batch under BATCH_BYTES (but one record
            # always goes), the rest back to the front of the buffer.
            total = 0
            for kept, data in enumerate(batch):
                total += len(data)
                if total > BATCH_BYTES and kept:
                    buffer.extendleft(reversed(batch[kept:]))
                    del batch[kept:]
                    size = total - len(data)
                    break
        self._bytes_out += size
        self._bytes_checked_above = self._safe_size(0)
        return batch

    def _run(self) -> None:
        self.thread_id = threading.get_ident()
        while True:
            with self._gate:  # a waiting fork goes first
                pass
            with self._busy:
                pause = self._step()
            if pause is None:
                return
            if pause == _IDLE:
                if time.monotonic() - self._sent_at < _STEADY:
                    self._stop.wait(_LINGER)  # then a step: it stops when closed
                else:
                    self._sleep()
            elif pause == _GATHER:
                self._gather()
            # Waits on _stop, not the wake-ups: every new record sends one.
            elif pause > 0 and self._stop.wait(pause):
                return

    def _step(self) -> float | None:
        """Send one batch (or retry one); return how long to pause after it:
        ``_IDLE`` until a record arrives, ``_GATHER`` while more gather,
        None to stop."""
        if len(self._tallies) > 1 and time.monotonic() - self._folded > 1.0:
            self._retire_tallies()
            self._folded = time.monotonic()
        if self._retained is None:
            # Wake-ups sent before this take are answered by it; left in
            # the queue, they would cut the next gathering short.
            wakeups = self._wakeups
            while not wakeups.empty():
                wakeups.get_nowait()
            batch = self._take()
            # Drops are reported even when no record follows them.
            markers = self._markers()
            if not batch and not markers:
                return None if self._closed else _IDLE
            self._batch_seq += 1
            seq = self._batch_seq
        else:
            seq, markers, batch = self._retained
        try:
            self._send(seq, [*markers, *batch])
        except Exception as exc:  # noqa: BLE001 - the writer must survive anything
            retrying = _retryable(exc)
            self._outage(exc, retrying)
            self._retained = None
            if not retrying and batch:
                # Refused for good (wrong type, no permission): count the
                # batch as dropped; a marker reports it once writes succeed.
                self._count_drops(len(batch))
                self._notify()
                return 0.0
            if retrying and _ambiguous(exc):
                self._retained = (seq, markers, batch)
            else:
                # Refused (out of memory, read-only): nothing landed.  Back
                # to the front of the buffer, where the overflow policy
                # (keep the newest) covers these records too.
                self._buffer.extendleft(reversed(batch))
                self._bytes_out -= sum(map(len, batch))
                self._shed()
            self._attempt += 1
            delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(self._attempt, 16))
            return _jitter.uniform(delay / 2, delay)
        self._retained = None
        self._attempt = 0
        if markers:
            sent = {id(m) for m in markers}
            self._pending_markers = [m for m in self._pending_markers if id(m[2]) not in sent]
        self._failing = False
        self.connected = True
        self.delivered += len(batch)
        if batch:
            self._sent_at = time.monotonic()
        self._notify()
        if _GATHER_FROM <= len(self._buffer) < BATCH_RECORDS:
            return _GATHER
        return 0.0

    def pause(self, deadline: float) -> bool:
        """Hold the writer thread between two steps (for a fork), waiting
        until *deadline* (monotonic) at most; True if it is held."""
        if not self._gate.acquire(timeout=max(deadline - time.monotonic(), 0.0)):
            return False
        if self._busy.acquire(timeout=max(deadline - time.monotonic(), 0.0)):
            return True
        self._gate.release()
        return False

    def resume(self) -> None:
        """Let the writer thread go on after :meth:`pause`."""
        self._busy.release()
        self._gate.release()

    def _wake(self) -> None:
        self._idle = False
        self._wakeups.put(None)

    def _sleep(self) -> None:
        """Wait for a wake-up (or a second, to fold tallies and check closing)."""
        self._idle = True
        # A record appended before _idle was visible sent no wake-up: look again.
        if not self._buffer:
            try:
                self._wakeups.get(timeout=1.0)
            except queue.Empty:
                pass
        self._idle = False

    def _gather(self) -> None:
        """Wait while more records gather for the next batch; flush() and
        close() cut it short (submit() does not: the point is not to wake)."""
        try:
            self._wakeups.get(timeout=_GATHER_SECONDS)
        except queue.Empty:
            pass

    def _count_drops(self, count: int) -> None:
        # Both threads drop (overflow here, refusals there): guard the counter.
        with self._drop_lock:
            if self.dropped == self._reported:
                self._first_drop = time.time()
            self.dropped += count

    def _notify(self) -> None:
        with self._progress:
            self._progress.notify_all()

    def _markers(self) -> list[bytes]:
        """Drop markers not yet delivered, with one for any new drops.

        A marker keeps its id across retries, so one that landed from an
        ambiguous write and is sent again is dropped by readers like any
        repeated record, and no drop is counted twice.
        """
        dropped = self.dropped
        unreported = dropped - self._reported
        if unreported > 0:
            pending = self._pending_markers
            since = self._first_drop
            if len(pending) >= _MAX_PENDING_MARKERS:
                # Redis refuses for good (wrong type, no permission): merge
                # rather than grow.  If one of these had landed after all, its
                # drops are counted twice: over-reported, never hidden.
                unreported += sum(count for count, _, _ in pending)
                since = min(first for _, first, _ in pending)
                pending.clear()
            entry = record.marker(
                unreported,
                since,
                "buffer full or records refused by Redis",
                self._producer.next_id(),
            )
            encode = serialize.dumps_bulk if self.bulk else serialize.dumps
            pending.append((unreported, since, encode(entry)))
            self._reported = dropped
        return [data for _, _, data in self._pending_markers]

    def _send(self, seq: int, batch: list[bytes]) -> None:
        client = self._client
        if client is None:
            client = self._client = self._connect()
            self._registered = False
            self._takes_bulk = connection.takes_bulk(client)
        records: list[bytes] | connection.Bulk = batch
        if self.bulk:
            records = (
                connection.Bulk(batch) if self._takes_bulk else [*map(serialize.unbulk, batch)]
            )
        # The newest record must end at the head: LPUSH in submission order.
        stored = scripts.store(
            client, self.key, records, maxlen=self.maxlen, token=self._producer.token, batch=seq,
            index=not self._registered,
        )  # fmt: skip
        self._registered = True
        if stored.unindexed is not None:
            _say(stored.unindexed)
        for text in stored.problems:
            if text not in self._warned and len(self._warned) < 16:
                self._warned.add(text)
                _say(
                    f"records reached {self.key!r} but trimming or feeding live tails "
                    f"failed: {' '.join(text.split())}"
                )

    def _outage(self, exc: BaseException, retrying: bool) -> None:
        self._registered = False
        if not self._failing:
            self._failing = True
            then = (
                f"buffering up to {self.capacity} records and retrying"
                if retrying
                else "dropping the records it refuses"
            )
            _say(f"cannot write to {self.where}: {_describe(exc)}; {then}")


def _retryable(exc: BaseException) -> bool:
    # Anything unexpected (the embedded server failing to start...) is retried
    # too: records are never thrown away for a fault that might pass.
    return connection.transient(exc) or not isinstance(exc, redis.RedisError)


def _ambiguous(exc: BaseException) -> bool:
    """True if the write may have reached Redis before *exc* (a lost reply)."""
    if isinstance(exc, (redis.exceptions.BusyLoadingError, redis.AuthenticationError)):
        return False  # replies: the server refused the command
    return isinstance(exc, (redis.ConnectionError, redis.TimeoutError, OSError))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, scripts.WrongType):  # already in words
        return connection.describe(exc)
    return f"{type(exc).__name__}: {connection.describe(exc)}"


def _say(message: str) -> None:
    """One line on stderr, never through logging (it would recurse)."""
    try:
        sys.stderr.write(f"redislog: {message}\n")
        sys.stderr.flush()
    except Exception:  # noqa: BLE001 - stderr may be closed at exit
        pass
