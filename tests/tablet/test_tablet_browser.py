"""The worker flow in a real browser, as a worker with gloves would go through it.

Each test saves a screenshot per step under test-artifacts/screens/<test>/.
"""

from __future__ import annotations

import os

import pytest

from spools.models import Event, Spool
from tests.browser import (
    PORTRAIT,
    TABLET,
    Screens,
    Server,
    needs_chromium,
    session_cookie,
)
from tests.builders import build_workbook, spool
from tests.plant import (
    ARM_IN_PROGRESS,
    ARM_PENDING,
    QC_PENDING,
    SPOOLS,
    WORKERS,
    build_plant,
    station_user,
)

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between browser steps are plain synchronous code all the same.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def server(sheet_store):
    build_plant()
    srv = Server().start()
    yield srv
    srv.stop()


@pytest.fixture
def tablet(browser, server, request):
    """A new tablet (browser context) logged in as a station account."""
    user = station_user()
    contexts = []

    def open_tablet(viewport=TABLET):
        context = browser.new_context(viewport=viewport, locale="es-CL")
        context.add_cookies(session_cookie(user, server.url))
        contexts.append(context)
        return context.new_page()

    yield open_tablet
    for c in contexts:
        c.close()


def go_to_list(page, base: str, op: str, worker_label: str, accion: str | None, screens: Screens):
    page.goto(base + "/")
    screens.shot(page, "operacion")
    page.get_by_role("link", name=op).click()
    if not page.locator(".spools-step").count():  # a lone worker skips this step
        screens.shot(page, "trabajador")
        page.locator(".choice.worker", has_text=worker_label).click()
    if accion and "/t/" in page.url and page.url.rstrip("/").count("/") == 5:
        screens.shot(page, "accion")
        page.locator(".choice.action", has_text=accion).click()
    page.wait_for_selector(".spools-step")
    page.wait_for_selector("#conn.conn-ok")  # the live link is up
    screens.shot(page, "spools")


def pick_and_confirm(
    page, tags: list[str], screens: Screens, verdict: str | None = None, motivo: str = "Otro"
) -> None:
    for tag in tags:
        box = page.locator(f'.spool-row[data-tag="{tag}"] input.pick')
        if verdict is None:
            box.check()
        else:
            box.click()  # a single choice goes on to the verdict by itself
    if verdict is None:
        screens.shot(page, "seleccion")
        page.locator("#continue").click()
        page.wait_for_selector(".confirm")
        page.wait_for_function("() => !!window.htmx")  # as a worker would: page loaded
        screens.shot(page, "confirmacion")
        page.locator(".confirm-button").click()
    else:
        page.wait_for_selector(".confirm")  # single choice: straight to the verdict
        page.wait_for_function("() => !!window.htmx")
        screens.shot(page, "confirmacion")
        page.get_by_role("button", name=verdict).click()
        if verdict == "RECHAZADO":  # the tablet asks why: one more tap
            page.wait_for_selector("#rechazo:not([hidden])")
            screens.shot(page, "motivo")
            page.locator("#rechazo button.motivo", has_text=motivo).click()
    page.wait_for_selector("#resultado")
    screens.shot(page, "resultado")


def test_tomar_then_completar_arm_by_the_same_worker(tablet, server, request):
    screens = Screens(request.node.name)
    page = tablet()
    go_to_list(
        page, server.url, "ARMADO", "DF(100)", None, screens
    )  # holds nothing: no action step
    assert "/t/ARM/100/TOMAR/" in page.url
    pick_and_confirm(page, [ARM_PENDING], screens)
    assert "tomado por DF(100)" in page.locator("#resultado").inner_text()
    assert "/t/resultado/" in page.url  # the result has its own URL
    page.reload()
    assert "tomado por DF(100)" in page.locator("#resultado").inner_text()

    go_to_list(page, server.url, "ARMADO", "DF(100)", "COMPLETAR", screens)
    pick_and_confirm(page, [ARM_PENDING], screens)
    assert "completado" in page.locator("#resultado").inner_text()
    spool_ = Spool.objects.get(tag=ARM_PENDING)
    assert (spool_.arm, spool_.armador) == ("COMPLETADO", "DF(100)")


def test_pausar_by_one_worker_and_completar_by_another(tablet, server, request):
    screens = Screens(request.node.name)
    page = tablet()
    go_to_list(page, server.url, "ARMADO", "MR(93)", "PAUSAR", screens)
    pick_and_confirm(page, [ARM_IN_PROGRESS], screens)
    assert "pausado" in page.locator("#resultado").inner_text()
    go_to_list(page, server.url, "ARMADO", "DF(100)", None, screens)
    pick_and_confirm(page, [ARM_IN_PROGRESS], screens)
    go_to_list(page, server.url, "ARMADO", "DF(100)", "COMPLETAR", screens)
    pick_and_confirm(page, [ARM_IN_PROGRESS], screens)
    assert Spool.objects.get(tag=ARM_IN_PROGRESS).armador == "DF(100)"


@pytest.mark.parametrize("verdict", ["APROBADO", "RECHAZADO"])
def test_metrologia_verdicts(tablet, server, request, verdict):
    screens = Screens(request.node.name)
    page = tablet()
    go_to_list(page, server.url, "METROLOGÍA", "AD(95)", None, screens)
    pick_and_confirm(page, [QC_PENDING], screens, verdict=verdict)
    text = page.locator("#resultado").inner_text()
    assert ("APROBADA" if verdict == "APROBADO" else "RECHAZADA") in text
    assert Spool.objects.get(tag=QC_PENDING).metrologia == verdict


def test_a_spool_taken_on_another_tablet_disappears_within_a_second(tablet, server, request):
    screens = Screens(request.node.name)
    watcher, actor = tablet(), tablet()
    go_to_list(watcher, server.url, "ARMADO", "PS(96)", "TOMAR", screens)
    row = watcher.locator(f'.spool-row[data-tag="{ARM_PENDING}"]')
    assert row.count() == 1
    go_to_list(actor, server.url, "ARMADO", "DF(100)", None, screens)
    pick_and_confirm(actor, [ARM_PENDING], screens)
    row.wait_for(state="detached", timeout=1000)
    screens.shot(watcher, "desaparecido")


def test_two_tablets_confirm_the_same_spool_one_wins_the_other_sees_who(tablet, server, request):
    screens = Screens(request.node.name)
    first, second = tablet(), tablet()
    for page, label in ((first, "DF(100)"), (second, "PS(96)")):
        go_to_list(page, server.url, "ARMADO", label, "TOMAR", screens)
        page.locator(f'.spool-row[data-tag="{ARM_PENDING}"] input.pick').check()
        page.locator("#continue").click()
        page.wait_for_selector(".confirm-button")
    first.locator(".confirm-button").click()
    second.locator(".confirm-button").click()
    first.wait_for_selector("#resultado")
    second.wait_for_selector("#resultado")
    screens.shot(first, "primera")
    screens.shot(second, "segunda")
    texts = [first.locator("#resultado").inner_text(), second.locator("#resultado").inner_text()]
    assert sum("tomado por" in t for t in texts) == 1
    loser = next(t for t in texts if "tomado por" not in t)
    winner = Spool.objects.get(tag=ARM_PENDING).ocupado_por
    assert f"ocupado por {winner}" in loser


def test_a_double_click_on_confirm_applies_once(tablet, server, request):
    screens = Screens(request.node.name)
    page = tablet()
    go_to_list(page, server.url, "ARMADO", "DF(100)", None, screens)
    page.locator(f'.spool-row[data-tag="{ARM_PENDING}"] input.pick').check()
    page.locator("#continue").click()
    page.locator(".confirm-button").dblclick()
    page.wait_for_selector("#resultado")
    screens.shot(page, "resultado")
    assert Event.objects.filter(tag=ARM_PENDING, evento_tipo="TOMAR_SPOOL").count() == 1


def test_a_barcode_scanner_selects_the_spool(tablet, server, request):
    screens = Screens(request.node.name)
    page = tablet()
    go_to_list(page, server.url, "ARMADO", "DF(100)", None, screens)
    page.locator("body").click()  # nothing focused: the scanner types into the page
    page.keyboard.type(ARM_PENDING, delay=5)  # a scanner: fast characters, then Enter
    page.keyboard.press("Enter")
    page.wait_for_selector(f'.spool-row.selected[data-tag="{ARM_PENDING}"]')
    assert page.locator("#selected-count").inner_text() == "1"
    screens.shot(page, "escaneado")
    page.keyboard.type("MK-NO-EXISTE-1", delay=5)
    page.keyboard.press("Enter")
    page.wait_for_selector("#scan-message.error")
    assert "No existe el spool MK-NO-EXISTE-1" in page.locator("#scan-message").inner_text()
    screens.shot(page, "desconocido")


@pytest.mark.parametrize("viewport", [TABLET, PORTRAIT], ids=["1280x800", "800x1280"])
def test_the_primary_button_is_visible_without_scrolling_with_30_spools(
    browser, sheet_store, request, viewport
):
    many = [spool(f"MK-3000-TW-30000-{i:03d}", Fecha_Materiales="02-05-2026") for i in range(30)]
    build_workbook(spools=SPOOLS + many, workers=WORKERS)
    from spools.workbook.pull import pull

    pull(workers=True)
    user = station_user()
    srv = Server().start()
    try:
        context = browser.new_context(viewport=viewport, locale="es-CL")
        context.add_cookies(session_cookie(user, srv.url))
        page = context.new_page()
        page.goto(srv.url + "/t/ARM/100/TOMAR/")
        assert page.locator(".spool-row").count() >= 30
        for box in page.locator(".spool-row input.pick").all()[:30]:
            box.check()
        button = page.locator("#continue")
        box = button.bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]
        assert box["height"] >= 64  # a gloved finger
        screens = Screens(request.node.name)
        screens.shot(page, "lista-30")
        button.click()  # the confirmation of 30 spools: its button on screen too
        confirm = page.locator(".confirm-button")
        confirm.wait_for()
        box = confirm.bounding_box()
        assert box and box["y"] + box["height"] <= viewport["height"]
        screens.shot(page, "confirmar-30")
        context.close()
    finally:
        srv.stop()


def test_a_confirmation_lost_to_the_wifi_can_be_retried_safely(tablet, server, request):
    screens = Screens(request.node.name)
    page = tablet()
    go_to_list(page, server.url, "ARMADO", "DF(100)", None, screens)
    page.locator(f'.spool-row[data-tag="{ARM_PENDING}"] input.pick').check()
    page.locator("#continue").click()
    page.wait_for_selector(".confirm-button")
    page.context.set_offline(True)
    page.locator(".confirm-button").click()
    page.wait_for_selector("#send-error:not([hidden])")
    assert "Reintentar" in page.locator("#send-error").inner_text()
    screens.shot(page, "sin-wifi")
    page.context.set_offline(False)
    page.locator("#send-error button.retry").click()
    page.wait_for_selector("#resultado")
    screens.shot(page, "reintento")
    assert "tomado por DF(100)" in page.locator("#resultado").inner_text()
    assert Event.objects.filter(tag=ARM_PENDING, evento_tipo="TOMAR_SPOOL").count() == 1
