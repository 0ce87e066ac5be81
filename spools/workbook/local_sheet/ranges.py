"""A1 notation as the Sheets API reads and writes it.

Rows and columns are 0-based inside the backend; an open end (``A:C``, ``A2:Z``) is ``None``
until it is clipped to a sheet's grid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PART_RE = re.compile(r"^\$?([A-Za-z]{0,3})\$?([0-9]*)$")
# Google writes a sheet name bare only when it cannot be mistaken for anything else.
_PLAIN_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CELL_LIKE_RE = re.compile(r"^(?:[A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc][0-9]*)$")


class RangeSyntaxError(ValueError):
    """The text is not A1 notation."""


@dataclass(frozen=True)
class Bounds:
    """A rectangle, 0-based and inclusive; ``None`` marks an open end."""

    r0: int
    c0: int
    r1: int | None
    c1: int | None

    def clip(self, rows: int, cols: int) -> Bounds:
        """Close the open ends at the grid's edge."""
        return Bounds(
            self.r0,
            self.c0,
            rows - 1 if self.r1 is None else self.r1,
            cols - 1 if self.c1 is None else self.c1,
        )

    def exceeds(self, rows: int, cols: int) -> bool:
        """True when any explicit edge lies outside a grid of ``rows`` × ``cols``."""
        return (
            self.r0 >= rows
            or self.c0 >= cols
            or (self.r1 is not None and self.r1 >= rows)
            or (self.c1 is not None and self.c1 >= cols)
        )


def col_letters(col: int) -> str:
    """0 → ``A``, 25 → ``Z``, 26 → ``AA``."""
    out = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def col_index(letters: str) -> int:
    """``A`` → 0, ``AA`` → 26."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def cell_a1(row: int, col: int) -> str:
    return f"{col_letters(col)}{row + 1}"


def format_bounds(b: Bounds) -> str:
    """A closed rectangle as A1, collapsing a single cell as Google does (``A5``)."""
    assert b.r1 is not None and b.c1 is not None
    if b.r0 == b.r1 and b.c0 == b.c1:
        return cell_a1(b.r0, b.c0)
    return f"{cell_a1(b.r0, b.c0)}:{cell_a1(b.r1, b.c1)}"


def format_open_bounds(b: Bounds) -> str:
    """A rectangle that may still be open (``A2:Z``), for error messages."""
    if b.r1 is not None and b.c1 is not None:
        return format_bounds(b)
    end = ("" if b.c1 is None else col_letters(b.c1)) + ("" if b.r1 is None else str(b.r1 + 1))
    return f"{cell_a1(b.r0, b.c0)}:{end}"


def sheet_ref(title: str) -> str:
    """The sheet name as Google writes it in a range: quoted only when it must be."""
    if _PLAIN_NAME_RE.match(title) and not _CELL_LIKE_RE.match(title):
        return title
    return "'" + title.replace("'", "''") + "'"


def split_range(text: str) -> tuple[str | None, str | None]:
    """``'Hoja 1'!A1:B2`` → (``Hoja 1``, ``A1:B2``); ``Operaciones`` → (None, ``Operaciones``).

    A bare word is ambiguous (sheet name or A1); the caller decides with the sheet list.
    """
    if text.startswith("'"):
        i = 1
        while True:
            j = text.find("'", i)
            if j < 0:
                raise RangeSyntaxError(text)
            if text[j + 1 : j + 2] == "'":
                i = j + 2
                continue
            break
        title = text[1:j].replace("''", "'")
        rest = text[j + 1 :]
        if rest == "":
            return title, None
        if not rest.startswith("!") or len(rest) == 1:
            raise RangeSyntaxError(text)
        return title, rest[1:]
    if "!" in text:
        title, a1 = text.rsplit("!", 1)
        if not title or not a1:
            raise RangeSyntaxError(text)
        return title, a1
    return None, text


def _part(text: str) -> tuple[int | None, int | None]:
    m = _PART_RE.match(text)
    if not m or not (m.group(1) or m.group(2)):
        raise RangeSyntaxError(text)
    col = col_index(m.group(1)) if m.group(1) else None
    row = None
    if m.group(2):
        row = int(m.group(2)) - 1
        if row < 0:
            raise RangeSyntaxError(text)
    return row, col


def parse_a1(text: str) -> Bounds:
    """``A1``, ``A1:B2``, ``A:C``, ``1:3``, ``A2:Z``, ``A2:2`` → Bounds (open ends as None)."""
    pieces = text.split(":")
    if len(pieces) == 1:
        row, col = _part(pieces[0])
        if row is None or col is None:
            raise RangeSyntaxError(text)
        return Bounds(row, col, row, col)
    if len(pieces) != 2:
        raise RangeSyntaxError(text)
    (ra, ca), (rb, cb) = _part(pieces[0]), _part(pieces[1])
    r0, c0 = ra or 0, ca or 0
    r1, c1 = rb, cb
    if r1 is not None and r1 < r0:
        r0, r1 = r1, r0
    if c1 is not None and c1 < c0:
        c0, c1 = c1, c0
    return Bounds(r0, c0, r1, c1)
