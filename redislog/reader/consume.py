"""``redislog tail --consume``: records popped off the log lists themselves."""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from typing import Any

from redislog import keys as keyspace
from redislog.connection import ERRORS, transient
from redislog.entry import Entry, decode
from redislog.reader._pops import Arrived, BlockingPops
from redislog.reader._shared import BLOCK, DRAIN, Link, Recent


class Consumer:
    """Pops records off the log lists themselves, oldest first.

    Each record goes to exactly one consumer and leaves the list.  A record
    popped just as the connection breaks is lost with it.

    Args:
        link: the server (reconnected after a lost connection).
        keys: the log keys.
        follow: keep waiting for records once the lists are empty.
        block: seconds one BRPOP blocks.
    """

    def __init__(
        self, link: Link, keys: Sequence[str], *, follow: bool = True, block: float = BLOCK
    ) -> None:
        self._link = link
        self._keys = list(keys)
        self._follow = follow
        self._block = block
        self._recent = Recent()
        self._arrived: Arrived = Arrived()

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
                        raise self._link.failed("reading from", exc) from None
                    self._link.reconnect(exc)
        finally:
            self._link.client.close()

    def _batch(self, name: bytes | str, raws: list[bytes]) -> list[Entry]:
        key = keyspace.decoded(name)
        return self._recent.only_fresh(decode(raw, key) for raw in raws)

    def _pop(self) -> Iterator[list[Entry]]:
        client = self._link.client
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
        pops = BlockingPops(
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
