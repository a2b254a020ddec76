"""Server-side Lua scripts, each beside the one function that runs it.

Each script runs atomically on the server, so a batch lands whole or not at
all, and a tail's registration and its backlog read happen at one instant.
Every key a script touches shares the log key's hash slot (see ``keys``).

Nothing else calls a script: each function here builds its script's KEYS and
ARGV and returns the reply as a named result (an enum for its status).  A
script is sent by its SHA1 and loaded on a server that lacks it; it is
registered once per client, so a new connection costs no extra round trip.
"""

from __future__ import annotations

import enum
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import redis

from redislog import keys, prefilter
from redislog.connection import ERRORS, Client, describe

# Records a tail's inbox holds at most: a tail reading too slowly loses the
# oldest (counted in ``gaps``) rather than growing the server's memory.
INBOX_CAP = 10_000
#: List elements compared per call while looking for a moved anchor.
RELOCATE_BUDGET = 20_000

# Records per LPUSH inside a script: Lua's unpack() is limited to a few
# thousand values on the C stack.
_CHUNK = 1000

# The registered scripts of each client (a client that goes away takes its
# registrations with it).
_registered: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def _run(client: Client, source: str, keys: Sequence[Any], args: Sequence[Any]) -> Any:
    """Run the script *source* on *client* with KEYS *keys* and ARGV *args*."""
    scripts = _registered.get(client)
    if scripts is None:
        scripts = _registered.setdefault(client, {})
    script = scripts.get(source)
    if script is None:
        script = scripts[source] = client.register_script(source)
    return script(keys=keys, args=args, client=client)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _seconds(value: Any) -> float | None:
    return float(value) if value else None


# -- the writer's script ---------------------------------------------------------

# KEYS: log, tails, gaps, meta, seen
# ARGV: maxlen, inbox cap, inbox key prefix, batch number, record...
# Scripts are not rolled back on error, so the one write that must be all or
# nothing comes first: if pushing to the log list fails (out of memory, wrong
# type, no permission), nothing was written.  Everything after it is allowed
# to fail without stopping the rest; those errors are returned as a list.
# A batch numbered at or below the producer's last stored one was stored
# already (its reply was lost): it is skipped, so a retry never duplicates.
# A writer's ACL user must be allowed to write every one of these keys.
PUSH = f"""
local maxlen = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local batch = tonumber(ARGV[4])
local n = #ARGV
local last = redis.call('GET', KEYS[5])
if last and tonumber(last) >= batch then
  return {{}}
end
local problems = {{}}
local function try(...)
  local reply = redis.pcall(...)
  if type(reply) == 'table' and reply.err then
    problems[#problems + 1] = reply.err
    return nil
  end
  return reply
end
local function push(call, key)
  local len = 0
  for i = 5, n, {_CHUNK} do
    len = call('LPUSH', key, unpack(ARGV, i, math.min(i + {_CHUNK - 1}, n)))
    if not len then
      return nil
    end
  end
  return len
end
local len = push(redis.call, KEYS[1])
try('SET', KEYS[5], batch, 'EX', 86400)
try('LTRIM', KEYS[1], 0, maxlen - 1)
try('HSET', KEYS[4], 'maxlen', maxlen)
-- Records this script ever pushed and trimmed: by them a live tail tells how
-- the list moved from what other programs did to it (see FOLLOW).
try('HINCRBY', KEYS[4], 'pushed', n - 4)
if len > maxlen then
  try('HINCRBY', KEYS[4], 'trimmed', len - maxlen)
end
if try('EXISTS', KEYS[2]) ~= 1 then
  return problems
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = try('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. now) or {{}}
for _, id in ipairs(dead) do
  -- Emptying a list removes it: LTRIM, which the writer needs anyway, so a
  -- writer's ACL user needs no DEL.
  try('LTRIM', ARGV[3] .. id, 1, 0)
  try('HDEL', KEYS[3], id)
end
if #dead > 0 then
  try('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. now)
end
local live = try('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES') or {{}}
for j = 1, #live, 2 do
  local box = ARGV[3] .. live[j]
  local len = push(try, box)
  if len and len > cap then
    try('LTRIM', box, 0, cap - 1)
    try('HINCRBY', KEYS[3], live[j], len - cap)
  end
  try('PEXPIREAT', box, live[j + 1])
end
return problems
"""


@dataclass(frozen=True)
class PushReply:
    """What PUSH did after storing a batch (or skipping one it had stored)."""

    #: Errors met after the records were stored: trimming the list, recording
    #: its cap, feeding live tails.
    problems: tuple[str, ...]


def push(
    client: Client, *, key: str, token: str, batch: int, maxlen: int, records: Sequence[bytes]
) -> PushReply:
    """Store *records*, oldest first, in log *key* as batch number *batch* of
    producer *token*, trim the list to *maxlen* and feed its live tails.

    Raises:
        redis.RedisError: nothing was stored.
    """
    names = [key, keys.tails(key), keys.gaps(key), keys.meta(key), keys.seen(key, token)]
    try:
        reply = _run(
            client,
            PUSH,
            [keys.encoded(name) for name in names],
            [maxlen, INBOX_CAP, keys.encoded(keys.inbox(key, "")), batch, *records],
        )
    except redis.ResponseError as exc:
        if "WRONGTYPE" not in str(exc):
            raise
        raise WrongType(f"'{key}' holds {_kind(client, key)}, not a log list") from None
    return PushReply(tuple(_text(problem) for problem in reply or ()))


@dataclass(frozen=True)
class Stored:
    """What :func:`store` reports once the records are stored."""

    #: What failed after that: trimming the list, feeding live tails.
    problems: tuple[str, ...] = ()
    #: Why the log key is missing from the index of log keys, if it is.
    unindexed: str | None = None


def store(
    client: Client,
    key: str,
    records: list[bytes],
    *,
    maxlen: int,
    token: str,
    batch: int,
    index: bool,
) -> Stored:
    """Store *records* (oldest first) in log *key* in one call of the ``PUSH``
    script, as batch number *batch* of producer *token*: the one way records
    reach Redis, for the writer thread and for ``redislog send``.

    With *index*, first add *key* to the index of log keys.  The index only
    helps viewers list logs: a user who may not write it (see the README's
    ACL users) still stores records.

    Raises:
        redis.RedisError: nothing was stored.
    """
    unindexed = None
    if index:
        try:
            client.sadd(keys.INDEX, key)
        except redis.exceptions.NoPermissionError as exc:
            unindexed = f"cannot add {key!r} to the index {keys.INDEX!r}: {describe(exc)}"
    # Called directly, never in a pipeline: a pipeline first asks SCRIPT
    # EXISTS, which the README's writer user may not run.
    pushed = push(client, key=key, token=token, batch=batch, maxlen=maxlen, records=records)
    return Stored(pushed.problems, unindexed)


class WrongType(redis.ResponseError):
    """The log key holds another Redis type; the text says which, in words."""


def _kind(client: Client, key: str) -> str:
    """``a Redis string``: the type of *key*, as far as the user may ask."""
    try:
        return f"a Redis {_text(client.type(keys.encoded(key)))}"
    except ERRORS:  # the README's writer user may not ask
        return "another Redis type"


# -- the viewer's scripts ------------------------------------------------------
#
# Readers never LRANGE a whole list inside one script: every read names a
# bounded window, so a PING sent meanwhile waits at most one window's work.
#
# They take the log key in ARGV, not KEYS: Redis 7 counts every key declared
# to EVALSHA as written, so a user allowed only to read logs (``%R~``) could
# not run them.  A derived key in KEYS routes the call to the log's cluster
# node (it shares the log's slot); the commands inside are still checked
# against the user's rights, key by key.

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
    reply = int(_run(client, HEARTBEAT, _tail_keys(log, tail_id), [tail_id, ttl_ms]))
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
    reply = _run(
        client,
        ATTACH,
        [keys.encoded(keys.tails(log)), keys.encoded(keys.meta(log))],
        [keys.encoded(log), tail_id, ttl_ms, count],
    )
    return AttachReply(int(reply[0]), int(reply[1]), int(reply[2]), list(reply[3:]))


def _with_filter(first: int, body: str) -> str:
    return f"local F = {first}\n{prefilter.LUA}\n{body}"


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
BACKLOG = _with_filter(
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
    relocate = ["0" if anchor is None else "1", position, record, RELOCATE_BUDGET]
    reply = _run(
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
        maxts=_seconds(maxts),
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
FOLLOW = _with_filter(
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
    reply = _run(
        client,
        FOLLOW,
        [keys.encoded(keys.inbox(log, tail_id)), keys.encoded(keys.meta(log))],
        [keys.encoded(log), "0" if record is None else "1", record or b"", cursor.position,
         cursor.length, cursor.pushed, cursor.trimmed, window, RELOCATE_BUDGET, *filter_args],
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
SCAN = _with_filter(
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
    reply = _run(
        client,
        SCAN,
        [keys.encoded(keys.meta(log))],
        [keys.encoded(log), start, count, "0" if anchor is None else "1", anchor or b"",
         RELOCATE_BUDGET, *filter_args],
    )  # fmt: skip
    return ScanReply(
        _SCAN_STATUS[int(reply[0])],
        start=int(reply[1]),
        length=int(reply[2]),
        maxts=_seconds(reply[3]),
        last=reply[4],
        read=int(reply[5]),
        candidates=list(reply[6:]),
    )


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
    left = int(_run(client, TRIM, [keys.encoded(log)], [count, boundary]))
    if left < 0:
        return TrimReply(TrimStatus.MOVED)
    return TrimReply(TrimStatus.DROPPED, left)
