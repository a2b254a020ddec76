"""Making data safe to show: every control or invisible character visible.

Log records are data, and some data is hostile: escape sequences that clear
the screen or set the terminal's title, bidi controls that reorder text,
zero-width characters that hide it.  Everything that shows a record (every
output mode, notices on stderr, key names in ``ls``) passes data through
:func:`escape` or one of the patterns here, so such characters show as
``\\x1b``, ``\\u202e``... and never act.
"""

from __future__ import annotations

import json
import re

# C0 except tab and newline, DEL, C1, soft hyphen, bidi controls and marks,
# zero-width and invisible characters (fillers too), line/paragraph
# separators, the BOM, interlinear annotations, surrogates, the Unicode tags block.
# Variation selectors stay: emoji need them.
UNSAFE_CLASS = (
    r"\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5"
    r"\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufeff"
    r"\uffa0\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f"
)
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
    """The visible escape of one character: ``\\n``, ``\\x1b``, ``\\u202e``..."""
    char = match if isinstance(match, str) else match.group()
    short = _SHORT_ESCAPES.get(char)
    if short is not None:
        return short
    number = ord(char)
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
