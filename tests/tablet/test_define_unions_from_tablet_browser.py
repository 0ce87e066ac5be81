"""Defining a spool's unions from the tablet in a real browser, with gloves, on a landscape
(1280×800) and a portrait (800×1280) tablet: from the TOMAR list, "Definir uniones" on a
spool without unions, two unions added, "Volver", and the row shows its chips. A screenshot
per step under test-artifacts/screens/<test>/.
"""

from __future__ import annotations

import os
from decimal import Decimal

import pytest

from spools.models import Union
from spools.workbook.pull import pull
from tests.browser import PORTRAIT, TABLET, Screens, Server, needs_chromium, session_cookie
from tests.builders import build_workbook
from tests.plant import ARM_PAUSED, ARM_PENDING, SPOOLS, WORKERS, station_user

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]

# Playwright's sync API runs an event loop in this thread; the ORM calls between browser
# steps are plain synchronous code all the same.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

VIEWPORTS = pytest.mark.parametrize("viewport", [TABLET, PORTRAIT], ids=["1280x800", "800x1280"])
GLOVE = 64  # px: the smallest target a gloved finger hits reliably


@pytest.fixture
def server(sheet_store):
    build_workbook(spools=SPOOLS, workers=WORKERS)
    pull(workers=True)
    srv = Server().start()
    yield srv
    srv.stop()


def on_screen(locator, viewport: dict, min_height: int = GLOVE) -> None:
    """Visible without scrolling, and big enough for a gloved finger."""
    locator.wait_for()
    box = locator.bounding_box()
    assert box, locator
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (locator, box)
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (locator, box)
    assert box["height"] >= min_height, (locator, box)


def add_union(page, viewport: dict, dn: str, tipo: str, n: int) -> None:
    form = page.locator("form.union-add")
    for name, value in (("dn_union", dn), ("tipo_union", tipo)):
        select = form.locator(f'select[name="{name}"]')
        select.scroll_into_view_if_needed()
        on_screen(select, viewport)
        select.select_option(value)
    button = form.get_by_role("button", name="Agregar unión")
    button.scroll_into_view_if_needed()
    on_screen(button, viewport)
    button.click()
    page.locator(f"#union-{ARM_PENDING}-{n}").wait_for()


@VIEWPORTS
def test_defining_unions_from_the_tomar_list_and_back(browser, server, request, viewport):
    screens = Screens(request.node.name)
    context = browser.new_context(viewport=viewport, locale="es-CL")
    context.add_cookies(session_cookie(station_user(), server.url))
    page = context.new_page()
    try:
        page.goto(f"{server.url}/t/ARM/93/TOMAR/")
        page.wait_for_function("() => !!window.htmx")
        row = page.locator(f'.spool-row[data-tag="{ARM_PENDING}"]')
        screens.shot(page, "lista")
        control = row.locator("a.define-unions")
        on_screen(control, viewport)
        assert control.inner_text() == "Definir uniones"
        control.click()

        page.wait_for_selector("form.union-add")
        page.wait_for_function("() => !!window.htmx")
        screens.shot(page, "sin-uniones")
        on_screen(page.locator(".define-back").first, viewport, min_height=72)
        add_union(page, viewport, "2.5", "BW", 1)
        screens.shot(page, "una-union")
        add_union(page, viewport, "4", "SO", 2)
        page.locator(".define-back").first.scroll_into_view_if_needed()
        screens.shot(page, "dos-uniones")
        got = Union.objects.filter(tag=ARM_PENDING).order_by("n_union")
        assert [(u.n_union, u.dn_union, u.tipo_union) for u in got] == [
            (1, Decimal("2.5"), "BW"),
            (2, Decimal("4"), "SO"),
        ]
        assert "ARM 0/2" in page.locator(".unions h2").inner_text()

        back = page.locator(".define-back").first
        on_screen(back, viewport, min_height=72)
        back.click()
        page.wait_for_selector(".spools-step")
        page.wait_for_function("() => !!window.htmx")
        assert page.url == f"{server.url}/t/ARM/93/TOMAR/"
        row = page.locator(f'.spool-row[data-tag="{ARM_PENDING}"]')
        row.scroll_into_view_if_needed()
        screens.shot(page, "lista-con-chips")
        assert row.locator(".union-chips").inner_text().split() == [
            "ARM",
            "0/2",
            "·",
            "SOLD",
            "0/2",
        ]
        assert row.locator("a.define-unions").count() == 0

        # Carry on: take it, straight from the row.
        row.locator("label").click()
        page.locator("#continue").click()
        page.wait_for_selector(".confirm")
        screens.shot(page, "confirmar")
        assert page.locator(".confirm a.define-unions").count() == 0

        # The confirmation of a spool still without unions offers it too, and comes back.
        page.goto(f"{server.url}/t/ARM/93/TOMAR/confirmar/?tags={ARM_PAUSED}")
        page.wait_for_function("() => !!window.htmx")
        screens.shot(page, "confirmar-sin-uniones")
        control = page.locator(".confirm a.define-unions")
        on_screen(control, viewport)
        control.click()
        page.wait_for_selector("form.union-add")
        page.locator(".define-back").first.click()
        page.wait_for_selector(".confirm")
        assert page.url == f"{server.url}/t/ARM/93/TOMAR/confirmar/?tags={ARM_PAUSED}"
    finally:
        context.close()
