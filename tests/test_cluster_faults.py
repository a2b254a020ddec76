"""Redis Cluster under faults: a slot moving and a master failing over while logging.

Each test runs a cluster of its own (the session's ``cluster`` stays intact).
The log key, its tails, meta, seen and inbox keys share one slot, so they move
together; a script that meets the slot half moved is told to try again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from redis.crc import key_slot

from redislog import keys
from tests.servers import Cluster, Server
from tests.support import Background, wait_for

KEY = "logs:moving"


@pytest.fixture(name="own_cluster")
def _own_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A 3-master cluster that a test may hurt."""
    started = Cluster(tmp_path / "cluster").start()
    yield started
    started.stop()


class Logging:
    """A thread logging numbered records to *KEY* through a dictConfig'd handler."""

    def __init__(self, configure: Callable[[dict[str, Any]], None], url: str) -> None:
        configure(
            {
                "handlers": {"c": {"class": "redislog.RedisHandler", "url": url, "key": KEY}},
                "loggers": {"faults.app": {"handlers": ["c"], "level": "INFO", "propagate": False}},
            }
        )
        self.logger = logging.getLogger("faults.app")
        self.handler: Any = self.logger.handlers[0]
        self.logged = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._log)

    def _log(self) -> None:
        while not self._stop.is_set():
            self.logger.info("record %d", self.logged, extra={"i": self.logged})
            self.logged += 1
            time.sleep(0.001)

    @contextmanager
    def running(self) -> Iterator[None]:
        self._thread.start()
        try:
            yield
        finally:
            self._stop.set()
            self._thread.join()

    def delivered(self, count: int, timeout: float = 30) -> None:
        """Wait until *count* more records than logged so far are delivered."""
        target = self.logged + count
        wait_for(lambda: self.handler.stats["delivered"] >= target, timeout=timeout)


def check(owner: Server, app: Logging, tail: Background) -> None:
    """Every record is on *owner* at least once, none dropped; the tail saw them all."""
    app.handler.flush(30)
    assert app.handler.stats["pending"] == 0
    assert app.handler.stats["dropped"] == 0
    everything = set(range(app.logged))
    with owner.client() as client:
        stored = Counter(json.loads(raw)["i"] for raw in client.lrange(KEY, 0, -1))
    assert set(stored) == everything, f"missing: {sorted(everything - set(stored))[:20]}"
    # At least once: a retried write may land twice; report, don't fail.
    twice = sum(count - 1 for count in stored.values())
    print(f"{app.logged} records logged, {twice} stored more than once")

    def shown() -> set[int]:
        return {json.loads(line)["i"] for line in tail.lines}

    tail.wait_for(lambda: app.logged - 1 in shown(), 30)
    assert shown() == everything, f"tail missed {sorted(everything - shown())[:20]}"


def start_tail(cluster: Cluster, url: str) -> Background:
    admin = cluster.client()
    admin.sadd(keys.INDEX, KEY)  # the app ran before
    running = admin.zcard(keys.tails(KEY))
    tail = Background("tail", KEY, "-o", "json", "--url", url)
    try:
        wait_for(lambda: admin.zcard(keys.tails(KEY)) == running + 1, timeout=20)
    except BaseException:
        tail.kill()
        raise
    finally:
        admin.close()
    return tail


def test_slot_migration_during_logging_loses_nothing(
    own_cluster: Cluster, configure: Callable[[dict[str, Any]], None]
) -> None:
    """Done when: the log key's slot moves mid-logging; every record lands on the
    new owner, none is dropped, and the tail follows the slot."""
    source = own_cluster.node_of(KEY)
    target = next(node for node in own_cluster.nodes if node is not source)
    url = source.url
    tail = start_tail(own_cluster, url)
    try:
        app = Logging(configure, url)
        with app.running():
            app.delivered(300)
            # Each key takes a while to move, as a long list does: the slot
            # stays half moved for longer than the client's own redirects last.
            own_cluster.migrate_slot(key_slot(KEY.encode()), source, target, pause=0.15)
            app.delivered(300)
        check(target, app, tail)
        with source.client() as client:
            assert client.execute_command("CLUSTER", "COUNTKEYSINSLOT", key_slot(KEY.encode())) == 0
    finally:
        tail.stop()


def test_master_failovers_during_logging_lose_nothing(
    own_cluster: Cluster, configure: Callable[[dict[str, Any]], None]
) -> None:
    """Done when: the log key's master hands over to its replica, then the new
    master dies mid-logging; every record is on the last one standing, none is
    dropped, and the tails carry on: one started with the URL of a node that
    lives, one with the URL of the node that dies."""
    first = own_cluster.node_of(KEY)
    second = own_cluster.add_replica(first)
    url = next(node for node in own_cluster.nodes if node not in (first, second)).url
    tail = start_tail(own_cluster, url)
    doomed = start_tail(own_cluster, second.url)
    try:
        app = Logging(configure, url)
        with app.running():
            app.delivered(300)
            own_cluster.hand_over(first, second)
            app.delivered(300)
            own_cluster.fail_over(second, first)
            app.delivered(300)
        check(first, app, tail)
        check(first, app, doomed)
    finally:
        tail.stop()
        doomed.stop()
