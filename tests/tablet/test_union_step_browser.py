"""The union step in a real browser, as a worker with gloves goes through it, on a landscape
(1280×800) and a portrait (800×1280) tablet: every tap counted, the primary button on screen
without scrolling at every step, a screenshot per step under test-artifacts/screens/<test>/.
"""

from __future__ import annotations

import os

import pytest

from occupation.services import ActionCommand, perform_action
from spools.lifecycle import WorkState as W
from spools.models import Spool, Union
from spools.workbook.pull import pull
from tests.browser import PORTRAIT, TABLET, Screens, Server, needs_chromium, session_cookie
from tests.builders import build_workbook, spool
from tests.builders import union as union_row
from tests.plant import ARM_IN_PROGRESS, MAT, SPOOLS, WORKERS, station_user

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]

# Playwright's sync API runs an event loop in this thread; the ORM calls between browser
# steps are plain synchronous code all the same.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ONE = "MK-5001-U-001"  # one 4" butt weld, taken by DF(100)
FOUR = "MK-5001-U-002"  # 1 fitted by DF(100) yesterday; 2 (2½"), 3 (3"), 4 (1½" FW) to fit
LONG = "MK-5001-U-003"  # sixteen unions, none fitted (60,0 PD)
LONG_DN = ("2", "3", "4", "6")
WELD = "MK-5001-U-004"  # 1 welded; 2, 3 fitted by MR(93); 4 FW; 5 not fitted yet
FITTED = {
    "ARM_FECHA_INICIO": "11-05-2026 08:00:00",
    "ARM_FECHA_FIN": "11-05-2026 09:30:00",
    "ARM_WORKER": "MR(93)",
}
MAX_TAPS = 6
VIEWPORTS = pytest.mark.parametrize("viewport", [TABLET, PORTRAIT], ids=["1280x800", "800x1280"])


@pytest.fixture
def server(sheet_store):
    build_workbook(
        spools=[
            *SPOOLS,
            spool(ONE, OT="OT-5001", Fecha_Materiales=MAT),
            spool(FOUR, OT="OT-5001", Fecha_Materiales=MAT),
            spool(LONG, OT="OT-5001", Fecha_Materiales=MAT),
            spool(WELD, OT="OT-5001", Fecha_Materiales=MAT, Armador="MR(93)"),
        ],
        workers=WORKERS,
        uniones=[
            union_row(ONE, 1, OT="OT-5001", DN_UNION=4, TIPO_UNION="BW"),
            union_row(
                FOUR,
                1,
                OT="OT-5001",
                DN_UNION=2,
                TIPO_UNION="BW",
                ARM_FECHA_INICIO="11-05-2026 08:00:00",
                ARM_FECHA_FIN="11-05-2026 09:30:00",
                ARM_WORKER="DF(100)",
            ),
            union_row(FOUR, 2, OT="OT-5001", DN_UNION="2.5", TIPO_UNION="BW"),
            union_row(FOUR, 3, OT="OT-5001", DN_UNION=3, TIPO_UNION="SO"),
            union_row(FOUR, 4, OT="OT-5001", DN_UNION="1.5", TIPO_UNION="FW"),
            *(
                union_row(LONG, n, OT="OT-5001", DN_UNION=LONG_DN[n % 4], TIPO_UNION="BW")
                for n in range(1, 17)
            ),
            union_row(
                WELD,
                1,
                DN_UNION=2,
                TIPO_UNION="BW",
                **FITTED,
                SOL_FECHA_INICIO="11-05-2026 10:00:00",
                SOL_FECHA_FIN="11-05-2026 11:00:00",
                SOL_WORKER="JP(94)",
            ),
            union_row(WELD, 2, DN_UNION=3, TIPO_UNION="BW", **FITTED),
            union_row(WELD, 3, DN_UNION=4, TIPO_UNION="BR", **FITTED),
            union_row(WELD, 4, DN_UNION=2, TIPO_UNION="FW", **FITTED),
            union_row(WELD, 5, DN_UNION=6, TIPO_UNION="BW"),
        ],
    )
    pull(workers=True)
    srv = Server().start()
    yield srv
    srv.stop()


@pytest.fixture
def open_tablet(browser, server):
    user = station_user()
    contexts = []

    def open_(viewport):
        context = browser.new_context(viewport=viewport, locale="es-CL")
        context.add_cookies(session_cookie(user, server.url))
        contexts.append(context)
        return context.new_page()

    yield open_
    for c in contexts:
        c.close()


class Worker:
    """A gloved finger on one page: each tap counted and followed by a screenshot."""

    def __init__(self, page, screens: Screens, viewport: dict):
        self.page, self.screens, self.viewport = page, screens, viewport
        self.taps: list[str] = []

    def tap(self, locator, step: str) -> None:
        on_screen(locator, self.viewport)
        locator.click()
        self.taps.append(step)

    def look(self, step: str) -> None:
        self.page.wait_for_load_state()
        self.page.wait_for_function("() => !!window.htmx")
        self.screens.shot(self.page, step)


def on_screen(locator, viewport: dict, min_height: int = 64) -> None:
    """Visible without scrolling, and big enough for a gloved finger."""
    locator.wait_for()
    box = locator.bounding_box()
    assert box, locator
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (locator, box)
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (locator, box)
    assert box["height"] >= min_height, (locator, box)


@VIEWPORTS
def test_a_single_union_spool_is_finished_in_at_most_six_taps(
    open_tablet, server, request, viewport
):
    assert perform_action(ActionCommand("ARM", "TOMAR", 100, [ONE])).status == 200
    page = open_tablet(viewport)
    w = Worker(page, Screens(request.node.name), viewport)
    page.goto(server.url + "/")
    w.look("inicio")
    w.tap(page.get_by_role("link", name="ARMADO"), "operacion")
    w.look("trabajador")
    w.tap(page.locator(".choice.worker", has_text="DF(100)"), "trabajador")
    w.look("accion")
    w.tap(page.locator(".choice.action-finalizar"), "accion")
    page.wait_for_selector(".spools-step")
    w.look("spool")
    w.tap(page.locator(f'.spool-row[data-tag="{ONE}"] label'), "spool")
    page.wait_for_selector("#union-form")
    w.look("uniones")
    assert page.locator("#union-count").inner_text() == "1 de 1 · 4,0 PD"  # its only union
    assert "ARM queda completado" in page.locator(".union-outcome").inner_text()
    on_screen(page.locator(".union-pick label").first, viewport)
    w.tap(page.locator("#union-go"), "enviar")
    page.wait_for_selector("#resultado")
    w.look("resultado")

    assert "completado. 1 unión registrada (4,0 PD)" in page.locator("#resultado").inner_text()
    assert w.taps == ["operacion", "trabajador", "accion", "spool", "enviar"]
    assert len(w.taps) <= MAX_TAPS
    s = Spool.objects.get(tag=ONE)
    assert (s.arm, s.armador) == (W.COMPLETADO, "DF(100)")
    assert Union.objects.get(tag=ONE, n_union=1).arm_worker == "DF(100)"


@VIEWPORTS
def test_pausar_with_some_unions_ticked(open_tablet, server, request, viewport):
    assert perform_action(ActionCommand("ARM", "TOMAR", 93, [FOUR])).status == 200
    page = open_tablet(viewport)
    w = Worker(page, Screens(request.node.name), viewport)
    page.goto(server.url + "/t/ARM/93/")
    w.look("accion")
    w.tap(page.locator(".choice.action-pausar"), "accion")
    page.wait_for_selector(".spools-step")
    w.tap(page.locator(f'.spool-row[data-tag="{FOUR}"] label'), "spool")
    w.tap(page.locator("#continue"), "continuar")
    page.wait_for_selector("#union-form")
    assert f"/t/ARM/93/PAUSAR/uniones/?tags={FOUR}" in page.url
    w.look("uniones")
    count = page.locator("#union-count")
    assert count.inner_text() == "0 de 3 · 0,0 PD"
    done = page.locator(".union-pick.done")
    assert done.count() == 1 and "DF(100)" in done.inner_text()
    assert done.locator(".what").evaluate("e => getComputedStyle(e).textDecorationLine") == (
        "line-through"
    )
    for label in page.locator(".union-pick label").all():
        on_screen(label, viewport)  # three rows: all on screen, each ≥ 64 px

    # Nothing ticked: PAUSAR asks first, and "No" goes back to the unions.
    w.tap(page.locator("#union-go"), "pausar-sin-uniones")
    page.wait_for_selector("#union-ask:not([hidden])")
    w.look("liberar-sin-registrar")
    on_screen(page.locator("[data-liberar]"), viewport)
    w.tap(page.locator("#union-ask-no"), "no")
    page.wait_for_selector("#union-ask", state="hidden")

    w.tap(page.locator("#union-all"), "todas")
    assert count.inner_text() == "3 de 3 · 7,0 PD"
    assert page.locator("#union-all").inner_text() == "Ninguna"
    w.look("todas")
    w.tap(page.locator("#union-all"), "ninguna")
    assert count.inner_text() == "0 de 3 · 0,0 PD"
    w.tap(page.locator(".union-pick", has_text="2½").locator("label"), "union-2")
    w.tap(page.locator('.union-pick:has(input[value="3"]) label'), "union-3")
    assert count.inner_text() == "2 de 3 · 5,5 PD"
    w.look("dos-marcadas")
    w.tap(page.locator("#union-go"), "enviar")
    page.wait_for_selector("#resultado")
    w.look("resultado")

    assert "pausado. 2 uniones registradas (5,5 PD)" in page.locator("#resultado").inner_text()
    s = Spool.objects.get(tag=FOUR)
    assert (s.arm, s.ocupado_por, s.uniones_arm) == (W.PAUSADO, "", 3)
    mine = Union.objects.filter(tag=FOUR, arm_worker="MR(93)").values_list("n_union", flat=True)
    assert sorted(mine) == [2, 3]


@VIEWPORTS
def test_a_long_union_list_scrolls_between_the_counter_and_the_button(
    open_tablet, server, request, viewport
):
    assert perform_action(ActionCommand("ARM", "TOMAR", 93, [LONG])).status == 200
    page = open_tablet(viewport)
    w = Worker(page, Screens(request.node.name), viewport)
    page.goto(f"{server.url}/t/ARM/93/COMPLETAR/uniones/?tags={LONG}")  # a deep link
    w.look("completar-16")
    assert page.locator("#union-count").inner_text() == "16 de 16 · 60,0 PD"  # all pre-selected
    on_screen(page.locator("#union-go"), viewport)
    on_screen(page.locator("#union-count"), viewport, min_height=20)
    page.locator(".union-pick").last.scroll_into_view_if_needed()
    on_screen(page.locator(".union-pick label").last, viewport)  # the last row, scrolled to
    on_screen(page.locator("#union-go"), viewport)  # and the button still there
    w.look("completar-16-abajo")
    w.tap(page.locator(".union-pick label").last, "quitar-16")
    assert page.locator("#union-go").is_disabled()  # COMPLETAR needs them all
    assert "COMPLETAR necesita todas" in page.locator(".union-outcome").inner_text()
    w.look("completar-falta-una")

    # PAUSAR with nothing ticked: asked, then released without registering anything.
    page.goto(f"{server.url}/t/ARM/93/PAUSAR/uniones/?tags={LONG}")
    w.look("pausar-16")
    w.tap(page.locator("#union-go"), "pausar")
    page.wait_for_selector("#union-ask:not([hidden])")
    w.look("liberar-sin-registrar")
    w.tap(page.locator("[data-liberar]"), "si-liberar")
    page.wait_for_selector("#resultado")
    w.look("resultado")
    assert f"{LONG}: pausado." in page.locator("#resultado").inner_text()
    s = Spool.objects.get(tag=LONG)
    assert (s.arm, s.ocupado_por, s.uniones_arm) == (W.PAUSADO, "", 0)


@VIEWPORTS
def test_a_pausar_batch_with_unions_explains_one_spool_at_a_time(
    open_tablet, server, request, viewport
):
    for tag in (ONE, FOUR):
        assert perform_action(ActionCommand("ARM", "TOMAR", 93, [tag])).status == 200
    page = open_tablet(viewport)
    w = Worker(page, Screens(request.node.name), viewport)
    page.goto(server.url + "/t/ARM/93/PAUSAR/")
    page.wait_for_selector(".spools-step")
    for tag in (ARM_IN_PROGRESS, ONE, FOUR):
        w.tap(page.locator(f'.spool-row[data-tag="{tag}"] label'), f"spool-{tag}")
    w.tap(page.locator("#continue"), "continuar")
    page.wait_for_selector(".confirm")
    w.look("lote")
    assert "Las uniones se registran de a un spool" in page.locator(".one-by-one-note").inner_text()
    on_screen(page.locator(".confirm-button"), viewport)
    assert page.locator(".confirm-button").inner_text() == "Pausar 3 sin registrar uniones"
    links = page.locator(".one-by-one-link")
    assert links.count() == 2
    for i in range(2):
        on_screen(links.nth(i), viewport)
    w.tap(links.filter(has_text=FOUR), "marcar-uniones")
    page.wait_for_selector("#union-form")
    assert f"/t/ARM/93/PAUSAR/uniones/?tags={FOUR}" in page.url
    w.look("uniones-de-uno")


@VIEWPORTS
def test_a_welder_sees_who_fitted_each_union_and_terminar_pauses(
    open_tablet, server, request, viewport
):
    assert perform_action(ActionCommand("SOLD", "TOMAR", 94, [WELD])).status == 200
    page = open_tablet(viewport)
    w = Worker(page, Screens(request.node.name), viewport)
    page.goto(f"{server.url}/t/SOLD/94/")
    w.look("accion")
    w.tap(page.locator(".choice.action-finalizar"), "terminar")
    page.wait_for_selector(".spools-step")
    w.tap(page.locator(f'.spool-row[data-tag="{WELD}"] label'), "spool")
    page.wait_for_selector("#union-form")
    assert page.locator("#union-go").is_disabled()  # TERMINAR needs one union
    w.look("uniones")
    assert [t.split() for t in page.locator(".union-pick").all_inner_texts()] == [
        ["1", '2"', "BW", "hecha", "·", "JP(94)"],
        ["2", '3"', "BW", "armó", "MR(93)"],
        ["3", '4"', "BR", "armó", "MR(93)"],
        ["5", '6"', "BW", "falta", "armar"],
    ]
    w.tap(page.locator('.union-pick:has(input[value="2"]) label'), "union-2")
    assert page.locator("#union-count").inner_text() == "1 de 2 · 3,0 PD"
    assert (
        "Quedan 2 por hacer: el spool queda pausado" in page.locator(".union-outcome").inner_text()
    )
    w.look("una-marcada")
    w.tap(page.locator("#union-go"), "enviar")
    page.wait_for_selector("#resultado")
    w.look("resultado")
    assert "pausado. 1 unión registrada (3,0 PD)" in page.locator("#resultado").inner_text()
    assert len(w.taps) <= MAX_TAPS
    assert Union.objects.get(tag=WELD, n_union=2).sol_worker == "JP(94)"
