"""The record head (``record.HEAD``) is a contract: real records begin with it,
and the server-side filter and the ``stats`` fast path read it without decoding.

Every record here comes from ``record.build`` (or ``external``, ``marker``)
and ``serialize.dumps``, as the handler, ``send`` and ``pipe`` write them, so
reordering the keys of a record fails these tests.
"""

from __future__ import annotations

import logging

import orjson
import redis

from redislog import filters, prefilter, record, scripts, serialize, stats
from tests.support.records import push

T0 = 1_795_654_923.25


def built(count: int) -> list[bytes]:
    """*count* records from LogRecords, every tenth at ERROR, one a second
    apart from T0 (oldest first), as the handler encodes them."""
    producer = record.Producer()
    out = []
    for i in range(count):
        level = logging.ERROR if i % 10 == 0 else logging.INFO
        rec = logging.LogRecord("app.db", level, "/srv/app.py", 7, "query %d", (i,), None)
        rec.created = T0 + i
        out.append(serialize.dumps(record.build(rec, producer.next_id(), {"service": "shop"})))
    return out


def others() -> list[bytes]:
    """A record ``send`` writes, one ``pipe`` relays, and a drop marker."""
    sent = record.external("backup done", "INFO", 20, "cron", "p:1", fields={"files": 3})
    relayed = record.external("from elsewhere", "WARNING", 30, "ci", "p:2", ts=T0, relayed=True)
    return [serialize.dumps(data) for data in (sent, relayed, record.marker(5, T0, "x", "p:3"))]


def test_every_kind_of_record_begins_with_the_head() -> None:
    for raw in [*built(3), *others()]:
        assert tuple(orjson.loads(raw))[: len(record.HEAD)] == record.HEAD


def test_the_server_side_filter_rejects_real_records_by_their_head(
    client: redis.Redis, key: str
) -> None:
    """A level filter keeps only the ERROR records on the server: it read every head."""
    raws = built(100)
    push(client, key, *raws)
    query = filters.parse_query(level="error")
    reply = scripts.scan(
        client, log=key, start=0, count=1000, anchor=None,
        filter_args=prefilter.for_query(query).args(),
    )  # fmt: skip
    assert reply.status is scripts.WindowStatus.READ
    assert reply.read == 100
    assert reply.candidates == [raw for raw in reversed(raws) if b'"levelno":40' in raw]
    assert reply.maxts == T0 + 99


def test_stats_counts_real_records_from_their_heads_alone() -> None:
    """Every real record is counted by the fast path: none is decoded."""
    raws = [*built(100), *others()]
    counts = stats.Counts(None, resolution=10)
    counts.add("logs:head", raws)
    assert sum(counts.heads.values()) == len(raws)
    assert not counts.timed
    assert not counts.untimed
    by_level: dict[int, int] = {}
    for _, levelno, _, count in counts.records():
        assert levelno is not None
        by_level[levelno] = by_level.get(levelno, 0) + count
    assert by_level == {20: 91, 30: 2, 40: 10}
