"""Everything the viewer reads from Redis.

Nothing here prints.  Records come back as :class:`~redislog.entry.Entry`
objects in batches; notices for the user (reconnecting, records missed) go to
the :class:`Link`'s *notify* callback as plain text, which the caller escapes
and shows.

- ``logs``: which logs exist (the index, globs over it, ``ls``, risks);
- ``tail``: :class:`Tail`, the newest records then every new one, without
  taking any away;
- ``consume``: :class:`Consumer`, records popped off the lists, oldest first;
- ``search``: :class:`Search`, stored records newest first, in bounded
  windows, pre-filtered (see ``prefilter``) and stopping early once records
  are older than ``--since``.

Records are matched and shown after ``entry.decode``; repeats of a record id
(a retried write can land twice) are dropped from a bounded memory of recent
ids.

Redis Cluster: every key one script touches shares its log key's slot, so
each log key is read on its own node; a cluster refuses one ``BRPOP`` over
keys of several slots, so there tails and consumers block per slot, each on
a thread and connection of its own (``_pops``).  Pipelines of per-key
commands (``ls``, expanding globs) are split by node by redis-py.
"""

from __future__ import annotations

from redislog.reader._shared import (
    READ_TIMEOUT,
    Connect,
    Link,
    MissingLog,
    Notify,
    ReaderError,
)
from redislog.reader.consume import Consumer
from redislog.reader.logs import LogInfo, describe_logs, find, indexed, is_glob, risks
from redislog.reader.search import Around, Progress, Search, Shown
from redislog.reader.tail import Tail, Timing

__all__ = [
    "READ_TIMEOUT",
    "Around",
    "Connect",
    "Consumer",
    "Link",
    "LogInfo",
    "MissingLog",
    "Notify",
    "Progress",
    "ReaderError",
    "Search",
    "Shown",
    "Tail",
    "Timing",
    "describe_logs",
    "find",
    "indexed",
    "is_glob",
    "risks",
]
