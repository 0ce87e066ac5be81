"""The supervisor's admin: the overrides Desbloquear and Liberar ocupación, and a read-only mirror.

An override is a transition done for an account: only with the permission (checked by the
service, not only by the admin page), after a confirmation page, written to the workbook as
exactly one SUPERVISOR_OVERRIDE Metadata row with the account's name.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from spools import overrides
from spools.models import Event, Spool
from spools.rules import ActionError
from spools.signals import spools_changed
from tests.plant import (
    ARM_IN_PROGRESS,
    ARM_PENDING,
    BLOCKED,
    IN_REPAIR,
    QC_PENDING_BUT_OCCUPIED,
    SOLD_IN_PROGRESS,
    act,
    logged_in,
    make_user,
    metadata_rows,
    sheet_row,
    station_user,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/spools/spool/"


def pk(tag: str) -> int:
    return Spool.objects.get(tag=tag).pk


def post_action(client: Client, action: str, *tags: str, confirm: bool = False):
    data = {"action": action, "_selected_action": [pk(t) for t in tags]}
    if confirm:
        data["post"] = "yes"
    return client.post(CHANGELIST, data)


def snapshot(tag: str) -> tuple:
    s = Spool.objects.get(tag=tag)
    return (s.version, s.reparacion, s.arm, s.ocupado_por, s.estado_detalle)


def meta_json(row: dict) -> dict:
    return json.loads(row["Metadata_JSON"])


@pytest.fixture
def boss(plant, supervisor) -> Client:
    """The supervisor logged in (Django's test client), on the plant."""
    return logged_in(supervisor)


# --- without the permission, nothing happens -------------------------------------------


def test_a_staff_account_without_the_permission_is_not_offered_the_overrides(plant):
    viewer = logged_in(make_user("tv-staff", "Pantalla", staff=True))
    page = viewer.get(CHANGELIST)
    assert page.status_code == 200
    assert page.context["action_form"] is None  # no action at all is offered
    assert "Desbloquear" not in page.text and "Liberar ocupación" not in page.text


@pytest.mark.parametrize("action,tag", [("desbloquear", BLOCKED), ("liberar_ocupacion", IN_REPAIR)])
def test_posting_the_override_form_without_the_permission_is_refused(plant, action, tag):
    before_row, before_mirror = sheet_row(tag), snapshot(tag)
    viewer = logged_in(make_user("tv-staff", "Pantalla", staff=True))
    response = post_action(viewer, action, tag, confirm=True)
    assert response.status_code == 403
    assert snapshot(tag) == before_mirror
    assert sheet_row(tag) == before_row
    assert metadata_rows(tag) == []
    assert not Event.objects.filter(evento_tipo="SUPERVISOR_OVERRIDE").exists()


def test_a_station_account_posting_the_override_form_is_sent_to_the_admin_login(plant):
    before_row = sheet_row(BLOCKED)
    station = logged_in(station_user())
    response = post_action(station, "desbloquear", BLOCKED, confirm=True)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert sheet_row(BLOCKED) == before_row
    assert metadata_rows(BLOCKED) == []


def test_the_per_spool_override_pages_need_the_permission(plant):
    viewer = logged_in(make_user("tv-staff", "Pantalla", staff=True))
    for url in (f"{CHANGELIST}{pk(BLOCKED)}/desbloquear/", f"{CHANGELIST}{pk(IN_REPAIR)}/liberar/"):
        assert viewer.get(url).status_code == 403
        assert viewer.post(url, {"post": "yes"}).status_code == 403
    assert metadata_rows(BLOCKED) == [] and metadata_rows(IN_REPAIR) == []


def test_the_services_check_the_permission_themselves(plant):
    station = station_user()  # may act on the floor, may not override
    before = snapshot(BLOCKED)
    for service, tag in ((overrides.desbloquear, BLOCKED), (overrides.liberar, IN_REPAIR)):
        with pytest.raises(ActionError) as refused:
            service(tag, station)
        assert refused.value.status == 403
        assert "no tiene permiso" in refused.value.message
    assert snapshot(BLOCKED) == before
    assert metadata_rows(BLOCKED) == [] and metadata_rows(IN_REPAIR) == []


# --- Desbloquear --------------------------------------------------------------------------


def test_a_supervisor_is_offered_both_overrides(boss):
    page = boss.get(CHANGELIST)
    choices = dict(page.context["action_form"].fields["action"].choices)
    assert (choices["desbloquear"], choices["liberar_ocupacion"]) == (
        "Desbloquear",
        "Liberar ocupación",
    )


def test_desbloquear_asks_for_confirmation_before_changing_anything(boss):
    page = post_action(boss, "desbloquear", BLOCKED)
    assert page.status_code == 200
    assert "Desbloquear: confirmar" in page.text
    assert BLOCKED in page.text
    assert "BLOQUEADO - Contactar supervisor" in page.text
    assert "RECHAZADO (Ciclo 0/3) - Pendiente reparación" in page.text
    assert "ADMIN:ana" in page.text
    assert 'name="post" value="yes"' in page.text
    assert Spool.objects.get(tag=BLOCKED).is_blocked
    assert metadata_rows(BLOCKED) == []


def test_desbloquear_makes_a_blocked_spool_available_for_repair(boss):
    response = post_action(boss, "desbloquear", BLOCKED, confirm=True)
    assert response.status_code == 302
    shown = boss.get(response["Location"])
    assert f"{BLOCKED}: desbloqueado, RECHAZADO (Ciclo 0/3) - Pendiente reparación." in shown.text
    assert "Desbloquear: 1 de 1 spools." in shown.text

    row = sheet_row(BLOCKED)
    assert row["Estado_Detalle"] == "RECHAZADO (Ciclo 0/3) - Pendiente reparación"
    assert len(row["version"]) == 36
    [event] = metadata_rows(BLOCKED)  # exactly once
    assert (event["Evento_Tipo"], event["Accion"], event["Operacion"]) == (
        "SUPERVISOR_OVERRIDE",
        "OVERRIDE",
        "REPARACION",
    )
    assert (event["Worker_ID"], event["Worker_Nombre"]) == ("0", "ADMIN:ana")
    meta = meta_json(event)
    assert meta["tipo"] == "DESBLOQUEAR"
    assert meta["cuenta"] == "ana"
    assert meta["antes"]["Estado_Detalle"] == "BLOQUEADO - Contactar supervisor"
    assert meta["despues"]["Estado_Detalle"] == "RECHAZADO (Ciclo 0/3) - Pendiente reparación"

    station = logged_in(station_user())
    taken = act(station, "REPARACION", "TOMAR", 96, BLOCKED)
    assert taken.status_code == 200
    assert sheet_row(BLOCKED)["Estado_Detalle"] == "EN_REPARACION (Ciclo 0/3) - Ocupado: PS(96)"


def test_desbloquear_skips_spools_that_are_not_blocked(boss):
    before = sheet_row(ARM_PENDING)
    page = post_action(boss, "desbloquear", BLOCKED, ARM_PENDING)
    assert "No se hará" in page.text and "no está BLOQUEADO" in page.text
    assert "Sí, desbloquear 1 spool" in page.text
    # The confirmation form carries only the spools it applies to.
    post_action(boss, "desbloquear", BLOCKED, confirm=True)
    assert sheet_row(ARM_PENDING) == before
    assert metadata_rows(ARM_PENDING) == []
    assert len(metadata_rows(BLOCKED)) == 1


def test_a_second_desbloquear_is_refused_with_a_message_and_writes_nothing(boss, supervisor):
    overrides.desbloquear(BLOCKED, supervisor)
    response = post_action(boss, "desbloquear", BLOCKED, confirm=True)
    shown = boss.get(response["Location"])
    assert f"El spool {BLOCKED} no está BLOQUEADO." in shown.text
    assert "Desbloquear: 0 de 1 spools." in shown.text
    assert len(metadata_rows(BLOCKED)) == 1


def test_an_override_is_broadcast_after_commit(
    plant, supervisor, django_capture_on_commit_callbacks
):
    seen = []

    def receiver(sender, tags, **kwargs):
        seen.append((list(tags), kwargs.get("events")))

    spools_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            result = overrides.desbloquear(BLOCKED, supervisor)
            assert seen == []  # nothing before the commit
    finally:
        spools_changed.disconnect(receiver)
    assert seen == [([BLOCKED], [result.event_id])]


# --- Liberar ocupación ------------------------------------------------------------------


def test_liberar_releases_a_stuck_arm_as_if_its_occupant_paused(boss):
    page = post_action(boss, "liberar_ocupacion", ARM_IN_PROGRESS)
    assert "Liberar ocupación: confirmar" in page.text
    assert "Ocupado por MR(93)" in page.text
    assert "Disponible - ARM pausado, SOLD pendiente" in page.text
    assert metadata_rows(ARM_IN_PROGRESS) == []

    response = post_action(boss, "liberar_ocupacion", ARM_IN_PROGRESS, confirm=True)
    assert response.status_code == 302
    row = sheet_row(ARM_IN_PROGRESS)
    assert (row["Ocupado_Por"], row["Fecha_Ocupacion"]) == ("", "")
    assert row["Armador"] == "MR(93)"  # the work done stays
    assert row["Estado_Detalle"] == "Disponible - ARM pausado, SOLD pendiente"
    assert Spool.objects.get(tag=ARM_IN_PROGRESS).arm == "PAUSADO"
    [event] = metadata_rows(ARM_IN_PROGRESS)
    assert (event["Evento_Tipo"], event["Operacion"], event["Worker_Nombre"]) == (
        "SUPERVISOR_OVERRIDE",
        "ARM",
        "ADMIN:ana",
    )
    meta = meta_json(event)
    assert (meta["tipo"], meta["ocupante"]) == ("LIBERAR", "MR(93)")
    assert meta["antes"]["Ocupado_Por"] == "MR(93)" and meta["despues"]["Ocupado_Por"] == ""

    # Anyone with the role may take it again.
    station = logged_in(station_user())
    assert act(station, "ARM", "TOMAR", 100, ARM_IN_PROGRESS).status_code == 200


def test_liberar_releases_several_spools_each_to_its_paused_state(boss):
    response = post_action(
        boss, "liberar_ocupacion", SOLD_IN_PROGRESS, IN_REPAIR, ARM_PENDING, confirm=True
    )
    shown = boss.get(response["Location"])
    assert "Liberar ocupación: 2 de 3 spools." in shown.text
    assert f"El spool {ARM_PENDING} no está ocupado" in shown.text
    sold = sheet_row(SOLD_IN_PROGRESS)
    assert (sold["Ocupado_Por"], sold["Soldador"]) == ("", "JP(94)")
    assert sold["Estado_Detalle"] == "Disponible - ARM completado, SOLD pausado"
    repair = sheet_row(IN_REPAIR)
    assert repair["Ocupado_Por"] == ""
    assert repair["Estado_Detalle"] == "REPARACION_PAUSADA (Ciclo 2/3)"
    assert Spool.objects.get(tag=IN_REPAIR).reparacion == "REPARACION_PAUSADA"
    [event] = metadata_rows(IN_REPAIR)
    assert event["Operacion"] == "REPARACION"
    assert meta_json(event)["ciclo"] == 2
    assert len(metadata_rows(SOLD_IN_PROGRESS)) == 1
    assert metadata_rows(ARM_PENDING) == []


def test_liberar_clears_an_occupation_with_no_work_in_progress(plant, supervisor):
    # Ocupado_Por typed on a finished spool: nothing to pause, the occupation just goes.
    overrides.liberar(QC_PENDING_BUT_OCCUPIED, supervisor)
    row = sheet_row(QC_PENDING_BUT_OCCUPIED)
    assert row["Ocupado_Por"] == ""
    assert row["Estado_Detalle"] == (
        "Disponible - ARM completado, SOLD completado, Metrología pendiente"
    )
    assert meta_json(metadata_rows(QC_PENDING_BUT_OCCUPIED)[0])["tipo"] == "LIBERAR"


def test_the_spool_page_in_the_admin_offers_the_overrides_that_apply(boss):
    blocked = boss.get(f"{CHANGELIST}{pk(BLOCKED)}/change/")
    assert "Desbloquear" in blocked.text and "Liberar ocupación" not in blocked.text
    occupied = boss.get(f"{CHANGELIST}{pk(IN_REPAIR)}/change/")
    assert "Liberar ocupación" in occupied.text

    url = f"{CHANGELIST}{pk(IN_REPAIR)}/liberar/"
    page = boss.get(url)
    assert page.status_code == 200 and "REPARACION_PAUSADA (Ciclo 2/3)" in page.text
    assert metadata_rows(IN_REPAIR) == []
    response = boss.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert response["Location"] == f"{CHANGELIST}{pk(IN_REPAIR)}/change/"
    assert sheet_row(IN_REPAIR)["Estado_Detalle"] == "REPARACION_PAUSADA (Ciclo 2/3)"
    assert len(metadata_rows(IN_REPAIR)) == 1


def test_the_admin_buttons_are_hidden_without_the_permission(plant):
    viewer = logged_in(make_user("tv-staff", "Pantalla", staff=True))
    page = viewer.get(f"{CHANGELIST}{pk(BLOCKED)}/change/")
    assert page.status_code == 200
    assert "/desbloquear/" not in page.text


# --- the supervisor's admin -------------------------------------------------------------


def test_a_supervisor_reaches_spools_workers_and_events(boss):
    index = boss.get("/admin/")
    assert index.status_code == 200
    for url in ("/admin/spools/spool/", "/admin/spools/worker/", "/admin/spools/event/"):
        assert url in index.text
        assert boss.get(url).status_code == 200
    worker = boss.get("/admin/spools/worker/93/change/")
    assert worker.status_code == 200 and "Armador" in worker.text  # roles inline


def test_spools_can_be_searched_and_filtered(boss):
    def tags(query: str) -> set[str]:
        page = boss.get(CHANGELIST + query)
        return {s.tag for s in page.context["cl"].result_list}

    assert tags("?q=OT-1923") == {"MK-1923-TW-17422-001", ARM_PENDING}
    assert tags("?bloqueado=si") == {BLOCKED}
    assert tags("?ocupado=si") == {
        ARM_IN_PROGRESS,
        SOLD_IN_PROGRESS,
        IN_REPAIR,
        QC_PENDING_BUT_OCCUPIED,
    }
    assert tags("?reparacion__exact=EN_REPARACION") == {IN_REPAIR}
    assert ARM_PENDING in tags("?arm__exact=PENDIENTE")


def test_the_mirror_cannot_be_edited_in_the_admin(boss):
    before = snapshot(BLOCKED)
    url = f"{CHANGELIST}{pk(BLOCKED)}/change/"
    assert 'name="_save"' not in boss.get(url).text
    assert boss.post(url, {"estado_detalle": "RECHAZADO", "ciclo": 0}).status_code == 403
    assert snapshot(BLOCKED) == before


def test_the_events_admin_is_read_only_even_for_a_superuser(boss, supervisor):
    overrides.desbloquear(BLOCKED, supervisor)
    event = Event.objects.get(tag=BLOCKED)
    root = User.objects.create_superuser("root", password="pw-root")
    client = logged_in(root)
    listing = client.get("/admin/spools/event/")
    assert listing.status_code == 200
    assert "action-checkbox" not in listing.text  # no bulk delete either
    assert client.get("/admin/spools/event/add/").status_code == 403
    change = client.get(f"/admin/spools/event/{event.pk}/change/")
    assert change.status_code == 200 and 'name="_save"' not in change.text
    assert client.post(f"/admin/spools/event/{event.pk}/change/", {}).status_code == 403
    assert (
        client.post(f"/admin/spools/event/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert Event.objects.filter(pk=event.pk).exists()


def test_a_supervisor_reads_the_sync_error_that_healthz_only_classifies(boss):
    """/healthz is public and says only the error's kind; the admin keeps the full text."""
    from spools.models import SyncState

    state = SyncState.get()
    state.last_error = "ConnectionError: https://sheets.example/v4/spreadsheets/SECRET-ID"
    state.last_error_kind = "conexion"
    state.save()
    assert "SECRET-ID" not in boss.get("/healthz").text
    assert "/admin/spools/syncstate/" in boss.get("/admin/").text
    page = boss.get(f"/admin/spools/syncstate/{state.pk}/change/")
    assert page.status_code == 200 and "SECRET-ID" in page.text
    assert 'name="last_error"' not in page.text  # shown, not editable


def test_the_admin_shows_only_the_end_of_a_badge_code(boss):
    from spools.models import Worker

    Worker.objects.filter(pk=93).update(credencial="0004451234")
    page = boss.get("/admin/spools/worker/93/change/")
    assert page.status_code == 200
    assert "••••1234" in page.text and "0004451234" not in page.text
