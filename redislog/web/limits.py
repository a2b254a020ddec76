"""Bounds on what one token may send: body size, record size, records per second."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """The bounds of ``POST /api/logs/{key}``.

    Args:
        body: bytes of one request body.
        record: bytes of one input record (one object, one NDJSON line).
        rate: records per second per token, on average.
        burst: records a token may send at once after being idle.
    """

    body: int = 16 * 1024 * 1024
    record: int = 1024 * 1024
    rate: float = 20_000.0
    burst: int = 100_000


class Buckets:
    """One token bucket per token name: *rate* records a second, up to *burst*."""

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = burst
        self._state: dict[str, tuple[float, float]] = {}

    def take(self, name: str, count: int, now: float | None = None) -> float:
        """Take *count* records from *name*'s bucket: 0 if they fit, else the
        seconds to wait before they would (nothing is taken then)."""
        now = time.monotonic() if now is None else now
        level, then = self._state.get(name, (float(self._burst), now))
        level = min(float(self._burst), level + (now - then) * self._rate)
        if count <= level:
            self._state[name] = (level - count, now)
            return 0.0
        self._state[name] = (level, now)
        return (count - level) / self._rate

    @staticmethod
    def retry_after(wait: float) -> str:
        """A ``Retry-After`` value: whole seconds, at least one."""
        return str(max(1, math.ceil(wait)))


class Failures:
    """Failed sign-ins per client address: each one makes the next answer slower."""

    def __init__(self, forget: float = 300.0, most: float = 2.0) -> None:
        self._forget = forget
        self._most = most
        self._seen: dict[str, tuple[int, float]] = {}

    def delay(self, client: str, now: float | None = None) -> float:
        """Seconds to wait before answering *client*'s next failed attempt."""
        now = time.monotonic() if now is None else now
        count, last = self._seen.get(client, (0, now))
        if now - last > self._forget:
            count = 0
        return 0.0 if count == 0 else min(self._most, 0.05 * 2 ** min(count - 1, 10))

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        count, last = self._seen.get(client, (0, now))
        if now - last > self._forget:
            count = 0
        self._seen[client] = (count + 1, now)
        if len(self._seen) > 10_000:  # bounded: forget the oldest half
            for name, _ in sorted(self._seen.items(), key=lambda item: item[1][1])[:5000]:
                del self._seen[name]
