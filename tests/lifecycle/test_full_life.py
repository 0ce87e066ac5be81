"""One spool's whole life, with Estado_Detalle checked in the workbook at every step."""

from __future__ import annotations

import pytest
from django.utils import timezone

from occupation.services import ActionCommand, perform_action
from spools.models import Spool
from spools.sheets import open_workbook
from spools.workbook.pull import pull
from tests.builders import build_workbook, spool, worker
from tests.plant import metadata_rows, sheet_row

TAG = "MK-1923-TW-17422-099"
WORKERS = [
    worker(93, "Mario", "Rojas", roles=["Armador"]),
    worker(100, "Diego", "Fuentes", roles=["Armador"]),
    worker(94, "Juan", "Pérez", roles=["Soldador"]),
    worker(95, "Ana", "Díaz", roles=["Metrologia"]),
    worker(96, "Pedro", "Soto", roles=["Ayudante"]),
]


def do(operacion: str, accion: str, worker_id: int, resultado: str = "") -> str:
    outcome = perform_action(
        ActionCommand(operacion, accion, worker_id, [TAG], resultado=resultado)
    )
    assert outcome.status == 200, outcome.results[0].message
    return sheet_row(TAG)["Estado_Detalle"]


def office_types(column: str, value: str) -> None:
    """The office edits a cell of the spool's row in the sheet (USER_ENTERED, like a person)."""
    ws = open_workbook().worksheet("Operaciones")
    row = ws.find(TAG).row
    col = ws.row_values(1).index(column) + 1
    ws.update_cell(row, col, value)
    pull()


@pytest.mark.django_db
def test_a_spool_from_materials_to_approval_through_three_rejections_and_an_unblock(sheet_store):
    build_workbook(spools=[spool(TAG, OT="OT-1923", NV="NV-17422")], workers=WORKERS)
    pull(workers=True)
    assert perform_action(ActionCommand("ARM", "TOMAR", 93, [TAG])).status == 400  # no materials

    office_types("Fecha_Materiales", "02-05-2026")
    assert Spool.objects.get(tag=TAG).fecha_materiales.isoformat() == "2026-05-02"

    # ARM with a pause and a handoff to a second worker
    assert do("ARM", "TOMAR", 93) == "MR(93) trabajando ARM (ARM en progreso, SOLD pendiente)"
    assert do("ARM", "PAUSAR", 93) == "Disponible - ARM pausado, SOLD pendiente"
    assert do("ARM", "TOMAR", 100) == "DF(100) trabajando ARM (ARM en progreso, SOLD pendiente)"
    assert do("ARM", "COMPLETAR", 100) == "Disponible - ARM completado, SOLD pendiente"
    assert sheet_row(TAG)["Armador"] == "DF(100)"

    # SOLD
    assert do("SOLD", "TOMAR", 94) == "JP(94) trabajando SOLD (ARM completado, SOLD en progreso)"
    assert do("SOLD", "COMPLETAR", 94) == (
        "Disponible - ARM completado, SOLD completado, Metrología pendiente"
    )

    # three rejections with two repairs in between
    assert do("METROLOGIA", "COMPLETAR", 95, "RECHAZADO") == (
        "RECHAZADO (Ciclo 1/3) - Pendiente reparación"
    )
    assert do("REPARACION", "TOMAR", 96) == "EN_REPARACION (Ciclo 1/3) - Ocupado: PS(96)"
    assert do("REPARACION", "COMPLETAR", 96) == "PENDIENTE_METROLOGIA (Ciclo 1/3)"
    assert do("METROLOGIA", "COMPLETAR", 95, "RECHAZADO") == (
        "RECHAZADO (Ciclo 2/3) - Pendiente reparación"
    )
    assert do("REPARACION", "TOMAR", 93) == "EN_REPARACION (Ciclo 2/3) - Ocupado: MR(93)"
    assert do("REPARACION", "PAUSAR", 93) == "REPARACION_PAUSADA (Ciclo 2/3)"
    assert do("REPARACION", "TOMAR", 96) == "EN_REPARACION (Ciclo 2/3) - Ocupado: PS(96)"
    assert do("REPARACION", "COMPLETAR", 96) == "PENDIENTE_METROLOGIA (Ciclo 2/3)"
    assert do("METROLOGIA", "COMPLETAR", 95, "RECHAZADO") == "BLOQUEADO - Contactar supervisor"
    blocked = perform_action(ActionCommand("REPARACION", "TOMAR", 96, [TAG]))
    assert blocked.status == 403

    # a supervisor unblocks it by typing over Estado_Detalle in the sheet
    office_types("Estado_Detalle", "RECHAZADO")
    unblocked = Spool.objects.get(tag=TAG)
    assert (unblocked.reparacion, unblocked.ciclo) == ("RECHAZADO", 0)
    override = metadata_rows(TAG)[-1]
    assert override["Evento_Tipo"] == "SUPERVISOR_OVERRIDE"
    assert (override["Worker_ID"], override["Worker_Nombre"]) == ("0", "SYSTEM")
    assert "DESBLOQUEAR" in override["Metadata_JSON"]

    assert do("REPARACION", "TOMAR", 96) == "EN_REPARACION (Ciclo 0/3) - Ocupado: PS(96)"
    assert do("REPARACION", "COMPLETAR", 96) == "PENDIENTE_METROLOGIA (Ciclo 0/3)"
    assert do("METROLOGIA", "COMPLETAR", 95, "APROBADO") == (
        "Disponible - ARM completado, SOLD completado, METROLOGIA APROBADO ✓"
    )
    assert sheet_row(TAG)["Fecha_QC_Metrologia"] == timezone.localdate().strftime("%d-%m-%Y")

    events = [e["Evento_Tipo"] for e in metadata_rows(TAG)]
    assert events == [
        "TOMAR_SPOOL",
        "PAUSAR_SPOOL",
        "TOMAR_SPOOL",
        "COMPLETAR_ARM",
        "TOMAR_SPOOL",
        "COMPLETAR_SOLD",
        "COMPLETAR_METROLOGIA",
        "TOMAR_REPARACION",
        "COMPLETAR_REPARACION",
        "COMPLETAR_METROLOGIA",
        "TOMAR_REPARACION",
        "PAUSAR_REPARACION",
        "TOMAR_REPARACION",
        "COMPLETAR_REPARACION",
        "COMPLETAR_METROLOGIA",
        "SUPERVISOR_OVERRIDE",
        "TOMAR_REPARACION",
        "COMPLETAR_REPARACION",
        "COMPLETAR_METROLOGIA",
    ]
    assert len({e["ID"] for e in metadata_rows(TAG)}) == len(events)  # each row once
