"""The stable entry point of product.md: `spools.sheets.open_workbook()` returns the gspread
Spreadsheet of the configured backend. The gateway itself is `spools.workbook.gateway`."""

from spools.workbook.gateway import open_workbook

__all__ = ["open_workbook"]
