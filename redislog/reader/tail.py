"""``redislog tail``: the newest records of some logs, then every new one.

A :class:`Tail` is non-destructive.  It registers with the ``ATTACH`` script,
which also snapshots the list at that instant, reads the backlog from the
snapshot in bounded windows (``BACKLOG``; on a local server, a filtered
backlog may be read in plain windows older than the snapshot's newest
records, as ``Search`` reads them), then reads live records from the
list after its cursor, the newest record it read (``FOLLOW``).  The private
inbox that the writer's script fills (``keys`` explains the layout) only
wakes it within milliseconds; a poll every half second finds records that
other programs pushed.  So the backlog and the live records meet with no gap
and no overlap, any number of tails see every record, and every writer's
records show.  Heartbeats keep the registration alive (a killed tail's inbox
expires by itself) and pick up log keys that appear later and match the
tail's globs.  After a lost connection or registration, the tail registers
again and its cursor finds its place in the list.
"""

from __future__ import annotations

import itertools
import secrets
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass

from redislog import keys as keyspace
from redislog import prefilter, scripts
from redislog.connection import ERRORS, transient
from redislog.entry import Entry, decode
from redislog.filters import Query
from redislog.reader import logs
from redislog.reader._pops import Arrived, BlockingPops
from redislog.reader._shared import (
    BLOCK,
    DRAIN,
    WINDOW,
    Link,
    Pacer,
    Recent,
    batches,
    effective,
    matching,
    merge,
    plural,
)
from redislog.reader._windows import PlainWindows
from redislog.reader.search import Progress, before, pays_here
from redislog.scripts import (
    Anchor,
    AttachReply,
    BacklogReply,
    Cursor,
    Follow,
    Registration,
    WindowStatus,
)

#: Seconds a tail's registration lives without a heartbeat.
TTL = 30.0
#: Seconds between heartbeats.
HEARTBEAT_EVERY = 5.0
#: Seconds between looks at the lists for records no inbox announced (pushed
#: by other programs); also the longest one BRPOP blocks.
POLL = 0.5

_NOT_ATTACHED = BacklogReply(
    WindowStatus.EXPIRED, shift=0, length=0, correction=0, maxts=None, newest=b"",
    oldest=b"", read=0, candidates=[],
)  # fmt: skip


@dataclass(frozen=True)
class Timing:
    """How a tail paces itself (tests shorten these).

    Args:
        ttl: seconds the registration lives without a heartbeat.
        heartbeat: seconds between heartbeats.
        block: seconds one BRPOP blocks at most (the socket timeout must be
            longer).
        window: records per plain backlog window at most (windows a script
            reads are sized by the server's pace).
        poll: seconds between looks for records pushed by other programs.
    """

    ttl: float = TTL
    heartbeat: float = HEARTBEAT_EVERY
    block: float = BLOCK
    window: int = WINDOW
    poll: float = POLL


@dataclass(eq=False)
class _Registration:
    """One log key this tail reads, and how far it got."""

    key: str
    tail_id: str
    # Pushes since ATTACH that the server cannot count for us (for BACKLOG):
    # records popped from the inbox, gaps already reported, corrections for
    # foreign pushes.
    base: int = 0
    attached: bool = False
    # Where live reading goes on from (None until registered).
    cursor: Cursor | None = None
    # Records older than this (epoch seconds) are not shown: a log key found
    # after the tail started shows only what was logged since.
    not_before: float | None = None
    # Whether the connection was lost since the last live read.
    reconnected: bool = False

    @property
    def inbox(self) -> bytes:
        return keyspace.encoded(keyspace.inbox(self.key, self.tail_id))


class Tail:
    """The newest records of some log keys, then every new one as it arrives.

    Args:
        link: the server (reconnected after a lost connection).
        keys: the log keys.
        lines: how many of the newest matching records to show first
            (``None`` for all of them).
        follow: keep following after the backlog.
        query: only records it matches are returned (``None`` for all).
        watch: globs over the index: log keys that appear later and match
            one are followed too (``*`` for every key).
        timing: registration, heartbeat, blocking and window sizes.
        on_live: called once the backlog is shown and following begins.
        on_window: called after each window of the backlog with how far
            reading it got (:attr:`progress`).
        local: the server is on this machine: a filtered backlog is read in
            plain windows and filtered here when that costs it less (as
            ``Search`` does).
    """

    def __init__(
        self,
        link: Link,
        keys: Sequence[str],
        *,
        lines: int | None = 10,
        follow: bool = True,
        query: Query | None = None,
        watch: Sequence[str] = (),
        timing: Timing = Timing(),
        on_live: Callable[[], None] | None = None,
        on_window: Callable[[Progress], None] | None = None,
        local: bool = False,
    ) -> None:
        self.tail_id = secrets.token_hex(8)
        self._link = link
        self._watch = list(watch)
        self._new: list[_Registration] = []
        self._regs = [_Registration(key, self.tail_id) for key in keys]
        self._lines = lines
        self._follow = follow
        self._query = effective(query)
        self._pre = prefilter.for_query(self._query)
        self._filter_args = self._pre.args()
        self._ttl_ms = int(timing.ttl * 1000)
        self._beat_every = timing.heartbeat
        self._block = min(timing.block, timing.poll)
        self._poll = timing.poll
        self._next_beat = 0.0
        self._recent = Recent()
        self._pacer = Pacer()
        self._plain_size = timing.window
        self._started = time.time()
        self._closed = False
        self._arrived: Arrived = Arrived()
        self._on_live = on_live
        self._on_window = on_window
        self._local = local
        #: How far reading the backlog got: records read (before the filter)
        #: of the snapshots' total, and back to when.
        self.progress = Progress()
        self._stopped = threading.Event()

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

    def stop(self) -> None:
        """End :meth:`batches` from another thread, within the poll time
        (half a second) while it follows."""
        self._stopped.set()

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
                client = self._link.twin(1.0)
                pipe = client.pipeline(transaction=False)
                for reg in regs:
                    pipe.zrem(keyspace.encoded(keyspace.tails(reg.key)), self.tail_id)
                    pipe.delete(reg.inbox)
                    pipe.hdel(keyspace.encoded(keyspace.gaps(reg.key)), self.tail_id)
                pipe.execute()
        except Exception:  # noqa: BLE001 - the registration expires by itself
            pass
        finally:
            for reg in regs:
                reg.attached = False
            if client is not None:
                client.close()
            self._link.client.close()

    # -- the run ------------------------------------------------------------

    def _matching(self, raws: Iterable[bytes], key: str) -> Iterator[Entry]:
        return matching(raws, key, self._query)

    def _run(self) -> Iterator[list[Entry]]:
        try:
            snapshots = [self._attach(reg, self._first_count()) for reg in self._regs]
            self._next_beat = time.monotonic() + self._beat_every
            for batch in batches(self._backlog(snapshots)):
                batch = self._recent.only_fresh(batch)
                if batch:
                    yield batch
        except ERRORS as exc:
            if not transient(exc) or not self._follow:
                raise self._link.failed("reading from", exc) from None
            yield from self._recover(exc)
        if self._follow and self._on_live is not None:
            self._on_live()
        while self._follow and not self._stopped.is_set():
            try:
                yield from self._live()
            except ERRORS as exc:
                if not transient(exc):
                    raise self._link.failed("reading from", exc) from None
                yield from self._recover(exc)

    def _first_count(self) -> int:
        lines = self._lines
        if lines == 0:
            return 0
        if lines is None or self._query is not None:
            return self._pacer.size
        return min(lines, self._pacer.size)

    def _attach(self, reg: _Registration, count: int) -> AttachReply:
        # At least the newest record: live reading goes on after it.
        reply = scripts.attach(
            self._link.client, log=reg.key, tail_id=self.tail_id, ttl_ms=self._ttl_ms,
            count=max(count, 1),
        )  # fmt: skip
        reg.base = 0
        reg.attached = True
        newest = reply.newest[0] if reply.newest else None
        reg.cursor = Cursor(newest, 0, reply.length, reply.pushed, reply.trimmed)
        return reply

    # -- the backlog -----------------------------------------------------------

    def _backlog(self, snapshots: list[AttachReply]) -> Iterator[Entry]:
        lines = self._lines
        if lines == 0:
            return
        pairs = list(zip(self._regs, snapshots, strict=True))
        self.progress.total = sum(snap.length for snap in snapshots)
        if lines is None and self._pre.since is not None:
            # Everything since then: read from the new end, which stops at
            # the first window older than that (a journalctl -S).
            lines = sys.maxsize
        if lines is None:
            yield from merge([self._oldest_first(reg, snap) for reg, snap in pairs])
            return
        newest = [self._newest_first(reg, snap, lines) for reg, snap in pairs]
        chosen = list(itertools.islice(merge(newest, newest_first=True), lines))
        chosen.reverse()
        yield from chosen

    def _window(self, reg: _Registration, lo: int, hi: int, anchor: Anchor | None) -> BacklogReply:
        """Snapshot indices lo..hi of *reg*'s ATTACH snapshot, newest first."""
        while True:
            self._heartbeat()
            if not reg.attached:
                return _NOT_ATTACHED
            started = time.monotonic()
            reply = scripts.backlog(
                self._link.client, log=reg.key, tail_id=self.tail_id, base=reg.base,
                span=(lo, hi), anchor=anchor, filter_args=self._filter_args,
            )  # fmt: skip
            if reply.status is WindowStatus.EXPIRED:
                reg.attached = False
                return reply
            if reply.status is WindowStatus.TRIMMED:
                return reply
            reg.base += reply.correction
            if reply.status is WindowStatus.RELOCATING:
                continue
            self._pacer.measure(time.monotonic() - started, reply.read)
            self._report(reply.read, reply.oldest)
            return reply

    def _report(self, read: int, oldest: bytes) -> None:
        """Count a backlog window of *read* records, the *oldest* last."""
        progress = self.progress
        progress.scanned += read
        if self._on_window is None or not read:
            return
        ts = decode(oldest, "").ts  # one record per window
        if ts is not None and (progress.reached is None or ts < progress.reached):
            progress.reached = ts
        self._on_window(progress)

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

    def _oldest_first(self, reg: _Registration, snapshot: AttachReply) -> Iterator[Entry]:
        """The whole snapshot, oldest first, read in windows from its old end."""
        first = snapshot.newest
        done = len(first)
        # The anchor is the newest-side record: trimming reaches it last, so
        # when it is gone, so is everything still unread.
        anchor = Anchor(done - 1, first[-1]) if first else None
        hi = snapshot.length - 1
        missing = 0
        while hi >= done:
            lo = max(done, hi - self._pacer.size + 1)
            window = self._window(reg, lo, hi, anchor)
            if window.status is WindowStatus.EXPIRED:
                self._link.notify(
                    f"{reg.key}: the tail's registration expired while reading the "
                    "backlog; older records were skipped"
                )
                break
            if window.status is WindowStatus.TRIMMED:
                missing += hi - done + 1
                break
            missing += hi - lo + 1 - window.read
            yield from self._matching(reversed(window.candidates), reg.key)
            hi = lo - 1
        if missing:
            self._link.notify(
                f"{reg.key}: {plural(missing, 'older record was', 'older records were')} "
                "trimmed by the list's cap before they could be read"
            )
        yield from self._matching(reversed(first), reg.key)

    def _newest_first(
        self, reg: _Registration, snapshot: AttachReply, lines: int
    ) -> Iterator[Entry]:
        """Up to *lines* matching records of the snapshot, newest first.

        Lazily: a window is read only when its records are asked for, so the
        scan ends as soon as the newest *lines* matches of every key are
        chosen.
        """
        first = snapshot.newest
        found = 0
        for entry in itertools.islice(self._matching(first, reg.key), lines):
            found += 1
            yield entry
        older = found < lines and len(first) < snapshot.length
        if older and self._local:
            windows = PlainWindows(
                self._link.client, keyspace.encoded(reg.key), self._plain_size,
                start=len(first), anchor=first[-1],
            )  # fmt: skip
            # Judged by a plain window's records: the snapshot's newest are
            # the few that a first script call reads.
            if pays_here(self._pre, windows):
                yield from self._older_here(reg, windows, lines - found)
                return
        index = len(first)
        anchor = Anchor(index - 1, first[-1]) if first else None
        since = self._pre.since
        while found < lines and index < snapshot.length:
            size = self._pacer.size
            if self._query is None:
                size = min(size, lines - found)
            hi = min(snapshot.length - 1, index + size - 1)
            window = self._window(reg, index, hi, anchor)
            if window.status is not WindowStatus.READ:
                break
            matches = list(
                itertools.islice(self._matching(window.candidates, reg.key), lines - found)
            )
            found += len(matches)
            yield from matches
            if window.read < hi - index + 1:
                break  # the rest was trimmed by the cap
            anchor = Anchor(hi, window.oldest)
            if since is not None and window.maxts is not None and window.maxts < since:
                break  # everything further is older still
            index = hi + 1

    def _older_here(self, reg: _Registration, windows: PlainWindows, lines: int) -> Iterator[Entry]:
        """Up to *lines* matching records from *windows*, newest first,
        filtered here.

        The windows read the list itself, not the snapshot, from just past
        the newest records at ATTACH (the last of them anchors the windows):
        records pushed since are newer than those.
        """
        since = self._pre.since
        found = 0
        for raws in windows:
            self._heartbeat()  # the registration lives on for following
            self._report(len(raws), raws[-1] if raws else b"")
            candidates = self._pre.candidates(raws)
            matches = list(itertools.islice(self._matching(candidates, reg.key), lines - found))
            found += len(matches)
            yield from matches
            if found >= lines or (since is not None and raws and before(raws, reg.key, since)):
                return

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
            reply = scripts.heartbeat(
                self._link.client, log=reg.key, tail_id=self.tail_id, ttl_ms=self._ttl_ms
            )
            if reply.registration is Registration.EXPIRED:
                reg.attached = False
            else:
                # Only BACKLOG counts them: live records are read from the
                # list, which still holds what the inbox dropped.
                reg.base += reply.dropped

    def _discover(self) -> None:
        """Follow log keys that appeared in the index and match a watched glob."""
        if not self._watch:
            return
        client = self._link.client
        known = {reg.key for reg in self._regs}
        found = logs.matching(
            (name for name in logs.indexed(client) if name not in known), self._watch
        )
        if not found:
            return
        for name, kind in zip(found, logs.types(client, found), strict=True):
            if kind in ("list", "none"):
                reg = _Registration(name, self.tail_id)
                self._regs.append(reg)
                self._new.append(reg)
                self._link.notify(f"now also reading {name}")

    def _live(self) -> Iterator[list[Entry]]:
        by_inbox: dict[bytes, _Registration] = {}
        pops: BlockingPops | None = None
        next_poll = 0.0
        try:
            while not self._stopped.is_set():
                self._heartbeat()
                if self._new:
                    new, self._new = self._new, []
                    for reg in new:
                        self._start_late(reg)  # found after the tail started
                for reg in self._regs:
                    if reg.cursor is None:
                        self._start_late(reg)
                    elif not reg.attached:
                        # Nothing was missed meanwhile: the list has it all.
                        self._register(reg)
                if not self._regs:  # waiting for the first log key to appear
                    time.sleep(self._poll)
                    self._discover()
                    continue
                if pops is None or len(by_inbox) != len(self._regs):
                    by_inbox = {reg.inbox: reg for reg in self._regs}
                    if pops is not None:
                        pops.close()
                    pops = BlockingPops(
                        self._link.client, list(by_inbox), block=self._block, drain=DRAIN,
                        arrived=self._arrived,
                    )  # fmt: skip
                popped = pops.next()
                due: list[tuple[_Registration, list[bytes]]] = []
                if popped is not None:
                    due.append((by_inbox[popped[0]], popped[1]))
                now = time.monotonic()
                if now >= next_poll:
                    # Records other programs LPUSH wake no inbox: look for them.
                    next_poll = now + self._poll
                    woken = {id(reg) for reg, _ in due}
                    due += [(reg, []) for reg in self._regs if id(reg) not in woken]
                for reg, woken_by in due:
                    yield from self._read_live(reg, woken_by)
        finally:
            if pops is not None:
                pops.close()

    # How live records stay exact: they are read from the list itself, after
    # the cursor (the newest record read), wherever pushes moved it; the inbox
    # only wakes the tail within milliseconds of the writer's pushes, and a
    # poll every half second finds those of other programs (see
    # scripts.FOLLOW).  Records are read in the list's order, each once.

    def _read_live(self, reg: _Registration, woken_by: list[bytes]) -> Iterator[list[Entry]]:
        """Everything newer than *reg*'s cursor; *woken_by*: the records
        popped from its inbox to wake the tail (the list has them too)."""
        while True:
            old = reg.cursor
            assert old is not None  # set on registering
            reply = scripts.follow(
                self._link.client, log=reg.key, tail_id=self.tail_id, cursor=old,
                window=DRAIN, filter_args=self._filter_args,
            )  # fmt: skip
            reg.cursor = reply.cursor
            raws = list(reversed(reply.candidates))
            if reply.status is Follow.TRIMMED and reply.missed:
                # The writer's records trimmed unread are in the inbox: they
                # are older than all the list holds.
                listed = set(raws)
                saved = [raw for raw in [*woken_by, *reply.inbox] if raw not in listed]
                raws = [*saved, *raws]
                lost = reply.missed - len(saved)
                if lost > 0:
                    self._link.notify(
                        f"{reg.key}: at least {plural(lost, 'record was', 'records were')} "
                        "trimmed by the list's cap before this tail could read them"
                    )
            elif reply.status is Follow.GONE and reg.reconnected:
                # Gone across a reconnection: the server lost data (restarted
                # without persistence, or failed over to a replica behind).
                self._link.notify(
                    f"{reg.key}: the server lost records this tail had not read yet; "
                    "records logged meanwhile may be missing"
                )
                if old.record is not None:
                    ts = decode(old.record, reg.key).ts
                    # A replica behind has records already shown again.
                    reg.not_before = None if ts is None else ts - 1
            reg.reconnected = False
            woken_by = []
            entries = self._matching(raws, reg.key)
            if reg.not_before is not None:
                entries = self._not_before(reg, entries)
            batch = self._recent.only_fresh(entries)
            if batch:
                yield batch
            if not reply.more:
                return

    @staticmethod
    def _not_before(reg: _Registration, entries: Iterable[Entry]) -> Iterator[Entry]:
        """*entries* from *reg*'s ``not_before`` on (then all: clocks differ)."""
        for entry in entries:
            since = reg.not_before
            if since is None or (entry.ts is not None and entry.ts >= since):
                reg.not_before = None
                yield entry
            elif entry.ts is None:
                yield entry

    def _register(self, reg: _Registration) -> None:
        """Register again, keeping the cursor (the inbox only wakes the tail)."""
        scripts.attach(
            self._link.client, log=reg.key, tail_id=self.tail_id, ttl_ms=self._ttl_ms, count=0
        )
        reg.attached = True
        self._next_beat = time.monotonic() + self._beat_every

    def _recover(self, exc: BaseException) -> Iterator[list[Entry]]:
        """Reconnect with backoff, then pick up where the tail left off."""
        self._link.reconnect(exc, ready=lambda: self._heartbeat(force=True))
        # Records popped from an inbox just as the connection broke never
        # arrived, but the list has them: the cursor finds them.
        for reg in self._regs:
            if reg.cursor is None:
                self._start_late(reg)  # it never registered
            else:
                self._register(reg)
                reg.reconnected = True
        return iter(())

    def _start_late(self, reg: _Registration) -> None:
        """Register *reg* and read what was logged since the tail started."""
        reply = self._attach(reg, 0)
        reg.cursor = Cursor(None, 0, 0, reply.pushed, reply.trimmed)
        reg.not_before = self._started - 1
