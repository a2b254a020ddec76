"""The Redis key layout.

A *log key* is one Redis list, named exactly as the user asked (``logs:billing``).
Records are pushed at the head (newest first) and the list is trimmed to its cap.

Keys derived from a log key share its Redis Cluster hash slot, so one script can
touch them all atomically:

- ``{logs:billing}:tails``: sorted set of live tail ids, scored by the server time
  (ms) at which each registration expires.
- ``{logs:billing}:tail:<id>``: the private inbox list of one live tail.  The
  writer pushes every batch into it; the tail pops from it.
- ``{logs:billing}:gaps``: hash of tail id -> records trimmed from that tail's
  inbox because the tail read too slowly.
- ``{logs:billing}:meta``: hash with the list's ``maxlen``, and ``pushed`` and
  ``trimmed``: the records the writer's script ever pushed and trimmed there
  (live tails tell other programs' pushes by them).
- ``{logs:billing}:seen:<producer>``: the sequence number of the last batch
  that producer's writer stored, so a batch sent again after a lost reply is
  not stored twice.  Expires a day after the producer's last write.

If the log key already has a hash tag (``logs:{billing}``), suffixes are appended
to it unchanged (``logs:{billing}:tails``), which keeps the same slot.

``redislog:keys`` is a set that indexes every log key written to, so viewers can
list logs without SCAN or KEYS.
"""

from __future__ import annotations

INDEX = "redislog:keys"


def _has_hash_tag(key: str) -> bool:
    start = key.find("{")
    if start == -1:
        return False
    end = key.find("}", start + 1)
    # Redis ignores an empty tag "{}" and hashes the whole key.
    return end > start + 1


def derived(key: str, suffix: str) -> str:
    """Return the key for *suffix* that hashes to the same slot as *key*."""
    if _has_hash_tag(key):
        return f"{key}:{suffix}"
    return f"{{{key}}}:{suffix}"


def tails(key: str) -> str:
    """The sorted set of live tails of *key*."""
    return derived(key, "tails")


def inbox(key: str, tail_id: str) -> str:
    """The inbox list of tail *tail_id* on *key*."""
    return derived(key, f"tail:{tail_id}")


def gaps(key: str) -> str:
    """The hash counting records trimmed from each tail's inbox."""
    return derived(key, "gaps")


def meta(key: str) -> str:
    """The hash describing *key* (its ``maxlen``)."""
    return derived(key, "meta")


def seen(key: str, producer: str) -> str:
    """The last batch number *producer* stored in *key*."""
    return derived(key, f"seen:{producer}")


def encoded(name: str) -> bytes:
    """*name* as Redis stores it.  Names read from Redis may hold any bytes;
    those that are not UTF-8 come back from ``decoded`` as surrogates."""
    return name.encode("utf-8", "surrogateescape")


def decoded(name: bytes | str) -> str:
    """A key name read from Redis as text, whatever bytes it holds."""
    if isinstance(name, str):
        return name
    return name.decode("utf-8", "surrogateescape")


def check(key: str) -> str:
    """Return *key* if it can name a log, else raise ValueError."""
    if not isinstance(key, str) or not key:
        raise ValueError("a log key must be a non-empty string")
    if key == INDEX:
        raise ValueError(f"{INDEX!r} is reserved for the index of log keys")
    return key
