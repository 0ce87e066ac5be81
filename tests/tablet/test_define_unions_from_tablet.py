"""Defining a spool's unions from the tablet (uniones.md "Union definitions"): where a worker
meets a spool without unions in ARMADO (its row in the list, the confirmation), an account
that may define unions gets "Definir uniones", a tablet page with the spool page's union
fragment and a big "Volver" to exactly the step it came from. Django's test client; the
browser flow is in test_define_unions_from_tablet_browser.py.
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Permission, User

from spools.models import Spool
from tests.builders import spool
from tests.plant import (
    ARM_PENDING,
    MAT,
    add_unions,
    build_plant,
    logged_in,
    tv_user,
    union,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("plant_with_union_spool")]

WITH_UNIONS = "MK-4002-U-001"  # two unions, nothing fitted: keeps today's row
TOMAR = "/t/ARM/93/TOMAR/"
CONFIRM = f"/t/ARM/93/TOMAR/confirmar/?tags={ARM_PENDING}"
DEFINE = f"/t/uniones/{ARM_PENDING}/"


@pytest.fixture
def plant_with_union_spool(sheet_store, db):
    """The small plant, plus one spool that already has two unions."""
    build_plant([spool(WITH_UNIONS, OT="OT-4002", Fecha_Materiales=MAT)])
    add_unions(WITH_UNIONS, union(1, 2), union(2, 3))


@pytest.fixture
def no_unions_station(plant_with_union_spool):
    """A station account stripped of `spools.change_union`: it works the tablet only."""
    user = User.objects.create_user("tablet-9", password="pw-tablet-9")
    for codename in ("perform_actions", "view_spool"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return logged_in(user)


def define_links(response) -> dict[str, str]:
    """The "Definir uniones" controls on the page: TAG → href."""
    html = response.content.decode()
    return {
        unescape(label): unescape(href)
        for href, label in re.findall(
            r'<a class="define-unions" href="([^"]+)" aria-label="Definir uniones de ([^"]+)"',
            html,
        )
    }


def volver_of(href: str) -> str:
    return parse_qs(urlsplit(href).query)["volver"][0]


def back_links(response) -> list[str]:
    html = response.content.decode()
    return [
        unescape(h)
        for h in re.findall(r'class="big primary define-back[^"]*" href="([^"]*)"', html)
    ]


# --- where the control shows ------------------------------------------------------------


def test_a_spool_without_unions_offers_definir_uniones_on_its_row(station):
    links = define_links(station.get(TOMAR))
    assert set(links) >= {ARM_PENDING}
    href = links[ARM_PENDING]
    assert urlsplit(href).path == DEFINE
    assert volver_of(href) == TOMAR  # back to this very list


def test_a_spool_with_unions_keeps_its_chips_and_no_control(station):
    page = station.get(TOMAR)
    assert WITH_UNIONS in page.content.decode()
    assert WITH_UNIONS not in define_links(page)
    row = re.search(
        rf'<li id="spool-[^"]*" class="spool-row" data-tag="{WITH_UNIONS}">.*?</li>',
        page.content.decode(),
        re.S,
    ).group(0)
    assert "ARM 0/2" in row


def test_the_search_fragment_keeps_the_search_in_volver(station):
    links = define_links(station.get(TOMAR + "lista/", {"q": "17422-002"}))
    assert list(links) == [ARM_PENDING]
    assert volver_of(links[ARM_PENDING]) == f"{TOMAR}?q=17422-002"


def test_the_confirmation_offers_it_and_volver_is_that_confirmation(station):
    links = define_links(station.get(CONFIRM))
    assert volver_of(links[ARM_PENDING]) == CONFIRM

    both = station.get(f"/t/ARM/93/TOMAR/confirmar/?tags={ARM_PENDING}&tags={WITH_UNIONS}")
    assert list(define_links(both)) == [ARM_PENDING]


def test_without_the_permission_there_is_no_control_and_no_page(no_unions_station):
    assert define_links(no_unions_station.get(TOMAR)) == {}
    assert define_links(no_unions_station.get(CONFIRM)) == {}
    assert no_unions_station.get(DEFINE + f"?volver={TOMAR}").status_code == 403
    post = no_unions_station.post(
        f"/spools/{ARM_PENDING}/uniones/",
        {"accion": "agregar", "dn_union": "2", "tipo_union": "BW"},
    )
    assert post.status_code == 403


def test_a_pantalla_account_gets_no_page():
    assert logged_in(tv_user()).get(DEFINE).status_code == 403


def test_only_armado_offers_it_and_never_on_cancelar(station):
    # A spool welded or inspected without unions would wait forever for a fitting that its
    # completed ARM can no longer record: only ARMADO defines them, and not when undoing.
    assert define_links(station.get("/t/SOLD/94/TOMAR/")) == {}
    assert define_links(station.get("/t/ARM/93/CANCELAR/")) == {}


# --- the page ---------------------------------------------------------------------------


def test_the_page_shows_the_union_fragment_posting_to_the_spool_endpoint(station):
    page = station.get(DEFINE, {"volver": CONFIRM})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="uniones-' in html and 'class="union-form union-add"' in html
    assert f'hx-post="/spools/{ARM_PENDING}/uniones/"' in html
    assert back_links(page) == [CONFIRM, CONFIRM]  # at the top, and under the list


@pytest.mark.parametrize(
    "volver",
    [
        "https://evil.example/t/ARM/",
        "//evil.example/t/ARM/",
        "/\\evil.example/t/",
        "/t/\\evil.example",
        "javascript:alert(1)",
        "/spools/X/",
        "/admin/",
        "/t/../admin/",
        "/t/%2e%2e/admin/",
        "t/ARM/93/TOMAR/",
        "",
    ],
)
def test_volver_is_kept_only_when_it_is_a_tablet_path_of_this_site(station, volver):
    page = station.get(DEFINE, {"volver": volver})
    assert page.status_code == 200
    assert back_links(page) == ["/", "/"]  # the tablet's start instead


def test_an_unknown_spool_has_no_page(station):
    assert station.get("/t/uniones/NO-EXISTE/", {"volver": TOMAR}).status_code == 404


def test_after_defining_unions_volver_shows_the_spool_with_its_chips(station):
    href = define_links(station.get(TOMAR))[ARM_PENDING]
    assert station.get(href).status_code == 200
    for dn in ("2", "3"):
        answer = station.post(
            f"/spools/{ARM_PENDING}/uniones/",
            {"accion": "agregar", "dn_union": dn, "tipo_union": "BW"},
            headers={"HX-Request": "true"},
        )
        assert answer.status_code == 200
    assert Spool.objects.get(tag=ARM_PENDING).uniones_total == 2

    back = station.get(volver_of(href))
    assert ARM_PENDING not in define_links(back)
    row = re.search(rf'data-tag="{ARM_PENDING}">.*?</li>', back.content.decode(), re.S).group(0)
    assert "ARM 0/2" in row
