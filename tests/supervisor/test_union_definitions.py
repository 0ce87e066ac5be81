"""Defining a spool's unions (uniones.md "Union definitions"): stations and supervisors add
unions (number, DN, type), change or delete the ones with no work registered; everyone who
sees the spool page sees the list. Each change is one UNIONES_EDITADAS row, the Uniones row
to write and the spool's counters, in one transaction."""

from __future__ import annotations

import os
import re
from decimal import Decimal
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.utils.html import strip_tags

from spools.models import Event, OutboxEntry, Spool, Union
from spools.signals import spools_changed
from tests.browser import PORTRAIT, TABLET, Screens, Server, needs_chromium, session_cookie
from tests.plant import (
    ARM_PENDING,
    build_plant,
    logged_in,
    make_user,
    station_user,
    tv_user,
)
from tests.unions import DAY, at, union

# Every test here works on the small plant (the shared `plant` fixture).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("plant")]

URL = f"/spools/{ARM_PENDING}/uniones/"


def post(client, accion: str, tag: str = ARM_PENDING, **fields):
    return client.post(f"/spools/{tag}/uniones/", {"accion": accion, **fields})


def add(client, dn="2", tipo="BW", **fields):
    return post(client, "agregar", dn_union=dn, tipo_union=tipo, **fields)


def numbers(tag: str = ARM_PENDING) -> list[int]:
    return list(Union.objects.filter(tag=tag).order_by("n_union").values_list("n_union", flat=True))


def counters(tag: str = ARM_PENDING) -> tuple:
    s = Spool.objects.get(tag=tag)
    return (s.uniones_total, s.uniones_arm, s.uniones_sold_total, s.uniones_sold, s.pulgadas_arm)


def text(response) -> str:
    return re.sub(r"\s+", " ", unescape(strip_tags(response.text)))


def last_write() -> dict:
    entry = OutboxEntry.objects.filter(tag=ARM_PENDING).order_by("-id").first()
    assert len(entry.unions) == 1
    return entry.unions[0]


# --- agregar ---------------------------------------------------------------------------


def test_a_new_union_gets_max_plus_one_unless_a_number_is_given(station):
    assert add(station).status_code == 200
    assert add(station).status_code == 200
    assert add(station, n_union=7).status_code == 200
    assert add(station).status_code == 200
    assert numbers() == [1, 2, 7, 8]


def test_adding_answers_with_the_list_fragment_and_recounts_the_spool(station):
    add(station, dn="2")
    answer = add(station, dn="2,5", tipo="FW")
    assert answer.status_code == 200
    html = answer.text
    assert html.lstrip().startswith(f'<section id="uniones-{ARM_PENDING}"')
    assert "<html" not in html  # the fragment alone, for htmx to swap
    assert "ARM 0/2 · SOLD 0/1" in text(answer)  # FW needs no welding
    assert counters() == (2, 0, 1, 0, Decimal("0"))
    union_2 = Union.objects.get(tag=ARM_PENDING, n_union=2)
    assert (union_2.dn_union, union_2.tipo_union, union_2.ot) == (Decimal("2.5"), "FW", "OT-1923")


def test_adding_records_one_event_with_before_after_and_the_uniones_row_to_create(station):
    add(station, dn="1 1/2", tipo="so")
    event = Event.objects.get(tag=ARM_PENDING, evento_tipo="UNIONES_EDITADAS")
    assert event.accion == "AGREGAR"
    assert event.worker_nombre == "ADMIN:tablet-1" and event.account == "tablet-1"
    assert event.metadata_json["n_union"] == 1
    assert event.metadata_json["antes"] is None
    assert event.metadata_json["despues"] == {"n_union": 1, "dn_union": 1.5, "tipo_union": "SO"}
    write = last_write()
    assert (write["n"], write["create"], write["delete"]) == (1, True, False)
    assert write["cells"]["ID"] == f"{ARM_PENDING}+1"
    assert write["cells"]["DN_UNION"] == 1.5 and write["cells"]["TIPO_UNION"] == "SO"
    entry = OutboxEntry.objects.filter(tag=ARM_PENDING).order_by("-id").first()
    assert entry.cells["Total_Uniones"] == 1  # the Operaciones counters follow Uniones
    assert entry.version == Spool.objects.get(tag=ARM_PENDING).version


def test_a_number_already_used_is_refused(station):
    add(station, n_union=3)
    answer = add(station, n_union=3, dn="4")
    assert answer.status_code == 400
    assert "La unión 3 ya existe" in answer.text
    assert f'id="uniones-{ARM_PENDING}"' in answer.text  # the list again, with the message
    assert Union.objects.get(tag=ARM_PENDING, n_union=3).dn_union == Decimal("2")


@pytest.mark.parametrize(
    ("dn", "inches"),
    [("2", "2"), ("2,5", "2.5"), ("2.5", "2.5"), ("1 1/2", "1.5"), ("¾", "0.75"), ("72", "72")],
)
def test_dn_in_inches_with_fractions(station, dn, inches):
    assert add(station, dn=dn).status_code == 200
    assert Union.objects.get(tag=ARM_PENDING).dn_union == Decimal(inches)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"dn_union": "0"}, "DN no válido"),
        ({"dn_union": "73"}, "DN no válido"),
        ({"dn_union": "-2"}, "DN no válido"),
        ({"dn_union": "dos"}, "DN no válido"),
        ({"dn_union": ""}, "Falta el DN"),
        ({"tipo_union": "XX"}, "Tipo de unión desconocido"),
        ({"tipo_union": ""}, "Falta el tipo de unión"),
        ({"n_union": "0"}, "debe ser 1 o más"),
        ({"n_union": "tres"}, "número entero"),
    ],
)
def test_bad_input_is_400_in_spanish_and_changes_nothing(station, fields, message):
    answer = post(station, "agregar", **{"dn_union": "2", "tipo_union": "BW", **fields})
    assert answer.status_code == 400
    assert message in answer.text
    assert numbers() == [] and not Event.objects.filter(evento_tipo="UNIONES_EDITADAS").exists()


def test_an_unknown_accion_or_none_is_400(station):
    assert "Acción desconocida" in post(station, "renumerar").text
    answer = station.post(URL, {})
    assert answer.status_code == 400 and "Falta la acción" in answer.text


# --- editar / eliminar ---------------------------------------------------------------------


def test_a_union_without_work_may_change_dn_and_type(station):
    add(station, dn="2")
    answer = post(station, "editar", n_union=1, dn_union="3", tipo_union="FW")
    assert answer.status_code == 200
    union_1 = Union.objects.get(tag=ARM_PENDING, n_union=1)
    assert (union_1.dn_union, union_1.tipo_union) == (Decimal("3"), "FW")
    assert counters()[:3] == (1, 0, 0)  # FW: nothing to weld any more
    write = last_write()
    assert (write["n"], write["create"], write["delete"]) == (1, False, False)
    assert write["cells"]["DN_UNION"] == 3.0 and write["cells"]["TIPO_UNION"] == "FW"
    event = Event.objects.filter(evento_tipo="UNIONES_EDITADAS").order_by("-timestamp").first()
    assert event.metadata_json["antes"] == {"n_union": 1, "dn_union": 2.0, "tipo_union": "BW"}
    assert event.metadata_json["despues"] == {"n_union": 1, "dn_union": 3.0, "tipo_union": "FW"}


def test_editing_needs_the_number_dn_and_type(station):
    add(station)
    assert "Falta el número de la unión" in post(station, "editar", dn_union="2").text
    assert "Falta el DN" in post(station, "editar", n_union=1, tipo_union="BW").text


def test_deleting_leaves_a_gap_and_numbers_are_never_reused_in_between(station):
    for _ in range(3):
        add(station)
    answer = post(station, "eliminar", n_union=2)
    assert answer.status_code == 200
    assert numbers() == [1, 3]
    assert counters()[0] == 2
    write = last_write()
    assert (write["n"], write["delete"], write["cells"]) == (2, True, {})
    event = Event.objects.filter(evento_tipo="UNIONES_EDITADAS").order_by("-timestamp").first()
    assert event.accion == "ELIMINAR" and event.metadata_json["despues"] is None
    add(station)
    assert numbers() == [1, 3, 4]  # max + 1: 1 and 3 keep their numbers


@pytest.mark.parametrize("accion", ["editar", "eliminar"])
def test_a_union_with_work_registered_is_neither_changed_nor_deleted(station, accion):
    add(station)
    add(station)
    union(ARM_PENDING, 3, "4", arm=("MR(93)", at(DAY, "08:00"), at(DAY, "09:00")))
    before = counters()
    answer = post(station, accion, n_union=3, dn_union="6", tipo_union="SO")
    assert answer.status_code == 400
    assert "la unión 3 ya tiene trabajo registrado" in answer.text
    assert numbers() == [1, 2, 3]
    assert Union.objects.get(tag=ARM_PENDING, n_union=3).dn_union == Decimal("4")
    assert counters() == before


def test_a_union_welded_but_not_fitted_in_the_mirror_still_counts_as_worked(station):
    union(ARM_PENDING, 1, "2", sol=("JP(94)", at(DAY, "08:00"), at(DAY, "09:00")))
    assert post(station, "eliminar", n_union=1).status_code == 400


def test_an_unknown_union_or_spool_is_404(station):
    assert post(station, "eliminar", n_union=9).status_code == 404
    # A union deleted meanwhile on another tablet: the list as it is now, and why.
    answer = post(station, "editar", n_union=9, dn_union="2", tipo_union="BW")
    assert answer.status_code == 404
    assert "no tiene la unión 9" in answer.text and f'id="uniones-{ARM_PENDING}"' in answer.text
    assert add(station, tag="NO-EXISTE").status_code == 404


def test_a_spool_gone_from_the_sheet_shows_its_unions_but_no_controls(station):
    union(ARM_PENDING, 1, "2")
    Spool.objects.filter(tag=ARM_PENDING).update(sheet_row=None)
    page = station.get(f"/spools/{ARM_PENDING}/")
    assert f'id="union-{ARM_PENDING}-1"' in page.text and "Agregar unión" not in page.text
    assert add(station).status_code == 404
    assert numbers() == [1]


def test_the_counters_are_recounted_over_every_union_the_office_ones_included(station):
    union(
        ARM_PENDING,
        1,
        "4",
        arm=("MR(93)", at(DAY, "08:00"), at(DAY, "09:00")),
        sol=("JP(94)", at(DAY, "10:00"), at(DAY, "11:00")),
    )
    union(ARM_PENDING, 2, "2", "FW", arm=("MR(93)", at(DAY, "09:00"), at(DAY, "09:30")))
    add(station, dn="3")
    spool = Spool.objects.get(tag=ARM_PENDING)
    assert counters() == (3, 2, 2, 1, Decimal("6"))
    assert spool.pulgadas_sold == Decimal("4")


def test_the_screens_are_told_after_commit(station, django_capture_on_commit_callbacks):
    told = []

    def listener(sender, tags, **kwargs):
        told.append(tags)

    spools_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            add(station)
        assert callbacks and told == [[ARM_PENDING]]
        with django_capture_on_commit_callbacks(execute=True):
            post(station, "eliminar", n_union=5)  # refused: nothing to tell
        assert told == [[ARM_PENDING]]
    finally:
        spools_changed.disconnect(listener)


def test_the_workbook_gets_the_uniones_rows_and_the_counters(sheet_store, db):
    from spools.workbook.pull import pull
    from tests.builders import build_workbook
    from tests.plant import SPOOLS, WORKERS, sheet_row, sheet_rows

    build_workbook(spools=SPOOLS, workers=WORKERS, uniones=[], counters=True)
    pull(workers=True)
    station = logged_in(station_user())
    for dn in ("2", "2,5", "4"):
        assert add(station, dn=dn).status_code == 200
    assert post(station, "editar", n_union=3, dn_union="6", tipo_union="FW").status_code == 200
    assert post(station, "eliminar", n_union=2).status_code == 200
    rows = [r for r in sheet_rows("Uniones") if r["TAG_SPOOL"] == ARM_PENDING]
    assert [(r["ID"], r["N_UNION"], r["DN_UNION"], r["TIPO_UNION"]) for r in rows] == [
        (f"{ARM_PENDING}+1", "1", "2", "BW"),
        (f"{ARM_PENDING}+3", "3", "6", "FW"),
    ]
    row = sheet_row(ARM_PENDING)
    assert (row["Total_Uniones"], row["Uniones_ARM_Completadas"]) == ("2", "0")
    events = [r for r in sheet_rows("Metadata") if r["Evento_Tipo"] == "UNIONES_EDITADAS"]
    assert [r["Accion"] for r in events] == ["AGREGAR"] * 3 + ["EDITAR", "ELIMINAR"]


# --- who -------------------------------------------------------------------------------


def test_the_tv_account_is_refused_403_and_nothing_changes(plant, db):
    tv = logged_in(tv_user())
    assert add(tv).status_code == 403
    assert numbers() == []


def test_an_account_without_the_permission_is_refused_and_a_supervisor_may(plant, db):
    User.objects.create_user("nadie", password="pw-nadie")
    assert add(logged_in(User.objects.get(username="nadie"))).status_code == 403
    supervisor = logged_in(make_user("jefa", "Supervisor", staff=True))
    assert add(supervisor).status_code == 200
    assert numbers() == [1]


def test_only_post(station):
    assert station.get(URL).status_code == 405


# --- the spool page ----------------------------------------------------------------------


def test_the_spool_page_lists_the_unions_with_who_did_what(station):
    union(
        ARM_PENDING,
        1,
        "2.5",
        arm=("MR(93)", at(DAY, "08:00"), at(DAY, "09:15")),
        sol=("JP(94)", at(DAY, "10:00"), at(DAY, "11:40")),
    )
    union(ARM_PENDING, 2, "4", "FW")
    Spool.objects.filter(tag=ARM_PENDING).update(uniones_total=2, uniones_arm=1)
    page = station.get(f"/spools/{ARM_PENDING}/")
    shown = text(page)
    assert '2½"' in shown and "MR(93) 12-05-2026 09:15" in shown
    assert "JP(94) 12-05-2026 11:40" in shown
    assert "no requiere (en terreno)" in shown
    assert "con trabajo: no se cambia" in shown  # union 1: no edit controls
    assert 'name="n_union" value="2"' in page.text  # union 2 may still change
    assert "Agregar unión" in shown


def test_the_tv_sees_the_list_without_controls(plant, db):
    union(ARM_PENDING, 1, "2")
    page = logged_in(tv_user()).get(f"/spools/{ARM_PENDING}/")
    assert page.status_code == 200
    assert f'id="uniones-{ARM_PENDING}"' in page.text
    assert "Agregar unión" not in page.text and "hx-post" not in page.text


def test_a_spool_without_unions_says_so(station):
    page = station.get(f"/spools/{ARM_PENDING}/")
    assert "Este spool no tiene uniones definidas" in text(page)


# --- in a real browser: a station adds, changes and deletes with big controls -------------

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
CSRF_OF_PAGE = "() => JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']"


@pytest.mark.browser
@needs_chromium
@pytest.mark.django_db(transaction=True)
def test_defining_unions_on_the_spool_page_in_a_browser(browser, sheet_store, request):
    screens = Screens(request.node.name)
    build_plant()
    union(ARM_PENDING, 1, "2", arm=("MR(93)", at(DAY, "08:00"), at(DAY, "09:00")))
    user = station_user()
    server = Server().start()
    try:
        context = browser.new_context(viewport=TABLET, locale="es-CL")
        context.add_cookies(session_cookie(user, server.url))
        page = context.new_page()
        page.goto(f"{server.url}/spools/{ARM_PENDING}/")
        page.wait_for_function("() => !!window.htmx")
        page.locator(".unions").scroll_into_view_if_needed()
        screens.shot(page, "lista")

        form = page.locator("form.union-add")
        form.locator('select[name="dn_union"]').select_option("2.5")
        form.locator('select[name="tipo_union"]').select_option("BW")
        form.get_by_role("button", name="Agregar unión").click()
        page.locator(f"#union-{ARM_PENDING}-2").wait_for()
        page.locator(".unions").scroll_into_view_if_needed()
        screens.shot(page, "agregada")
        assert Union.objects.get(tag=ARM_PENDING, n_union=2).dn_union == Decimal("2.5")

        page.locator(f"#union-{ARM_PENDING}-2 summary").click()
        screens.shot(page, "cambiar-abierto")
        row = page.locator(f"#union-{ARM_PENDING}-2")
        for control in row.locator("select, button").all():
            assert control.bounding_box()["height"] >= 56  # gloves
        row.locator('select[name="dn_union"]').select_option("4")
        row.get_by_role("button", name="Guardar unión 2").click()
        page.locator(f"#union-{ARM_PENDING}-2 .dn", has_text='4"').wait_for()
        assert Union.objects.get(tag=ARM_PENDING, n_union=2).dn_union == Decimal("4")

        page.set_viewport_size(PORTRAIT)
        page.locator(f"#union-{ARM_PENDING}-2 summary").click()
        page.locator(".unions").scroll_into_view_if_needed()
        screens.shot(page, "cambiar-800x1280")
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Eliminar unión 2").click()
        page.locator(f"#union-{ARM_PENDING}-2").wait_for(state="detached")
        screens.shot(page, "eliminada-800x1280")
        assert numbers() == [1]

        # Union 1 has work: the server refuses even a hand-made request, and says why.
        answer = page.request.post(
            f"{server.url}/spools/{ARM_PENDING}/uniones/",
            form={"accion": "eliminar", "n_union": "1"},
            headers={"X-CSRFToken": page.evaluate(CSRF_OF_PAGE)},
        )
        assert answer.status == 400 and "ya tiene trabajo registrado" in answer.text()
        context.close()
    finally:
        server.stop()
