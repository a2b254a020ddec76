"""The pre-filter's server-side half: Lua that every script reading windows
of a list (BACKLOG, FOLLOW, SCAN) runs first, with the arguments that
``prefilter.Prefilter.args`` builds."""

from __future__ import annotations

# Shared by the BACKLOG, FOLLOW and SCAN scripts.  It only rejects
# records that the client's full query rejects too (the client re-checks every
# record it gets back), so it may keep too much but never drops a match.
# ARGV from index F on:
#   min levelno, max levelno, since, until ('' when unset), group count, then
#   per group: ignore case '1'/'0', fold '1'/'0', needle count, needles.
# A record passes a group when one of its needles occurs in the record
# (lower-cased when ignoring case), or when it holds a \u00XX escape (which
# could spell a needle's character); the note above :func:`usable` explains
# why that is safe.  With fold set, records holding the non-ASCII letters that Python's
# case-insensitive matching ties to i, k and s (U+0130, U+0131, U+212A,
# U+017F; raw or \u-escaped) pass too.
# Then: logger count, loggers, test count, then per test: condition count,
# then per condition: op, key, value, number ('' when not one), needle count,
# needles (see _field_tests).  When a record passes the needles and there are
# loggers or tests, it is decoded with cjson and kept unless that proves the
# client's Query rejects it: a condition that cannot be decided the way
# Python decides it (a number beyond 2^53, which cjson holds as a double; a
# JSON text compared as text; a non-ASCII path part where a list is) counts
# as passing, and so does a record cjson cannot decode.  Before decoding, a
# test fails on the bytes alone when each of its conditions is = or a
# comparison on a plain key name and every "key": in the record (the
# top-level one among them, unless a \u escape could spell it) is followed by
# a plain number that fails the condition: most records never get decoded.
# Levels and times are read from redislog's own record head (record.HEAD:
# {"ts":...,"level":"...","levelno":N,...), only when no second "ts" or
# "levelno" key follows (JSON decoders keep the last duplicate), and times
# are scaled like entry.timestamp() (milli-, micro-, nanoseconds).  Records
# without that head stay candidates.
LUA = r"""
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
local loggers = {}
for j = 1, tonumber(ARGV[a]) do
  loggers[j] = ARGV[a + j]
end
a = a + 1 + #loggers
local tests = {}
for g = 1, tonumber(ARGV[a]) do
  local test = {}
  for c = 1, tonumber(ARGV[a + 1]) do
    local key, m = ARGV[a + 3], tonumber(ARGV[a + 6])
    local parts = nil
    if find(key, '.', 1, true) then
      parts = {}
      local i = 1
      while true do
        local j = find(key, '.', i, true)
        if not j then
          parts[#parts + 1] = key:sub(i)
          break
        end
        parts[#parts + 1] = key:sub(i, j - 1)
        i = j + 1
      end
    end
    local needles = {}
    for j = 1, m do
      needles[j] = ARGV[a + 6 + j]
    end
    local op, number = ARGV[a + 2], tonumber(ARGV[a + 5])
    local plain = nil
    if not parts and match(key, '^[%w_-]+$') and (op == '=' or (number and (op == '>'
        or op == '>=' or op == '<' or op == '<='))) then
      plain = '"' .. key .. '"'
    end
    test[c] = {op = op, key = key, parts = parts, value = ARGV[a + 4], number = number,
      needles = needles, plain = plain}
    a = a + 5 + m
  end
  tests[g] = test
  a = a + 1
end
local ntests, nloggers = #tests, #loggers
local decode = nil
if ntests > 0 or nloggers > 0 then
  decode = cjson.decode
end
local MISSING, UNKNOWN = {}, {}
local BIG = 2 ^ 53
-- The value at a condition's key, as filters.lookup finds it.
local function lookup(t, c)
  local v = t[c.key]
  if v ~= nil then
    return v
  end
  local parts = c.parts
  if not parts then
    return MISSING
  end
  v = t
  for i = 1, #parts do
    if type(v) ~= 'table' then
      return MISSING
    end
    local p = parts[i]
    local w = v[p]
    if w == nil and match(p, '^%d+$') then
      w = v[tonumber(p) + 1]
    end
    if w == nil then
      if find(p, '[\128-\255]') then
        return UNKNOWN  -- Python's isdigit knows other digits
      end
      return MISSING
    end
    v = w
  end
  return v
end
-- Whether the value's text equals c.value (nil: cannot tell).
local function equal(c, v, kind)
  if kind == 'string' then
    return v == c.value
  elseif kind == 'number' then
    if v ~= v or abs(v) >= BIG then
      return nil
    end
    return c.number ~= nil and v == c.number
  elseif kind == 'boolean' then
    return (v and 'true' or 'false') == c.value
  elseif kind == 'table' then
    local first = byte(c.value, 1)
    if first == 123 or first == 91 then
      return nil
    end
    return false
  end
  return c.value == 'null'
end
-- Numbers are read piece by piece, each piece one run of a character
-- class: a single pattern with several optional runs of digits backtracks
-- for a time cubic in a long run, and a script blocks Redis meanwhile.
-- Where the plain number starting at *at* in *s* ends (nil: none starts there).
local function number_end(s, at)
  local _, stop = find(s, '^-?%d+', at)
  if not stop then
    return nil
  end
  local _, e = find(s, '^%.%d*', stop + 1)
  stop = e or stop
  _, e = find(s, '^[eE][+-]?%d*', stop + 1)
  return e or stop
end
-- A string's number as Python's float() reads it: nil when that is not
-- sure, false when it is surely not a finite number.
local function numeric(s)
  local _, stop = find(s, '^%s*[+-]?[%d.]+')
  if stop then
    local _, e = find(s, '^[eE][+-]?%d*', stop + 1)
    stop = e or stop
    if find(s, '^%s*$', stop + 1) then
      local n = tonumber(s:sub(1, stop))
      if n and n == n and abs(n) ~= math.huge then
        return n
      end
      return nil
    end
  end
  if find(s, '[%d\128-\255]') then
    return nil
  end
  return false
end
-- Whether a number n satisfies a comparison or = condition.
local function holds(c, n)
  local op, limit = c.op, c.number
  if op == '=' then
    return limit ~= nil and n == limit
  elseif op == '>' then
    return n > limit
  elseif op == '>=' then
    return n >= limit
  elseif op == '<' then
    return n < limit
  end
  return n <= limit
end
-- Whether the decoded record t may satisfy condition c.
local function may(c, t)
  local v = lookup(t, c)
  if v == UNKNOWN then
    return true
  end
  local op = c.op
  if v == MISSING then
    return op == '!=' or op == 'absent'
  end
  if op == 'present' then
    return true
  elseif op == 'absent' then
    return false
  end
  local kind = type(v)
  if op == '=' or op == '!=' then
    local same = equal(c, v, kind)
    if same == nil then
      return true
    end
    return same == (op == '=')
  elseif op == '~' then
    local needles = c.needles
    if kind ~= 'string' or #needles == 0 then
      return true
    end
    for j = 1, #needles do
      if find(v, needles[j], 1, true) then
        return true
      end
    end
    return false
  end
  local n
  if kind == 'number' then
    if v ~= v then
      return false
    end
    if abs(v) >= BIG then
      return true
    end
    n = v
  elseif kind == 'string' then
    n = numeric(v)
    if n == nil then
      return true
    elseif n == false then
      return false
    end
  else
    return false
  end
  return holds(c, n)
end
local LOGGER_KEYS = {'logger', 'logger_name', 'log.logger'}
-- The record's logger as entry.decode finds it (UNKNOWN for a number).
local function logger_of(t)
  for i = 1, 3 do
    local v = t[LOGGER_KEYS[i]]
    local kind = type(v)
    if kind == 'string' then
      return v
    elseif kind == 'number' then
      return UNKNOWN
    end
  end
  if t['name'] ~= nil and (t['levelname'] ~= nil or t['v'] ~= nil) then
    local v = t['name']
    if type(v) == 'string' then
      return v
    elseif type(v) == 'number' then
      return UNKNOWN
    end
  end
  return nil
end
-- Whether condition c surely fails on el's bytes alone (without decoding):
-- its key is a plain name and every place "key": appears in el (the
-- top-level key among them, when el holds no \u escape that could spell
-- it) holds a plain number that fails it.
local function fails_plainly(el, c)
  local pattern = c.plain
  if not pattern then
    return false
  end
  local at = 1
  while true do
    local _, stop = find(el, pattern, at, true)
    if not stop then
      return true
    end
    local _, colon = find(el, '^%s*:%s*', stop + 1)
    if colon then
      local last = number_end(el, colon + 1)
      if not last or not find(el, '^%s*[,}%]]', last + 1) then
        return false  -- the key, with a value that is not a plain number
      end
      local n = tonumber(el:sub(colon + 1, last))
      if not n or n ~= n or abs(n) >= BIG or holds(c, n) then
        return false
      end
    end
    at = stop + 1
  end
end
-- Whether the record el may pass the loggers and field tests.
local function decided(el)
  if not find(el, '\\u', 1, true) then
    for g = 1, ntests do
      local test = tests[g]
      local fails = true
      for c = 1, #test do
        if not fails_plainly(el, test[c]) then
          fails = false
          break
        end
      end
      if fails then
        return false
      end
    end
  end
  local ok, t = pcall(decode, el)
  if not ok then
    return true
  end
  if type(t) ~= 'table' then
    return false
  end
  if nloggers > 0 then
    local name = logger_of(t)
    if name == nil then
      return false
    end
    if name ~= UNKNOWN then
      local hit = false
      for j = 1, nloggers do
        local l = loggers[j]
        if name == l or (#name > #l and byte(name, #l + 1) == 46 and name:sub(1, #l) == l) then
          hit = true
          break
        end
      end
      if not hit then
        return false
      end
    end
  end
  for g = 1, ntests do
    local test = tests[g]
    local pass = false
    for c = 1, #test do
      if may(test[c], t) then
        pass = true
        break
      end
    end
    if not pass then
      return false
    end
  end
  return true
end
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
  if decode then
    return decided(el)
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
