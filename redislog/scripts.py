"""Server-side Lua scripts.

Each runs atomically on the server, so a batch lands whole or not at all, and a
tail's registration and its backlog read happen at one instant.  Every key a
script touches shares the log key's hash slot (see ``keys``).
"""

from __future__ import annotations

from typing import Any

from redislog import keys

# Records a tail's inbox holds at most: a tail reading too slowly loses the
# oldest (counted in ``gaps``) rather than growing the server's memory.
INBOX_CAP = 10_000

# Records per LPUSH inside a script: Lua's unpack() is limited to a few
# thousand values on the C stack.
_CHUNK = 1000

# KEYS: log, tails, gaps, meta, seen
# ARGV: maxlen, inbox cap, inbox key prefix, batch number, record...
# Scripts are not rolled back on error, so the one write that must be all or
# nothing comes first: if pushing to the log list fails (out of memory, wrong
# type, no permission), nothing was written.  Everything after it is allowed
# to fail without stopping the rest; those errors are returned as a list.
# A batch numbered at or below the producer's last stored one was stored
# already (its reply was lost): it is skipped, so a retry never duplicates.
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
push(redis.call, KEYS[1])
try('SET', KEYS[5], batch, 'EX', 86400)
try('LTRIM', KEYS[1], 0, maxlen - 1)
try('HSET', KEYS[4], 'maxlen', maxlen)
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


def push(
    script: Any, client: Any, key: str, token: str, batch: int, maxlen: int, records: list[bytes]
) -> Any:
    """Run *script* (PUSH, registered on *client*): store *records*, oldest
    first, in log *key* as batch number *batch* of producer *token*.

    Returns the problems met after the records were stored.
    """
    return script(
        keys=[key, keys.tails(key), keys.gaps(key), keys.meta(key), keys.seen(key, token)],
        args=[maxlen, INBOX_CAP, keys.inbox(key, ""), batch, *records],
        client=client,
    )


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

# KEYS: tails
# ARGV: log, tail id, ttl ms, backlog count (0 for none)
# Registers the tail and snapshots the list at one instant.  Returns the list's
# length at that instant, then its newest *count* records, newest first.  The
# rest of the snapshot is read later with BACKLOG, which maps snapshot indices
# to current ones.
ATTACH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
local out = {redis.call('LLEN', ARGV[1])}
local n = tonumber(ARGV[4])
if n > 0 then
  local records = redis.call('LRANGE', ARGV[1], 0, n - 1)
  for i = 1, #records do
    out[i + 1] = records[i]
  end
end
return out
"""

# Shared by BACKLOG and SCAN: a cheap server-side pre-filter.  It only rejects
# records that the client's full query rejects too (the client re-checks every
# record it gets back), so it may keep too much but never drops a match.
# ARGV from index F on:
#   min levelno, max levelno, since, until ('' when unset), group count, then
#   per group: ignore case '1'/'0', fold '1'/'0', needle count, needles.
# A record passes a group when one of its needles occurs in the record
# (lower-cased when ignoring case), or when it holds a \u00XX escape (which
# could spell a needle's character); reader.prefilter() explains why that is
# safe.  With fold set, records holding the non-ASCII letters that Python's
# case-insensitive matching ties to i, k and s (U+0130, U+0131, U+212A,
# U+017F; raw or \u-escaped) pass too.
# Levels and times are read from redislog's own record head
# ({"ts":...,"level":"...","levelno":N,...), only when no second "ts" or
# "levelno" key follows (JSON decoders keep the last duplicate), and times
# are scaled like entry.timestamp() (milli-, micro-, nanoseconds).  Records
# without that head stay candidates.
_FILTER = r"""
local find, byte, lower, match = string.find, string.byte, string.lower, string.match
local tonumber, abs = tonumber, math.abs
local minlv = tonumber(ARGV[F])
local maxlv = tonumber(ARGV[F + 1])
local since = tonumber(ARGV[F + 2])
local untl = tonumber(ARGV[F + 3])
local groups = {}
local a = F + 5
for g = 1, tonumber(ARGV[F + 4]) do
  local m = tonumber(ARGV[a + 2])
  local needles = {}
  for j = 1, m do
    needles[j] = ARGV[a + 2 + j]
  end
  groups[g] = {ARGV[a] == '1', ARGV[a + 1] == '1', needles}
  a = a + 3 + m
end
local ngroups = #groups
local headed = minlv or maxlv or since or untl
local HEAD = '^{"ts":([%d%.eE+-]+),"level":"[^"\\]*","levelno":(%-?%d+)()[,}]'
local function seconds(n)
  if not n or n ~= n then
    return nil
  end
  for _ = 1, 3 do
    if abs(n) < 1e11 then
      break
    end
    n = n / 1000
  end
  if n >= 0 and n < 1e11 then
    return n
  end
  return nil
end
local function single(el, stop)
  return not find(el, '"ts":', stop, true) and not find(el, '"levelno":', stop, true)
end
local function folded(el)
  return find(el, '\196', 1, true) or find(el, '\197', 1, true)
    or find(el, '\226', 1, true) or find(el, '\\u', 1, true)
end
local cur_ts = nil
-- Returns whether el is a candidate; sets cur_ts to its head time (or nil).
local function keep(el)
  cur_ts = nil
  if headed then
    local t, lv, stop = match(el, HEAD)
    if t then
      cur_ts = seconds(tonumber(t))
      lv = tonumber(lv)
      local ts = cur_ts
      if ((minlv and lv < minlv) or (maxlv and lv > maxlv)
          or (ts and ((since and ts < since) or (untl and ts > untl))))
          and single(el, stop) then
        return false
      end
    end
  end
  local low = nil
  for g = 1, ngroups do
    local group = groups[g]
    local hay = el
    if group[1] then
      low = low or lower(el)
      hay = low
    end
    local needles = group[3]
    local hit = false
    for j = 1, #needles do
      if find(hay, needles[j], 1, true) then
        hit = true
        break
      end
    end
    if not hit and not find(el, '\\u00', 1, true) and not (group[2] and folded(el)) then
      return false
    end
  end
  return true
end
-- Finds the anchor element at index pos or after it (records pushed at the
-- head move older ones to higher indices).  Returns its index, else nil and
-- the index to resume from (-1 once past the end of the list).
local function relocate(key, pos, anchor, budget)
  if redis.call('LINDEX', key, pos) == anchor then
    return pos
  end
  local from = pos + 1
  while budget > 0 do
    local window = redis.call('LRANGE', key, from, from + 999)
    if #window == 0 then
      return nil, -1
    end
    for i = 1, #window do
      if window[i] == anchor then
        return from + i - 1
      end
    end
    from = from + #window
    budget = budget - #window
  end
  return nil, from
end
-- Appends the candidates among records to out; returns the newest head time
-- seen, as text ('' if none).
local function filter(records, out)
  local maxts = nil
  for i = 1, #records do
    if keep(records[i]) then
      out[#out + 1] = records[i]
    end
    if cur_ts and (not maxts or cur_ts > maxts) then
      maxts = cur_ts
    end
  end
  if maxts then
    return string.format('%.17g', maxts)
  end
  return ''
end
"""


def _with_filter(first: int, body: str) -> str:
    return f"local F = {first}\n{_FILTER}\n{body}"


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
