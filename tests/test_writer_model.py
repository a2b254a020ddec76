"""The writer against a model: random log calls and faults, then its promises hold.

The server is a stand-in that stores what the push script would store, and can
refuse a batch (nothing stored), lose the reply (stored, then a timeout: the
ambiguous case) or reject it for good.  Promises checked:

- every record is stored or counted as dropped in a marker, never both;
- no duplicates: a batch resent after a lost reply is skipped by the server;
- order: first appearances follow the order of the log calls;
- memory: the buffer never holds more than its capacity.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import Any

import orjson
import pytest
import redis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from redislog import record, serialize, writer
from tests.support import wait_for

CAPACITY = 40


class ModelServer:
    """Stores pushed batches; faults are consumed one per push."""

    def __init__(self) -> None:
        self.stored: list[dict[str, Any]] = []
        self.faults: deque[str] = deque()
        self.ambiguous = 0
        self.last: dict[str, int] = {}
        self.lock = threading.Lock()

    def register_script(self, _script: str) -> Any:
        return self.push

    def sadd(self, *_args: Any) -> int:
        return 1

    def push(self, keys: list[str], args: list[Any], client: Any) -> list[str]:
        with self.lock:
            fault = self.faults.popleft() if self.faults else None
            if fault == "refused":
                raise redis.ConnectionError("refused")
            batch, seen = int(args[3]), keys[4]
            if batch <= self.last.get(seen, 0):
                return []  # stored already: the script skips it
            if fault == "wrongtype":
                raise redis.ResponseError("WRONGTYPE Operation against a key")
            self.stored.extend(orjson.loads(raw) for raw in args[4:])
            self.last[seen] = batch
            if fault == "ambiguous":
                self.ambiguous += 1
                raise redis.TimeoutError("reply lost")
        return []


def reported_drops(stored: list[dict[str, Any]]) -> int:
    """Drops counted by the markers stored, each marker once (by id)."""
    markers = {r["id"]: r["dropped"] for r in stored if "dropped" in r}
    return sum(markers.values())


actions = st.lists(
    st.one_of(
        st.tuples(st.just("log"), st.integers(1, 120)),
        st.tuples(st.sampled_from(["refused", "ambiguous", "wrongtype"]), st.integers(1, 3)),
        st.tuples(st.just("flush"), st.just(0)),
    ),
    max_size=12,
)


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer, "BACKOFF_BASE", 0.0005)
    monkeypatch.setattr(writer, "BACKOFF_CAP", 0.002)


# No shrinking: every example runs a thread, and shrinking one took minutes.
@settings(
    max_examples=150,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=actions)
def test_promises_hold_under_random_faults(steps: list[tuple[str, int]]) -> None:
    """Under random faults each record is stored once or counted dropped, in order."""
    server = ModelServer()
    producer = record.Producer()
    w = writer.Writer(
        lambda: server,  # type: ignore[arg-type, return-value]
        "logs:model",
        10**6,
        where="model",
        producer=producer,
        limits=writer.Limits(records=CAPACITY, bytes=10**6, record_bytes=1024),
    )
    seq = 0
    peak = 0
    for action, n in steps:
        if action == "log":
            for _ in range(n):
                w.submit(serialize.dumps({"id": producer.next_id(), "seq": seq, "msg": "m"}))
                seq += 1
                peak = max(peak, len(w._buffer))
        elif action == "flush":
            w.flush(5)
        else:
            with server.lock:
                server.faults.extend([action] * n)
    assert w.flush(10)
    wait_for(lambda: w.dropped == reported_drops(server.stored), every=0.001, what="drops reported")
    w.close(1)

    seqs = [r["seq"] for r in server.stored if "seq" in r]
    counts = Counter(seqs)
    reported = reported_drops(server.stored)
    assert len(counts) + reported == seq, "a record lost without being counted"
    assert w.delivered + w.dropped == seq
    assert all(n == 1 for n in counts.values()), "a record stored twice"
    firsts = list(dict.fromkeys(seqs))
    assert firsts == sorted(firsts), "records out of order"
    assert peak <= CAPACITY
