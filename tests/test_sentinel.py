"""Sentinel: a redis+sentinel:// URL, and a master failing over while logging."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from redislog import keys
from tests.servers import SentinelGroup
from tests.support import Background, run_cli, wait_for


def test_failover_during_logging_stores_every_record_and_the_tail_carries_on(
    tmp_path: Path, configure: Callable[[dict[str, Any]], None]
) -> None:
    """Done when: the master dies mid-logging; every record is stored, the tail goes on."""
    group = SentinelGroup(tmp_path / "sentinel").start()
    key = "logs:sentinel"
    tail = None
    try:
        admin = group.master.client()
        admin.sadd(keys.INDEX, key)
        tail = Background("tail", key, "-o", "json", "--url", group.url)
        wait_for(lambda: admin.zcard(keys.tails(key)) == 1, timeout=20)
        configure(
            {
                "handlers": {"s": {"class": "redislog.RedisHandler", "url": group.url, "key": key}},
                "loggers": {
                    "sentinel.app": {"handlers": ["s"], "level": "INFO", "propagate": False}
                },
            }
        )
        logger = logging.getLogger("sentinel.app")
        handler: Any = logger.handlers[0]
        stop = threading.Event()
        logged = 0

        def log() -> None:
            nonlocal logged
            while not stop.is_set():
                logger.info("record %d", logged, extra={"i": logged})
                logged += 1
                time.sleep(0.001)

        thread = threading.Thread(target=log)
        thread.start()
        try:
            wait_for(lambda: handler.stats["delivered"] >= 300, timeout=20)
            new_master = group.fail_over()
            after = logged
            wait_for(lambda: handler.stats["delivered"] >= after + 300, timeout=30)
        finally:
            stop.set()
            thread.join()
        handler.flush(30)
        assert handler.stats["dropped"] == 0
        client = new_master.client()
        stored = {json.loads(raw)["i"] for raw in client.lrange(key, 0, -1)}
        assert stored == set(range(logged)), f"missing: {sorted(set(range(logged)) - stored)}"
        tail.wait_for(lambda: logged - 1 in {json.loads(line)["i"] for line in tail.lines}, 30)
        seen = {json.loads(line)["i"] for line in tail.lines}
        assert seen == set(range(logged)), f"tail missed {sorted(set(range(logged)) - seen)}"
        assert any("reconnected" in line for line in tail.errors), tail.errors
        info = run_cli("info", "--url", group.url)
        assert f"mode:     master 127.0.0.1:{new_master.port} of Sentinel service 'logs'" in (
            info.stdout
        ), info.stderr
        client.close()
        admin.close()
    finally:
        if tail is not None:
            tail.stop()
        group.stop()
