"""Whole-workbook .xlsx import and export, through the gateway's gspread Spreadsheet.

Export keeps what a person sees: text stays text (even "=1+1" typed as text), numbers stay
numbers, date cells become Excel dates, formulas stay formulas. Import writes values RAW
(text can never turn into a formula) and only dates and real formulas as USER_ENTERED, so
that an export → import → export round trip gives the same cells.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import TYPE_FORMULA, TYPE_STRING

from spools.workbook.columns import column_letter, quote_sheet
from spools.workbook.gateway import (
    NewSheet,
    Spreadsheet,
    add_sheets,
    delete_sheets,
    open_workbook,
    read_sheet_values,
    write_ranges,
    write_rows,
)
from spools.workbook.values import SERIAL_EPOCH, format_date, format_datetime

_DATE_TEXT = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}( \d{1,2}:\d{2}(:\d{2})?)?$")
_TIME_TEXT = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")
ROWS_PER_REQUEST = 2000  # keeps each request far below the API's payload limit
Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def _serial_to_python(serial: float, with_time: bool) -> datetime | date:
    days = int(serial)
    seconds = round((serial - days) * 86400)
    d = date.fromordinal(SERIAL_EPOCH.toordinal() + days)
    if not with_time:
        return d
    return datetime.combine(d, time()) + timedelta(seconds=seconds)


def _serial_to_time(serial: float) -> time:
    seconds = round(serial * 86400) % 86400
    return time(seconds // 3600, seconds // 60 % 60, seconds % 60)


def export_workbook(path: str | Path, progress: Progress = _quiet) -> dict[str, int]:
    """Save every sheet of the workbook as .xlsx. Returns rows written per sheet."""
    wb = open_workbook()
    titles = [ws.title for ws in wb.worksheets()]
    ranges = [quote_sheet(t) for t in titles]
    progress(f"Leyendo {len(titles)} hojas: {', '.join(titles)}")

    raw, formulas, shown = (
        read_sheet_values(wb, ranges, render)
        for render in ("UNFORMATTED_VALUE", "FORMULA", "FORMATTED_VALUE")
    )
    book = Workbook()
    book.remove(book.active)
    counts: dict[str, int] = {}
    for title, rows, f_rows, s_rows in zip(titles, raw, formulas, shown, strict=True):
        ws = book.create_sheet(title)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value == "" or value is None:
                    continue
                formula = _at(f_rows, r, c)
                text = _at(s_rows, r, c)
                cell = ws.cell(row=r + 1, column=c + 1)
                if isinstance(formula, str) and formula.startswith("=") and formula != value:
                    cell.value = formula  # a real formula
                elif (
                    isinstance(value, int | float)
                    and not isinstance(value, bool)
                    and (isinstance(text, str) and _DATE_TEXT.match(text.strip()))
                ):
                    with_time = ":" in text
                    cell.value = _serial_to_python(value, with_time)
                    cell.number_format = "DD-MM-YYYY HH:MM:SS" if with_time else "DD-MM-YYYY"
                elif (
                    isinstance(value, int | float)
                    and not isinstance(value, bool)
                    and 0 <= value < 1
                    and (isinstance(text, str) and _TIME_TEXT.match(text.strip()))
                ):
                    cell.value = _serial_to_time(value)  # a time of day
                    cell.number_format = "HH:MM:SS" if text.count(":") == 2 else "HH:MM"
                else:
                    cell.value = value
                    if isinstance(value, str):
                        cell.data_type = TYPE_STRING  # "=1+1" typed as text stays text
        counts[title] = len(rows)
    book.save(path)
    progress(f"Guardado {path}")
    return counts


def _at(rows: list[list], r: int, c: int) -> object:
    if r < len(rows) and c < len(rows[r]):
        return rows[r][c]
    return None


def _cell_for_sheet(cell) -> tuple[object, bool]:
    """(value, user_entered) for one openpyxl cell."""
    value = cell.value
    if value is None:
        return "", False
    if cell.data_type == TYPE_FORMULA and isinstance(value, str):
        return value, True
    if isinstance(value, datetime):
        if value.time() == time() and "h" not in (cell.number_format or "").lower():
            return format_date(value.date()), True
        return format_datetime(value), True
    if isinstance(value, date):
        return format_date(value), True
    if isinstance(value, time):
        return value.strftime("%H:%M:%S"), True  # a time cell, not text
    return value, False


def _read_xlsx_sheet(ws) -> tuple[list[list], list[tuple[str, object]]]:
    """One .xlsx sheet as (rows of RAW values, (A1 cell, value) to write USER_ENTERED).

    A cell written USER_ENTERED is left empty in the RAW rows; trailing empty rows are not
    data and are dropped.
    """
    grid: list[list] = []
    entered: list[tuple[str, object]] = []
    last_used = 0
    for r, row in enumerate(ws.iter_rows()):
        values = []
        for c, cell in enumerate(row):
            value, user_entered = _cell_for_sheet(cell)
            if user_entered:
                entered.append((f"{quote_sheet(ws.title)}!{column_letter(c)}{r + 1}", value))
                value = ""
            if cell.value is not None:
                last_used = r + 1
            values.append(value)
        grid.append(values)
    del grid[last_used:]
    return grid, entered


def _replace_sheets(wb: Spreadsheet, sheets: list[tuple[str, list[list], list]]) -> None:
    """Drop every sheet of `wb` and add one per imported sheet, sized for its rows."""
    old = wb.worksheets()
    # A spreadsheet can never be left without sheets: add a placeholder, drop the old ones.
    [placeholder] = add_sheets(wb, [NewSheet("_importando", rows=1, cols=1)])
    delete_sheets(wb, [ws.id for ws in old])
    add_sheets(
        wb,
        [
            NewSheet(
                title,
                rows=max(len(grid), 1000),
                cols=max(max((len(r) for r in grid), default=1), 26),
            )
            for title, grid, _ in sheets
        ],
    )
    delete_sheets(wb, [placeholder])


def import_workbook(path: str | Path, progress: Progress = _quiet) -> dict[str, int]:
    """Replace the workbook's sheets with those of an .xlsx. Returns rows per sheet."""
    book = load_workbook(path)  # formulas kept as formulas
    sheets: list[tuple[str, list[list], list[tuple[str, object]]]] = []
    for ws in book.worksheets:
        grid, entered = _read_xlsx_sheet(ws)
        sheets.append((ws.title, grid, entered))
        progress(f"Leída la hoja {ws.title}: {len(grid)} filas")

    wb = open_workbook()
    _replace_sheets(wb, sheets)
    progress(f"Hojas creadas: {', '.join(t for t, _, _ in sheets)}")

    counts: dict[str, int] = {}
    for title, grid, _ in sheets:
        for start in range(0, len(grid), ROWS_PER_REQUEST):
            chunk = grid[start : start + ROWS_PER_REQUEST]
            write_rows(wb, f"{quote_sheet(title)}!A{start + 1}", chunk)
        counts[title] = len(grid)
        progress(f"Escrita la hoja {title}: {len(grid)} filas")
    entered = [(rng, [[v]]) for _, _, e in sheets for rng, v in e]
    for start in range(0, len(entered), ROWS_PER_REQUEST * 10):
        write_ranges(wb, entered[start : start + ROWS_PER_REQUEST * 10], user_entered=True)
    if entered:
        progress(f"Fechas y fórmulas escritas: {len(entered)} celdas")
    return counts
