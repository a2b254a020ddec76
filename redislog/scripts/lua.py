"""Running the scripts: each is registered once per client and sent by its
SHA1; the bounds every read script shares; the pre-filter every reading
script starts with."""

from __future__ import annotations

import enum
import weakref
from collections.abc import Sequence
from typing import Any, NamedTuple

from redislog.connection import Client
from redislog.scripts import filtering

# Records a tail's inbox holds at most: a tail reading too slowly loses the
# oldest (counted in ``gaps``) rather than growing the server's memory.
INBOX_CAP = 10_000
#: List elements compared per call while looking for a moved anchor.
RELOCATE_BUDGET = 20_000

# Records per LPUSH inside a script: Lua's unpack() is limited to a few
# thousand values on the C stack.
CHUNK = 1000

# The registered scripts of each client (a client that goes away takes its
# registrations with it).
_registered: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def run(client: Client, source: str, keys: Sequence[Any], args: Sequence[Any]) -> Any:
    """Run the script *source* on *client* with KEYS *keys* and ARGV *args*."""
    scripts = _registered.get(client)
    if scripts is None:
        scripts = _registered.setdefault(client, {})
    script = scripts.get(source)
    if script is None:
        script = scripts[source] = client.register_script(source)
    return script(keys=keys, args=args, client=client)


def text(value: Any) -> str:
    """A reply element as text."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def seconds(value: Any) -> float | None:
    """A reply element that is a time, or nothing."""
    return float(value) if value else None


def with_filter(first: int, body: str) -> str:
    """*body* after the pre-filter (``filtering.LUA``), its arguments from ARGV[*first*]."""
    return f"local F = {first}\n{filtering.LUA}\n{body}"


class Anchor(NamedTuple):
    """A record read earlier, and where it was: tells how far the list moved."""

    position: int
    record: bytes


class WindowStatus(enum.Enum):
    """How a read of one window ended."""

    #: The window was read.
    READ = "read"
    #: The tail's registration had expired: nothing was read.
    EXPIRED = "expired"
    #: The anchor is not where expected and was not found within the budget
    #: yet: call again (BACKLOG: with the correction added to the base;
    #: SCAN: from ``start``).
    RELOCATING = "relocating"
    #: The anchor was trimmed away, and everything older with it.
    TRIMMED = "trimmed"
