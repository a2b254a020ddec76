"""Retention's script: TRIM drops the oldest records, if the list's old end
is still as the caller saw it."""

from __future__ import annotations

import enum
from typing import NamedTuple

from redislog import keys
from redislog.connection import Client
from redislog.scripts import lua

# -- retention -------------------------------------------------------------------

# KEYS: log
# ARGV: count, the record the caller read at index -count
# Drops the oldest *count* records, if the list's old end is still as the
# caller read it: records pushed at the head meanwhile change nothing there,
# but a cap trim or a consumer that took records off the tail would make the
# count reach newer ones.  Returns the list's length after, or -1 (nothing
# dropped) if the old end moved.
TRIM = """
local count = tonumber(ARGV[1])
if redis.call('LINDEX', KEYS[1], -count) ~= ARGV[2] then
  return -1
end
redis.call('LTRIM', KEYS[1], 0, -count - 1)
return redis.call('LLEN', KEYS[1])
"""


class TrimStatus(enum.Enum):
    """Whether TRIM dropped the records."""

    DROPPED = "dropped"
    MOVED = "moved"  # the list's old end changed since it was read: nothing dropped


class TrimReply(NamedTuple):
    status: TrimStatus
    #: The list's length after (when DROPPED).
    left: int = 0


def trim(client: Client, *, log: str, count: int, boundary: bytes) -> TrimReply:
    """Drop the oldest *count* records of *log* if the newest of them is still
    *boundary* (the record at index ``-count`` when the caller read it)."""
    left = int(lua.run(client, TRIM, [keys.encoded(log)], [count, boundary]))
    if left < 0:
        return TrimReply(TrimStatus.MOVED)
    return TrimReply(TrimStatus.DROPPED, left)
