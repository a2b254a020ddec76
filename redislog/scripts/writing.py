"""The writer's script: PUSH stores a batch, trims the list and feeds live
tails' inboxes (``send``, ``pipe``, the HTTP API and the handler call it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import redis

from redislog import keys
from redislog.connection import ERRORS, Bulk, Client, describe
from redislog.scripts import lua

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
  for i = 5, n, {lua.CHUNK} do
    len = call('LPUSH', key, unpack(ARGV, i, math.min(i + {lua.CHUNK - 1}, n)))
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
    client: Client,
    *,
    key: str,
    token: str,
    batch: int,
    maxlen: int,
    records: Sequence[bytes] | Bulk,
) -> PushReply:
    """Store *records*, oldest first, in log *key* as batch number *batch* of
    producer *token*, trim the list to *maxlen* and feed its live tails.
    *records* may come as bulk strings, for a client that takes them.

    Raises:
        redis.RedisError: nothing was stored.
    """
    names = [key, keys.tails(key), keys.gaps(key), keys.meta(key), keys.seen(key, token)]
    try:
        reply = lua.run(
            client,
            PUSH,
            [keys.encoded(name) for name in names],
            [
                maxlen,
                lua.INBOX_CAP,
                keys.encoded(keys.inbox(key, "")),
                batch,
                *((records,) if isinstance(records, Bulk) else records),
            ],
        )
    except redis.ResponseError as exc:
        if "WRONGTYPE" not in str(exc):
            raise
        raise WrongType(f"'{key}' holds {_kind(client, key)}, not a log list") from None
    return PushReply(tuple(lua.text(problem) for problem in reply or ()))


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
    records: Sequence[bytes] | Bulk,
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
        return f"a Redis {lua.text(client.type(keys.encoded(key)))}"
    except ERRORS:  # the README's writer user may not ask
        return "another Redis type"
