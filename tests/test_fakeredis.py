"""Applications can test their own logging without a Redis server: the handler
(and the reader) work on fakeredis, with its Lua support."""

from __future__ import annotations

import fakeredis

from redislog import RedisHandler, filters, reader
from tests.support import attach, stored


def test_an_application_tests_its_logging_on_fakeredis() -> None:
    client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    handler = RedisHandler(key="logs:app", client=client, fields={"service": "shop"})
    logger = attach(handler, "app.checkout")
    logger.info("charged %s", "o-42", extra={"order_id": 42})
    logger.warning("slow payment")
    handler.flush(5)
    handler.close()
    records = stored(client, "logs:app")
    assert [(r["level"], r["msg"], r["service"]) for r in records] == [
        ("INFO", "charged o-42", "shop"),
        ("WARNING", "slow payment", "shop"),
    ]
    assert records[0]["order_id"] == 42
    query = filters.parse_query(level="warning")
    found = reader.Search(client, ["logs:app"], query=query).newest_first()
    assert [entry.msg for entry in found] == ["slow payment"]
