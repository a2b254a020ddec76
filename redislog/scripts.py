"""Server-side Lua scripts.

Each runs atomically on the server, so a batch lands whole or not at all, and a
tail's registration and its backlog read happen at one instant.  Every key a
script touches shares the log key's hash slot (see ``keys``).
"""

from __future__ import annotations

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
  try('DEL', ARGV[3] .. id)
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

# KEYS: log, tails
# ARGV: tail id, ttl ms, backlog count (-1 for all, 0 for none)
# Returns the newest records, newest first.
REGISTER = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
local n = tonumber(ARGV[3])
if n == 0 then
  return {}
end
if n < 0 then
  return redis.call('LRANGE', KEYS[1], 0, -1)
end
return redis.call('LRANGE', KEYS[1], 0, n - 1)
"""

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
redis.call('PEXPIREAT', KEYS[2], expires)
local gap = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if gap > 0 then
  redis.call('HDEL', KEYS[3], ARGV[1])
end
return gap
"""
