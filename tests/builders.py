"""Builders that describe the plant: tiny workbooks for tests, written through real gspread.

    wb = build_workbook(
        spools=[spool("MK-1", Fecha_Materiales="01-05-2026")],
        workers=[worker(93, "Mario", "Rojas", roles=["Armador"])],
        uniones=[union("MK-1", 1, DN_UNION=2, TIPO_UNION="BW")],  # omitted: no Uniones sheet
    )

Each call wipes the local backend first, then writes the sheets with plain gspread calls,
as the office would. Like load_demo or import_workbook, it then tells the mirror which
sheets the new workbook has (whether Uniones is there), so the next cycle need not ask.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gspread
from django.conf import settings

from spools.sheets import open_workbook
from spools.workbook.columns import (
    METADATA,
    METADATA_COLUMNS,
    OPERACIONES,
    OPERACIONES_COLUMNS,
    OPERACIONES_COUNTER_COLUMNS,
    ROLES,
    ROLES_COLUMNS,
    TRABAJADORES,
    TRABAJADORES_COLUMNS,
    UNIONES,
    UNIONES_COLUMNS,
    V21_COLUMNS,
)
from spools.workbook.local_sheet import LocalSheetStore
from spools.workbook.pull import note_workbook_sheets

DEFAULT_EXTRA_COLUMNS = ("Cliente", "Diametro", "Observaciones")


@dataclass
class WorkerSpec:
    id: int
    nombre: str
    apellido: str
    roles: list[str] = field(default_factory=list)
    activo: bool = True
    inactive_roles: list[str] = field(default_factory=list)


def worker(
    id: int,
    nombre: str,
    apellido: str,
    roles: list[str] | None = None,
    activo: bool = True,
    inactive_roles: list[str] | None = None,
) -> WorkerSpec:
    return WorkerSpec(id, nombre, apellido, roles or [], activo, inactive_roles or [])


def spool(tag: str, **columns: object) -> dict:
    """One Operaciones row: column name → cell value (unlisted columns stay empty)."""
    return {"TAG_SPOOL": tag, **columns}


def union(tag: str, n: object, **columns: object) -> dict:
    """One Uniones row: column name → cell value (unlisted columns stay empty)."""
    return {"TAG_SPOOL": tag, "N_UNION": n, **columns}


def reset_local_workbook() -> None:
    LocalSheetStore(settings.ZEUES_LOCAL_SHEET).reset()


def build_workbook(
    spools: list[dict] = (),
    workers: list[WorkerSpec] = (),
    metadata: list[list] = (),
    *,
    columns: tuple[str, ...] | None = None,
    extra_columns: tuple[str, ...] = DEFAULT_EXTRA_COLUMNS,
    v21: bool = False,
    counters: bool = False,
    uniones: list[dict] | None = None,
    uniones_columns: tuple[str, ...] = UNIONES_COLUMNS,
    metadata_columns: tuple[str, ...] = METADATA_COLUMNS,
) -> gspread.Spreadsheet:
    """A fresh local workbook with these rows. `columns` overrides the Operaciones header;
    `counters` adds the Operaciones union counter columns at its end; `uniones` (even
    empty) adds a Uniones sheet with the header `uniones_columns`."""
    reset_local_workbook()
    wb = open_workbook()
    if columns is None:
        base = V21_COLUMNS if v21 else OPERACIONES_COLUMNS
        # Office columns sit between the app's, as in production.
        columns = base[:3] + extra_columns[:1] + base[3:] + extra_columns[1:]
    if counters:
        columns = (*columns, *OPERACIONES_COUNTER_COLUMNS)
    ops = [list(columns)] + [[row.get(c, "") for c in columns] for row in spools]
    trab = [list(TRABAJADORES_COLUMNS)] + [
        [w.id, w.nombre, w.apellido, "TRUE" if w.activo else "FALSE"] for w in workers
    ]
    roles = [list(ROLES_COLUMNS)]
    for w in workers:
        roles += [[w.id, r, "TRUE"] for r in w.roles]
        roles += [[w.id, r, "FALSE"] for r in w.inactive_roles]
    meta = [list(metadata_columns)] + [list(r) for r in metadata]
    sheets = [(OPERACIONES, ops), (TRABAJADORES, trab), (ROLES, roles), (METADATA, meta)]
    if uniones is not None:
        cols = uniones_columns
        sheets.append((UNIONES, [list(cols)] + [[r.get(c, "") for c in cols] for r in uniones]))
    first = wb.sheet1
    for title, rows in sheets:
        ws = wb.add_worksheet(title, rows=max(len(rows) + 10, 100), cols=max(len(rows[0]), 26))
        ws.update(rows, "A1", value_input_option="RAW")
    wb.del_worksheet(first)
    _tell_the_mirror([title for title, _ in sheets])
    return wb


def _tell_the_mirror(titles: list[str]) -> None:
    try:
        note_workbook_sheets(titles)
    except RuntimeError as exc:
        if "Database access not allowed" not in str(exc):
            raise
        # A test without the database has no mirror to tell.
