"""Builders that describe the plant: tiny workbooks for tests, written through real gspread.

    wb = build_workbook(
        spools=[spool("MK-1", Fecha_Materiales="01-05-2026")],
        workers=[worker(93, "Mario", "Rojas", roles=["Armador"])],
    )

Each call wipes the local backend first, then writes the sheets with plain gspread calls,
as the office would.
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
    ROLES,
    ROLES_COLUMNS,
    TRABAJADORES,
    TRABAJADORES_COLUMNS,
    V21_COLUMNS,
)
from spools.workbook.local_sheet import LocalSheetStore

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
) -> gspread.Spreadsheet:
    """A fresh local workbook with these rows. `columns` overrides the Operaciones header."""
    reset_local_workbook()
    wb = open_workbook()
    if columns is None:
        base = V21_COLUMNS if v21 else OPERACIONES_COLUMNS
        # Office columns sit between the app's, as in production.
        columns = base[:3] + extra_columns[:1] + base[3:] + extra_columns[1:]
    ops = [list(columns)] + [[row.get(c, "") for c in columns] for row in spools]
    trab = [list(TRABAJADORES_COLUMNS)] + [
        [w.id, w.nombre, w.apellido, "TRUE" if w.activo else "FALSE"] for w in workers
    ]
    roles = [list(ROLES_COLUMNS)]
    for w in workers:
        roles += [[w.id, r, "TRUE"] for r in w.roles]
        roles += [[w.id, r, "FALSE"] for r in w.inactive_roles]
    meta = [list(METADATA_COLUMNS)] + [list(r) for r in metadata]
    first = wb.sheet1
    for title, rows in (
        (OPERACIONES, ops),
        (TRABAJADORES, trab),
        (ROLES, roles),
        (METADATA, meta),
    ):
        ws = wb.add_worksheet(title, rows=max(len(rows) + 10, 100), cols=max(len(rows[0]), 26))
        ws.update(rows, "A1", value_input_option="RAW")
    wb.del_worksheet(first)
    return wb
