"""The level vocabulary: names, numbers, aliases, ranges and colour keys.

Python's levels plus the extra ones other loggers use (``TRACE``, syslog's
``NOTICE``, ``ALERT`` and ``EMERGENCY``).  Every module that reads, filters,
counts or shows a level asks here, so they all agree:

- a name is read in any case and through its aliases (``warn``, ``fatal``...);
- on the command line a level is also one letter (``d``/``i``/``w``/``e``/``c``,
  and ``t``/``n`` for trace and notice) or a number;
- a number with a name here is shown as that name (``25`` is ``NOTICE``), any
  other as ``LEVEL <number>`` (``LEVEL 42``): in ``tail`` and ``search``,
  ``stats`` and what ``send`` and ``pipe`` write alike.
"""

from __future__ import annotations

import bisect
import functools

#: Level names and numbers, least severe first.
NUMBERS: dict[str, int] = {
    "TRACE": 5,
    "DEBUG": 10,
    "INFO": 20,
    "NOTICE": 25,
    "WARNING": 30,
    "ERROR": 40,
    "CRITICAL": 50,
    "ALERT": 55,
    "EMERGENCY": 60,
}
#: Other spellings of those names.
ALIASES: dict[str, str] = {
    "WARN": "WARNING",
    "ERR": "ERROR",
    "CRIT": "CRITICAL",
    "FATAL": "CRITICAL",
    "EMERG": "EMERGENCY",
    "PANIC": "EMERGENCY",
    "INFORMATION": "INFO",
}
#: One-letter names on the command line.
LETTERS: dict[str, int] = {"t": 5, "d": 10, "i": 20, "n": 25, "w": 30, "e": 40, "c": 50}
#: Level numbers from here up count as errors.
ERROR = NUMBERS["ERROR"]
#: The upper end of an open range: ``warning`` selects ``30..MAX``.
MAX = 2**31 - 1

_NAMES = {number: name for name, number in NUMBERS.items()}
_BOUNDS = list(NUMBERS.values())  # ascending
_COLOR_KEYS = [name.lower() for name in NUMBERS]
# The pretty output's level column is five characters wide.
_SHORT = {"WARNING": "WARN", "CRITICAL": "CRIT", "EMERGENCY": "EMERG"}
# pino and bunyan number their levels differently from Python.
_PINO = {10: 5, 20: 10, 30: 20, 40: 30, 50: 40, 60: 50}


def canonical(name: str) -> str:
    """The upper-case name that *name* spells (``warn`` -> ``WARNING``).

    A name unknown here comes back upper-cased (``verbose`` -> ``VERBOSE``).
    """
    upper = name.strip().upper()
    return ALIASES.get(upper, upper)


def named(levelno: int) -> str | None:
    """The name of level number *levelno*, if it has one here."""
    return _NAMES.get(levelno)


def label(levelno: int | None) -> str:
    """How level number *levelno* is shown: its name, else ``LEVEL <number>``
    (``none`` for a record without a level)."""
    if levelno is None:
        return "none"
    return _NAMES.get(levelno) or f"LEVEL {levelno}"


def number(word: str) -> int | None:
    """The number of one level as a user writes it: a name in any case, an
    alias, one letter or digits (None if it is none of these)."""
    word = word.strip().lower()
    if word.isdigit():
        return int(word)
    if word in LETTERS:
        return LETTERS[word]
    return NUMBERS.get(canonical(word))


def from_pino(value: int) -> int:
    """The Python level number of a pino or bunyan level number."""
    return _PINO.get(value, value)


def short(name: str) -> str:
    """*name* as the pretty output's five-wide level column shows it (``WARN``)."""
    return _SHORT.get(name, name)


# Renderers ask once per record: the answers are remembered.
@functools.lru_cache(maxsize=256)
def color_key(levelno: int | None) -> str:
    """The key a display colours level *levelno* by: the lower-case name of the
    named level at or below it (``trace`` below that, ``none`` without a level).

    A number between two named levels takes the colour of the lower one.
    """
    if levelno is None:
        return "none"
    return _COLOR_KEYS[max(0, bisect.bisect_right(_BOUNDS, levelno) - 1)]
