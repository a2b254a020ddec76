"""Records as the tests need them: list elements, decoded entries, stored batches."""

from __future__ import annotations

import itertools
import json

import redis

from redislog import keys, levels, scripts
from redislog.entry import Entry, decode

_batches = itertools.count(1)


def element(**data: object) -> bytes:
    """*data* as one list element holds a JSON object: compact UTF-8 (big
    integers too, which orjson refuses)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def decoded(key: str = "logs:test", /, **data: object) -> Entry:
    """What a viewer decodes from ``element(**data)`` in log *key*."""
    return decode(element(**data), key)


def ours(
    i: int,
    msg: str | None = None,
    *,
    levelno: int = 20,
    ts: float | None = None,
    logger: str = "app",
    **fields: object,
) -> bytes:
    """Record number *i* as redislog writes one: the head (``ts``, ``level``,
    ``levelno``, ``logger``) first, message ``m<i>`` and id ``p:<i>`` unless
    given, then *fields*."""
    return element(
        ts=1_700_000_000 + i if ts is None else ts,
        level=levels.label(levelno),
        levelno=levelno,
        logger=logger,
        msg=f"m{i}" if msg is None else msg,
        id=f"p:{i}",
        **fields,
    )


def push(client: redis.Redis, key: str, *raws: bytes, maxlen: int = 100_000) -> None:
    """Store *raws* (oldest first) in *key* as one writer batch, and index *key*."""
    scripts.push(client, key=key, token="test", batch=next(_batches), maxlen=maxlen, records=raws)
    client.sadd(keys.INDEX, key)
