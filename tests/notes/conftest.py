"""A plant whose Operaciones sheet has the optional Notas column (between office columns)."""

from __future__ import annotations

import pytest

from spools.workbook.pull import pull
from tests.builders import build_workbook, spool
from tests.plant import SPOOLS, WORKERS

NOTAS_COLUMNS = ("Cliente", "Notas", "Observaciones")
SLASH_TAG = "MK/2026/77"  # a TAG with "/" still reaches its own notes URL
OFFICE_LINE = "2026-05-01 08:00 jefa: revisar bridas antes de soldar"


@pytest.fixture
def notes_plant(sheet_store) -> None:
    """The small plant, with a Notas column and one spool whose cell the office filled."""
    build_workbook(
        spools=[*SPOOLS, spool(SLASH_TAG, Fecha_Materiales="02-05-2026", Notas=OFFICE_LINE)],
        workers=WORKERS,
        extra_columns=NOTAS_COLUMNS,
    )
    pull(workers=True)
    sheet_store.reset_counters()
