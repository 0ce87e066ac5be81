"""Why: a METROLOGÍA rejection takes a reason (`motivo`) and, on a spool with unions, the
unions that failed; a PAUSAR takes an optional reason. Both land in the event's
Metadata_JSON (the mirror's and the Metadata row in the sheet); a code the plant does not
list, or a reason with another action, is a 400 in Spanish that changes nothing."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from spools.models import Event, Spool, Union
from tests.plant import (
    ARM_IN_PROGRESS,
    ARM_PENDING,
    IN_REPAIR,
    QC_PENDING,
    REPAIRED,
    SOLD_IN_PROGRESS,
    act,
    add_unions,
    metadata_rows,
    new_request_id,
    sheet_row,
    union,
)

pytestmark = pytest.mark.django_db

DONE_AT = datetime(2026, 5, 11, 10, 0, tzinfo=ZoneInfo("America/Santiago"))


def finished(n: int, dn: str = "2", tipo: str = "BW") -> dict:
    """A union fitted by MR(93) and welded by JP(94)."""
    return union(
        n,
        dn,
        tipo,
        arm_fin=DONE_AT,
        arm_worker="MR(93)",
        arm_worker_id=93,
        sol_fin=DONE_AT,
        sol_worker="JP(94)",
        sol_worker_id=94,
    )


@pytest.fixture
def with_unions(plant):
    """QC_PENDING with three finished unions: ready for metrología."""
    add_unions(QC_PENDING, finished(1), finished(2, "3"), finished(3, "4"))
    return QC_PENDING


def reject(client, tag: str, **extra):
    return act(client, "METROLOGIA", "COMPLETAR", 95, tag, resultado="RECHAZADO", **extra)


def only_event(tag: str, evento_tipo: str) -> Event:
    [event] = Event.objects.filter(tag=tag, evento_tipo=evento_tipo)
    return event


def sheet_meta(tag: str, evento_tipo: str) -> dict:
    [row] = [r for r in metadata_rows(tag) if r["Evento_Tipo"] == evento_tipo]
    return json.loads(row["Metadata_JSON"])


def assert_nothing_happened(tag: str, before: dict) -> None:
    assert sheet_row(tag) == before
    assert metadata_rows(tag) == []
    assert not Event.objects.filter(tag=tag).exists()


# --- the rejection --------------------------------------------------------------------------


def test_a_rejection_stores_its_reason_and_the_unions_that_failed(with_unions, station):
    versions = dict(Union.objects.filter(tag=with_unions).values_list("n_union", "version"))
    response = reject(station, with_unions, motivo="porosidad", uniones=["3", "1"])
    assert response.status_code == 200, response.text
    assert "Motivo: Porosidad." in response.text and "Uniones con falla: 3, 1." in response.text

    expected = {"resultado": "RECHAZADO", "motivo": "porosidad", "uniones": [1, 3], "ciclo": 1}
    event = only_event(with_unions, "COMPLETAR_METROLOGIA")
    assert {k: event.metadata_json[k] for k in expected} == expected
    # The Metadata row the office sees in the sheet says the same.
    assert {k: sheet_meta(with_unions, "COMPLETAR_METROLOGIA")[k] for k in expected} == expected
    assert (
        sheet_row(with_unions)["Estado_Detalle"] == "RECHAZADO (Ciclo 1/3) - Pendiente reparación"
    )
    # The failed unions are only named: nothing registered on them, no union event.
    assert [r["Evento_Tipo"] for r in metadata_rows(with_unions)] == ["COMPLETAR_METROLOGIA"]
    after = dict(Union.objects.filter(tag=with_unions).values_list("n_union", "version"))
    assert after == versions


def test_the_api_keeps_the_rejection_reason_optional(plant, station):
    response = reject(station, QC_PENDING)
    assert response.status_code == 200
    meta = sheet_meta(QC_PENDING, "COMPLETAR_METROLOGIA")
    assert meta["resultado"] == "RECHAZADO" and "motivo" not in meta and "uniones" not in meta


def test_a_blocking_rejection_keeps_its_reason_too(plant, station):
    assert reject(station, REPAIRED, motivo="fisura").status_code == 200
    assert Spool.objects.get(tag=REPAIRED).is_blocked
    assert sheet_meta(REPAIRED, "COMPLETAR_METROLOGIA")["motivo"] == "fisura"


@pytest.mark.parametrize(
    "extra,message",
    [
        ({"motivo": "mal_humor"}, "Motivo desconocido: &#x27;mal_humor&#x27;."),
        ({"motivo": "fin_turno"}, "Motivo desconocido"),  # a pause's code, not a rejection's
        ({"motivo": "porosidad", "uniones": ["9"]}, "La unión 9 no existe en el spool"),
        ({"motivo": "porosidad", "uniones": ["0"]}, "Número de unión inválido"),
    ],
)
def test_an_unknown_reason_or_union_is_a_400_that_changes_nothing(
    with_unions, station, extra, message
):
    before = sheet_row(with_unions)
    response = reject(station, with_unions, **extra)
    assert response.status_code == 400
    assert message in response.text
    assert_nothing_happened(with_unions, before)
    assert Spool.objects.get(tag=with_unions).metrologia == "PENDIENTE"


def test_failed_unions_on_a_spool_without_unions_are_refused(plant, station):
    before = sheet_row(QC_PENDING)
    response = reject(station, QC_PENDING, motivo="porosidad", uniones=["1"])
    assert response.status_code == 400
    assert f"El spool {QC_PENDING} no tiene uniones." in response.text
    assert_nothing_happened(QC_PENDING, before)


@pytest.mark.parametrize(
    "operacion,accion,worker,tag,extra,message",
    [
        ("METROLOGIA", "COMPLETAR", 95, QC_PENDING, {"resultado": "APROBADO"}, "El motivo va"),
        ("ARM", "TOMAR", 93, ARM_PENDING, {}, "El motivo va solo con PAUSAR"),
        ("ARM", "COMPLETAR", 93, ARM_IN_PROGRESS, {}, "RECHAZADO de METROLOGÍA"),
        ("REPARACION", "CANCELAR", 96, IN_REPAIR, {}, "El motivo va solo con PAUSAR"),
    ],
)
def test_a_reason_with_another_action_is_a_400(
    plant, station, operacion, accion, worker, tag, extra, message
):
    before = sheet_row(tag)
    motivo = "porosidad" if operacion == "METROLOGIA" else "fin_turno"
    response = act(station, operacion, accion, worker, tag, motivo=motivo, **extra)
    assert response.status_code == 400
    assert message in response.text
    assert_nothing_happened(tag, before)


def test_failed_unions_go_only_with_a_rejection(with_unions, station):
    response = act(
        station, "METROLOGIA", "COMPLETAR", 95, with_unions, resultado="APROBADO", uniones=["1"]
    )
    assert response.status_code == 400
    assert "o se indican al rechazar en METROLOGÍA" in response.text
    assert metadata_rows(with_unions) == []


def test_the_plant_may_change_the_list_of_reasons(plant, station, settings):
    settings.ZEUES_MOTIVOS_RECHAZO = {"pintura": "Pintura dañada"}
    assert reject(station, QC_PENDING, motivo="porosidad").status_code == 400
    response = reject(station, QC_PENDING, motivo="pintura")
    assert response.status_code == 200 and "Motivo: Pintura dañada." in response.text
    assert sheet_meta(QC_PENDING, "COMPLETAR_METROLOGIA")["motivo"] == "pintura"


# --- the pause --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "operacion,worker,tag,evento_tipo",
    [
        ("ARM", 93, ARM_IN_PROGRESS, "PAUSAR_SPOOL"),
        ("SOLD", 94, SOLD_IN_PROGRESS, "PAUSAR_SPOOL"),
        ("REPARACION", 96, IN_REPAIR, "PAUSAR_REPARACION"),
    ],
)
def test_a_pause_with_a_reason_stores_it(plant, station, operacion, worker, tag, evento_tipo):
    response = act(station, operacion, "PAUSAR", worker, tag, motivo="esperando_grua")
    assert response.status_code == 200, response.text
    assert "Motivo: Esperando grúa." in response.text
    assert only_event(tag, evento_tipo).metadata_json["motivo"] == "esperando_grua"
    assert sheet_meta(tag, evento_tipo)["motivo"] == "esperando_grua"
    assert sheet_row(tag)["Ocupado_Por"] == ""


@pytest.mark.parametrize("motivo", [None, ""], ids=["absent", "empty"])
def test_a_pause_without_a_reason_stores_none(plant, station, motivo):
    response = act(station, "ARM", "PAUSAR", 93, ARM_IN_PROGRESS, motivo=motivo)
    assert response.status_code == 200
    assert "Motivo" not in response.text
    assert "motivo" not in only_event(ARM_IN_PROGRESS, "PAUSAR_SPOOL").metadata_json
    assert "motivo" not in sheet_meta(ARM_IN_PROGRESS, "PAUSAR_SPOOL")


def test_a_pause_with_a_rejection_code_is_a_400(plant, station):
    before = sheet_row(ARM_IN_PROGRESS)
    response = act(station, "ARM", "PAUSAR", 93, ARM_IN_PROGRESS, motivo="porosidad")
    assert response.status_code == 400 and "Motivo desconocido" in response.text
    assert_nothing_happened(ARM_IN_PROGRESS, before)


def test_a_pause_of_a_spool_with_unions_keeps_both_its_unions_and_its_reason(plant, station):
    add_unions(ARM_IN_PROGRESS, union(1, "2"), union(2, "3"))
    response = act(
        station, "ARM", "PAUSAR", 93, ARM_IN_PROGRESS, uniones=["2"], motivo="falta_material"
    )
    assert response.status_code == 200, response.text
    meta = sheet_meta(ARM_IN_PROGRESS, "PAUSAR_SPOOL")
    assert (meta["uniones"], meta["motivo"]) == ([2], "falta_material")


def test_a_batch_pause_gives_each_spool_the_reason(plant, station):
    act(station, "ARM", "TOMAR", 93, ARM_PENDING)
    response = act(station, "ARM", "PAUSAR", 93, ARM_IN_PROGRESS, ARM_PENDING, motivo="fin_turno")
    assert response.status_code == 200
    for tag in (ARM_IN_PROGRESS, ARM_PENDING):
        assert sheet_meta(tag, "PAUSAR_SPOOL")["motivo"] == "fin_turno"


def test_a_retried_pause_applies_once_and_a_changed_reason_is_not_a_retry(plant, station):
    rid = new_request_id()
    first = act(station, "ARM", "PAUSAR", 93, ARM_IN_PROGRESS, motivo="fin_turno", request_id=rid)
    again = act(station, "ARM", "PAUSAR", 93, ARM_IN_PROGRESS, motivo="fin_turno", request_id=rid)
    assert first.status_code == again.status_code == 200
    assert len(metadata_rows(ARM_IN_PROGRESS)) == 1
    other = act(station, "ARM", "PAUSAR", 93, ARM_IN_PROGRESS, motivo="calidad", request_id=rid)
    assert other.status_code == 400 and "ya se usó para otra acción" in other.text
