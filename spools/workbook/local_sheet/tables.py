"""The "table" ``values.append`` finds in its input range, as Google finds it.

Google documents that the input range "is used to search for existing data and find a 'table'
within that range. Values will be appended to the next row of the table, starting with the first
column of the table." Its recorded answers (gspread's cassettes, replayed in
tests/local_sheet/test_recorded_google.py) pin down which table and how far it reaches:

* with ``x · x`` in A1:C1 (B1 empty), appending to the whole sheet answers ``tableRange`` C1
  and writes C2:…: two tables, and the one taken holds the range's *last* value (reading
  order: the last row with data, its rightmost value), not the first one;
* appending to ``A1`` on that sheet answers A1 and writes A2:…: the table holding A1, even
  though the range is a single cell (a table may reach past the range);
* appending to an empty cell (A2 between two blocks of data) finds no table and writes there.

A table is the bounding rectangle of a group of touching non-empty cells (sides or corners);
rectangles that overlap are one table, so a row with a gap (A:I and K:L filled, J empty) still
belongs to the table around it.
"""

from __future__ import annotations

import json

from .cells import is_empty
from .ranges import Bounds
from .store import Book, Sheet

Box = tuple[int, int, int, int]  # r0, c0, r1, c1


def _filled(book: Book, sheet: Sheet) -> dict[int, set[int]]:
    """The non-empty columns of every stored row of the sheet."""
    out: dict[int, set[int]] = {}
    for r, _n, _kind, data, _unf, _fmt in book.scan(sheet.sheet_id, 0, sheet.rows - 1):
        cols = {c for c, v in enumerate(json.loads(data)) if not is_empty(v)}
        if cols:
            out[r] = cols
    return out


def _groups(filled: dict[int, set[int]]) -> list[Box]:
    """Bounding boxes of the groups of touching non-empty cells (sides or corners)."""
    parent: dict[tuple[int, int], tuple[int, int]] = {}

    def root(cell: tuple[int, int]) -> tuple[int, int]:
        while parent[cell] != cell:
            parent[cell] = parent[parent[cell]]
            cell = parent[cell]
        return cell

    for r in sorted(filled):
        above = filled.get(r - 1, set())
        for c in sorted(filled[r]):
            parent[(r, c)] = (r, c)
            near = [(r, c - 1)] if c - 1 in filled[r] else []
            near += [(r - 1, c + d) for d in (-1, 0, 1) if c + d in above]
            for other in near:
                parent[root(other)] = root((r, c))
    boxes: dict[tuple[int, int], Box] = {}
    for r, c in parent:
        key = root((r, c))
        b = boxes.get(key, (r, c, r, c))
        boxes[key] = (min(b[0], r), min(b[1], c), max(b[2], r), max(b[3], c))
    return list(boxes.values())


def _overlap(a: Box, b: Box) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _tables(boxes: list[Box]) -> list[Box]:
    """Overlapping boxes merged until none overlap: the sheet's tables."""
    merged = True
    while merged:
        merged = False
        out: list[Box] = []
        for b in boxes:
            for i, o in enumerate(out):
                if _overlap(b, o):
                    out[i] = (min(b[0], o[0]), min(b[1], o[1]), max(b[2], o[2]), max(b[3], o[3]))
                    merged = True
                    break
            else:
                out.append(b)
        boxes = out
    return boxes


def _last_value(filled: dict[int, set[int]], region: Bounds) -> tuple[int, int] | None:
    """The region's last non-empty cell in reading order."""
    assert region.r1 is not None and region.c1 is not None
    for r in sorted((r for r in filled if region.r0 <= r <= region.r1), reverse=True):
        inside = [c for c in filled[r] if region.c0 <= c <= region.c1]
        if inside:
            return r, max(inside)
    return None


def find_table(book: Book, sheet: Sheet, region: Bounds) -> Bounds | None:
    """The table ``values.append`` on ``region`` (closed) writes under; None: no data in it."""
    filled = _filled(book, sheet)
    seed = _last_value(filled, region)
    if seed is None:
        return None
    r, c = seed
    for r0, c0, r1, c1 in _tables(_groups(filled)):
        if r0 <= r <= r1 and c0 <= c <= c1:
            return Bounds(r0, c0, r1, c1)
    raise AssertionError("a non-empty cell belongs to a table")
