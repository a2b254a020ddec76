"""Which logs exist: the index of log keys, globs over it, ``redislog ls``.

Log keys are listed from the index (``keys.INDEX``), never by SCAN or KEYS,
and a key is only read as a log when it holds a list (or nothing yet).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import redis

from redislog import keys as keyspace
from redislog.connection import Client
from redislog.entry import Entry, decode
from redislog.reader._shared import MissingLog, Notify, ReaderError, quiet

_GLOB = re.compile(r"[*?\[]")
_SEE_LS = " (see `redislog ls`)"


def is_glob(pattern: str) -> bool:
    """Whether *pattern* holds glob characters (``*``, ``?``, ``[``)."""
    return _GLOB.search(pattern) is not None


def indexed(client: Client) -> list[str]:
    """The log keys in the index, sorted."""
    members: Any = client.smembers(keyspace.INDEX)
    return sorted(keyspace.decoded(member) for member in members)


def matching(names: Iterable[str], globs: Sequence[str]) -> list[str]:
    """The names that match one of *globs*, in their order."""
    return [name for name in names if any(fnmatchcase(name, glob) for glob in globs)]


def types(client: Client, names: Sequence[str]) -> list[str]:
    """The Redis type of each key (``list``, ``none``, ``string``...)."""
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.type(keyspace.encoded(name))
    return [keyspace.decoded(kind) for kind in pipe.execute()]


def _expand(members: list[str], patterns: Sequence[str], hint: str) -> list[tuple[str, bool]]:
    """(name, named explicitly) for each key *patterns* name, without repeats:
    every indexed key when there are none, globs expanded over the index.

    Raises:
        ReaderError: a glob matches nothing.
    """
    chosen = [] if patterns else [(member, False) for member in members]
    for pattern in patterns:
        if is_glob(pattern):
            found = matching(members, [pattern])
            if not found:
                raise MissingLog(f"no log key matches '{pattern}'{hint}")
            chosen.extend((member, False) for member in found)
        else:
            chosen.append((pattern, True))
    unique: dict[str, bool] = {}
    for name, explicit in chosen:
        unique.setdefault(name, explicit)
    return list(unique.items())


def find(
    client: Client,
    patterns: Sequence[str],
    notify: Notify = quiet,
    *,
    waiting: Notify | None = None,
) -> list[str]:
    """The log keys that *patterns* name, in order, without repeats.

    No pattern means every key in the index.  Globs match the index.  A key
    that globs (or the index) name but that holds another Redis type is
    skipped with a notice.  With *waiting* (for a tail, which can start
    before the app), a missing key is kept, a glob that matches nothing (or an
    empty index) names no key, and *waiting* gets one line saying what is
    awaited.

    Raises:
        ReaderError: a key that does not exist, holds another type, or a glob
            that matches nothing.
    """
    members = indexed(client)
    if not patterns and not members:
        if waiting is not None:
            waiting("waiting for logs (nothing logged on this server yet)")
            return []
        raise MissingLog(
            "no log keys on this server yet (nothing has logged here; see `redislog info`)"
        )
    if keyspace.INDEX in patterns:
        raise ReaderError(f"'{keyspace.INDEX}' is redislog's index, not a log key")
    awaited: list[str] = []
    if waiting is not None:
        awaited = [p for p in patterns if is_glob(p) and not matching(members, [p])]
        patterns = [p for p in patterns if p not in awaited]
    # (Nothing left to expand must not mean every key, as no pattern does.)
    chosen = _expand(members, patterns, _SEE_LS) if patterns or not awaited else []
    result = []
    for (name, explicit), kind in zip(chosen, types(client, [n for n, _ in chosen]), strict=True):
        if kind == "list":
            result.append(name)
        elif kind == "none":
            if explicit and name not in members:
                if waiting is None:
                    raise MissingLog(f"no such log key '{name}'{_SEE_LS}")
                awaited.append(name)
            result.append(name)  # indexed but empty: consumed or not written yet
        elif explicit:
            raise ReaderError(f"'{name}' holds a Redis {kind}, not a log list")
        else:
            notify(f"skipping '{name}': it holds a Redis {kind}, not a log list")
    if awaited and waiting is not None:
        waiting(f"waiting for {', '.join(awaited)} (nothing logged there yet)")
    elif not result:
        raise ReaderError(f"none of the keys holds a log list{_SEE_LS}")
    return result


def risks(client: Client) -> list[str]:
    """What in the server's configuration can lose logs (nothing if it won't say)."""
    found: list[str] = []
    try:
        aof = bool(client.info("persistence").get("aof_enabled"))
        policy = str(client.info("memory").get("maxmemory_policy", ""))
    except redis.RedisError:  # INFO may be forbidden to this user
        return found
    if not aof:
        try:
            save = client.config_get("save").get("save", "")
        except redis.RedisError:  # so may CONFIG
            save = "?"
        if not save:
            found.append("the server keeps no data on disk: a restart loses every log")
        else:
            found.append("no append-only file: a crash loses records since the last snapshot")
    if policy.startswith("allkeys"):
        found.append(f"maxmemory-policy {policy} can evict whole log lists")
    return found


@dataclass
class LogInfo:
    """One log key as ``redislog ls`` shows it."""

    key: str
    kind: str  # "list", "none" (gone or empty) or another Redis type
    length: int = 0
    maxlen: int | None = None
    oldest: Entry | None = None
    newest: Entry | None = None
    tails: int = 0


def describe_logs(client: Client, patterns: Sequence[str] = ()) -> list[LogInfo]:
    """Length, cap, oldest and newest record and live tails of each log key.

    Raises:
        ReaderError: a glob matches nothing, or a named key does not exist.
    """
    members = indexed(client)
    names = [name for name, _ in _expand(members, patterns, "")]
    now: Any = client.time()
    now_ms = int(now[0]) * 1000 + int(now[1]) // 1000
    kinds = types(client, names)
    pipe = client.pipeline(transaction=False)
    for name, kind in zip(names, kinds, strict=True):
        if kind == "list":
            pipe.llen(keyspace.encoded(name))
            pipe.lindex(keyspace.encoded(name), -1)
            pipe.lindex(keyspace.encoded(name), 0)
        pipe.hget(keyspace.encoded(keyspace.meta(name)), "maxlen")
        pipe.zcount(keyspace.encoded(keyspace.tails(name)), now_ms, "+inf")
    replies = iter(pipe.execute())
    infos = []
    for name, kind in zip(names, kinds, strict=True):
        if kind == "none" and name not in members:
            raise MissingLog(f"no such log key '{name}'")
        info = LogInfo(name, kind)
        if kind == "list":
            info.length = int(next(replies))
            oldest, newest = next(replies), next(replies)
            info.oldest = decode(oldest, name) if oldest is not None else None
            info.newest = decode(newest, name) if newest is not None else None
        maxlen = next(replies)
        info.maxlen = int(maxlen) if maxlen is not None and maxlen.isdigit() else None
        info.tails = int(next(replies))
        infos.append(info)
    return infos
