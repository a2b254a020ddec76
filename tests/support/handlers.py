"""Logging through a real handler, and reading back what it stored."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import redis

from redislog import RedisHandler


def attach(handler: logging.Handler, name: str) -> logging.Logger:
    """The logger *name*, logging at every level to *handler* alone."""
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger


def stored(client: redis.Redis, key: str) -> list[dict[str, Any]]:
    """Every record in *key*, oldest first."""
    return [orjson.loads(raw) for raw in reversed(client.lrange(key, 0, -1))]


def log_records(url: str, key: str, count: int, **fields: object) -> None:
    """Log *count* records through a real handler (``seq`` 0..count-1)."""
    handler = RedisHandler(url=url, key=key)
    logger = attach(handler, f"app.{key}")
    for i in range(count):
        logger.info("record %d", i, extra={"seq": i, **fields})
    handler.flush(30)
    handler.close()
