"""A note from the tablet's spool row, in a real browser, on a landscape (1280×800) and a
portrait (800×1280) tablet: "Nota" on the row opens a small form over the list, the note is
signed by the list's worker and lands in the sheet's Notas cell; the row still selects the
spool with one tap. Then the spool page's form with its counter. A screenshot per step under
test-artifacts/screens/<test>/."""

from __future__ import annotations

import os

import pytest

from spools.models import Note
from spools.sheets import open_workbook
from spools.workbook.columns import OPERACIONES
from tests.browser import PORTRAIT, TABLET, Screens, Server, needs_chromium, session_cookie
from tests.floor import wait_until
from tests.plant import ARM_PENDING, station_user

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

VIEWPORTS = pytest.mark.parametrize("viewport", [TABLET, PORTRAIT], ids=["1280x800", "800x1280"])
GLOVE = 64  # px: the smallest target a gloved finger hits reliably


@pytest.fixture
def server(notes_plant):
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


def notas_cell(tag: str) -> str:
    rows = open_workbook().worksheet(OPERACIONES).get_all_records(numericise_ignore=["all"])
    return next(r["Notas"] for r in rows if r["TAG_SPOOL"] == tag)


@VIEWPORTS
def test_a_note_from_the_tablets_spool_row(browser, server, request, viewport):
    screens = Screens(request.node.name)
    context = browser.new_context(viewport=viewport, locale="es-CL")
    context.add_cookies(session_cookie(station_user(), server.url))
    page = context.new_page()
    try:
        page.goto(f"{server.url}/t/ARM/93/TOMAR/")
        page.wait_for_function("() => !!window.htmx")
        row = page.locator(f'.spool-row[data-tag="{ARM_PENDING}"]')
        row.scroll_into_view_if_needed()
        screens.shot(page, "lista")
        button = row.locator("button.nota-button")
        on_screen(button, viewport)
        assert button.inner_text() == "Nota"
        # The row's big target still selects the spool; the note button does not.
        label_box = row.locator("label").bounding_box()
        assert label_box["height"] >= GLOVE and label_box["width"] > viewport["width"] / 2
        button.click()

        popover = page.locator(f"#nota-pop-{ARM_PENDING}")
        popover.wait_for(state="visible")
        assert not row.locator("input.pick").is_checked()
        screens.shot(page, "nota-abierta")
        field = popover.locator('[name="texto"]')
        on_screen(field, viewport)
        field.fill("Brida 2 golpeada, revisar antes de armar")
        submit = popover.get_by_role("button", name="Agregar nota")
        on_screen(submit, viewport)
        submit.click()

        popover.locator(".nota-texto").first.wait_for()
        assert popover.locator(".nota-texto").first.inner_text() == (
            "Brida 2 golpeada, revisar antes de armar"
        )
        assert "MR(93)" in popover.locator(".nota-meta").first.inner_text()
        page.wait_for_load_state("networkidle")  # the fragment's own CSS, on first use
        screens.shot(page, "nota-agregada")
        note = Note.objects.get(tag=ARM_PENDING, from_sheet=False)
        assert (note.author, note.worker_id) == ("MR(93)", 93)
        wait_until(lambda: notas_cell(ARM_PENDING) == note.line, 15, "the line in the sheet")

        popover.get_by_role("button", name="Cerrar").click()
        popover.wait_for(state="hidden")
        row.locator("label").click()
        assert row.locator("input.pick").is_checked()
        screens.shot(page, "seleccionado")
    finally:
        context.close()


@VIEWPORTS
def test_a_note_on_the_spool_page_with_its_counter(browser, server, request, viewport):
    screens = Screens(request.node.name)
    context = browser.new_context(viewport=viewport, locale="es-CL")
    context.add_cookies(session_cookie(station_user(), server.url))
    page = context.new_page()
    try:
        page.goto(f"{server.url}/spools/{ARM_PENDING}/")
        page.wait_for_function("() => !!window.htmx")
        form = page.locator("form.nota-form")
        form.scroll_into_view_if_needed()
        field = form.locator("textarea[name=texto]")
        field.fill("Pintar marca de la OT en el extremo B")
        counter = form.locator("[data-nota-counter]")
        assert counter.inner_text() == "37 de 500 caracteres"
        submit = form.get_by_role("button", name="Agregar nota")
        submit.scroll_into_view_if_needed()
        on_screen(submit, viewport)
        screens.shot(page, "escribiendo")
        submit.click()

        page.locator(".notas .nota-texto").first.wait_for()
        assert page.locator(".notas .nota-texto").first.inner_text() == (
            "Pintar marca de la OT en el extremo B"
        )
        # The fresh form is empty again and counts from zero.
        assert page.locator("form.nota-form textarea").input_value() == ""
        assert "tablet-1" in page.locator(".notas .nota-meta").first.inner_text()
        page.locator(".notas").scroll_into_view_if_needed()
        screens.shot(page, "nota-agregada")

        page.locator("form.nota-form textarea").fill("")
        page.locator("form.nota-form textarea").evaluate("el => el.removeAttribute('required')")
        page.get_by_role("button", name="Agregar nota").click()
        page.locator(".nota-error").wait_for()
        assert page.locator(".nota-error").inner_text() == "Escriba la nota: no puede ir vacía."
        screens.shot(page, "nota-vacia")
    finally:
        context.close()
