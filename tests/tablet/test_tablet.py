"""The tablet's worker flow, step by step (Django test client), and its live lists
(Channels' WebsocketCommunicator)."""

from __future__ import annotations

import re
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser, User

from occupation.routing import websocket_urlpatterns
from occupation.services import ActionCommand, perform_action
from tests.plant import (
    ARM_DONE,
    ARM_IN_PROGRESS,
    ARM_PAUSED,
    ARM_PENDING,
    BLOCKED,
    NO_MATERIALS,
    QC_PENDING,
    REJECTED_1,
    REPAIR_PAUSED,
    build_plant,
    station_user,
)


@pytest.fixture
def tablet(client, sheet_store, db):
    build_plant()
    station_user()
    client.login(username="tablet-1", password="pw-tablet-1")
    return client


def links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


# --- the steps -----------------------------------------------------------------------------


def test_start_offers_the_four_operations(tablet):
    hrefs = links(tablet.get("/").text)
    for op in ("/t/ARM/", "/t/SOLD/", "/t/METROLOGIA/", "/t/REPARACION/"):
        assert any(h.startswith(op) for h in hrefs), op


def test_worker_step_lists_only_workers_allowed_for_the_operation(tablet):
    page = tablet.get("/t/ARM/")
    assert page.status_code == 200
    for allowed in ("MR(93)", "PS(96)", "DF(100)"):
        assert allowed in page.text
    for not_allowed in ("JP(94)", "LM(97)", "CN(99)", "RV(98)", "AD(95)"):
        assert not_allowed not in page.text


def test_a_worker_holding_nothing_goes_straight_to_tomar(tablet):
    hrefs = links(tablet.get("/t/ARM/").text)
    assert "/t/ARM/100/TOMAR/" in hrefs  # DF(100) holds no ARM spool
    assert "/t/ARM/93/" in hrefs  # MR(93) holds one: he chooses the action


def test_metrologia_skips_the_action_step(tablet):
    assert "/t/METROLOGIA/95/COMPLETAR/" in links(tablet.get("/t/METROLOGIA/").text)
    assert tablet.get("/t/METROLOGIA/95/").status_code == 404


def test_action_step_shows_what_the_worker_holds(tablet):
    page = tablet.get("/t/ARM/93/")
    assert page.status_code == 200
    for accion in ("TOMAR", "PAUSAR", "COMPLETAR", "CANCELAR"):
        assert f"/t/ARM/93/{accion}/" in links(page.text)


def test_tomar_list_has_exactly_the_spools_tomar_is_possible_on(tablet):
    page = tablet.get("/t/ARM/100/TOMAR/")
    assert page.status_code == 200
    assert ARM_PENDING in page.text and ARM_PAUSED in page.text
    for not_possible in (NO_MATERIALS, ARM_IN_PROGRESS, ARM_DONE):
        assert not_possible not in page.text


def test_pausar_list_has_only_the_workers_own_spools(tablet):
    page = tablet.get("/t/ARM/93/PAUSAR/")
    assert ARM_IN_PROGRESS in page.text
    assert ARM_PENDING not in page.text
    assert "Ningún spool" in tablet.get("/t/ARM/100/PAUSAR/").text


def test_repair_list_shows_cycles_and_blocked_spools_locked(tablet):
    page = tablet.get("/t/REPARACION/98/TOMAR/")
    assert REJECTED_1 in page.text and REPAIR_PAUSED in page.text
    assert "Ciclo 1/3" in page.text
    blocked_row = re.search(rf'<li id="spool-{BLOCKED}"[^>]*>(.*?)</li>', page.text, re.S)
    assert blocked_row and "blocked" in blocked_row.group(0)
    assert "checkbox" not in blocked_row.group(1)  # not selectable
    assert "BLOQUEADO" in blocked_row.group(1)


def test_search_filters_by_any_part_of_the_tag(tablet):
    fragment = tablet.get("/t/ARM/100/TOMAR/lista/", {"q": "17422-004"})
    assert ARM_PAUSED in fragment.text and ARM_PENDING not in fragment.text


@pytest.mark.parametrize(
    "tag,expected",
    [
        ("MK-NADA", "No existe el spool MK-NADA"),
        (NO_MATERIALS, "no tiene materiales"),
        (ARM_IN_PROGRESS, "ocupado por MR(93)"),
    ],
)
def test_a_scanned_tag_that_cannot_be_chosen_says_why(tablet, tag, expected):
    answer = tablet.get("/t/ARM/100/TOMAR/escaneo/", {"tag": tag})
    assert expected in answer.text
    assert "data-select" not in answer.text


def test_a_scanned_eligible_tag_is_selected(tablet):
    answer = tablet.get("/t/ARM/100/TOMAR/escaneo/", {"tag": ARM_PENDING})
    assert f'data-select="{ARM_PENDING}"' in answer.text


def test_confirmation_carries_a_request_id_and_says_what_will_happen(tablet):
    page = tablet.get("/t/ARM/100/TOMAR/confirmar/", {"tags": [ARM_PENDING, ARM_IN_PROGRESS]})
    assert page.status_code == 200
    rid = re.search(r'name="request_id" value="([0-9a-f-]{36})"', page.text)
    assert rid
    assert "TOMAR 1 spool" in page.text
    assert f"Ya no disponible (otra tableta actuó antes): {ARM_IN_PROGRESS}" in page.text


def test_metrologia_confirmation_has_the_two_verdict_buttons(tablet):
    page = tablet.get("/t/METROLOGIA/95/COMPLETAR/confirmar/", {"tags": [QC_PENDING]})
    assert 'data-resultado="APROBADO"' in page.text and 'data-resultado="RECHAZADO"' in page.text
    assert 'name="resultado" id="resultado-choice"' in page.text  # a retry resends it


def test_the_result_has_its_own_refresh_safe_url(tablet):
    rid = str(uuid.uuid4())
    data = {
        "operacion": "ARM",
        "accion": "TOMAR",
        "worker": 100,
        "tags": [ARM_PENDING],
        "request_id": rid,
    }
    posted = tablet.post("/acciones/", data, HTTP_HX_REQUEST="true")
    assert posted.status_code == 200
    assert posted["HX-Push-Url"] == f"/t/resultado/{rid}/"
    assert "data-countdown" in posted.text
    again = tablet.get(f"/t/resultado/{rid}/")
    assert again.status_code == 200
    assert f"{ARM_PENDING}: tomado por DF(100)" in again.text


@pytest.mark.parametrize(
    "url",
    ["/", "/t/SOLD/", "/t/SOLD/94/", "/t/SOLD/94/TOMAR/", "/t/SOLD/94/TOMAR/confirmar/?tags=x"],
)
def test_every_step_is_a_plain_get_that_survives_a_refresh(tablet, url):
    assert tablet.get(url).status_code == 200
    assert tablet.get(url).status_code == 200


def test_a_tv_account_cannot_use_the_tablet(client, sheet_store, db):
    from django.contrib.auth.models import Group

    build_plant()
    tv = User.objects.create_user("tv", password="pw")
    tv.groups.add(Group.objects.get(name="Pantalla"))
    client.login(username="tv", password="pw")
    assert client.get("/t/ARM/").status_code == 403


# --- live lists ----------------------------------------------------------------------------


def communicator(user, path: str) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    comm.scope["user"] = user
    return comm


@pytest.fixture
def live_plant(transactional_db, sheet_store):
    build_plant()
    return station_user()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_an_unauthenticated_socket_is_refused(live_plant):
    comm = communicator(AnonymousUser(), "/ws/lista/ARM/100/TOMAR/")
    connected, _ = await comm.connect()
    assert not connected


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_spool_taken_elsewhere_leaves_the_lists_it_belongs_to_and_no_other(live_plant):
    user = live_plant
    tomar_list = communicator(user, "/ws/lista/ARM/100/TOMAR/")
    pausar_list = communicator(user, "/ws/lista/ARM/93/PAUSAR/")
    sold_list = communicator(user, "/ws/lista/SOLD/94/TOMAR/")
    for comm in (tomar_list, pausar_list, sold_list):
        connected, _ = await comm.connect()
        assert connected

    outcome = await database_sync_to_async(perform_action)(
        ActionCommand("ARM", "TOMAR", 93, [ARM_PENDING])
    )
    assert outcome.status == 200

    removed = await tomar_list.receive_from(timeout=2)
    assert f'id="spool-{ARM_PENDING}"' in removed and 'hx-swap-oob="delete"' in removed
    added = await pausar_list.receive_from(timeout=2)  # MR(93) now holds it
    assert 'hx-swap-oob="beforeend:#spool-list"' in added and ARM_PENDING in added
    assert await sold_list.receive_nothing(timeout=0.3)

    # released again: it comes back to the TOMAR list and leaves MR(93)'s PAUSAR list
    await database_sync_to_async(perform_action)(ActionCommand("ARM", "PAUSAR", 93, [ARM_PENDING]))
    back = await tomar_list.receive_from(timeout=2)
    assert "beforeend:#spool-list" in back and ARM_PENDING in back
    gone = await pausar_list.receive_from(timeout=2)
    assert "delete" in gone and "beforeend" not in gone
    assert await sold_list.receive_nothing(timeout=0.3)
    for comm in (tomar_list, pausar_list, sold_list):
        await comm.disconnect()


def test_an_operation_with_a_single_worker_skips_the_worker_choice(tablet):
    # AD(95) is the plant's only metrólogo: METROLOGÍA goes straight to the inspection list.
    assert "/t/METROLOGIA/95/COMPLETAR/" in links(tablet.get("/").text)
    assert "/t/ARM/" in links(tablet.get("/").text)  # several armadores: they choose


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_mass_change_asks_the_list_to_resync_instead_of_sending_rows(live_plant):
    from channels.layers import get_channel_layer

    from occupation.consumers import FLOOR_GROUP

    comm = communicator(live_plant, "/ws/lista/ARM/100/TOMAR/")
    assert (await comm.connect())[0]
    tags = [f"MK-OFICINA-{i:03d}" for i in range(60)]  # e.g. Fecha_Materiales filled for 60
    await get_channel_layer().group_send(FLOOR_GROUP, {"type": "spools.changed", "tags": tags})
    message = await comm.receive_from(timeout=2)
    assert 'id="list-resync"' in message and "<li" not in message
    await comm.disconnect()


def test_a_scan_in_another_case_selects_the_spool_as_the_mirror_spells_it(tablet):
    answer = tablet.get("/t/ARM/100/TOMAR/escaneo/", {"tag": ARM_PENDING.lower()})
    assert f'data-select="{ARM_PENDING}"' in answer.text


def test_tags_the_office_types_with_spaces_or_slashes_work_end_to_end(client, sheet_store, db):
    from tests.builders import build_workbook, spool
    from tests.plant import WORKERS

    odd = ["MK 1923/TW 7", "MK-Ñandú-1"]
    build_workbook(spools=[spool(t, Fecha_Materiales="02-05-2026") for t in odd], workers=WORKERS)
    from spools.workbook.pull import pull

    pull(workers=True)
    station_user()
    client.login(username="tablet-1", password="pw-tablet-1")
    data = {"operacion": "ARM", "accion": "TOMAR", "worker": 100, "tags": odd}
    assert client.post("/acciones/", data).status_code == 200
    assert client.get("/spools/MK%201923/TW%207/").status_code == 200


def test_a_result_is_shown_only_to_the_account_that_sent_it(tablet, client):
    rid = str(uuid.uuid4())
    data = {
        "operacion": "ARM",
        "accion": "TOMAR",
        "worker": 100,
        "tags": [ARM_PENDING],
        "request_id": rid,
    }
    assert tablet.post("/acciones/", data).status_code == 200
    station_user("tablet-2")
    other = type(client)()
    other.login(username="tablet-2", password="pw-tablet-2")
    assert other.get(f"/t/resultado/{rid}/").status_code == 404
