"""Wrapping a line of styled pieces at a terminal's width, each wrapped part
indented under the text it continues (a record's message, a traceback's
line), so no wrapped part can pass for a record of its own."""

from __future__ import annotations

from collections.abc import Iterator

from rich.cells import cell_len

Piece = tuple[str, str]  # (text, our own style name; "" for none)


def width(pieces: list[Piece]) -> int:
    """How many columns *pieces* take."""
    return sum(cell_len(text) for text, _ in pieces)


def wrapped(pieces: list[Piece], columns: int, first: int, further: int) -> list[Piece]:
    """*pieces* wrapped at *columns* columns.

    A line breaks between words (a field's ``key="value"`` is one), else
    at a space within a long piece, else anywhere.  Wrapped parts of the
    first line start at column *first* (the message), those of further
    lines at *further* (after the gutter), or at column 4 when that leaves
    less than 20 columns.
    """
    out: list[Piece] = []
    column = 0
    hang = first

    def new_line() -> None:
        nonlocal column
        out.append(("\n" + " " * hang, ""))
        column = hang

    for word in _words(pieces):
        text, style = word[0]
        if text.startswith("\n"):  # a further line (or the record after a date line)
            out.append(word[0])
            column = cell_len(text[1:])
            hang = further if column else first
            if columns - hang < 20:
                hang = min(hang, 4)
            continue
        if word == [(" ", "")]:
            if column < columns:
                out.append(word[0])
                column += 1
            continue
        size = width(word)
        if column + size > columns and column > hang and size <= columns - hang:
            if out and out[-1] == (" ", ""):
                out.pop()
            new_line()
        for text, style in word:
            while text:
                room = columns - column
                size = cell_len(text)
                if size <= room:
                    out.append((text, style))
                    column += size
                    break
                cut = _fitting(text, room)
                space = text.rfind(" ", 0, cut + 1)
                if space > 0 and cut - space < 20:
                    head, text = text[:space], text[space + 1 :]
                elif column > hang:
                    head = ""
                else:
                    cut = max(cut, 1)
                    head, text = text[:cut], text[cut:]
                if head:
                    out.append((head, style))
                new_line()
    return out


def _words(pieces: list[Piece]) -> Iterator[list[Piece]]:
    """*pieces* in runs that wrap as one: separators and new lines alone."""
    word: list[Piece] = []
    for piece in pieces:
        if piece == (" ", "") or piece[0].startswith("\n"):
            if word:
                yield word
                word = []
            yield [piece]
        else:
            word.append(piece)
    if word:
        yield word


def _fitting(text: str, room: int) -> int:
    """How many characters of *text* fit in *room* columns."""
    if text.isascii():
        return max(room, 0)
    used = 0
    for count, char in enumerate(text):
        used += cell_len(char)
        if used > room:
            return count
    return len(text)
