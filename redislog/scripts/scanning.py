"""The search's script: SCAN reads a bounded window, newest first, pre-filtered
on the server (see ``tailing`` for why the log key is in ARGV)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redislog import keys
from redislog.connection import Client
from redislog.scripts import lua
from redislog.scripts.lua import WindowStatus

# KEYS: meta (only to route the call; see above)
# ARGV: log, start, count, has anchor '1'/'0', anchor, relocation budget,
#       filter arguments...
# Reads *count* records from index *start* (newest first), for search.  The
# anchor is the last record of the previous window, expected at start - 1;
# records pushed since then moved it up, so it is searched for forward and
# reading resumes right after it: nothing is skipped or read twice.
# Returns {status, start, llen, maxts, last, read, candidates...}: status 0
# read from *start*; -1 anchor trimmed away (nothing older is left); -2 anchor
# not found yet, call again with start (the index to search on from).
SCAN = lua.with_filter(
    7,
    """
local log = ARGV[1]
local start = tonumber(ARGV[2])
local llen = redis.call('LLEN', log)
if ARGV[4] == '1' then
  local found, resume = relocate(log, start - 1, ARGV[5], tonumber(ARGV[6]))
  if not found then
    if resume < 0 then
      return {-1, 0, llen, '', '', 0}
    end
    return {-2, resume + 1, llen, '', '', 0}
  end
  start = found + 1
end
local records = redis.call('LRANGE', log, start, start + tonumber(ARGV[3]) - 1)
local out = {0, start, llen, '', records[#records] or '', #records}
out[4] = filter(records, out)
return out
""",
)


_SCAN_STATUS = {0: WindowStatus.READ, -1: WindowStatus.TRIMMED, -2: WindowStatus.RELOCATING}


@dataclass(frozen=True)
class ScanReply:
    status: WindowStatus
    #: Where the window began (READ), or where to go on looking for the
    #: anchor (RELOCATING).
    start: int
    #: The list's length now.
    length: int
    #: The newest record time among the window's records (by their head).
    maxts: float | None
    #: The window's last (oldest) record: the next call's anchor.
    last: bytes
    #: Records in the window.
    read: int
    #: Those the server-side filter kept, newest first.
    candidates: list[bytes]


def scan(
    client: Client,
    *,
    log: str,
    start: int,
    count: int,
    anchor: bytes | None,
    filter_args: Sequence[str],
) -> ScanReply:
    """Read *count* records of *log* from index *start*, newest first, right
    after *anchor* (the previous window's last record) wherever it moved;
    pre-filtered on the server by *filter_args*."""
    reply = lua.run(
        client,
        SCAN,
        [keys.encoded(keys.meta(log))],
        [keys.encoded(log), start, count, "0" if anchor is None else "1", anchor or b"",
         lua.RELOCATE_BUDGET, *filter_args],
    )  # fmt: skip
    return ScanReply(
        _SCAN_STATUS[int(reply[0])],
        start=int(reply[1]),
        length=int(reply[2]),
        maxts=lua.seconds(reply[3]),
        last=reply[4],
        read=int(reply[5]),
        candidates=list(reply[6:]),
    )
