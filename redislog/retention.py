"""Keeping logs in bounds: drop records by age, remove logs, measure them.

The cap (``maxlen``) bounds a log by count as records arrive.  ``trim`` bounds
it by age on demand: records are pushed newest first, so the list is in time
order and the records older than a cut-off are the oldest ones, at the tail.
Their number is found by a binary search over record times (a few ``LINDEX``
calls, whatever the length), then the ``TRIM`` script drops them only if the
tail is still as it was read (see ``scripts.TRIM``); writers keep pushing at
the head meanwhile.  A record without a time counts as new: the search never
cuts past it.

``remove`` deletes a log with every key derived from it (``keys``) and its
entry in the index.  ``memory`` asks Redis how much memory each log takes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from redislog import connection, keys, scripts
from redislog.entry import decode

#: Nodes of a list that ``MEMORY USAGE`` measures before extrapolating.
MEMORY_SAMPLES = 16
#: Times ``trim`` starts over when the tail moves under it.
ATTEMPTS = 5
_GLOB_SPECIAL = re.compile(rb"[*?\[\]\\]")


class RetentionError(Exception):
    """A failure to report in one line."""


@dataclass(frozen=True)
class Trimmed:
    """What ``trim`` did (or would do) to one log."""

    key: str
    dropped: int
    left: int


def count_older(
    client: connection.Client, key: str, cutoff: float
) -> tuple[int, bytes | None, int]:
    """How many of the oldest records are older than *cutoff* (by binary search).

    Returns that count, the newest of those records (as stored), and the
    list's length.
    """

    def older(distance: int) -> tuple[bool, bytes | None]:
        raw: Any = client.lindex(keys.encoded(key), -distance)
        if raw is None:
            return False, None
        ts = decode(raw, key).ts
        return ts is not None and ts < cutoff, raw

    length = int(client.llen(keys.encoded(key)))
    if length == 0:
        return 0, None, 0
    old, oldest = older(1)
    if not old:
        return 0, None, length
    old, newest = older(length)
    if old:
        return length, newest, length
    # Distances from the tail: lo is older than the cut-off, hi is not.
    lo, lo_raw, hi = 1, oldest, length
    while hi - lo > 1:
        middle = (lo + hi) // 2
        old, raw = older(middle)
        if old:
            lo, lo_raw = middle, raw
        else:
            hi = middle
    return lo, lo_raw, length


def trim(client: connection.Client, key: str, cutoff: float, *, dry_run: bool = False) -> Trimmed:
    """Drop the records of *key* older than *cutoff* (epoch seconds).

    Raises:
        RetentionError: the tail kept moving (a consumer or the cap at work).
    """
    for _ in range(ATTEMPTS):
        count, boundary, length = count_older(client, key, cutoff)
        if count == 0 or boundary is None:
            return Trimmed(key, 0, length)
        if dry_run:
            return Trimmed(key, count, length - count)
        reply = scripts.trim(client, log=key, count=count, boundary=boundary)
        if reply.status is scripts.TrimStatus.DROPPED:
            return Trimmed(key, count, reply.left)
    raise RetentionError(
        f"'{key}' changed at its old end {ATTEMPTS} times while trimming; try again"
    )


def derived_keys(client: connection.Client, key: str) -> list[bytes]:
    """The keys that exist only because of log *key* (see ``keys``)."""
    names = [
        keys.encoded(keys.meta(key)),
        keys.encoded(keys.tails(key)),
        keys.encoded(keys.gaps(key)),
    ]
    prefix = keys.encoded(keys.derived(key, ""))
    members: Any = client.smembers(keys.INDEX)
    tail_ids: Any = client.zrange(keys.encoded(keys.tails(key)), 0, -1)
    names += [prefix + b"tail:" + tail_id for tail_id in tail_ids]
    # Inboxes of tails gone without a word, and producers' batch numbers.
    pattern = _GLOB_SPECIAL.sub(rb"\\\g<0>", prefix) + b"*"
    for name in client.scan_iter(match=pattern, count=1000):
        rest = name[len(prefix) :]
        if rest.startswith((b"tail:", b"seen:")) and name not in members:
            names.append(name)
    return list(dict.fromkeys(names))


def remove(client: connection.Client, key: str) -> int:
    """Delete log *key*, its derived keys and its index entry; the records it held."""
    others = derived_keys(client, key)
    pipe = client.pipeline(transaction=False)
    pipe.llen(keys.encoded(key))
    # UNLINK frees a long list in the background instead of blocking Redis;
    # one key per call, as a cluster pipeline takes no more.
    for name in (keys.encoded(key), *others):
        pipe.unlink(name)
    pipe.srem(keys.INDEX, keys.encoded(key))
    return int(pipe.execute()[0])


def memory(client: connection.Client, names: Iterable[str]) -> dict[str, int | None]:
    """Bytes of memory each key takes, estimated by Redis (None if it won't say)."""
    chosen = list(names)
    pipe = client.pipeline(transaction=False)
    for name in chosen:
        pipe.memory_usage(keys.encoded(name), samples=MEMORY_SAMPLES)
    replies = pipe.execute(raise_on_error=False)
    return {
        name: reply if isinstance(reply, int) else None
        for name, reply in zip(chosen, replies, strict=True)
    }


def human_bytes(size: int) -> str:
    """*size* as ``ls -h`` shows it: ``512B``, ``1.5K``, ``12M``, ``3.4G``."""
    value = float(size)
    for unit in ("B", "K", "M", "G", "T"):
        if value < 1024 or unit == "T":
            break
        value /= 1024
    if unit == "B" or value >= 10:
        return f"{value:.0f}{unit}"
    return f"{value:.1f}{unit}"
