"""The reasons on the tablet, in a real browser, as a worker with gloves taps them: a
rejection asks why (one more tap after RECHAZADO, the failed unions ticked first), a pause
offers its reasons as chips that can be skipped. Screenshots of each step, at 1280x800 and
800x1280, go to test-artifacts/screens/<test>/.
"""

from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from spools.models import Event, Spool
from tests.browser import PORTRAIT, TABLET, Screens, Server, needs_chromium, session_cookie
from tests.plant import (
    ARM_IN_PROGRESS,
    ARM_PENDING,
    IN_REPAIR,
    QC_PENDING,
    add_unions,
    build_plant,
    station_user,
    union,
)

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM calls between browser steps

VIEWPORTS = pytest.mark.parametrize("viewport", [TABLET, PORTRAIT], ids=["1280x800", "800x1280"])
DONE = datetime(2026, 5, 11, 10, 0, tzinfo=ZoneInfo("America/Santiago"))


@pytest.fixture
def server(sheet_store):
    build_plant()
    srv = Server().start()
    yield srv
    srv.stop()


@pytest.fixture
def tablet(browser, server):
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


def only_event(tag: str, evento_tipo: str) -> Event:
    [event] = Event.objects.filter(tag=tag, evento_tipo=evento_tipo)
    return event


def on_screen(locator, viewport: dict) -> None:
    """Wholly inside the screen without scrolling, and big enough for a gloved finger."""
    box = locator.bounding_box()
    assert box, "not shown"
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], box
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], box
    assert box["height"] >= 64, box


def to_list(page, base: str, op: str, worker: str | None, accion: str | None) -> None:
    """From the start to the spools step, tapping like a worker."""
    page.goto(base + "/")
    page.get_by_role("link", name=op).click()
    if worker and not page.locator(".spools-step").count():
        page.locator(".choice.worker", has_text=worker).click()
    if accion and not page.locator(".spools-step").count():
        page.locator(".choice.action", has_text=accion).click()
    page.wait_for_selector(".spools-step")
    page.wait_for_function("() => !!window.htmx")


def confirm_page(page, tag: str, screens: Screens) -> None:
    page.locator(f'.spool-row[data-tag="{tag}"] input.pick').check()
    page.locator("#continue").click()
    page.wait_for_selector(".confirm")
    page.wait_for_function("() => !!window.htmx")
    screens.shot(page, "confirmacion")


@VIEWPORTS
def test_a_rejection_asks_why_in_one_more_tap(tablet, server, request, viewport):
    done = {"arm_fin": DONE, "arm_worker": "MR(93)", "sol_fin": DONE, "sol_worker": "JP(94)"}
    add_unions(QC_PENDING, *(union(n, dn, **done) for n, dn in ((1, "2"), (2, "3"), (3, "4"))))
    screens = Screens(request.node.name)
    page = tablet(viewport)
    to_list(page, server.url, "METROLOGÍA", "AD(95)", None)
    page.locator(f'.spool-row[data-tag="{QC_PENDING}"] input.pick').click()  # one: goes on
    page.wait_for_selector(".verdict")
    page.wait_for_function("() => !!window.htmx")
    screens.shot(page, "veredicto")
    on_screen(page.get_by_role("button", name="APROBADO"), viewport)
    on_screen(page.get_by_role("button", name="RECHAZADO"), viewport)

    page.get_by_role("button", name="RECHAZADO").click()
    page.wait_for_selector("#rechazo:not([hidden])")
    assert page.locator("#verdict").is_hidden()
    screens.shot(page, "por-que")
    for label in ("Porosidad", "Otro"):  # the first and the last reason, without scrolling
        on_screen(page.locator("#rechazo button.motivo", has_text=label), viewport)
    page.get_by_role("checkbox", name="Unión 2 con falla").check()
    screens.shot(page, "union-marcada")
    page.locator("#rechazo button.motivo", has_text="Falta de fusión").click()

    page.wait_for_selector("#resultado")
    screens.shot(page, "resultado")
    text = page.locator("#resultado").inner_text()
    assert "metrología RECHAZADA" in text and "Motivo: Falta de fusión." in text
    meta = only_event(QC_PENDING, "COMPLETAR_METROLOGIA").metadata_json
    assert (meta["resultado"], meta["motivo"], meta["uniones"]) == (
        "RECHAZADO",
        "falta_fusion",
        [2],
    )


def test_back_from_the_reasons_then_aprobado_sends_no_reason(tablet, server, request):
    screens = Screens(request.node.name)
    page = tablet()
    page.goto(f"{server.url}/t/METROLOGIA/95/COMPLETAR/confirmar/?tags={QC_PENDING}")
    page.wait_for_function("() => !!window.htmx")
    page.get_by_role("button", name="RECHAZADO").click()
    page.locator("#rechazo .rechazo-back").click()
    assert page.locator("#rechazo").is_hidden()
    screens.shot(page, "de-vuelta")
    page.get_by_role("button", name="APROBADO").click()
    page.wait_for_selector("#resultado")
    assert "APROBADA" in page.locator("#resultado").inner_text()
    meta = only_event(QC_PENDING, "COMPLETAR_METROLOGIA").metadata_json
    assert meta["resultado"] == "APROBADO" and "motivo" not in meta


@VIEWPORTS
def test_a_pause_with_a_reason_is_one_tap(tablet, server, request, viewport):
    screens = Screens(request.node.name)
    page = tablet(viewport)
    to_list(page, server.url, "ARMADO", "MR(93)", "PAUSAR")
    confirm_page(page, ARM_IN_PROGRESS, screens)
    chip = page.locator("button.motivo", has_text="Fin de turno")
    for label in ("Fin de turno", "Otro"):
        on_screen(page.locator("button.motivo", has_text=label), viewport)
    on_screen(page.locator(".confirm-button"), viewport)  # the way without a reason, too
    chip.click()
    page.wait_for_selector("#resultado")
    screens.shot(page, "resultado")
    assert "pausado. Motivo: Fin de turno." in page.locator("#resultado").inner_text()
    assert only_event(ARM_IN_PROGRESS, "PAUSAR_SPOOL").metadata_json["motivo"] == "fin_turno"
    assert Spool.objects.get(tag=ARM_IN_PROGRESS).ocupado_por == ""


def test_a_pause_may_skip_the_reason(tablet, server, request):
    screens = Screens(request.node.name)
    page = tablet()
    to_list(page, server.url, "REPARACIÓN", "PS(96)", "PAUSAR")
    confirm_page(page, IN_REPAIR, screens)
    page.locator(".confirm-button", has_text="sin motivo").click()
    page.wait_for_selector("#resultado")
    screens.shot(page, "resultado")
    text = page.locator("#resultado").inner_text()
    assert "pausado." in text and "Motivo" not in text
    assert "motivo" not in only_event(IN_REPAIR, "PAUSAR_REPARACION").metadata_json


def test_a_reason_survives_a_retry_after_the_wifi_drops(tablet, server, request):
    screens = Screens(request.node.name)
    page = tablet()
    to_list(page, server.url, "ARMADO", "MR(93)", "PAUSAR")
    confirm_page(page, ARM_IN_PROGRESS, screens)
    page.context.set_offline(True)
    page.locator("button.motivo", has_text="Falta de material").click()
    page.wait_for_selector("#send-error:not([hidden])")
    screens.shot(page, "sin-wifi")
    page.context.set_offline(False)
    page.locator("#send-error button.retry").click()
    page.wait_for_selector("#resultado")
    screens.shot(page, "reintento")
    assert "Motivo: Falta de material." in page.locator("#resultado").inner_text()
    assert only_event(ARM_IN_PROGRESS, "PAUSAR_SPOOL").metadata_json["motivo"] == "falta_material"


def test_the_union_step_pause_keeps_the_reason_through_liberar_sin_registrar(
    tablet, server, request
):
    add_unions(ARM_IN_PROGRESS, union(1, "2"), union(2, "3"))
    screens = Screens(request.node.name)
    page = tablet()
    to_list(page, server.url, "ARMADO", "MR(93)", "PAUSAR")
    page.locator(f'.spool-row[data-tag="{ARM_IN_PROGRESS}"] input.pick').check()
    page.locator("#continue").click()
    page.wait_for_selector("#union-form")
    page.wait_for_function("() => !!window.htmx")
    screens.shot(page, "uniones")
    on_screen(page.locator("#union-go"), TABLET)
    page.locator("#union-form button.motivo", has_text="Esperando grúa").click()
    page.wait_for_selector("#union-ask:not([hidden])")  # nothing ticked: asked first
    screens.shot(page, "liberar")
    page.locator("[data-liberar]").click()
    page.wait_for_selector("#resultado")
    screens.shot(page, "resultado")
    assert "Motivo: Esperando grúa." in page.locator("#resultado").inner_text()
    meta = only_event(ARM_IN_PROGRESS, "PAUSAR_SPOOL").metadata_json
    assert (meta["motivo"], meta["uniones"]) == ("esperando_grua", [])


def test_a_code_from_another_reader_selects_like_a_scanner(tablet, server, request):
    """The camera scanner hands codes over as a DOM event: the keyboard scanner's path."""
    screens = Screens(request.node.name)
    page = tablet()
    to_list(page, server.url, "ARMADO", "DF(100)", None)
    page.evaluate(
        "tag => document.dispatchEvent(new CustomEvent('zeues:scanned', {detail: {code: tag}}))",
        ARM_PENDING.lower(),  # read as printed: the match ignores case, as a scanner's
    )
    page.wait_for_selector(f'.spool-row.selected[data-tag="{ARM_PENDING}"]')
    assert page.locator("#selected-count").inner_text() == "1"
    page.evaluate(
        "() => document.dispatchEvent(new CustomEvent('zeues:scanned', "
        "{detail: {code: 'MK-NO-EXISTE-2'}}))"
    )
    page.wait_for_selector("#scan-message.error")
    assert "No existe el spool MK-NO-EXISTE-2" in page.locator("#scan-message").inner_text()
    screens.shot(page, "escaneado")
