"""The tablet's union step (uniones.md "Dashboard and tablet"): after PAUSAR, COMPLETAR or
TERMINAR (acción FINALIZAR) on a spool with unions, the worker ticks the unions finished in
the session and confirms on the same page. Django's test client; the browser flows are in
test_union_step_browser.py.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from occupation.services import ActionCommand, perform_action
from spools.lifecycle import WorkState as W
from spools.models import Spool, Union
from tests.builders import spool
from tests.plant import (
    ARM_IN_PROGRESS,
    ARM_PENDING,
    IN_REPAIR,
    MAT,
    add_unions,
    build_plant,
    station_user,
    union,
)

U_ARM = "MK-4001-U-001"  # MR(93) fitting: 1 fitted by DF(100); 2, 3, 4 to fit (7,0 PD)
U_SOLD = "MK-4001-U-002"  # JP(94) welding: 1 welded; 2, 3 fitted; 4 FW; 5 not fitted yet
U_ONE = "MK-4001-U-003"  # MR(93) fitting its only union
EARLIER = timezone.now() - timedelta(days=1)


def fitted(who: str = "MR(93)", wid: int = 93) -> dict:
    return {"arm_inicio": EARLIER, "arm_fin": EARLIER, "arm_worker": who, "arm_worker_id": wid}


def welded(who: str = "JP(94)", wid: int = 94) -> dict:
    return {"sol_inicio": EARLIER, "sol_fin": EARLIER, "sol_worker": who, "sol_worker_id": wid}


def tomar(operacion: str, worker: int, tag: str) -> None:
    assert perform_action(ActionCommand(operacion, "TOMAR", worker, [tag])).status == 200


@pytest.fixture
def tablet(client, sheet_store, db):
    build_plant(
        [
            spool(U_ARM, OT="OT-4001", Fecha_Materiales=MAT),
            spool(U_SOLD, OT="OT-4001", Fecha_Materiales=MAT, Armador="MR(93)"),
            spool(U_ONE, OT="OT-4001", Fecha_Materiales=MAT),
        ]
    )
    add_unions(
        U_ARM,
        union(1, 2, **fitted("DF(100)", 100)),
        union(2, "2.5"),
        union(3, 3, "SO"),
        union(4, "1.5", "FW"),
    )
    add_unions(
        U_SOLD,
        union(1, 2, **fitted(), **welded()),
        union(2, 3, **fitted()),
        union(3, 4, **fitted()),
        union(4, 2, "FW", **fitted()),
        union(5, 6),
    )
    add_unions(U_ONE, union(1, 4))
    tomar("ARM", 93, U_ARM)
    tomar("SOLD", 94, U_SOLD)
    tomar("ARM", 93, U_ONE)
    station_user()
    client.login(username="tablet-1", password="pw-tablet-1")
    return client


def links(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'href="([^"]+)"', html)]


def rows(html: str, kind: str) -> list[str]:
    """The text of the union rows of one kind (selectable, done, waiting), tags stripped."""
    found = []
    for li in re.findall(r'<li class="union-pick([^"]*)"[^>]*>(.*?)</li>', html, re.S):
        classes, body = li
        is_kind = {
            "selectable": "done" not in classes and "waiting" not in classes,
            "done": "done" in classes,
            "waiting": "waiting" in classes,
        }[kind]
        if is_kind:
            found.append(" ".join(re.sub(r"<[^>]+>", " ", body).split()))
    return found


def form_data(html: str) -> dict[str, list[str]]:
    """What the browser sends from the union step's form: hidden fields, ticked unions."""
    data: dict[str, list[str]] = {}
    form = re.search(r'<form id="union-form".*?</form>', html, re.S).group(0)
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        ticked = 'type="checkbox"' not in tag or " checked" in tag
        if name and value and ticked:
            data.setdefault(name.group(1), []).append(unescape(value.group(1)))
    return data


def union_page(tablet, op: str, worker: int, accion: str, tag: str):
    page = tablet.get(f"/t/{op}/{worker}/{accion}/uniones/", {"tags": tag})
    assert page.status_code == 200
    return page.text


# --- getting there -----------------------------------------------------------------------


def test_terminar_sits_beside_pausar_for_arm_and_sold_only(tablet):
    page = tablet.get("/t/ARM/93/").text
    hrefs = links(page)
    assert "/t/ARM/93/FINALIZAR/" in hrefs
    assert hrefs.index("/t/ARM/93/PAUSAR/") + 1 == hrefs.index("/t/ARM/93/FINALIZAR/")
    assert "TERMINAR" in page
    assert "/t/SOLD/94/FINALIZAR/" in links(tablet.get("/t/SOLD/94/").text)
    assert not any("FINALIZAR" in h for h in links(tablet.get("/t/REPARACION/96/").text))


@pytest.mark.parametrize(
    "url",
    [
        "/t/REPARACION/96/FINALIZAR/",
        "/t/REPARACION/96/FINALIZAR/lista/",
        f"/t/REPARACION/96/FINALIZAR/escaneo/?tag={IN_REPAIR}",
        f"/t/REPARACION/96/FINALIZAR/confirmar/?tags={IN_REPAIR}",
        f"/t/REPARACION/96/FINALIZAR/uniones/?tags={IN_REPAIR}",
        "/t/METROLOGIA/95/FINALIZAR/",
        f"/t/METROLOGIA/95/FINALIZAR/confirmar/?tags={U_ARM}",
    ],
)
def test_finalizar_is_not_found_for_reparacion_and_metrologia(tablet, url):
    assert tablet.get(url).status_code == 404


def test_actions_that_register_no_unions_have_no_union_step(tablet):
    assert tablet.get(f"/t/ARM/93/TOMAR/uniones/?tags={ARM_PENDING}").status_code == 404
    assert tablet.get(f"/t/ARM/93/CANCELAR/uniones/?tags={U_ARM}").status_code == 404


def test_terminar_lists_the_workers_own_spools_one_at_a_time(tablet):
    page = tablet.get("/t/ARM/93/FINALIZAR/").text
    for held in (ARM_IN_PROGRESS, U_ARM, U_ONE):
        assert f'data-tag="{held}"' in page
    for other in (ARM_PENDING, U_SOLD):
        assert f'data-tag="{other}"' not in page
    assert 'data-single="1"' in page  # a tap on a spool goes on to its unions
    assert "TERMINAR: elija el spool" in page
    assert "ARM 1/4" in page  # the spool's progress on its row


@pytest.mark.parametrize("accion", ["PAUSAR", "COMPLETAR", "FINALIZAR"])
def test_confirming_one_spool_with_unions_leads_to_its_union_step(tablet, accion):
    answer = tablet.get(f"/t/ARM/93/{accion}/confirmar/", {"tags": U_ARM})
    assert answer.status_code == 302
    assert answer["Location"] == f"/t/ARM/93/{accion}/uniones/?tags={U_ARM}"


def test_a_spool_without_unions_keeps_todays_confirmation(tablet):
    page = tablet.get("/t/ARM/93/PAUSAR/confirmar/", {"tags": ARM_IN_PROGRESS})
    assert page.status_code == 200
    assert "Confirmar PAUSAR" in page.text and "union-form" not in page.text
    page = tablet.get("/t/ARM/93/FINALIZAR/confirmar/", {"tags": ARM_IN_PROGRESS})
    assert page.status_code == 200 and "Confirmar TERMINAR" in page.text


# --- what the step shows -----------------------------------------------------------------


def test_the_union_step_lists_selectable_unions_and_strikes_through_done_ones(tablet):
    page = union_page(tablet, "ARM", 93, "PAUSAR", U_ARM)
    assert rows(page, "selectable") == ['2 2½" BW', '3 3" SO', '4 1½" FW']
    assert rows(page, "done") == ['1 2" BW hecha · DF(100)']
    for n in (2, 3, 4):
        assert f'name="uniones" value="{n}"' in page
    assert 'name="uniones" value="1"' not in page  # done: not a checkbox at all
    assert f'name="tags" value="{U_ARM}"' in page
    assert re.search(r'name="request_id" value="[0-9a-f-]{36}"', page)
    assert 'id="union-all"' in page and ">Todas<" in page


def test_sold_shows_who_fitted_each_union_and_the_ones_not_fitted_yet(tablet):
    page = union_page(tablet, "SOLD", 94, "PAUSAR", U_SOLD)
    assert rows(page, "selectable") == ['2 3" BW armó MR(93)', '3 4" BW armó MR(93)']
    assert rows(page, "done") == ['1 2" BW hecha · JP(94)']
    assert rows(page, "waiting") == ['5 6" BW falta armar']
    assert 'value="4"' not in page  # FW: welded at site, not in the welder's list


def test_pausar_preselects_nothing_and_asks_before_releasing_without_unions(tablet):
    page = union_page(tablet, "ARM", 93, "PAUSAR", U_ARM)
    assert " checked" not in page
    assert "0 de 3 · 0,0 PD" in page
    assert "¿Liberar sin registrar?" in page
    assert "Confirmar PAUSAR" in page


def test_completar_preselects_every_remaining_union(tablet):
    page = union_page(tablet, "ARM", 93, "COMPLETAR", U_ARM)
    assert form_data(page)["uniones"] == ["2", "3", "4"]
    assert "3 de 3 · 7,0 PD" in page
    assert 'id="union-go"' in page and "Confirmar COMPLETAR" in page


def test_completar_says_why_it_cannot_while_unions_are_not_fitted(tablet):
    page = union_page(tablet, "SOLD", 94, "COMPLETAR", U_SOLD)
    assert "faltan uniones sin armar (5)" in page
    assert re.search(r'id="union-go"[^>]* disabled', page)
    assert f"/t/SOLD/94/FINALIZAR/uniones/?tags={U_SOLD}" in links(page)


def test_terminar_preselects_the_only_union_there_is(tablet):
    page = union_page(tablet, "ARM", 93, "FINALIZAR", U_ONE)
    assert form_data(page)["uniones"] == ["1"]
    assert "1 de 1 · 4,0 PD" in page
    assert 'data-remaining="1"' in page  # the page tells TERMINAR's outcome as boxes change
    assert ">TERMINAR</button>" in page
    page = union_page(tablet, "ARM", 93, "FINALIZAR", U_ARM)
    assert "uniones" not in form_data(page)  # several: the worker ticks them
    assert re.search(r'id="union-go"[^>]* disabled', page)  # until one is ticked


def test_a_spool_no_longer_held_says_so(tablet):
    page = union_page(tablet, "ARM", 100, "PAUSAR", U_ARM)  # MR(93)'s, not DF(100)'s
    assert "Ya no disponible" in page and "union-form" not in page
    assert "/t/ARM/100/PAUSAR/" in links(page)


def test_the_union_step_survives_a_refresh(tablet):
    url = f"/t/ARM/93/FINALIZAR/uniones/?tags={U_ARM}"
    first, second = tablet.get(url), tablet.get(url)
    assert first.status_code == second.status_code == 200
    assert rows(first.text, "selectable") == rows(second.text, "selectable")


# --- sending it ----------------------------------------------------------------------------


def test_terminar_with_unions_left_pauses_and_registers_them(tablet):
    data = form_data(union_page(tablet, "ARM", 93, "FINALIZAR", U_ARM))
    data["uniones"] = ["2", "3"]
    answer = tablet.post("/acciones/", data)
    assert answer.status_code == 200, answer.text
    assert f"{U_ARM}: pausado. 2 uniones registradas (5,5 PD)." in answer.text
    s = Spool.objects.get(tag=U_ARM)
    assert (s.arm, s.ocupado_por) == (W.PAUSADO, "")
    done = Union.objects.filter(tag=U_ARM, arm_worker="MR(93)").values_list("n_union", flat=True)
    assert sorted(done) == [2, 3]


def test_terminar_of_the_last_unions_completes(tablet):
    data = form_data(union_page(tablet, "ARM", 93, "FINALIZAR", U_ONE))
    answer = tablet.post("/acciones/", data)  # as pre-selected: its only union
    assert answer.status_code == 200, answer.text
    assert f"{U_ONE}: completado. 1 unión registrada (4,0 PD)." in answer.text
    s = Spool.objects.get(tag=U_ONE)
    assert (s.arm, s.armador) == (W.COMPLETADO, "MR(93)")


def test_completar_as_preselected_completes_the_operation(tablet):
    data = form_data(union_page(tablet, "ARM", 93, "COMPLETAR", U_ARM))
    answer = tablet.post("/acciones/", data)
    assert answer.status_code == 200, answer.text
    assert Spool.objects.get(tag=U_ARM).arm == W.COMPLETADO


def test_pausar_without_unions_releases_the_spool(tablet):
    data = form_data(union_page(tablet, "SOLD", 94, "PAUSAR", U_SOLD))
    assert "uniones" not in data
    answer = tablet.post("/acciones/", data)
    assert answer.status_code == 200, answer.text
    s = Spool.objects.get(tag=U_SOLD)
    assert (s.sold, s.ocupado_por) == (W.PAUSADO, "")
    assert not Union.objects.filter(tag=U_SOLD, sol_worker="JP(94)", n_union__in=[2, 3]).exists()


# --- batches -------------------------------------------------------------------------------


def test_a_pausar_batch_with_unions_pauses_all_or_goes_one_spool_at_a_time(tablet):
    page = tablet.get("/t/ARM/93/PAUSAR/confirmar/", {"tags": [ARM_IN_PROGRESS, U_ARM, U_ONE]})
    assert page.status_code == 200
    text = page.text
    assert "Las uniones se registran de a un spool" in text
    assert "Pausar 3 sin registrar uniones" in text
    assert re.findall(r'name="tags" value="([^"]+)"', text) == [ARM_IN_PROGRESS, U_ARM, U_ONE]
    hrefs = links(text)
    for tag in (U_ARM, U_ONE):
        assert f"/t/ARM/93/PAUSAR/uniones/?tags={tag}" in hrefs
    assert f"/t/ARM/93/PAUSAR/uniones/?tags={ARM_IN_PROGRESS}" not in hrefs


@pytest.mark.parametrize("accion", ["COMPLETAR", "FINALIZAR"])
def test_a_completar_batch_sends_the_spools_without_unions_and_links_the_others(tablet, accion):
    page = tablet.get(f"/t/ARM/93/{accion}/confirmar/", {"tags": [ARM_IN_PROGRESS, U_ARM]})
    assert page.status_code == 200
    assert re.findall(r'name="tags" value="([^"]+)"', page.text) == [ARM_IN_PROGRESS]
    assert f"/t/ARM/93/{accion}/uniones/?tags={U_ARM}" in links(page.text)
    page = tablet.get(f"/t/ARM/93/{accion}/confirmar/", {"tags": [U_ARM, U_ONE]})
    assert 'name="tags"' not in page.text  # nothing to send together: one at a time
    assert "Elija uno para marcar sus uniones" in page.text


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_live_list_socket_for_an_action_the_operation_lacks_closes_as_not_found(
    sheet_store,
):
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator

    from tests.plant import build_plant, station_user
    from zeues.routing import websocket_urlpatterns

    await database_sync_to_async(build_plant)()
    user = await database_sync_to_async(station_user)()
    comm = WebsocketCommunicator(
        URLRouter(websocket_urlpatterns), "/ws/lista/REPARACION/96/FINALIZAR/"
    )
    comm.scope["user"] = user
    connected, code = await comm.connect()
    assert not connected and code == 4404


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_row_pushed_live_offers_definir_uniones_like_a_loaded_one(sheet_store):
    from channels.db import database_sync_to_async
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator

    from occupation.services import ActionCommand, perform_action
    from tests.plant import ARM_PENDING, build_plant, station_user
    from zeues.routing import websocket_urlpatterns

    await database_sync_to_async(build_plant)()
    user = await database_sync_to_async(station_user)()
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/lista/ARM/100/TOMAR/")
    comm.scope["user"] = user
    assert (await comm.connect())[0]
    # MR(93) takes a spool without unions and pauses it: it comes back to DF(100)'s list.
    for accion in ("TOMAR", "PAUSAR"):
        await database_sync_to_async(perform_action)(
            ActionCommand("ARM", accion, 93, [ARM_PENDING])
        )
    await comm.receive_from(timeout=2)  # the row leaves
    back = unescape(await comm.receive_from(timeout=2))  # and comes back
    await comm.disconnect()

    assert f'href="/t/uniones/{ARM_PENDING}/?volver=%2Ft%2FARM%2F100%2FTOMAR%2F"' in back
