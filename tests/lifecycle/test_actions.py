"""Every row of domain.md's actions table, through POST /acciones/, checked in the workbook.

A success writes its cells and exactly one Metadata row; a refusal answers its status code
with a Spanish message and writes nothing at all.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from spools.models import Spool, SyncState
from tests.plant import (
    APP_OWNED,
    APPROVED,
    ARM_DONE,
    ARM_IN_PROGRESS,
    ARM_PAUSED,
    ARM_PENDING,
    BLOCKED,
    IN_REPAIR,
    NO_MATERIALS,
    QC_PENDING,
    QC_PENDING_BUT_OCCUPIED,
    REJECTED_1,
    REPAIR_PAUSED,
    REPAIRED,
    SOLD_IN_PROGRESS,
    act,
    build_plant,
    exported,
    metadata_rows,
    new_request_id,
    sheet_row,
)

pytestmark = pytest.mark.django_db


def today() -> str:
    return timezone.localdate().strftime("%d-%m-%Y")


def assert_nothing_written(tag: str, before: dict) -> None:
    assert sheet_row(tag) == before
    assert metadata_rows(tag) == []


# --- TOMAR ARM --------------------------------------------------------------------------


def test_tomar_arm_occupies_the_spool_and_logs_one_event(plant, station):
    response = act(station, "ARM", "TOMAR", 93, ARM_PENDING)
    assert response.status_code == 200
    assert "tomado por MR(93)" in response.text
    row = sheet_row(ARM_PENDING)
    assert row["Ocupado_Por"] == "MR(93)"
    assert row["Armador"] == "MR(93)"
    assert row["Fecha_Ocupacion"].startswith(today())
    assert row["Estado_Detalle"] == "MR(93) trabajando ARM (ARM en progreso, SOLD pendiente)"
    assert len(row["version"]) == 36
    [event] = metadata_rows(ARM_PENDING)
    assert (event["Evento_Tipo"], event["Operacion"], event["Accion"]) == (
        "TOMAR_SPOOL",
        "ARM",
        "TOMAR",
    )
    assert (event["Worker_ID"], event["Worker_Nombre"]) == ("93", "MR(93)")
    assert event["Fecha_Operacion"] == today()


def test_an_ayudante_may_take_arm(plant, station):
    assert act(station, "ARM", "TOMAR", 96, ARM_PENDING).status_code == 200
    assert sheet_row(ARM_PENDING)["Armador"] == "PS(96)"


@pytest.mark.parametrize(
    "worker_id,status,message",
    [
        (94, 403, "no tiene un rol para ARMADO"),  # a Soldador
        (97, 403, "no está activo"),  # inactive worker
        (99, 403, "no tiene un rol"),  # their Armador role is inactive
        (98, 403, "no tiene un rol"),  # an ignored role (Pintura)
        (4242, 404, "No existe el trabajador 4242"),
    ],
)
def test_tomar_arm_refuses_workers_who_may_not(plant, station, worker_id, status, message):
    before = sheet_row(ARM_PENDING)
    response = act(station, "ARM", "TOMAR", worker_id, ARM_PENDING)
    assert response.status_code == status
    assert message in response.text
    assert_nothing_written(ARM_PENDING, before)


@pytest.mark.parametrize(
    "tag,status,message",
    [
        ("MK-NO-EXISTE", 404, "No existe el spool MK-NO-EXISTE"),
        (NO_MATERIALS, 400, "no tiene materiales"),
        (ARM_DONE, 400, "ya está completado"),
        (ARM_IN_PROGRESS, 409, "está ocupado por MR(93)"),
    ],
)
def test_tomar_arm_refusals(plant, station, tag, status, message):
    response = act(station, "ARM", "TOMAR", 100, tag)
    assert response.status_code == status
    assert message in response.text
    assert metadata_rows(tag) == []


def test_second_tomar_on_occupied_spool_gets_409_naming_the_occupant(plant, station):
    assert act(station, "ARM", "TOMAR", 93, ARM_PENDING).status_code == 200
    response = act(station, "ARM", "TOMAR", 100, ARM_PENDING)
    assert response.status_code == 409
    assert f"El spool {ARM_PENDING} está ocupado por MR(93)" in response.text
    assert len(metadata_rows(ARM_PENDING)) == 1


def test_tomar_a_paused_arm_hands_it_to_the_new_worker(plant, station):
    assert act(station, "ARM", "TOMAR", 93, ARM_PAUSED).status_code == 200
    assert sheet_row(ARM_PAUSED)["Armador"] == "MR(93)"  # the last taker


# --- TOMAR SOLD ------------------------------------------------------------------------


def test_tomar_sold_needs_arm_completed(plant, station):
    response = act(station, "SOLD", "TOMAR", 94, ARM_PENDING)
    assert response.status_code == 400
    assert "no tiene el armado completado" in response.text


def test_tomar_sold_sets_the_soldador(plant, station):
    assert act(station, "SOLD", "TOMAR", 94, ARM_DONE).status_code == 200
    row = sheet_row(ARM_DONE)
    assert (row["Soldador"], row["Ocupado_Por"]) == ("JP(94)", "JP(94)")
    assert row["Estado_Detalle"] == "JP(94) trabajando SOLD (ARM completado, SOLD en progreso)"
    assert row["Armador"] == "MR(93)"


def test_tomar_sold_refuses_an_armador(plant, station):
    assert act(station, "SOLD", "TOMAR", 93, ARM_DONE).status_code == 403


# --- PAUSAR / COMPLETAR / CANCELAR (ARM, SOLD) ------------------------------------------


def test_pausar_releases_the_spool(plant, station):
    assert act(station, "ARM", "PAUSAR", 93, ARM_IN_PROGRESS).status_code == 200
    row = sheet_row(ARM_IN_PROGRESS)
    assert (row["Ocupado_Por"], row["Fecha_Ocupacion"]) == ("", "")
    assert row["Armador"] == "MR(93)"
    assert row["Estado_Detalle"] == "Disponible - ARM pausado, SOLD pendiente"
    assert [e["Evento_Tipo"] for e in metadata_rows(ARM_IN_PROGRESS)] == ["PAUSAR_SPOOL"]


def test_pausar_a_free_spool_is_400(plant, station):
    response = act(station, "ARM", "PAUSAR", 93, ARM_PENDING)
    assert response.status_code == 400
    assert "no está ocupado" in response.text


def test_pausar_someone_elses_spool_is_403(plant, station):
    response = act(station, "ARM", "PAUSAR", 100, ARM_IN_PROGRESS)
    assert response.status_code == 403
    assert "ocupado por MR(93), no por DF(100)" in response.text
    assert metadata_rows(ARM_IN_PROGRESS) == []


def test_pausar_arm_on_a_spool_in_soldadura_is_400(plant, station):
    response = act(station, "ARM", "PAUSAR", 93, ARM_DONE)
    assert response.status_code == 400


def test_completar_arm_dates_it_and_releases(plant, station):
    assert act(station, "ARM", "COMPLETAR", 93, ARM_IN_PROGRESS).status_code == 200
    row = sheet_row(ARM_IN_PROGRESS)
    assert row["Fecha_Armado"] == today()
    assert (row["Armador"], row["Ocupado_Por"], row["Fecha_Ocupacion"]) == ("MR(93)", "", "")
    assert row["Estado_Detalle"] == "Disponible - ARM completado, SOLD pendiente"
    assert [e["Evento_Tipo"] for e in metadata_rows(ARM_IN_PROGRESS)] == ["COMPLETAR_ARM"]


def test_completar_by_someone_else_is_403(plant, station):
    assert act(station, "ARM", "COMPLETAR", 100, ARM_IN_PROGRESS).status_code == 403


def test_completar_sold(plant, station):
    assert act(station, "SOLD", "COMPLETAR", 94, SOLD_IN_PROGRESS).status_code == 200
    row = sheet_row(SOLD_IN_PROGRESS)
    assert (row["Fecha_Soldadura"], row["Soldador"], row["Ocupado_Por"]) == (today(), "JP(94)", "")
    assert row["Estado_Detalle"] == (
        "Disponible - ARM completado, SOLD completado, Metrología pendiente"
    )
    assert [e["Evento_Tipo"] for e in metadata_rows(SOLD_IN_PROGRESS)] == ["COMPLETAR_SOLD"]


@pytest.mark.parametrize(
    "tag,operacion,worker_id", [(ARM_PAUSED, "ARM", 93), (ARM_DONE, "SOLD", 94)]
)
def test_tomar_then_cancelar_leaves_every_app_owned_cell_as_it_was(
    plant, station, tag, operacion, worker_id
):
    before = sheet_row(tag)
    assert act(station, operacion, "TOMAR", worker_id, tag).status_code == 200
    assert sheet_row(tag)["Ocupado_Por"] == f"{'MR' if worker_id == 93 else 'JP'}({worker_id})"
    assert act(station, operacion, "CANCELAR", worker_id, tag).status_code == 200
    after = sheet_row(tag)
    assert {c: after[c] for c in APP_OWNED} == {c: before[c] for c in APP_OWNED}
    assert after["version"] != before["version"]  # a new version all the same
    assert [e["Evento_Tipo"] for e in metadata_rows(tag)] == [
        "TOMAR_SPOOL",
        f"CANCELAR_{operacion}",
    ]
    spool = Spool.objects.get(tag=tag)
    assert not spool.is_occupied


def test_cancelar_by_someone_else_is_403(plant, station):
    assert act(station, "ARM", "CANCELAR", 100, ARM_IN_PROGRESS).status_code == 403


def test_collaboration_a_starts_b_finishes(plant, station):
    assert act(station, "ARM", "TOMAR", 93, ARM_PENDING).status_code == 200
    assert act(station, "ARM", "PAUSAR", 93, ARM_PENDING).status_code == 200
    assert act(station, "ARM", "TOMAR", 100, ARM_PENDING).status_code == 200
    assert act(station, "ARM", "COMPLETAR", 100, ARM_PENDING).status_code == 200
    row = sheet_row(ARM_PENDING)
    assert (row["Armador"], row["Fecha_Armado"]) == ("DF(100)", today())


def test_a_worker_may_occupy_several_spools(plant, station):
    response = act(station, "ARM", "TOMAR", 93, ARM_PENDING, ARM_PAUSED)
    assert response.status_code == 200
    taken = Spool.objects.filter(tag__in=[ARM_PENDING, ARM_PAUSED, ARM_IN_PROGRESS])
    assert {s.ocupado_por for s in taken} == {"MR(93)"}  # with the one already held


# --- METROLOGÍA ----------------------------------------------------------------------------


def test_metrologia_aprobado_dates_it(plant, station):
    response = act(station, "METROLOGIA", "COMPLETAR", 95, QC_PENDING, resultado="APROBADO")
    assert response.status_code == 200
    row = sheet_row(QC_PENDING)
    assert row["Fecha_QC_Metrologia"] == today()
    assert row["Estado_Detalle"] == (
        "Disponible - ARM completado, SOLD completado, METROLOGIA APROBADO ✓"
    )
    [event] = metadata_rows(QC_PENDING)
    assert event["Evento_Tipo"] == "COMPLETAR_METROLOGIA"
    assert '"resultado": "APROBADO"' in event["Metadata_JSON"]


def test_metrologia_after_repair_approves_and_resets_the_cycle(plant, station):
    assert (
        act(station, "METROLOGIA", "COMPLETAR", 95, REPAIRED, resultado="APROBADO").status_code
        == 200
    )
    spool = Spool.objects.get(tag=REPAIRED)
    assert (spool.metrologia, spool.reparacion, spool.ciclo) == ("APROBADO", "NINGUNA", 0)


def test_metrologia_rechazado_counts_the_cycle(plant, station):
    response = act(station, "METROLOGIA", "COMPLETAR", 95, QC_PENDING, resultado="RECHAZADO")
    assert response.status_code == 200
    row = sheet_row(QC_PENDING)
    assert row["Estado_Detalle"] == "RECHAZADO (Ciclo 1/3) - Pendiente reparación"
    assert row["Fecha_QC_Metrologia"] == ""
    [event] = metadata_rows(QC_PENDING)
    assert (
        '"ciclo": 1' in event["Metadata_JSON"]
        and '"resultado": "RECHAZADO"' in event["Metadata_JSON"]
    )


def test_third_consecutive_rejection_blocks(plant, station):
    response = act(station, "METROLOGIA", "COMPLETAR", 95, REPAIRED, resultado="RECHAZADO")
    assert response.status_code == 200
    assert sheet_row(REPAIRED)["Estado_Detalle"] == "BLOQUEADO - Contactar supervisor"
    assert Spool.objects.get(tag=REPAIRED).is_blocked


@pytest.mark.parametrize(
    "tag,worker_id,status",
    [
        (QC_PENDING, 93, 403),  # not a Metrologia role
        (ARM_DONE, 95, 400),  # SOLD not completed
        (ARM_PENDING, 95, 400),  # ARM not completed
        (APPROVED, 95, 400),  # already approved
        (REJECTED_1, 95, 400),  # rejected, waiting for repair
        (IN_REPAIR, 95, 400),
        (BLOCKED, 95, 400),
        (QC_PENDING_BUT_OCCUPIED, 95, 409),
    ],
)
def test_metrologia_refusals(plant, station, tag, worker_id, status):
    response = act(station, "METROLOGIA", "COMPLETAR", worker_id, tag, resultado="APROBADO")
    assert response.status_code == status
    assert metadata_rows(tag) == []


def test_metrologia_needs_a_resultado(plant, station):
    assert act(station, "METROLOGIA", "COMPLETAR", 95, QC_PENDING).status_code == 400


# --- REPARACIÓN ---------------------------------------------------------------------------


def test_tomar_reparacion_of_a_rejected_spool(plant, station):
    response = act(station, "REPARACION", "TOMAR", 98, REJECTED_1)  # any active worker
    assert response.status_code == 200
    row = sheet_row(REJECTED_1)
    assert row["Ocupado_Por"] == "RV(98)"
    assert row["Estado_Detalle"] == "EN_REPARACION (Ciclo 1/3) - Ocupado: RV(98)"
    assert [e["Evento_Tipo"] for e in metadata_rows(REJECTED_1)] == ["TOMAR_REPARACION"]


def test_tomar_reparacion_of_a_paused_repair(plant, station):
    assert act(station, "REPARACION", "TOMAR", 93, REPAIR_PAUSED).status_code == 200


@pytest.mark.parametrize(
    "tag,status,message",
    [
        (BLOCKED, 403, "BLOQUEADO"),
        (APPROVED, 400, "no está pendiente de reparación"),
        (QC_PENDING, 400, "no está pendiente de reparación"),
        (IN_REPAIR, 409, "ocupado por PS(96)"),
    ],
)
def test_tomar_reparacion_refusals(plant, station, tag, status, message):
    response = act(station, "REPARACION", "TOMAR", 93, tag)
    assert response.status_code == status
    assert message in response.text


def test_tomar_reparacion_refuses_an_inactive_worker(plant, station):
    assert act(station, "REPARACION", "TOMAR", 97, REJECTED_1).status_code == 403


def test_pausar_reparacion(plant, station):
    assert act(station, "REPARACION", "PAUSAR", 96, IN_REPAIR).status_code == 200
    row = sheet_row(IN_REPAIR)
    assert (row["Ocupado_Por"], row["Estado_Detalle"]) == ("", "REPARACION_PAUSADA (Ciclo 2/3)")
    assert [e["Evento_Tipo"] for e in metadata_rows(IN_REPAIR)] == ["PAUSAR_REPARACION"]


def test_completar_reparacion_sends_it_back_to_metrologia(plant, station):
    assert act(station, "REPARACION", "COMPLETAR", 96, IN_REPAIR).status_code == 200
    row = sheet_row(IN_REPAIR)
    assert (row["Ocupado_Por"], row["Estado_Detalle"]) == ("", "PENDIENTE_METROLOGIA (Ciclo 2/3)")
    assert row["Fecha_QC_Metrologia"] == ""
    assert [e["Evento_Tipo"] for e in metadata_rows(IN_REPAIR)] == ["COMPLETAR_REPARACION"]
    assert (
        act(station, "METROLOGIA", "COMPLETAR", 95, IN_REPAIR, resultado="APROBADO").status_code
        == 200
    )


def test_cancelar_reparacion_returns_to_rechazado(plant, station):
    assert act(station, "REPARACION", "CANCELAR", 96, IN_REPAIR).status_code == 200
    row = sheet_row(IN_REPAIR)
    assert (row["Ocupado_Por"], row["Estado_Detalle"]) == (
        "",
        "RECHAZADO (Ciclo 2/3) - Pendiente reparación",
    )
    assert [e["Evento_Tipo"] for e in metadata_rows(IN_REPAIR)] == ["CANCELAR_REPARACION"]


@pytest.mark.parametrize("accion", ["PAUSAR", "COMPLETAR", "CANCELAR"])
def test_repair_actions_by_someone_else_are_403(plant, station, accion):
    assert act(station, "REPARACION", accion, 93, IN_REPAIR).status_code == 403


@pytest.mark.parametrize("accion", ["PAUSAR", "COMPLETAR", "CANCELAR"])
def test_repair_actions_on_a_free_spool_are_400(plant, station, accion):
    assert act(station, "REPARACION", accion, 93, REJECTED_1).status_code == 400


# --- batches, bad input, idempotency, broken workbook ---------------------------------------


def test_a_batch_answers_207_with_each_spools_own_reason(plant, station):
    response = act(station, "ARM", "TOMAR", 93, ARM_PENDING, NO_MATERIALS, ARM_IN_PROGRESS, "MK-X")
    assert response.status_code == 207
    assert "tomado por MR(93)" in response.text
    assert "no tiene materiales" in response.text
    assert "está ocupado por MR(93)" in response.text
    assert "No existe el spool MK-X" in response.text
    assert len(metadata_rows()) == 1


def test_a_batch_where_all_fail_answers_the_first_failure(plant, station):
    response = act(station, "ARM", "TOMAR", 93, NO_MATERIALS, ARM_IN_PROGRESS)
    assert response.status_code == 400


def test_more_than_50_spools_is_refused_whole(plant, station):
    response = act(station, "ARM", "TOMAR", 93, *[f"MK-{i}" for i in range(51)])
    assert response.status_code == 400
    assert "Máximo 50 spools" in response.text


@pytest.mark.parametrize(
    "data",
    [
        {"operacion": "PINTURA", "accion": "TOMAR", "worker": 93, "tags": [ARM_PENDING]},
        {"operacion": "ARM", "accion": "BORRAR", "worker": 93, "tags": [ARM_PENDING]},
        {"operacion": "ARM", "accion": "TOMAR", "worker": "93; DROP", "tags": [ARM_PENDING]},
        {"operacion": "ARM", "accion": "TOMAR", "worker": 93},
        {"operacion": "ARM", "accion": "TOMAR", "worker": 93, "tags": ['=HYPERLINK("x")']},
        {
            "operacion": "ARM",
            "accion": "TOMAR",
            "worker": 93,
            "tags": [ARM_PENDING],
            "resultado": "APROBADO",
        },
        {
            "operacion": "ARM",
            "accion": "TOMAR",
            "worker": 93,
            "tags": [ARM_PENDING],
            "request_id": "abc",
        },
    ],
)
def test_tampered_forms_change_nothing(plant, station, data):
    response = station.post("/acciones/", data)
    assert response.status_code == 400
    assert '<p class="error">' in response.text
    assert metadata_rows() == []


def test_non_utf8_bytes_are_refused_cleanly(plant, station):
    body = b"operacion=ARM&accion=TOMAR&worker=93&tags=MK-\xff\xfe"
    response = station.generic(
        "POST", "/acciones/", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert metadata_rows() == []


def test_the_same_request_id_twice_applies_once_and_answers_the_same(plant, station):
    rid = new_request_id()
    first = act(station, "ARM", "TOMAR", 93, ARM_PENDING, request_id=rid)
    second = act(station, "ARM", "TOMAR", 93, ARM_PENDING, request_id=rid)
    assert first.status_code == second.status_code == 200
    assert "tomado por MR(93)" in second.text
    assert len(metadata_rows(ARM_PENDING)) == 1


def test_a_request_id_reused_for_another_action_is_refused(plant, station):
    rid = new_request_id()
    assert act(station, "ARM", "TOMAR", 93, ARM_PENDING, request_id=rid).status_code == 200
    assert act(station, "ARM", "PAUSAR", 93, ARM_PENDING, request_id=rid).status_code == 400
    assert Spool.objects.get(tag=ARM_PENDING).is_occupied


def test_a_broken_workbook_refuses_actions_with_503(plant, station):
    state = SyncState.get()
    state.structure_error = "Falta la columna Ocupado_Por en la hoja Operaciones del libro"
    state.save()
    response = act(station, "ARM", "TOMAR", 93, ARM_PENDING)
    assert response.status_code == 503
    assert "Falta la columna Ocupado_Por" in response.text
    assert not Spool.objects.get(tag=ARM_PENDING).is_occupied


def test_a_view_only_account_cannot_act(client, sheet_store):
    from django.contrib.auth.models import Group, User

    build_plant()
    tv = User.objects.create_user("tv", password="pw-tv")
    tv.groups.add(Group.objects.get(name="Pantalla"))
    client.login(username="tv", password="pw-tv")
    assert act(client, "ARM", "TOMAR", 93, ARM_PENDING).status_code == 403
    assert not Spool.objects.get(tag=ARM_PENDING).is_occupied


def test_actions_need_post(plant, station):
    assert station.get("/acciones/").status_code == 405


def test_the_exported_workbook_holds_cells_and_one_metadata_row_per_action(
    plant, station, tmp_path
):
    act(station, "ARM", "TOMAR", 93, ARM_PENDING)
    act(station, "ARM", "COMPLETAR", 93, ARM_PENDING)
    book = exported(tmp_path)
    [row] = [r for r in book["Operaciones"] if r["TAG_SPOOL"] == ARM_PENDING]
    assert row["Armador"] == "MR(93)"
    fecha = row["Fecha_Armado"]
    assert fecha == today() or (isinstance(fecha, date) and fecha.strftime("%d-%m-%Y") == today())
    assert row["Cliente"] == ""  # office columns untouched
    events = [r for r in book["Metadata"] if r["TAG_SPOOL"] == ARM_PENDING]
    assert [e["Evento_Tipo"] for e in events] == ["TOMAR_SPOOL", "COMPLETAR_ARM"]
