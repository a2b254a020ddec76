"""Making data safe to show: every control or invisible character visible.

Log records are data, and some data is hostile: escape sequences that clear
the screen or set the terminal's title, bidi controls that reorder text,
zero-width characters that hide it.  Everything that shows a record (every
output mode, notices on stderr, key names in ``ls``) passes data through
:func:`escape` or one of the patterns here, so such characters show as
``\\x1b``, ``\\u202e``... and never act.

What counts as unsafe follows the Unicode database, by general category:
controls (Cc), format characters (Cf: bidi controls, zero-width joiners,
prepended marks such as U+0600, musical formatting U+1D173...), surrogates
(Cs), line and paragraph separators (Zl, Zp), plus :data:`INVISIBLE`.
Private-use characters (Co) stay: fonts draw them (icon fonts).  Unassigned
code points stay too, but for the ranges Unicode reserves as invisible,
since a newer terminal may know characters this Python does not.
"""

from __future__ import annotations

import json
import os
import re
import sys
import unicodedata
from pathlib import Path

from redislog import _unicode_table

#: General categories whose every character is escaped.
CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
#: Default-ignorable code points (Unicode's DerivedCoreProperties) outside
#: those categories: ``unicodedata`` has no such property, so they are
#: listed.  Hangul fillers, the combining grapheme joiner, Khmer inherent
#: vowels, and the ranges reserved as default-ignorable.  Variation
#: selectors (U+180B..U+180D, U+180F, U+FE00..U+FE0F, U+E0100..U+E01EF)
#: stay: emoji and CJK need them.
INVISIBLE: tuple[tuple[int, int], ...] = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x2065, 0x2065),
    (0x3164, 0x3164),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0xE0000, 0xE00FF),
    (0xE01F0, 0xE0FFF),
)


def unsafe_ranges() -> list[tuple[int, int]]:
    """The unsafe code points of this Python's Unicode database, as sorted
    inclusive ranges.

    It scans every code point, which takes a few tenths of a second: hence
    the shipped table, which makes importing this module cost about 1 ms.
    """
    category = unicodedata.category
    points = {c for c in range(sys.maxunicode + 1) if category(chr(c)) in CATEGORIES}
    for first, last in INVISIBLE:
        points.update(range(first, last + 1))
    ranges: list[tuple[int, int]] = []
    for point in sorted(points):
        if ranges and ranges[-1][1] == point - 1:
            ranges[-1] = (ranges[-1][0], point)
        else:
            ranges.append((point, point))
    return ranges


def _cached_ranges() -> list[tuple[int, int]]:
    """The shipped table when it is for this Unicode version, else the scan,
    kept in the user's cache directory so only the first run pays for it."""
    version = unicodedata.unidata_version
    if version == _unicode_table.UNIDATA_VERSION:
        return list(_unicode_table.RANGES)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    path = Path(base) / "redislog" / f"unsafe-unicode-{version}.txt"
    try:
        pairs = [line.split() for line in path.read_text("ascii").splitlines()]
        return [(int(first, 16), int(last, 16)) for first, last in pairs]
    except (OSError, ValueError):
        pass
    ranges = unsafe_ranges()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "".join(f"{first:x} {last:x}\n" for first, last in ranges)
        temporary = path.with_suffix(f".{os.getpid()}")
        temporary.write_text(text, "ascii")
        temporary.replace(path)
    except OSError:
        pass  # a read-only home: scan again next time
    return ranges


def _char_class(ranges: list[tuple[int, int]], keep: str = "") -> str:
    """The inside of a regex character class for *ranges*, less *keep*."""
    parts = []
    for first, last in ranges:
        for start, end in _minus(first, last, sorted(map(ord, keep))):
            parts.append(_hex(start) if start == end else f"{_hex(start)}-{_hex(end)}")
    return "".join(parts)


def _hex(point: int) -> str:
    if point < 0x100:
        return f"\\x{point:02x}"
    return f"\\u{point:04x}" if point < 0x10000 else f"\\U{point:08x}"


def _minus(first: int, last: int, holes: list[int]) -> list[tuple[int, int]]:
    pieces = []
    for hole in holes:
        if first <= hole <= last:
            if first < hole:
                pieces.append((first, hole - 1))
            first = hole + 1
    if first <= last:
        pieces.append((first, last))
    return pieces


def table_module() -> str:
    """The source of ``_unicode_table`` for this Python (``make unicode``)."""
    rows = "".join(f"    (0x{first:04X}, 0x{last:04X}),\n" for first, last in unsafe_ranges())
    doc = (_unicode_table.__doc__ or "").strip()
    return (
        f'"""{doc}\n"""\n\n'
        f'UNIDATA_VERSION = "{unicodedata.unidata_version}"\n'
        f"RANGES: tuple[tuple[int, int], ...] = (\n{rows})\n"
    )


# Tab and newline are left to each pattern: some keep them, some escape them.
UNSAFE_CLASS = _char_class(_cached_ranges(), keep="\t\n")
UNSAFE = re.compile(f"[{UNSAFE_CLASS}]")
UNSAFE_LINE = re.compile(f"[\\t\\n{UNSAFE_CLASS}]")
# In logfmt quoting: quote characters, backslashes, newlines, tabs, unsafe.
QUOTED = re.compile(f'[\\\\"\\t\\n{UNSAFE_CLASS}]')
NEEDS_QUOTES = re.compile(f'[\\s="\\\\{UNSAFE_CLASS}]')
KEY_SPECIAL = re.compile(f'[\\s="{UNSAFE_CLASS}]')
_NON_ASCII_RUNS = re.compile(r"([^\x00-\x7e]+)")
_MAX_RUNS = 10_000
_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def escape(text: str, *, newlines: bool = False) -> str:
    """Make every control or invisible character of *text* visible.

    ESC becomes ``\\x1b``, CR ``\\r``, U+202E ``\\u202e``, a tag character
    ``\\U000e0041``...  Newlines and tabs stay, unless *newlines* is true
    (then they become ``\\n`` and ``\\t``).
    """
    return (UNSAFE_LINE if newlines else UNSAFE).sub(code, text)


def code(match: re.Match[str] | str) -> str:
    """The visible escape of one character: ``\\n``, ``\\x1b``, ``\\u202e``...

    U+DC80..U+DCFF, which stand for undecodable bytes, show as those bytes
    (``\\xff``).
    """
    char = match if isinstance(match, str) else match.group()
    short = _SHORT_ESCAPES.get(char)
    if short is not None:
        return short
    number = ord(char)
    if 0xDC80 <= number <= 0xDCFF:  # an undecodable byte (see entry.decode)
        return f"\\x{number - 0xDC00:02x}"
    if number < 0x100:
        return f"\\x{number:02x}"
    if number < 0x10000:
        return f"\\u{number:04x}"
    return f"\\U{number:08x}"


def quoted_code(match: re.Match[str]) -> str:
    """The escape of one character inside double quotes (``\\"`` too)."""
    char = match.group()
    return "\\" + char if char in '\\"' else code(char)


def ascii_json(text: str) -> str:
    """Strict JSON *text* with every character beyond ``~`` as a ``\\u`` escape.

    Returns "" when there are too many separate runs to do it quickly.
    """
    # Outside strings, strict JSON is ASCII; inside, such characters may be
    # escaped freely.  The stdlib encodes each run in C.
    parts = _NON_ASCII_RUNS.split(text)
    if len(parts) > 2 * _MAX_RUNS:
        return ""
    parts[1::2] = [json.dumps(run)[1:-1] for run in parts[1::2]]
    return "".join(parts)
