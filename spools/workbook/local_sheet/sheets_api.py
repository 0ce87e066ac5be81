"""``spreadsheets.get`` and ``spreadsheets.batchUpdate`` (sheet and dimension requests)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from . import cells as C
from .errors import ApiError, bad_request
from .store import DEFAULT_COLS, DEFAULT_ROWS, Book, Sheet
from .values_api import resolve

# ---- metadata --------------------------------------------------------------------------------
_MASK_NAME_RE = re.compile(r"[A-Za-z0-9_*]+(?:[./][A-Za-z0-9_*]+)*")


def _merge(into: dict, tree: dict | None, name: str) -> None:
    if tree is None or into.get(name, {}) is None:
        into[name] = None
        return
    node = into.setdefault(name, {})
    for key, sub in tree.items():
        _merge(node, sub, key)


def parse_field_mask(text: str) -> dict | None:
    """``sheets(properties(sheetId,title)),spreadsheetId`` → nested dict (None = whole field)."""
    text = text.replace(" ", "")
    if text in ("", "*"):
        return None
    pos = 0

    def parse_list() -> dict:
        nonlocal pos
        tree: dict = {}
        while True:
            m = _MASK_NAME_RE.match(text, pos)
            if not m:
                raise bad_request(f"Invalid field selection {text}")
            path = re.split(r"[./]", m.group(0))
            pos = m.end()
            sub: dict | None = None
            if pos < len(text) and text[pos] == "(":
                pos += 1
                sub = parse_list()
                if pos >= len(text) or text[pos] != ")":
                    raise bad_request(f"Invalid field selection {text}")
                pos += 1
            for name in reversed(path[1:]):
                sub = {name: sub}
            _merge(tree, sub, path[0])
            if pos < len(text) and text[pos] == ",":
                pos += 1
                continue
            return tree

    tree = parse_list()
    if pos != len(text):
        raise bad_request(f"Invalid field selection {text}")
    return tree


def apply_field_mask(obj: Any, tree: dict | None) -> Any:
    if tree is None:
        return obj
    if isinstance(obj, list):
        return [apply_field_mask(x, tree) for x in obj]
    if isinstance(obj, dict):
        if "*" in tree:
            return obj
        return {k: apply_field_mask(v, tree[k]) for k, v in obj.items() if k in tree}
    return obj


def metadata(book: Book, only: list[Sheet] | None = None) -> dict:
    """The Spreadsheet resource without grid data."""
    row = book.con.execute(
        "SELECT title, locale, time_zone FROM spreadsheet WHERE id=?", (book.spreadsheet_id,)
    ).fetchone()
    title, locale, time_zone = row
    sheets = only if only is not None else book.sheets()
    return {
        "spreadsheetId": book.spreadsheet_id,
        "properties": {
            "title": title,
            "locale": locale,
            "autoRecalc": "ON_CHANGE",
            "timeZone": time_zone,
        },
        "sheets": [{"properties": s.properties()} for s in sheets],
        "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.spreadsheet_id}/edit",
    }


def spreadsheets_get(book: Book, params: dict, ranges: list[str]) -> dict:
    if str(params.get("includeGridData", "false")).lower() == "true":
        raise bad_request("includeGridData=true is not supported by the local sheet backend")
    only = None
    if ranges:
        ids: list[int] = []
        for text in ranges:
            sheet, _, _ = resolve(book, text)
            if sheet.sheet_id not in ids:
                ids.append(sheet.sheet_id)
        only = [s for s in book.sheets() if s.sheet_id in ids]
    meta = metadata(book, only)
    fields = params.get("fields")
    if fields:
        meta = apply_field_mask(meta, parse_field_mask(str(fields)))
    return meta


# ---- batchUpdate -----------------------------------------------------------------------------
class RequestError(Exception):
    """A request inside a batch is invalid; wrapped as ``Invalid requests[i].kind: ...``."""


def _int(value: Any, name: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise RequestError(f"{name} must be an integer")
    try:
        number = int(value)
    except ValueError:
        raise RequestError(f"{name} must be an integer") from None
    if number < minimum:
        raise RequestError(f"{name} must be >= {minimum}")
    return number


def _sheet(book: Book, sheet_id: Any) -> Sheet:
    sheet = book.sheet_by_id(_int(sheet_id if sheet_id is not None else 0, "sheetId"))
    if sheet is None:
        raise RequestError(f"No grid with id: {sheet_id if sheet_id is not None else 0}")
    return sheet


def _check_title(book: Book, title: Any, ignore: Sheet | None = None) -> str:
    if not isinstance(title, str) or not title.strip():
        raise RequestError("The sheet name cannot be empty.")
    other = book.sheet_by_title(title)
    if other is not None and other is not ignore and other.title.casefold() == title.casefold():
        raise RequestError(
            f'A sheet with the name "{title}" already exists. Please enter another name.'
        )
    return title


def _place(book: Book, sheet: Sheet, index: int | None) -> None:
    ordered = [s for s in book.sheets() if s is not sheet]
    pos = len(ordered) if index is None else max(0, min(index, len(ordered)))
    ordered.insert(pos, sheet)
    book.reindex(ordered)


_EXTRA_PROPS = ("hidden", "tabColor", "tabColorStyle", "rightToLeft")
_EXTRA_GRID = ("frozenRowCount", "frozenColumnCount", "hideGridlines")


def _set_extra(sheet: Sheet, key: str, value: Any) -> None:
    """Optional properties are stored only when they differ from Google's defaults."""
    if key in _EXTRA_GRID:
        grid = sheet.props.setdefault("gridProperties", {})
        if value in (None, 0, False):
            grid.pop(key, None)
        else:
            grid[key] = value
        if not grid:
            sheet.props.pop("gridProperties")
    elif value in (None, False):
        sheet.props.pop(key, None)
    else:
        sheet.props[key] = value


def _resize(book: Book, sheet: Sheet, rows: int | None, cols: int | None) -> None:
    if rows is not None:
        rows = _int(rows, "rowCount", 1)
        if rows < sheet.rows:
            book.delete_row_range(sheet.sheet_id, rows, sheet.rows - 1)
        sheet.rows = rows
    if cols is not None:
        cols = _int(cols, "columnCount", 1)
        if cols < sheet.cols:
            book.rewrite_all_rows(sheet.sheet_id, lambda cells: cells[:cols], min_n=cols)
        sheet.cols = cols
    book.save_sheet(sheet)


def _new_sheet_id(book: Book, requested: Any, name: str) -> int:
    """The id a request asks for (refused when taken), or a fresh one."""
    if requested is None:
        return book.new_sheet_id()
    sheet_id = _int(requested, name)
    if book.sheet_by_id(sheet_id) is not None:
        raise RequestError(f"A sheet with id {sheet_id} already exists.")
    return sheet_id


def add_sheet(book: Book, req: dict) -> dict:
    props = req.get("properties") or {}
    title = props.get("title")
    if title is None:
        n = len(book.sheets()) + 1
        while book.sheet_by_title(f"Hoja {n}") is not None:
            n += 1
        title = f"Hoja {n}"
    title = _check_title(book, title)
    if props.get("sheetType", "GRID") != "GRID":
        raise RequestError("Only GRID sheets are supported by the local sheet backend")
    grid = props.get("gridProperties") or {}
    sheet_id = _new_sheet_id(book, props.get("sheetId"), "sheetId")
    sheet = Sheet(
        sheet_id=sheet_id,
        title=title,
        index=0,
        rows=_int(grid.get("rowCount", DEFAULT_ROWS), "rowCount", 1),
        cols=_int(grid.get("columnCount", DEFAULT_COLS), "columnCount", 1),
    )
    for key in _EXTRA_PROPS:
        if key in props:
            _set_extra(sheet, key, props[key])
    for key in _EXTRA_GRID:
        if key in grid:
            _set_extra(sheet, key, grid[key])
    index = props.get("index")
    _place(book, sheet, None if index is None else _int(index, "index"))
    return {"addSheet": {"properties": sheet.properties()}}


def delete_sheet(book: Book, req: dict) -> dict:
    sheet = _sheet(book, req.get("sheetId"))
    if len(book.sheets()) == 1:
        raise RequestError("You can't remove all the sheets in a document.")
    book.drop_sheet(sheet)
    return {}


def duplicate_sheet(book: Book, req: dict) -> dict:
    source = _sheet(book, req.get("sourceSheetId"))
    name = req.get("newSheetName")
    if not name:
        name, n = f"Copia de {source.title}", 2
        while book.sheet_by_title(name) is not None:
            name, n = f"Copia de {source.title} {n}", n + 1
    name = _check_title(book, name)
    new_id = _new_sheet_id(book, req.get("newSheetId"), "newSheetId")
    index = req.get("insertSheetIndex")
    copy = Sheet(new_id, name, 0, source.rows, source.cols, dict(source.props))
    copy.props.pop("hidden", None)
    _place(book, copy, source.index + 1 if index is None else _int(index, "insertSheetIndex"))
    book.copy_cells(source.sheet_id, new_id)
    return {"duplicateSheet": {"properties": copy.properties()}}


def _field_paths(fields: Any) -> list[str]:
    if not fields:
        raise RequestError("You must specify which fields to update.")
    return [f.strip().replace("/", ".") for f in str(fields).split(",") if f.strip()]


def _sheet_property_paths(fields: Any) -> list[str]:
    """The field mask as leaf paths: ``*`` is every property, ``gridProperties`` each of its
    fields."""
    paths = _field_paths(fields)
    if "*" in paths:
        paths = ["title", "index", *_EXTRA_PROPS, "gridProperties"]
    expanded: list[str] = []
    for path in paths:
        if path == "gridProperties":
            expanded += [f"gridProperties.{k}" for k in ("rowCount", "columnCount", *_EXTRA_GRID)]
        else:
            expanded.append(path)
    return expanded


def _set_sheet_extra(book: Book, sheet: Sheet, key: str, value: Any) -> None:
    if key == "hidden" and value:
        visible = [s for s in book.sheets() if not s.props.get("hidden") and s is not sheet]
        if not visible:
            raise RequestError("You can't hide all the sheets in a document.")
    _set_extra(sheet, key, value)
    book.save_sheet(sheet)


def _update_grid_property(book: Book, sheet: Sheet, path: str, grid: dict) -> None:
    """One ``gridProperties.<key>`` path; a size absent from the request is left alone."""
    key = path.split(".", 1)[1]
    if key == "rowCount":
        if key in grid:
            _resize(book, sheet, grid[key], None)
    elif key == "columnCount":
        if key in grid:
            _resize(book, sheet, None, grid[key])
    elif key in _EXTRA_GRID:
        _set_extra(sheet, key, grid.get(key))
        book.save_sheet(sheet)
    else:
        raise RequestError(f"field '{path}' is not supported by the local sheet backend")


def _update_sheet_property(book: Book, sheet: Sheet, props: dict, path: str) -> None:
    if path == "sheetId":
        return
    if path == "title":
        sheet.title = _check_title(book, props.get("title"), ignore=sheet)
        book.save_sheet(sheet)
    elif path == "index":
        _place(book, sheet, _int(props.get("index", 0), "index"))
    elif path in _EXTRA_PROPS:
        _set_sheet_extra(book, sheet, path, props.get(path))
    elif path.startswith("gridProperties."):
        _update_grid_property(book, sheet, path, props.get("gridProperties") or {})
    else:
        raise RequestError(f"field '{path}' is not supported by the local sheet backend")


def update_sheet_properties(book: Book, req: dict) -> dict:
    props = req.get("properties") or {}
    sheet = _sheet(book, props.get("sheetId"))
    for path in _sheet_property_paths(req.get("fields")):
        _update_sheet_property(book, sheet, props, path)
    return {}


def update_spreadsheet_properties(book: Book, req: dict) -> dict:
    props = req.get("properties") or {}
    columns = {"title": "title", "locale": "locale", "timeZone": "time_zone"}
    for path in _field_paths(req.get("fields")):
        if path not in columns:
            raise RequestError(f"field '{path}' is not supported by the local sheet backend")
        value = props.get(path)
        if not isinstance(value, str) or not value:
            raise RequestError(f"{path} cannot be empty")
        if path == "locale":
            book.set_locale(value)  # FORMATTED_VALUE follows the new locale from now on
            continue
        book.con.execute(
            f"UPDATE spreadsheet SET {columns[path]}=? WHERE id=?",
            (value, book.spreadsheet_id),
        )
        book.wrote = True
    return {}


def _dimension_range(book: Book, rng: dict) -> tuple[Sheet, bool, int, int]:
    sheet = _sheet(book, rng.get("sheetId"))
    dimension = rng.get("dimension")
    if dimension not in ("ROWS", "COLUMNS"):
        raise RequestError("range.dimension must be ROWS or COLUMNS")
    rows = dimension == "ROWS"
    count = sheet.rows if rows else sheet.cols
    start = _int(rng.get("startIndex", 0), "range.startIndex")
    end = _int(rng.get("endIndex", count), "range.endIndex")
    if end <= start:
        raise RequestError("range.endIndex must be greater than range.startIndex")
    return sheet, rows, start, end


def insert_dimension(book: Book, req: dict) -> dict:
    sheet, rows, start, end = _dimension_range(book, req.get("range") or {})
    count = sheet.rows if rows else sheet.cols
    if start > count:
        raise RequestError(
            f"range.startIndex ({start}) must be <= the sheet's "
            f"{'row' if rows else 'column'} count ({count})"
        )
    k = end - start
    if rows:
        book.shift_rows(sheet.sheet_id, start, k)
        sheet.rows += k
    else:
        book.rewrite_all_rows(
            sheet.sheet_id, lambda cells: cells[:start] + [""] * k + cells[start:], min_n=start
        )
        sheet.cols += k
    book.save_sheet(sheet)
    return {}


def delete_dimension(book: Book, req: dict) -> dict:
    sheet, rows, start, end = _dimension_range(book, req.get("range") or {})
    count = sheet.rows if rows else sheet.cols
    noun = "row" if rows else "column"
    if end > count:
        raise RequestError(
            f"Cannot delete a {noun} that doesn't exist. Tried to delete {noun} index {end - 1} "
            f"but there are only {count} {noun}s."
        )
    if start == 0 and end == count:
        raise RequestError(f"You can't delete all the {noun}s on the sheet.")
    k = end - start
    if rows:
        book.delete_row_range(sheet.sheet_id, start, end - 1)
        book.shift_rows(sheet.sheet_id, end, -k)
        sheet.rows -= k
    else:
        book.rewrite_all_rows(
            sheet.sheet_id, lambda cells: cells[:start] + cells[end:], min_n=start
        )
        sheet.cols -= k
    book.save_sheet(sheet)
    return {}


def append_dimension(book: Book, req: dict) -> dict:
    sheet = _sheet(book, req.get("sheetId"))
    length = _int(req.get("length"), "length", 1)
    if req.get("dimension") == "ROWS":
        sheet.rows += length
    elif req.get("dimension") == "COLUMNS":
        sheet.cols += length
    else:
        raise RequestError("dimension must be ROWS or COLUMNS")
    book.save_sheet(sheet)
    return {}


def _compare(specs: list[tuple[int, bool]], a: list, b: list) -> int:
    for col, descending in specs:
        va, vb = a[col], b[col]
        ea, eb = C.is_empty(va), C.is_empty(vb)
        if ea and eb:
            continue
        if ea or eb:
            return 1 if ea else -1  # blanks go last in either order, as in Sheets
        ka, kb = C.sort_key(va), C.sort_key(vb)
        if ka == kb:
            continue
        result = -1 if ka < kb else 1
        return -result if descending else result
    return 0


def sort_range(book: Book, req: dict) -> dict:
    rng = req.get("range") or {}
    sheet = _sheet(book, rng.get("sheetId"))
    r0 = _int(rng.get("startRowIndex", 0), "range.startRowIndex")
    r1 = _int(rng.get("endRowIndex", sheet.rows), "range.endRowIndex")
    c0 = _int(rng.get("startColumnIndex", 0), "range.startColumnIndex")
    c1 = _int(rng.get("endColumnIndex", sheet.cols), "range.endColumnIndex")
    if r1 > sheet.rows or c1 > sheet.cols:
        raise RequestError("range exceeds the grid")
    specs: list[tuple[int, bool]] = []
    for spec in req.get("sortSpecs") or []:
        col = _int(spec.get("dimensionIndex", 0), "sortSpecs.dimensionIndex")
        if not c0 <= col < c1:
            raise RequestError("sortSpecs.dimensionIndex must be inside the range")
        order = spec.get("sortOrder") or "ASCENDING"
        if order not in ("ASCENDING", "DESCENDING"):
            raise RequestError("sortSpecs.sortOrder must be ASCENDING or DESCENDING")
        specs.append((col - c0, order == "DESCENDING"))
    if not specs or r1 <= r0 or c1 <= c0:
        return {}
    sid = sheet.sheet_id
    stored = book.row_numbers(sid, r0, r1 - 1)
    if not stored:
        return {}
    # Rows past the last stored one are blank and stay at the bottom: sort only up to it.
    last = stored[-1]
    book.prefetch(sid, range(r0, last + 1))
    width = c1 - c0
    keyed = []
    for r in range(r0, last + 1):
        part = book.row(sid, r)[c0:c1]
        keyed.append((r, part + [""] * (width - len(part))))
    keyed.sort(key=functools.cmp_to_key(lambda a, b: _compare(specs, a[1], b[1])))
    _lo, widest = book.col_extent(sid, r0, last)
    if c0 == 0 and widest < c1:
        # Whole rows move: only their positions change.
        book.permute_rows(sid, r0, [r for r, _ in keyed])
        return {}
    for i, (_r, block) in enumerate(keyed):
        r = r0 + i
        cells = book.row(sid, r)
        if len(cells) < c1:
            cells.extend([""] * (c1 - len(cells)))
        cells[c0:c1] = block
        book.touch(sid, r)
    return {}


HANDLERS: dict[str, Callable[[Book, dict], dict]] = {
    "addSheet": add_sheet,
    "deleteSheet": delete_sheet,
    "duplicateSheet": duplicate_sheet,
    "updateSheetProperties": update_sheet_properties,
    "updateSpreadsheetProperties": update_spreadsheet_properties,
    "insertDimension": insert_dimension,
    "deleteDimension": delete_dimension,
    "appendDimension": append_dimension,
    "sortRange": sort_range,
}


def batch_update(book: Book, body: dict) -> dict:
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise bad_request("Must specify at least one request.")
    replies = []
    for i, req in enumerate(requests):
        if not isinstance(req, dict) or len(req) != 1:
            raise bad_request(f"Invalid requests[{i}]: exactly one request kind is required")
        ((kind, payload),) = req.items()
        handler = HANDLERS.get(kind)
        if handler is None:
            raise bad_request(
                f"Invalid requests[{i}].{kind}: not supported by the local sheet backend"
            )
        try:
            replies.append(handler(book, payload or {}))
        except RequestError as exc:
            raise bad_request(f"Invalid requests[{i}].{kind}: {exc}") from None
        except ApiError as exc:
            raise bad_request(f"Invalid requests[{i}].{kind}: {exc.message}") from None
    out: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id, "replies": replies}
    if body.get("includeSpreadsheetInResponse"):
        out["updatedSpreadsheet"] = metadata(book)
    return out
