"""Entries -> lines of text, in four output modes.

``pretty``
    One line per record: ``HH:MM:SS.mmm LEVEL logger message key=value ...``
    (local time, or UTC marked ``Z`` with ``utc=True``; ``time_format``
    picks another format, see ``timefmt``), the level five characters wide and
    colored like journalctl, extras in logfmt quoting, nested objects
    flattened to dotted keys (``http.status=200``).  Continuation lines of a
    message and tracebacks follow, indented behind a gutter (``│``), so no
    line of data can pass for a record of its own.  A dim ``── 2026-11-26 ──``
    line marks a change of day (and a first record that is not from today)
    in the ``time`` format.
    Elements that are not records show as ``[not JSON] <text>``.
``json``
    One JSON object per line (see ``jsonlines``), never shortened, ASCII only (everything else,
    DEL and C1 included, is a ``\\uXXXX`` escape).  A record is re-emitted
    exactly as stored when it is strict, single-line JSON, else re-encoded
    (``NaN`` and infinities become the strings ``"NaN"``, ``"Infinity"``).
    An element that is not a JSON object becomes
    ``{"raw": "<its text>", "problem": "<why>"}``, so a jq filter can keep
    or drop it with ``select(.problem == null)``.  With ``show_key=True`` each
    object starts with ``"logkey": "<the log key>"`` (a ``logkey`` field of
    the record itself comes later and wins in jq).
``logfmt``
    ``ts=2026-11-26T01:02:03.456Z level=info logger=app msg="..." key=value``
    (UTC, milliseconds), then ``exc=`` / ``stack=``; values are quoted when
    they hold spaces, ``=``, ``"``, backslashes or control characters, and
    ``\\n``, ``\\t``, ``\\"``, ``\\\\`` are escaped inside quotes.  Elements that
    are not records: ``problem="not JSON" msg="<text>"``.
``cat``
    The message only, as journalctl's ``cat``: no time, level, fields or
    traceback; further lines of the message are indented by two spaces.

Safety: every string that comes from a record (messages, logger and level
names, field keys and values, tracebacks, log key names) passes through
:func:`escape` in every mode, so control characters, escape sequences,
bidi controls and invisible characters show as ``\\x1b``, ``\\r``,
``\\u202e``... (dim in color).  rich only turns our own style names into
SGR codes: data is never parsed as markup, emoji codes or ANSI, and no
hyperlink is ever made.  Lines are wrapped only at a terminal's width
(``width``), each wrapped part indented under its message or text.

On screen (every mode but ``json``), values are shortened with a marker such
as ``…[+123456 bytes]`` unless ``full=True``.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import sys
import time
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from rich.cells import cell_len
from rich.color import ColorSystem
from rich.style import Style

from redislog import jsonlines, levels, timefmt, wrap
from redislog.entry import Entry, text_of
from redislog.escapes import (
    KEY_SPECIAL,
    NEEDS_QUOTES,
    QUOTED,
    UNSAFE,
    UNSAFE_LINE,
    code,
    escape,
    quoted_code,
)
from redislog.selection import Selection
from redislog.wrap import Piece

if TYPE_CHECKING:
    from rich.text import Text

OUTPUTS = ("pretty", "json", "logfmt", "cat")
OUTPUT_ALIASES = {"jsonl": "json", "raw": "cat"}
COLOR_MODES = ("auto", "always", "never")

#: On-screen caps (characters), lifted by ``full=True``.
MAX_MESSAGE = 10_000
MAX_TRACEBACK = 20_000
MAX_VALUE = 2_000
MAX_NAME = 200
MAX_FIELDS = 200

_KEY_COLORS: tuple[str, ...] = ("cyan", "magenta", "green", "blue")
_KEY_COLORS += tuple(f"bright_{color}" for color in _KEY_COLORS)
_RESET = "\x1b[0m"
# Matches marked per line of text, at most (enough for any eye).
_MAX_MARKS = 1000


def parse_output(name: str) -> str:
    """The output mode for *name*, accepting the aliases ``jsonl`` and ``raw``.

    Raises:
        ValueError: *name* is not an output mode.
    """
    mode = name.strip().lower()
    mode = OUTPUT_ALIASES.get(mode, mode)
    if mode not in OUTPUTS:
        raise ValueError(f"unknown output {name!r}: use pretty, json, logfmt or cat")
    return mode


def use_color(mode: str, stream: TextIO) -> bool:
    """Whether to color output to *stream*.

    *mode* ``always`` and ``never`` beat the environment.  ``auto`` colors a
    terminal unless ``NO_COLOR`` is set (non-empty) or ``TERM`` is ``dumb``;
    a non-empty ``FORCE_COLOR`` decides instead when set (``0``, ``false`` and
    ``no`` turn color off, anything else on).

    Raises:
        ValueError: *mode* is not auto, always or never.
    """
    mode = mode.strip().lower()
    if mode == "always":
        return True
    if mode == "never":
        return False
    if mode != "auto":
        raise ValueError(f"unknown color mode {mode!r}: use auto, always or never")
    force = os.environ.get("FORCE_COLOR", "")
    if force:
        return force.strip().lower() not in ("0", "false", "no")
    if os.environ.get("NO_COLOR", "") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


_SGR: dict[str, str] = {}


def _sgr(style: str) -> str:
    """The SGR prefix for one of our own style names (never for data)."""
    prefix = _SGR.get(style)
    if prefix is None:
        rendered = Style.parse(style).render("\0", color_system=ColorSystem.STANDARD)
        prefix = _SGR[style] = rendered.partition("\0")[0]
    return prefix


# By ``levels.color_key``, as journalctl colours them.
_LEVEL_STYLES = {
    **dict.fromkeys(("none", "info", "notice"), ""),
    **dict.fromkeys(("trace", "debug"), "dim"),
    "warning": "yellow",
    "error": "red",
    **dict.fromkeys(("critical", "alert", "emergency"), "bold red"),
}


def _marked(style: str) -> str:
    return f"{style} reverse" if style else "reverse"


def _dimmed(style: str) -> str:
    return "dim" if not style or style == "dim" else f"{style} dim"


def _clip(text: str, limit: int | None) -> tuple[str, str]:
    """*text* cut to *limit* characters, and the marker saying how much went."""
    if limit is None or len(text) <= limit:
        return text, ""
    rest = text[limit:]
    size = len(rest) if rest.isascii() else len(rest.encode("utf-8", "surrogatepass"))
    return text[:limit], f"…[+{size} bytes]"


def _timestamp_iso(ts: float) -> str | None:
    try:
        tm = time.gmtime(ts)
    except (OverflowError, OSError, ValueError):
        return None
    millis = min(int((ts - math.floor(ts)) * 1000), 999)
    return (
        f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}"
        f"T{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}.{millis:03d}Z"
    )


class Renderer:
    """Writes entries to a stream in one output mode.

    Args:
        output: ``pretty``, ``json``, ``logfmt`` or ``cat`` (or an alias).
        color: ``auto``, ``always`` or ``never`` (see :func:`use_color`);
            only ``pretty`` output is ever colored.
        utc: show times in UTC instead of local time (``pretty``).
        time_format: how ``pretty`` shows times (see ``timefmt``).
        selection: which fields ``pretty`` and ``logfmt`` show.
        width: wrap ``pretty`` lines at this many columns (a terminal's
            width), each wrapped part under the message or under the text
            of a further line: never back at the first column.

    Set :attr:`highlight` to a regex to mark what it matches in messages and
    tracebacks (``pretty``, in colour).
        show_key: prefix each record with its log key.
        full: never shorten values.
        file: the stream (default: ``sys.stdout`` at creation).
        single_line: in ``pretty``, show newlines in messages as ``\\n`` and
            tracebacks as ``exc=`` / ``stack=`` fields, one line per record.
    """

    def __init__(
        self,
        output: str = "pretty",
        *,
        color: str = "auto",
        utc: bool = False,
        show_key: bool = False,
        full: bool = False,
        file: TextIO | None = None,
        single_line: bool = False,
        time_format: str = "time",
        selection: Selection | None = None,
        width: int | None = None,
    ) -> None:
        self.output = parse_output(output)
        self._times = timefmt.TimeFormat(time_format, utc=utc)
        self.selection = Selection() if selection is None else selection
        self.highlight: re.Pattern[str] | None = None
        self.file: TextIO = sys.stdout if file is None else file
        self.color = use_color(color, self.file) and self.output == "pretty"
        self.utc = utc
        self.show_key = show_key
        self._key_width = 0
        self.width = width
        # Where wrapped parts of a record's first line and of its further
        # lines start (set by _pieces).
        self._hang = self._indent = 0
        self.full = full
        self.single_line = single_line
        encoding = (getattr(self.file, "encoding", None) or "utf-8").lower()
        unicode = "utf" in encoding
        self._gutter = "│" if unicode else "|"
        self._rule = "──" if unicode else "--"
        self._ellipsis = unicode
        self._clock = self._times.clock
        today = self._clock(time.time())
        self._day: tuple[int, int, int] | None = None
        self._today = (today.tm_year, today.tm_mon, today.tm_mday)
        self._keys: dict[str, tuple[list[Piece], int]] = {}
        formats = {
            "pretty": self._pretty,
            "json": self._json,
            "logfmt": self._logfmt,
            "cat": self._cat,
        }
        self._format = formats[self.output]

    # -- public ------------------------------------------------------------

    def write(self, entry: Entry) -> None:
        """Write one entry (lets ``BrokenPipeError`` propagate)."""
        text = self.format(entry)
        try:
            self.file.write(text)
        except UnicodeEncodeError:
            encoding = getattr(self.file, "encoding", None) or "utf-8"
            self.file.write(text.encode(encoding, "backslashreplace").decode(encoding))

    def flush(self) -> None:
        """Flush the stream."""
        self.file.flush()

    def format(self, entry: Entry) -> str:
        """The text ``write`` would write for *entry*, newline included."""
        return self._format(entry)

    def text(self, entry: Entry) -> Text:
        """*entry* as a rich ``Text`` in this renderer's mode (for rich layouts)."""
        from rich.text import Text

        if self.output != "pretty":
            return Text(self._format(entry).rstrip("\n"))
        return Text.assemble(*self._pieces(entry))

    # -- pretty ------------------------------------------------------------

    def _pretty(self, entry: Entry) -> str:
        pieces = self._pieces(entry)
        if entry.ts is not None and self._times.name == "time":
            day = self._day_of(entry.ts)
            if day is not None and day != self._day:
                first = self._day is None
                self._day = day
                if not first or day != self._today:
                    zone = " UTC" if self.utc else ""
                    date = f"{day[0]:04d}-{day[1]:02d}-{day[2]:02d}{zone}"
                    label = f"{self._rule} {date} {self._rule}"
                    pieces[:0] = [(label, "dim"), ("\n", "")]
        if self.width is not None and not self.single_line:
            pieces = wrap.wrapped(pieces, self.width, self._hang, self._indent + 2)
        if not self.color:
            pieces.append(("\n", ""))
            return "".join([text for text, _ in pieces])
        out = []
        for text, style in pieces:
            out.append(f"{_sgr(style)}{text}{_RESET}" if style else text)
        out.append("\n")
        return "".join(out)

    def _day_of(self, ts: float) -> tuple[int, int, int] | None:
        try:
            tm = self._clock(ts)
        except (OverflowError, OSError, ValueError):
            return None
        return tm.tm_year, tm.tm_mon, tm.tm_mday

    def _key_prefix(self, key: str) -> tuple[list[Piece], int]:
        cached = self._keys.get(key)
        if cached is None:
            color = _KEY_COLORS[zlib.crc32(key.encode("utf-8", "surrogatepass")) % len(_KEY_COLORS)]
            pieces: list[Piece] = []
            self._add(pieces, key, color, MAX_NAME)
            width = sum(cell_len(text) for text, _ in pieces) + 1
            pieces.append((" ", ""))
            cached = self._keys[key] = (pieces, width)
        return cached

    def show_keys(self, names: Sequence[str]) -> None:
        """Prefix each record with its log key if *names* are several, padded
        to the widest so that the columns line up."""
        self.show_key = len(names) > 1
        if self.show_key:
            self._key_width = max(self._key_prefix(name)[1] for name in names)

    def _pieces(self, entry: Entry) -> list[Piece]:
        pieces: list[Piece] = []
        indent = self._times.width + 1
        self._hang = 0
        if self.show_key:
            prefix, width = self._key_prefix(entry.key)
            pieces.extend(prefix)
            # A key that came later (a tail's glob) may be wider: it widens the column.
            self._key_width = max(self._key_width, width)
            if width < self._key_width:
                pieces.append((" " * (self._key_width - width), ""))
            indent += self._key_width
        add = pieces.append
        add((self._times(entry.ts), "dim"))
        add((" ", ""))
        if entry.data is None:
            add((f"[{escape(entry.problem or 'not a record')}]", "reverse"))
            add((" ", ""))
            self._indent, self._hang = indent, wrap.width(pieces)
            self._lines(pieces, entry.msg, "", MAX_MESSAGE, indent)
            return pieces

        style = _LEVEL_STYLES[levels.color_key(entry.levelno)]
        name = entry.level
        label = "" if name is None else levels.short(name)
        label_pieces: list[Piece] = []
        self._add(label_pieces, label, style, 20)
        pieces.extend(label_pieces)
        width = sum(len(text) for text, _ in label_pieces)
        if width < 5:
            add((" " * (5 - width), ""))
        if entry.logger:
            add((" ", ""))
            self._add(pieces, entry.logger, "dim", MAX_NAME)
        if entry.problem:
            add((" ", ""))
            add((f"[{escape(entry.problem)}]", "reverse"))

        self._indent, self._hang = indent, wrap.width(pieces) + 1
        message, marker = _clip(entry.msg, None if self.full else MAX_MESSAGE)
        rest: list[str] = []
        if self.single_line:
            first = message
        else:
            first, *rest = message.split("\n")
        if first:
            add((" ", ""))
            self._add(pieces, first, style, None, newlines=self.single_line, marks=True)
        if marker and not rest:
            add((self._marker(marker), "dim"))

        value_style = "dim" if style == "dim" else ""
        self._fields(pieces, entry, value_style)

        for line in rest:
            self._continue(pieces, indent)
            self._add(pieces, line, style, None, marks=True)
        if marker and rest:
            add((self._marker(marker), "dim"))
        for trace in (entry.exc, entry.stack):
            if trace:
                self._trace(pieces, trace, indent)
        return pieces

    def _fields(self, pieces: list[Piece], entry: Entry, value_style: str) -> None:
        items: list[tuple[str, Any]] = []
        if self.single_line:
            items = [
                (name, value)
                for name, value in (("exc", entry.exc), ("stack", entry.stack))
                if value
            ]
        fields, hidden = self._shown_fields(entry)
        for name, value in fields:
            self._field(pieces, name, value, value_style)
        for name, value in items:
            self._field(pieces, name, value, value_style)
        if hidden:
            pieces.append((" ", ""))
            pieces.append((f"{'…' if self._ellipsis else '...'}[+{hidden} fields]", "dim"))

    def _shown_fields(self, entry: Entry) -> tuple[list[tuple[str, Any]], int]:
        """The fields to show (flattened, at most MAX_FIELDS unless full), and
        how many more there are."""
        fields = self.selection.pick(entry)
        if self.full or len(fields) <= MAX_FIELDS:
            return fields, 0
        return fields[:MAX_FIELDS], len(fields) - MAX_FIELDS

    def _field(self, pieces: list[Piece], name: str, value: Any, style: str) -> None:
        add = pieces.append
        add((" ", ""))
        key, key_marker = _clip(name, None if self.full else MAX_NAME)
        key = KEY_SPECIAL.sub(code, key) or '""'
        add((f"{key}{self._marker(key_marker)}=", "dim"))
        text, marker = _clip(text_of(value), None if self.full else MAX_VALUE)
        if text and NEEDS_QUOTES.search(text) is None:
            add((text, style))
        else:
            self._quoted(pieces, text, style)
        if marker:
            add((self._marker(marker), "dim"))

    def _quoted(self, pieces: list[Piece], text: str, style: str) -> None:
        add = pieces.append
        add(('"', style))
        position = 0
        escaped = _dimmed(style)
        for match in QUOTED.finditer(text):
            start = match.start()
            if start > position:
                add((text[position:start], style))
            char = match.group()
            if char in '\\"':
                add(("\\" + char, style))
            else:
                add((code(char), escaped))
            position = match.end()
        if position < len(text):
            add((text[position:], style))
        add(('"', style))

    def _add(
        self,
        pieces: list[Piece],
        text: str,
        style: str,
        limit: int | None,
        *,
        newlines: bool = False,
        marks: bool = False,
    ) -> None:
        """Append *text* escaped: plain runs in *style*, escapes dimmed; with
        *marks*, what :attr:`highlight` matches in reverse video."""
        marker = ""
        if limit is not None and not self.full:
            text, marker = _clip(text, limit)
        pattern = UNSAFE_LINE if newlines else UNSAFE
        if marks and self.color and self.highlight is not None:
            position = 0
            matches = self.highlight.finditer(text)
            for match in itertools.islice(matches, _MAX_MARKS):
                start, end = match.span()
                if start < end:
                    self._escaped(pieces, text[position:start], style, pattern)
                    self._escaped(pieces, text[start:end], _marked(style), pattern)
                    position = end
            text = text[position:]
        self._escaped(pieces, text, style, pattern)
        if marker:
            pieces.append((self._marker(marker), "dim"))

    @staticmethod
    def _escaped(pieces: list[Piece], text: str, style: str, pattern: re.Pattern[str]) -> None:
        position = 0
        escaped = _dimmed(style)
        for match in pattern.finditer(text):
            start = match.start()
            if start > position:
                pieces.append((text[position:start], style))
            pieces.append((code(match), escaped))
            position = match.end()
        if position < len(text):
            pieces.append((text[position:], style))

    def _continue(self, pieces: list[Piece], indent: int) -> None:
        pieces.append(("\n" + " " * indent, ""))
        pieces.append((self._gutter, "dim"))
        pieces.append((" ", ""))

    def _lines(self, pieces: list[Piece], text: str, style: str, limit: int, indent: int) -> None:
        text, marker = _clip(text, None if self.full else limit)
        if self.single_line:
            self._add(pieces, text, style, None, newlines=True, marks=True)
        else:
            for number, line in enumerate(text.split("\n")):
                if number:
                    self._continue(pieces, indent)
                self._add(pieces, line, style, None, marks=True)
        if marker:
            pieces.append((self._marker(marker), "dim"))

    def _trace(self, pieces: list[Piece], trace: str, indent: int) -> None:
        if self.single_line:
            return  # shown among the fields
        text, marker = _clip(trace.rstrip("\n"), None if self.full else MAX_TRACEBACK)
        for line in text.split("\n"):
            self._continue(pieces, indent)
            self._add(pieces, line, "", None, marks=True)
        if marker:
            pieces.append((self._marker(marker), "dim"))

    def _marker(self, marker: str) -> str:
        return marker if self._ellipsis else marker.replace("…", "...")

    # -- logfmt ------------------------------------------------------------

    def _value(self, value: Any, limit: int = MAX_VALUE) -> str:
        text, marker = _clip(text_of(value), None if self.full else limit)
        if marker:
            text += self._marker(marker)
        if text and NEEDS_QUOTES.search(text) is None:
            return text
        return f'"{QUOTED.sub(quoted_code, text)}"'

    def _logfmt(self, entry: Entry) -> str:
        parts: list[str] = []
        if self.show_key:
            parts.append(f"logkey={self._value(entry.key, MAX_NAME)}")
        if entry.data is None:
            parts.append(f"problem={self._value(entry.problem or 'not a record')}")
            parts.append(f"msg={self._value(entry.msg, MAX_MESSAGE)}")
            return " ".join(parts) + "\n"
        if entry.ts is not None:
            iso = _timestamp_iso(entry.ts)
            if iso is not None:
                parts.append(f"ts={iso}")
        if entry.level is not None:
            parts.append(f"level={self._value(entry.level.lower(), MAX_NAME)}")
        if entry.logger is not None:
            parts.append(f"logger={self._value(entry.logger, MAX_NAME)}")
        parts.append(f"msg={self._value(entry.msg, MAX_MESSAGE)}")
        if entry.problem:
            parts.append(f"problem={self._value(entry.problem)}")
        fields, hidden = self._shown_fields(entry)
        for name, value in fields:
            key, marker = _clip(name, None if self.full else MAX_NAME)
            key = KEY_SPECIAL.sub(code, key + self._marker(marker)) or '""'
            parts.append(f"{key}={self._value(value)}")
        if hidden:
            parts.append(f"fields_hidden={hidden}")
        if entry.exc:
            parts.append(f"exc={self._value(entry.exc, MAX_TRACEBACK)}")
        if entry.stack:
            parts.append(f"stack={self._value(entry.stack, MAX_TRACEBACK)}")
        return " ".join(parts) + "\n"

    # -- cat ---------------------------------------------------------------

    def _cat(self, entry: Entry) -> str:
        text, marker = _clip(entry.msg, None if self.full else MAX_MESSAGE)
        lines = escape(text).split("\n")
        if marker:
            lines[-1] += self._marker(marker)
        return "\n  ".join(lines) + "\n"

    def _json(self, entry: Entry) -> str:
        return jsonlines.line(entry, show_key=self.show_key)
