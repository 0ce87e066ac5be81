"""What a supervision page shows: pictures, then tables. The page, the CSV and the XLSX are
rendered from the same `Table` objects, so an export is exactly the table on the screen."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Font

Cell = str | int | float | Decimal | date | datetime | None


@dataclass
class Column:
    title: str
    numeric: bool = False


@dataclass
class Table:
    key: str  # the XLSX sheet's name and the element id
    title: str
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)
    # Rows that sum up the others (the plant's total): shown in bold, exported last.
    footer: list[list[Cell]] = field(default_factory=list)
    note: str = ""  # a line under the title (why a row is there, what was left out)
    empty: str = "Sin datos en el período."

    @property
    def all_rows(self) -> list[list[Cell]]:
        return self.rows + self.footer

    def shown(self, rows: list[list[Cell]]) -> list[list[tuple[str, bool]]]:
        """Rows as the page prints them: (text, numeric) per cell."""
        return [
            [(text(v), c.numeric) for v, c in zip(row, self.columns, strict=True)] for row in rows
        ]

    @property
    def body(self) -> list[list[tuple[str, bool]]]:
        return self.shown(self.rows)

    @property
    def foot(self) -> list[list[tuple[str, bool]]]:
        return self.shown(self.footer)


@dataclass
class Chart:
    key: str
    title: str
    svg: str  # server-rendered (pygal), no script
    caption: str = ""


@dataclass
class Report:
    page: str
    title: str
    charts: list[Chart]
    tables: list[Table]
    notes: list[str] = field(default_factory=list)


def text(value: Cell) -> str:
    """A cell as the page and the CSV print it (dates as the plant writes them)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{timezone.localtime(value):%d-%m-%Y %H:%M}"
    if isinstance(value, date):
        return f"{value:%d-%m-%Y}"
    if isinstance(value, float | Decimal):
        return f"{value:.1f}".replace(".", ",")
    return str(value)


def to_csv(tables: Sequence[Table]) -> str:
    """The tables one after the other (a title row and a blank line between them when
    there are several), `;`-separated with decimal commas, as Excel in es-CL opens them."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for i, table in enumerate(tables):
        if len(tables) > 1:
            if i:
                writer.writerow([])
            writer.writerow([table.title])
        writer.writerow([c.title for c in table.columns])
        writer.writerows([text(v) for v in row] for row in table.all_rows)
    return "\ufeff" + out.getvalue()  # the BOM: Excel reads the accents as UTF-8


def _xlsx_value(value: Cell) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(
            tzinfo=None
        )  # plant time, as shown; Excel has no zones
    return "" if value is None else value


def to_xlsx(tables: Sequence[Table]) -> bytes:
    """One sheet per table, numbers as numbers, dates as dates."""
    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(table.title[:31].replace("/", "-"))
        sheet.append([c.title for c in table.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.all_rows:
            sheet.append([_xlsx_value(v) for v in row])
        for j, column in enumerate(table.columns, start=1):
            letter = sheet.cell(row=1, column=j).column_letter
            sheet.column_dimensions[letter].width = max(12, len(column.title) + 2)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
