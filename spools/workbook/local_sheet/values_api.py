"""``spreadsheets.values``: get, batchGet, update, batchUpdate, append, clear, batchClear."""

from __future__ import annotations

import json
from typing import Any

from . import cells as C
from .errors import ApiError, bad_request, unable_to_parse
from .ranges import (
    Bounds,
    RangeSyntaxError,
    col_letters,
    format_bounds,
    format_open_bounds,
    parse_a1,
    sheet_ref,
    split_range,
)
from .store import Book, Sheet
from .tables import find_table

WHOLE = Bounds(0, 0, None, None)
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

VALUE_RENDER = (C.FORMATTED, C.UNFORMATTED, C.FORMULA)
DATETIME_RENDER = (C.SERIAL, C.FORMATTED_STRING)
INPUT_OPTIONS = (C.RAW, C.USER_ENTERED)
DIMENSIONS = ("ROWS", "COLUMNS")


def enum(value: Any, allowed: tuple[str, ...], field: str, default: str = "") -> str:
    """A query/body enum; Google rejects unknown names with a 400."""
    if value is None or value == "":
        return default
    if value not in allowed:
        raise bad_request(f"Invalid value at '{field}', \"{value}\"")
    return value


def flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).lower() == "true"


def resolve(book: Book, text: str) -> tuple[Sheet, Bounds, bool]:
    """A range as the API receives it → (sheet, bounds, single_cell)."""
    try:
        title, a1 = split_range(text)
    except RangeSyntaxError:
        raise unable_to_parse(text) from None
    if title is None:
        assert a1 is not None
        sheet = book.sheet_by_title(a1)
        if sheet is not None:
            return sheet, WHOLE, False
        sheet = book.first_visible_sheet()
    else:
        sheet = book.sheet_by_title(title)
        if sheet is None:
            raise unable_to_parse(text)
        if a1 is None:
            return sheet, WHOLE, False
    try:
        bounds = parse_a1(a1)
    except RangeSyntaxError:
        raise unable_to_parse(text) from None
    return sheet, bounds, ":" not in a1


def grid_error(sheet: Sheet, label: str) -> ApiError:
    return bad_request(
        f"Range ({sheet_ref(sheet.title)}!{label}) exceeds grid limits. "
        f"Max rows: {sheet.rows}, max columns: {sheet.cols}"
    )


def check_grid(sheet: Sheet, bounds: Bounds) -> Bounds:
    """The bounds closed at the grid's edge; any explicit edge past it is Google's 400."""
    if bounds.exceeds(sheet.rows, sheet.cols):
        raise grid_error(sheet, format_open_bounds(bounds))
    return bounds.clip(sheet.rows, sheet.cols)


def range_label(sheet: Sheet, bounds: Bounds) -> str:
    return f"{sheet_ref(sheet.title)}!{format_bounds(bounds)}"


# ---- reading ---------------------------------------------------------------------------------
def _row_values(row: tuple, c0: int, c1: int, vro: str, dtro: str, locale: str) -> list:
    """One stored row's cells in columns [c0, c1], rendered and trimmed."""
    _r, _n, kind, data, unf, fmt = row
    pre = C.prerendered(kind, data, unf, fmt, vro, dtro)
    if pre is not None:
        out = json.loads(pre)[c0 : c1 + 1]
        while out and out[-1] == "" and out[-1].__class__ is str:
            out.pop()
        return out
    return C.render_row(json.loads(data)[c0 : c1 + 1], vro, dtro, locale)


def _rows_major(book: Book, sheet: Sheet, b: Bounds, vro: str, dtro: str) -> str:
    """The ``values`` of a ROWS reply, as JSON text without the brackets."""
    assert b.r1 is not None and b.c1 is not None
    c0, c1 = b.c0, b.c1
    parts: list[str] = []
    expected = b.r0
    whole_rows = c0 == 0
    locale = book.locale
    for row in book.scan(sheet.sheet_id, b.r0, b.r1):
        r, n, kind, data, unf, fmt = row
        piece = None
        if whole_rows and n <= c1 + 1:
            piece = C.prerendered(kind, data, unf, fmt, vro, dtro)
        if piece is None or piece == "[]":
            out = _row_values(row, c0, c1, vro, dtro, locale)
            if not out:
                continue
            piece = _dumps(out)
        if r > expected:
            parts.append(",".join(["[]"] * (r - expected)))
        parts.append(piece)
        expected = r + 1
    return ",".join(parts)


def _columns_major(book: Book, sheet: Sheet, b: Bounds, vro: str, dtro: str) -> str:
    """The ``values`` of a COLUMNS reply, as JSON text without the brackets."""
    assert b.r1 is not None and b.c1 is not None
    grid: list[tuple[int, list]] = []
    for row in book.scan(sheet.sheet_id, b.r0, b.r1):
        out = _row_values(row, b.c0, b.c1, vro, dtro, book.locale)
        if out:
            grid.append((row[0] - b.r0, out))
    width = max((len(out) for _, out in grid), default=0)
    columns: list[list] = []
    for j in range(width):
        col: list = []
        for i, out in grid:
            if j < len(out) and not (out[j] == "" and out[j].__class__ is str):
                col.extend([""] * (i - len(col)))
                col.append(out[j])
        columns.append(col)
    while columns and not columns[-1]:
        columns.pop()
    return ",".join(_dumps(col) for col in columns)


def value_range_json(book: Book, sheet: Sheet, b: Bounds, major: str, vro: str, dtro: str) -> str:
    """One ValueRange as JSON text; stored renderings are copied into the reply untouched."""
    assert b.r1 is not None and b.c1 is not None
    label = _dumps(range_label(sheet, b))
    if major == "ROWS":
        values = _rows_major(book, sheet, b, vro, dtro)
    else:
        values = _columns_major(book, sheet, b, vro, dtro)
    head = f'{{"range":{label},"majorDimension":"{major}"'
    if not values:
        return head + "}"
    return f'{head},"values":[{values}]}}'


def _read_options(params: dict) -> tuple[str, str, str]:
    major = enum(params.get("majorDimension"), DIMENSIONS, "major_dimension", "ROWS")
    vro = enum(params.get("valueRenderOption"), VALUE_RENDER, "value_render_option", C.FORMATTED)
    dtro = enum(
        params.get("dateTimeRenderOption"), DATETIME_RENDER, "date_time_render_option", C.SERIAL
    )
    return major, vro, dtro


def values_get(book: Book, range_text: str, params: dict) -> str:
    major, vro, dtro = _read_options(params)
    sheet, bounds, _ = resolve(book, range_text)
    return value_range_json(book, sheet, check_grid(sheet, bounds), major, vro, dtro)


def values_batch_get(book: Book, ranges: list[str], params: dict) -> str:
    major, vro, dtro = _read_options(params)
    parts = []
    for text in ranges:
        sheet, bounds, _ = resolve(book, text)
        parts.append(value_range_json(book, sheet, check_grid(sheet, bounds), major, vro, dtro))
    head = f'{{"spreadsheetId":{_dumps(book.spreadsheet_id)}'
    if not ranges:
        return head + "}"
    return f'{head},"valueRanges":[{",".join(parts)}]}}'


# ---- writing ---------------------------------------------------------------------------------
def _matrix(body: dict, default_major: str = "ROWS") -> list[list]:
    """The body's ``values`` as rows (COLUMNS input transposed; None = leave the cell)."""
    values = body.get("values")
    if values is None:
        return []
    if not isinstance(values, list) or not all(isinstance(v, list) for v in values):
        raise bad_request("Invalid values: expected a list of lists")
    major = enum(body.get("majorDimension"), DIMENSIONS, "data.major_dimension", default_major)
    if major == "ROWS":
        return values
    height = max((len(col) for col in values), default=0)
    return [[col[i] if i < len(col) else None for col in values] for i in range(height)]


def _convert_row(row: list, option: str, locale: str) -> list:
    if option == C.RAW:
        # The common case: plain strings stay as they are.
        return [v if v.__class__ is str or v is None else C.to_cell(v, option, locale) for v in row]
    return [None if v is None else C.to_cell(v, option, locale) for v in row]


def _check_limit(
    limit: Bounds | None, label: str, r0: int, c0: int, nrows: int, ncols: int
) -> None:
    """A write must stay inside the range it names (Google's 400 names the first cell out)."""
    if limit is None:
        return
    if limit.r1 is not None and r0 + nrows - 1 > limit.r1:
        out = f"row [{limit.r1 + 2}]"
    elif limit.c1 is not None and c0 + ncols - 1 > limit.c1:
        out = f"column [{col_letters(limit.c1 + 1)}]"
    else:
        return
    raise bad_request(f"Requested writing within range [{label}], but tried writing to {out}")


def _store_row(book: Book, sid: int, r: int, c0: int, row: list) -> int:
    """Write one converted row from column c0 (None leaves a cell); the cells written."""
    current = book.row(sid, r)
    if c0 == 0 and len(row) >= len(current) and None not in row:
        # The whole stored row is replaced: keep the new list as it is.
        book.set_row(sid, r, row)
        return len(row)
    need = c0 + len(row)
    if len(current) < need:
        current.extend([""] * (need - len(current)))
    count = 0
    for j, v in enumerate(row):
        if v is not None:
            current[c0 + j] = v
            count += 1
    if count:
        book.touch(sid, r)
    return count


def _written_columns(matrix: list[list], ncols: int) -> set[int]:
    """The matrix's columns (0-based) that hold at least one value to write."""
    if all(None not in row for row in matrix):
        return set(range(ncols))
    return {j for row in matrix for j, v in enumerate(row) if v is not None}


def write_matrix(
    book: Book,
    sheet: Sheet,
    r0: int,
    c0: int,
    matrix: list[list],
    option: str,
    limit: Bounds | None,
    label: str,
    touched: tuple[set, set] | None = None,
) -> dict:
    """Write ``matrix`` with its top-left at (r0, c0); the UpdateValuesResponse.

    ``touched`` collects the (sheet, row) and (sheet, column) written, for batch totals.
    """
    nrows = len(matrix)
    ncols = max((len(row) for row in matrix), default=0)
    reply: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id}
    if nrows == 0 or ncols == 0:
        reply["updatedRange"] = range_label(sheet, Bounds(r0, c0, r0, c0))
        return reply
    _check_limit(limit, label, r0, c0, nrows, ncols)
    block = Bounds(r0, c0, r0 + nrows - 1, c0 + ncols - 1)
    if block.exceeds(sheet.rows, sheet.cols):
        raise grid_error(sheet, format_bounds(block))
    try:
        converted = [_convert_row(row, option, book.locale) for row in matrix]
    except C.BadValue as exc:
        raise bad_request(f"Invalid values: unsupported value {exc}") from None
    sid = sheet.sheet_id
    book.prefetch(sid, range(r0, r0 + nrows))
    rows_done = cells_done = 0
    for i, row in enumerate(converted):
        count = _store_row(book, sid, r0 + i, c0, row) if row else 0
        if count:
            rows_done += 1
            cells_done += count
            if touched is not None:
                touched[0].add((sid, r0 + i))
    reply["updatedRange"] = range_label(sheet, block)
    if rows_done:
        columns = _written_columns(matrix, ncols)
        reply["updatedRows"] = rows_done
        reply["updatedColumns"] = len(columns)
        reply["updatedCells"] = cells_done
        if touched is not None:
            touched[1].update((sid, c0 + j) for j in columns)
    return reply


def _input_option(value: Any) -> str:
    if value is None or value == "" or value == "INPUT_VALUE_OPTION_UNSPECIFIED":
        raise bad_request("'valueInputOption' is required but not specified")
    return enum(value, INPUT_OPTIONS, "value_input_option")


def _with_data(book: Book, reply: dict, params: dict, include: bool) -> dict:
    if include and "updatedRange" in reply:
        vro = enum(
            params.get("responseValueRenderOption"),
            VALUE_RENDER,
            "response_value_render_option",
            C.FORMATTED,
        )
        dtro = enum(
            params.get("responseDateTimeRenderOption"),
            DATETIME_RENDER,
            "response_date_time_render_option",
            C.SERIAL,
        )
        sheet, bounds, _ = resolve(book, reply["updatedRange"])
        closed = bounds.clip(sheet.rows, sheet.cols)
        reply["updatedData"] = json.loads(value_range_json(book, sheet, closed, "ROWS", vro, dtro))
    return reply


def _update_one(
    book: Book, range_text: str, body: dict, option: str, touched: tuple[set, set] | None = None
) -> dict:
    sheet, bounds, single = resolve(book, range_text)
    if bounds.exceeds(sheet.rows, sheet.cols):
        raise grid_error(sheet, format_open_bounds(bounds))
    label = f"{sheet_ref(sheet.title)}!{format_open_bounds(bounds)}"
    limit = None if single or bounds is WHOLE else bounds
    matrix = _matrix(body)
    return write_matrix(book, sheet, bounds.r0, bounds.c0, matrix, option, limit, label, touched)


def values_update(book: Book, range_text: str, params: dict, body: dict) -> dict:
    option = _input_option(params.get("valueInputOption"))
    reply = _update_one(book, range_text, body, option)
    return _with_data(book, reply, params, flag(params.get("includeValuesInResponse", False)))


def values_batch_update(book: Book, body: dict) -> dict:
    option = _input_option(body.get("valueInputOption"))
    data = body.get("data") or []
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise bad_request("Invalid data: expected a list of ValueRange")
    # Fetch every target row once, whatever the order of the ranges.
    wanted: dict[int, set[int]] = {}
    for item in data:
        sheet, bounds, _ = resolve(book, str(item.get("range", "")))
        height = len(item.get("values") or [])
        if (item.get("majorDimension") or "ROWS") == "COLUMNS":
            height = max((len(c) for c in item.get("values") or []), default=0)
        wanted.setdefault(sheet.sheet_id, set()).update(range(bounds.r0, bounds.r0 + height))
    for sid, rows in wanted.items():
        book.prefetch(sid, rows)
    responses = []
    touched: tuple[set, set] = (set(), set())
    total_cells = 0
    include = flag(body.get("includeValuesInResponse") or False)
    for item in data:
        reply = _update_one(book, str(item.get("range", "")), item, option, touched)
        responses.append(_with_data(book, reply, body, include))
        total_cells += reply.get("updatedCells", 0)
    out: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id}
    if total_cells:
        # Google counts distinct rows and columns across the batch (A1:D1 + A4:D4 → 4 columns).
        out.update(
            totalUpdatedRows=len(touched[0]),
            totalUpdatedColumns=len(touched[1]),
            totalUpdatedCells=total_cells,
            totalUpdatedSheets=len({sid for sid, _ in touched[0]}),
        )
    if responses:
        out["responses"] = responses
    return out


def values_append(book: Book, range_text: str, params: dict, body: dict) -> dict:
    """Find the table in the range, write after its last row, grow the grid as needed."""
    option = _input_option(params.get("valueInputOption"))
    insert = enum(
        params.get("insertDataOption"),
        ("OVERWRITE", "INSERT_ROWS"),
        "insert_data_option",
        "OVERWRITE",
    )
    sheet, bounds, _ = resolve(book, range_text)
    region = check_grid(sheet, bounds)
    sid = sheet.sheet_id
    table = find_table(book, sheet, region)
    if table is None:
        row, col = region.r0, region.c0  # no data in the range: write at its top-left
    else:
        assert table.r1 is not None
        row, col = table.r1 + 1, table.c0
    matrix = _matrix(body)
    nrows = len(matrix)
    ncols = max((len(r) for r in matrix), default=0)
    if nrows and ncols:
        if insert == "INSERT_ROWS":
            book.shift_rows(sid, row, nrows)
            sheet.rows += nrows
        elif row + nrows > sheet.rows:
            sheet.rows = row + nrows
        if col + ncols > sheet.cols:
            sheet.cols = col + ncols
        book.save_sheet(sheet)
    updates = write_matrix(book, sheet, row, col, matrix, option, None, "")
    updates = _with_data(book, updates, params, flag(params.get("includeValuesInResponse", False)))
    reply: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id}
    if table is not None:
        reply["tableRange"] = range_label(sheet, table)
    reply["updates"] = updates
    return reply


def _clear_one(book: Book, range_text: str) -> str:
    sheet, bounds, _ = resolve(book, range_text)
    b = check_grid(sheet, bounds)
    assert b.r1 is not None and b.c1 is not None
    sid = sheet.sheet_id
    if b.c0 == 0 and b.c1 >= sheet.cols - 1:
        book.delete_row_range(sid, b.r0, b.r1)
    else:
        for r in book.row_numbers(sid, b.r0, b.r1):
            cells = book.row(sid, r)
            end = min(b.c1, len(cells) - 1)
            if end >= b.c0:
                cells[b.c0 : end + 1] = [""] * (end - b.c0 + 1)
                book.touch(sid, r)
    return range_label(sheet, b)


def values_clear(book: Book, range_text: str) -> dict:
    return {"spreadsheetId": book.spreadsheet_id, "clearedRange": _clear_one(book, range_text)}


def values_batch_clear(book: Book, body: dict) -> dict:
    ranges = body.get("ranges") or []
    cleared = [_clear_one(book, str(text)) for text in ranges]
    out: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id}
    if cleared:
        out["clearedRanges"] = cleared
    return out
