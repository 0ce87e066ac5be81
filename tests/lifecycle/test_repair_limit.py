"""The repair limit is the plant's choice (ZEUES_MAX_REPAIR_CYCLES): with 3 (the default)
the third consecutive rejection blocks the spool; with 0 a spool may be rejected any number
of times, Estado_Detalle reads `Ciclo N` and nothing is ever BLOQUEADO. The pull reads both
forms back."""

from __future__ import annotations

import json

import pytest

from spools.lifecycle import ReparacionState as R
from spools.lifecycle import parse_estado_detalle
from spools.models import Event, Spool
from spools.sheets import open_workbook
from spools.workbook.pull import pull
from tests.builders import build_workbook, spool
from tests.plant import (
    ARM_SOLD_DONE,
    QC_PENDING,
    SPOOLS,
    WORKERS,
    act,
    metadata_rows,
    sheet_row,
)

pytestmark = pytest.mark.django_db

INSPECTOR, REPAIRER = 95, 96  # AD(95) Metrologia, PS(96) any worker may repair


def reject(client, tag: str):
    return act(client, "METROLOGIA", "COMPLETAR", INSPECTOR, tag, resultado="RECHAZADO")


def repair(client, tag: str) -> None:
    """TOMAR and COMPLETAR REPARACIÓN: back in the metrología queue."""
    assert act(client, "REPARACION", "TOMAR", REPAIRER, tag).status_code == 200
    assert act(client, "REPARACION", "COMPLETAR", REPAIRER, tag).status_code == 200


def rejection_cycles(tag: str) -> list[int]:
    rows = [r for r in metadata_rows(tag) if r["Evento_Tipo"] == "COMPLETAR_METROLOGIA"]
    return [json.loads(r["Metadata_JSON"])["ciclo"] for r in rows]


def test_with_the_default_limit_the_third_rejection_blocks_and_a_fourth_is_refused(plant, station):
    for ciclo in (1, 2):
        assert reject(station, QC_PENDING).status_code == 200
        assert sheet_row(QC_PENDING)["Estado_Detalle"] == (
            f"RECHAZADO (Ciclo {ciclo}/3) - Pendiente reparación"
        )
        repair(station, QC_PENDING)
    assert sheet_row(QC_PENDING)["Estado_Detalle"] == "PENDIENTE_METROLOGIA (Ciclo 2/3)"
    assert reject(station, QC_PENDING).status_code == 200
    assert sheet_row(QC_PENDING)["Estado_Detalle"] == "BLOQUEADO - Contactar supervisor"
    assert Spool.objects.get(tag=QC_PENDING).is_blocked

    fourth = reject(station, QC_PENDING)
    assert fourth.status_code == 400 and "no espera metrología" in fourth.text
    blocked = act(station, "REPARACION", "TOMAR", REPAIRER, QC_PENDING)
    assert blocked.status_code == 403 and "BLOQUEADO" in blocked.text
    assert rejection_cycles(QC_PENDING) == [1, 2, 3]  # the fourth wrote nothing


def test_a_plant_limit_of_two_blocks_at_the_second_rejection(plant, station, settings):
    settings.ZEUES_MAX_REPAIR_CYCLES = 2
    assert reject(station, QC_PENDING).status_code == 200
    assert sheet_row(QC_PENDING)["Estado_Detalle"] == "RECHAZADO (Ciclo 1/2) - Pendiente reparación"
    repair(station, QC_PENDING)
    assert sheet_row(QC_PENDING)["Estado_Detalle"] == "PENDIENTE_METROLOGIA (Ciclo 1/2)"
    assert reject(station, QC_PENDING).status_code == 200
    assert sheet_row(QC_PENDING)["Estado_Detalle"] == "BLOQUEADO - Contactar supervisor"


def test_with_limit_zero_a_tenth_rejection_still_only_asks_for_repair(plant, station, settings):
    settings.ZEUES_MAX_REPAIR_CYCLES = 0
    for ciclo in range(1, 11):
        assert reject(station, QC_PENDING).status_code == 200
        s = Spool.objects.get(tag=QC_PENDING)
        assert (s.reparacion, s.ciclo) == (R.RECHAZADO, ciclo)
        if ciclo in (4, 10):  # past where the default would have blocked
            assert sheet_row(QC_PENDING)["Estado_Detalle"] == (
                f"RECHAZADO (Ciclo {ciclo}) - Pendiente reparación"
            )
        if ciclo < 10:
            repair(station, QC_PENDING)

    # The tenth rejection is repaired like the first: nothing is ever BLOQUEADO.
    assert act(station, "REPARACION", "TOMAR", REPAIRER, QC_PENDING).status_code == 200
    assert sheet_row(QC_PENDING)["Estado_Detalle"] == "EN_REPARACION (Ciclo 10) - Ocupado: PS(96)"
    assert act(station, "REPARACION", "PAUSAR", REPAIRER, QC_PENDING).status_code == 200
    assert sheet_row(QC_PENDING)["Estado_Detalle"] == "REPARACION_PAUSADA (Ciclo 10)"
    assert rejection_cycles(QC_PENDING) == list(range(1, 11))
    # An approval still resets the count.
    act(station, "REPARACION", "TOMAR", REPAIRER, QC_PENDING)
    act(station, "REPARACION", "COMPLETAR", REPAIRER, QC_PENDING)
    approved = act(station, "METROLOGIA", "COMPLETAR", INSPECTOR, QC_PENDING, resultado="APROBADO")
    assert approved.status_code == 200
    assert Spool.objects.get(tag=QC_PENDING).ciclo == 0


def test_with_limit_zero_the_spool_page_and_the_tablet_say_ciclo_without_a_limit(
    plant, station, settings
):
    settings.ZEUES_MAX_REPAIR_CYCLES = 0
    reject(station, QC_PENDING)
    page = station.get(f"/spools/{QC_PENDING}/").content.decode()
    assert "RECHAZADO (Ciclo 1) - Pendiente reparación" in page
    assert "Ciclo 1/" not in page
    tablet = station.get("/t/REPARACION/96/TOMAR/").content.decode()
    assert "<strong>Ciclo 1</strong>" in tablet


# --- read back: the pull parses both forms -------------------------------------------------

BOTH_FORMS = [
    spool(
        "MK-CICLO-1", **ARM_SOLD_DONE, Estado_Detalle="RECHAZADO (Ciclo 2) - Pendiente reparación"
    ),
    spool(
        "MK-CICLO-2", **ARM_SOLD_DONE, Estado_Detalle="RECHAZADO (Ciclo 2/3) - Pendiente reparación"
    ),
    spool("MK-CICLO-3", **ARM_SOLD_DONE, Estado_Detalle="PENDIENTE_METROLOGIA (Ciclo 7)"),
    spool("MK-CICLO-4", **ARM_SOLD_DONE, Estado_Detalle="REPARACION_PAUSADA (Ciclo 1/5)"),
]


@pytest.mark.parametrize(
    "limit,expected",
    [
        # With a limit, a count past it reads as the limit: the next rejection blocks.
        (3, {"MK-CICLO-1": 2, "MK-CICLO-2": 2, "MK-CICLO-3": 3, "MK-CICLO-4": 1}),
        (0, {"MK-CICLO-1": 2, "MK-CICLO-2": 2, "MK-CICLO-3": 7, "MK-CICLO-4": 1}),
    ],
    ids=["limit-3", "limit-0"],
)
def test_the_pull_reads_estado_detalle_with_and_without_the_limit(
    sheet_store, settings, limit, expected
):
    settings.ZEUES_MAX_REPAIR_CYCLES = limit
    build_workbook(spools=SPOOLS + BOTH_FORMS, workers=WORKERS)
    pull(workers=True)
    got = dict(Spool.objects.filter(tag__startswith="MK-CICLO-").values_list("tag", "ciclo"))
    assert got == expected
    states = dict(
        Spool.objects.filter(tag__startswith="MK-CICLO-").values_list("tag", "reparacion")
    )
    assert states == {
        "MK-CICLO-1": R.RECHAZADO,
        "MK-CICLO-2": R.RECHAZADO,
        "MK-CICLO-3": R.PENDIENTE_METROLOGIA,
        "MK-CICLO-4": R.REPARACION_PAUSADA,
    }


def test_an_office_edit_to_ciclo_without_limit_is_taken_by_the_next_pull(plant, station, settings):
    settings.ZEUES_MAX_REPAIR_CYCLES = 0
    reject(station, QC_PENDING)
    sheet_row(QC_PENDING)  # flushed
    ws = open_workbook().worksheet("Operaciones")
    cell = ws.find(QC_PENDING)
    column = ws.row_values(1).index("Estado_Detalle") + 1
    ws.update_cell(cell.row, column, "RECHAZADO (Ciclo 5) - Pendiente reparación")
    pull()
    assert Spool.objects.get(tag=QC_PENDING).ciclo == 5
    assert reject_after_repair(station) == "RECHAZADO (Ciclo 6) - Pendiente reparación"


def reject_after_repair(client) -> str:
    repair(client, QC_PENDING)
    assert reject(client, QC_PENDING).status_code == 200
    return sheet_row(QC_PENDING)["Estado_Detalle"]


@pytest.mark.parametrize(
    "text,limit,ciclo",
    [
        ("RECHAZADO (Ciclo 2/3) - Pendiente reparación", 3, 2),
        ("RECHAZADO (Ciclo 2) - Pendiente reparación", 3, 2),
        ("EN_REPARACION (Ciclo 12) - Ocupado: MR(93)", 0, 12),
        ("EN_REPARACION (Ciclo 12/3) - Ocupado: MR(93)", 0, 12),
        ("rechazado (ciclo 4)", 3, 3),
        ("BLOQUEADO - Contactar supervisor", 3, 3),
    ],
)
def test_both_ciclo_forms_are_parsed(settings, text, limit, ciclo):
    settings.ZEUES_MAX_REPAIR_CYCLES = limit
    assert parse_estado_detalle(text).ciclo == ciclo


def test_the_rejection_event_keeps_its_ciclo_with_limit_zero(plant, station, settings):
    settings.ZEUES_MAX_REPAIR_CYCLES = 0
    for _ in range(4):
        reject(station, QC_PENDING)
        repair(station, QC_PENDING)
    [*_, last] = Event.objects.filter(tag=QC_PENDING, evento_tipo="COMPLETAR_METROLOGIA")
    assert last.metadata_json["ciclo"] == 4 and last.metadata_json["resultado"] == "RECHAZADO"
