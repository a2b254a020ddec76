"""The live tail's scripts: HEARTBEAT, ATTACH, BACKLOG and FOLLOW.

Readers never LRANGE a whole list inside one script: every read names a
bounded window, so a PING sent meanwhile waits at most one window's work.

They take the log key in ARGV, not KEYS: Redis 7 counts every key declared
to EVALSHA as written, so a user allowed only to read logs (``%R~``) could
not run them.  A derived key in KEYS routes the call to the log's cluster
node (it shares the log's slot); the commands inside are still checked
against the user's rights, key by key.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from redislog import keys
from redislog.connection import Client
from redislog.scripts import lua
from redislog.scripts.lua import Anchor, WindowStatus

# KEYS: tails, inbox, gaps
# ARGV: tail id, ttl ms
# Returns -1 if the registration had expired (the tail must re-register),
# else the number of records trimmed from the inbox since the last call.
HEARTBEAT = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return -1
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expires = now + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], expires, ARGV[1])
-- Every push sets the inbox's expiry too, so a reader whose ACL user may not
-- expire keys (one that could then expire logs) still works.
redis.pcall('PEXPIREAT', KEYS[2], expires)
local gap = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if gap > 0 then
  redis.call('HDEL', KEYS[3], ARGV[1])
end
return gap
"""


class Registration(enum.Enum):
    """Whether a tail's registration was still alive."""

    LIVE = "live"
    EXPIRED = "expired"


@dataclass(frozen=True)
class HeartbeatReply:
    registration: Registration
    #: Records trimmed from the tail's inbox since the last heartbeat.
    dropped: int = 0


def heartbeat(client: Client, *, log: str, tail_id: str, ttl_ms: int) -> HeartbeatReply:
    """Keep tail *tail_id* of *log* registered for *ttl_ms* more milliseconds."""
    reply = int(lua.run(client, HEARTBEAT, _tail_keys(log, tail_id), [tail_id, ttl_ms]))
    if reply < 0:
        return HeartbeatReply(Registration.EXPIRED)
    return HeartbeatReply(Registration.LIVE, reply)


def _tail_keys(log: str, tail_id: str) -> list[bytes]:
    return [
        keys.encoded(name) for name in (keys.tails(log), keys.inbox(log, tail_id), keys.gaps(log))
    ]


# KEYS: tails, meta
# ARGV: log, tail id, ttl ms, backlog count (0 for none)
# Registers the tail and snapshots the list at one instant.  Returns the list's
# length and PUSH's count of records at that instant, then its newest *count*
# records, newest first.  The rest of the snapshot is read later with BACKLOG,
# which maps snapshot indices to current ones.
ATTACH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
-- (HGET twice: the README's reader user has no HMGET.)
local out = {redis.call('LLEN', ARGV[1]), redis.call('HGET', KEYS[2], 'pushed') or '0',
  redis.call('HGET', KEYS[2], 'trimmed') or '0'}
local n = tonumber(ARGV[4])
if n > 0 then
  local records = redis.call('LRANGE', ARGV[1], 0, n - 1)
  for i = 1, #records do
    out[i + 3] = records[i]
  end
end
return out
"""


@dataclass(frozen=True)
class AttachReply:
    #: The list's length at the instant of registration.
    length: int
    #: Records PUSH had pushed and trimmed by then, ever (see FOLLOW).
    pushed: int
    trimmed: int
    #: Its newest records then, newest first.
    newest: list[bytes]


def attach(client: Client, *, log: str, tail_id: str, ttl_ms: int, count: int) -> AttachReply:
    """Register tail *tail_id* of *log* for *ttl_ms* milliseconds and read the
    list's newest *count* records at the same instant."""
    reply = lua.run(
        client,
        ATTACH,
        [keys.encoded(keys.tails(log)), keys.encoded(keys.meta(log))],
        [keys.encoded(log), tail_id, ttl_ms, count],
    )
    return AttachReply(int(reply[0]), int(reply[1]), int(reply[2]), list(reply[3:]))


# KEYS: tails, inbox, gaps
# ARGV: log, tail id, base, lo, hi, has anchor '1'/'0', anchor index, anchor,
#       relocation budget, filter arguments...
# Reads snapshot indices lo..hi of a tail's ATTACH snapshot.  Every record
# pushed since ATTACH moved the snapshot up by one index, and every such push
# also reached the tail's inbox: the shift is the records the client popped
# from the inbox, plus those trimmed from it (reported or not yet), plus those
# still in it.  *base* is the client's part (popped + reported gaps + earlier
# corrections).  The anchor, a record the client read at a known snapshot
# index, checks the count: records LPUSHed by something other than redislog
# move it further up, and it is then searched for forward.
# Returns {status, shift, llen, correction, maxts, newest, oldest, read,
# candidates...}: status 0 read; -1 registration lost; -2 anchor not found
# yet (add correction to base and call again); -3 anchor trimmed away
# (nothing older is left).  newest/oldest are the window's edge records and
# read the number of records in the window.
BACKLOG = lua.with_filter(
    10,
    """
local log = ARGV[1]
local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if not score or tonumber(score) < now then
  return {-1, 0, 0, 0, '', '', '', 0}
end
local shift = tonumber(ARGV[3]) + redis.call('LLEN', KEYS[2])
  + tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0')
local llen = redis.call('LLEN', log)
local correction = 0
if ARGV[6] == '1' then
  local pos = tonumber(ARGV[7]) + shift
  local found, resume = relocate(log, pos, ARGV[8], tonumber(ARGV[9]))
  if not found then
    if resume < 0 then
      return {-3, shift, llen, 0, '', '', '', 0}
    end
    return {-2, shift, llen, resume - pos, '', '', '', 0}
  end
  correction = found - pos
  shift = shift + correction
end
local records = redis.call('LRANGE', log, tonumber(ARGV[4]) + shift,
  tonumber(ARGV[5]) + shift)
local out = {0, shift, llen, correction, '', records[1] or '',
  records[#records] or '', #records}
out[5] = filter(records, out)
return out
""",
)


_BACKLOG_STATUS = {
    0: WindowStatus.READ,
    -1: WindowStatus.EXPIRED,
    -2: WindowStatus.RELOCATING,
    -3: WindowStatus.TRIMMED,
}


@dataclass(frozen=True)
class BacklogReply:
    status: WindowStatus
    #: Pushes since ATTACH that the inbox side counts (base included).
    shift: int
    #: The list's length now.
    length: int
    #: Pushes the anchor revealed beyond those (add them to the base).
    correction: int
    #: The newest record time among the window's records (by their head).
    maxts: float | None
    #: The window's newest and oldest records.
    newest: bytes
    oldest: bytes
    #: Records in the window.
    read: int
    #: Those the server-side filter kept, newest first.
    candidates: list[bytes]


def backlog(
    client: Client,
    *,
    log: str,
    tail_id: str,
    base: int,
    span: tuple[int, int],
    anchor: Anchor | None,
    filter_args: Sequence[str],
) -> BacklogReply:
    """Read snapshot indices *span* (lo, hi) of tail *tail_id*'s ATTACH
    snapshot of *log*, pre-filtered on the server by *filter_args*."""
    position, record = anchor if anchor is not None else (0, b"")
    relocate = ["0" if anchor is None else "1", position, record, lua.RELOCATE_BUDGET]
    reply = lua.run(
        client,
        BACKLOG,
        _tail_keys(log, tail_id),
        [keys.encoded(log), tail_id, base, *span, *relocate, *filter_args],
    )
    status, shift, length, correction, maxts, newest, oldest, read, *candidates = reply
    return BacklogReply(
        _BACKLOG_STATUS[int(status)],
        shift=int(shift),
        length=int(length),
        correction=int(correction),
        maxts=lua.seconds(maxts),
        newest=newest,
        oldest=oldest,
        read=int(read),
        candidates=candidates,
    )


# KEYS: inbox, meta
# ARGV: log, has cursor '1'/'0', cursor, position, length, pushed, trimmed,
#       window, relocation budget, filter arguments...
# A live tail's read, from the list itself: the inbox only wakes the tail up
# (it is emptied here), so records that other programs LPUSH are read like
# the writer's, in the list's order.  The cursor is the newest record the
# tail read, at *position* when the list was *length* long and PUSH had
# pushed and trimmed *pushed* and *trimmed* records ever (``meta`` counts
# them).  Since then PUSH moved the cursor up by the records it pushed; what
# else the list's length did says how many other programs pushed (at least:
# a consumer or LTRIM of theirs may hide some, so the cursor is searched for
# forward from there).  Trims only take the list's old end, so when the
# cursor's place is past the end, it and the records between it and the end
# were trimmed unread.  Reads the oldest *window* records newer than the
# cursor (all of the list when the cursor is gone).
# Returns {status, missed, position, length, pushed, trimmed, cursor, read,
# maxts, drained, inbox records..., candidates...}: status 0 read; -1 the
# cursor was trimmed, and *missed* records after it (the inbox's records,
# oldest first, hold the writer's among them); -2 the cursor is not in the
# list (something else than PUSH trimmed it, or the list was replaced).
# position is the new cursor's (the newest record read), and read the number
# of records read; candidates are those the filter kept, newest first.
FOLLOW = lua.with_filter(
    10,
    """
local log = ARGV[1]
local llen = redis.call('LLEN', log)
local pushed = tonumber(redis.call('HGET', KEYS[2], 'pushed') or '0')
local trimmed = tonumber(redis.call('HGET', KEYS[2], 'trimmed') or '0')
local waiting = redis.call('LLEN', KEYS[1])
local drained = {}
if waiting > 0 then
  drained = redis.call('RPOP', KEYS[1], waiting)
end
local grew, cut = pushed - tonumber(ARGV[6]), trimmed - tonumber(ARGV[7])
if grew < 0 or cut < 0 then
  grew, cut = pushed, trimmed  -- the counts started again (meta was deleted)
end
local status, missed, pos = 0, 0, llen
if ARGV[2] == '1' then
  local foreign = llen - tonumber(ARGV[5]) - grew + cut
  if foreign < 0 then
    foreign = 0
  end
  local start = tonumber(ARGV[4]) + grew + foreign
  if start >= llen then
    status, missed = -1, start - llen
  else
    local found = relocate(log, start, ARGV[3], tonumber(ARGV[9]))
    if found then
      pos = found
    else
      status = -2
    end
  end
end
local lo = math.max(0, pos - tonumber(ARGV[8]))
local records = {}
if pos > 0 then
  records = redis.call('LRANGE', log, lo, pos - 1)
end
local out = {status, missed, lo, llen, pushed, trimmed, records[1] or '', #records, '', 0}
if #records == 0 then
  out[3] = pos
end
if missed > 0 then
  -- The writer's records among those trimmed unread are still in the inbox.
  for _, record in ipairs(drained) do
    out[#out + 1] = record
  end
  out[10] = #drained
end
out[9] = filter(records, out)
return out
""",
)


class Follow(enum.Enum):
    """Where a live tail found its cursor."""

    #: In its place: the records read are exactly those after it.
    FOUND = "found"
    #: Trimmed away by the list's cap (the tail fell behind): the whole list
    #: is newer, and was read from its old end.
    TRIMMED = "trimmed"
    #: Not in the list: trimmed by something else (a consumer, ``redislog
    #: trim``), or the list was replaced (the server restarted or failed
    #: over); the list was read from its old end.
    GONE = "gone"


_FOLLOW_STATUS = {0: Follow.FOUND, -1: Follow.TRIMMED, -2: Follow.GONE}


class Cursor(NamedTuple):
    """The newest record a live tail read, and the list around it then."""

    #: The record (``None``: none read yet, the list was empty).
    record: bytes | None
    #: Records newer than it in the list, then.
    position: int
    #: The list's length then.
    length: int
    #: Records PUSH had pushed and trimmed ever, then (``meta`` counts them).
    pushed: int
    trimmed: int


@dataclass(frozen=True)
class FollowReply:
    status: Follow
    #: Records trimmed before the tail read them (TRIMMED).
    missed: int
    #: Where the tail is now.
    cursor: Cursor
    #: Records read (all of them, before the filter).
    read: int
    #: Whether more newer records wait (the read was one full window).
    more: bool
    #: The records the inbox held, oldest first (only when some were missed).
    inbox: list[bytes]
    #: Those the server-side filter kept, newest first.
    candidates: list[bytes]


def follow(
    client: Client,
    *,
    log: str,
    tail_id: str,
    cursor: Cursor,
    window: int,
    filter_args: Sequence[str],
) -> FollowReply:
    """Read the oldest *window* records of *log* newer than *cursor*, wherever
    the list moved it, and empty tail *tail_id*'s inbox."""
    record = cursor.record
    reply = lua.run(
        client,
        FOLLOW,
        [keys.encoded(keys.inbox(log, tail_id)), keys.encoded(keys.meta(log))],
        [keys.encoded(log), "0" if record is None else "1", record or b"", cursor.position,
         cursor.length, cursor.pushed, cursor.trimmed, window, lua.RELOCATE_BUDGET, *filter_args],
    )  # fmt: skip
    status, missed, position, length, pushed, trimmed, newest, read, _maxts, drained, *rest = reply
    read, counts = int(read), (int(pushed), int(trimmed))
    inbox, candidates = rest[: int(drained)], rest[int(drained) :]
    after = Cursor(newest if read else record, int(position), int(length), *counts)
    if read == 0 and int(length) == 0:
        after = Cursor(None, 0, 0, *counts)
    return FollowReply(
        _FOLLOW_STATUS[int(status)],
        missed=int(missed),
        cursor=after,
        read=read,
        more=read > 0 and int(position) > 0,
        inbox=inbox,
        candidates=candidates,
    )
