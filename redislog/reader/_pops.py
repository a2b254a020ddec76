"""Blocking pops from several lists at once (the tail's inboxes, the logs a
consumer drains)."""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from redislog.connection import Client, is_cluster

#: What the cluster's popping threads hand over: the pops they belong to,
#: and (list, records) or the exception that ended them.
Arrived = queue.SimpleQueue[tuple["BlockingPops", Any]]


class BlockingPops:
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
        arrived: Arrived,
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
