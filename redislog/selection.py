"""Which fields a record's line shows: ``--fields`` and ``--hide``.

By default a line shows the record's own fields (not its time, level,
logger, message or traceback, nor the ``host``, ``pid``... every redislog
record has).  ``--fields`` names the fields to show instead, in that order,
from everything the record holds (``host``, ``pid`` too); ``--hide`` drops
fields.  A name is a key, a dotted path into nested objects (``http.status``,
or ``http`` for all of it), or a glob (``http.*``, ``*_ms``) over the dotted
paths; a glob never picks the keys the line already shows as time, level,
logger or message.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from redislog.entry import Entry

__all__ = ["Selection", "SelectionError", "flatten", "parse_selection"]

_GLOB = frozenset("*?[")
# Nested objects deeper than this show as one JSON value.
_MAX_DEPTH = 8


class SelectionError(ValueError):
    """A ``--fields`` or ``--hide`` list that names nothing."""


def flatten(fields: dict[Any, Any], prefix: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """(dotted path, value) for every leaf of *fields*: ``http.status``."""
    for key, value in fields.items():
        name = f"{prefix}{key}"
        if type(value) is dict and value and depth < _MAX_DEPTH:
            yield from flatten(value, f"{name}.", depth + 1)
        else:
            yield name, value


def _names(option: str, values: Iterable[str]) -> tuple[str, ...]:
    names = []
    for value in values:
        for name in value.split(","):
            name = name.strip()
            if not name:
                raise SelectionError(
                    f"bad {option} {value!r}: use field names separated by commas (host,pid)"
                )
            names.append(name)
    return tuple(names)


def parse_selection(fields: Iterable[str] = (), hide: Iterable[str] = ()) -> Selection:
    """The selection the ``--fields`` and ``--hide`` values spell (each a
    comma-separated list, repeatable).

    Raises:
        SelectionError: an empty name.
    """
    return Selection(_names("--fields", fields), _names("--hide", hide))


def _matches(pattern: str, name: str) -> bool:
    if _GLOB.isdisjoint(pattern):
        return name == pattern or name.startswith(pattern + ".")
    return fnmatch.fnmatchcase(name, pattern)


@dataclass(frozen=True)
class Selection:
    """Fields to show (empty: the record's own) and fields to hide."""

    fields: tuple[str, ...] = ()
    hide: tuple[str, ...] = ()

    def pick(self, entry: Entry) -> list[tuple[str, Any]]:
        """The (dotted path, value) pairs *entry*'s line shows, in order."""
        if not self.fields:
            shown = list(flatten(entry.fields))
        else:
            every = list(flatten(entry.data or {}))
            roles = entry.roles
            shown = []
            seen: set[str] = set()
            for pattern in self.fields:
                glob = not _GLOB.isdisjoint(pattern)
                for name, value in every:
                    if name in seen or (glob and name.partition(".")[0] in roles):
                        continue
                    if _matches(pattern, name):
                        shown.append((name, value))
                        seen.add(name)
        if self.hide:
            shown = [
                (name, value)
                for name, value in shown
                if not any(_matches(pattern, name) for pattern in self.hide)
            ]
        return shown
