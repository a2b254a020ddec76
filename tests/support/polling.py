"""The one way tests wait: poll a condition until it holds or time runs out."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis


def wait_for(
    predicate: Callable[[], object],
    timeout: float = 10.0,
    *,
    every: float = 0.005,
    what: str | Callable[[], str] = "condition",
) -> None:
    """Return once *predicate* holds; fail the test after *timeout* seconds.

    *predicate* may raise to fail at once (a process that died).  *what*
    names what was awaited in the failure, or says it when called then.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            said = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout:g}s waiting for {said}")
        time.sleep(every)


def wait_until_following(client: redis.Redis) -> None:
    """Wait until some client waits in a BRPOP: a tail is following."""

    def blocked() -> bool:
        return any(
            c.get("cmd") == "brpop" and "b" in c.get("flags", "") for c in client.client_list()
        )

    wait_for(blocked, what="a client blocked in BRPOP")
