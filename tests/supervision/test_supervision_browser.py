"""The supervision reports in a real browser: every page draws its pictures (SVG, offline,
no script), its tables and download links, on a landscape and a portrait tablet, and
prints; and the wall TV takes turns showing its quality panel."""

from __future__ import annotations

import os

import pytest
from django.utils import timezone

from spools.lifecycle import EventoTipo
from tests.browser import PORTRAIT, TABLET, Screens, Server, needs_chromium, session_cookie
from tests.plant import ARM_PAUSED, QC_PENDING, make_user, tv_user
from tests.supervision.plant import PERIOD, build_quality_plant, event, pause

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
PAGES = ("productividad", "calidad", "flujo", "pausas")


@pytest.mark.parametrize("viewport", [TABLET, PORTRAIT], ids=["1280x800", "800x1280"])
def test_every_report_page_draws_its_pictures_and_tables(browser, sheet_store, request, viewport):
    screens = Screens(request.node.name)
    build_quality_plant()
    pause(ARM_PAUSED, motivo="falta_material")
    boss = make_user("ana", "Supervisor", staff=True)
    server = Server().start()
    try:
        context = browser.new_context(viewport=viewport, locale="es-CL")
        context.add_cookies(session_cookie(boss, server.url))
        page = context.new_page()
        errors: list[str] = []
        page.on(
            "response",
            lambda r: errors.append(r.url) if r.status >= 400 and "favicon" not in r.url else None,
        )
        page.goto(server.url + "/supervision/")
        screens.shot(page, "indice")
        page.locator("a.sup-card", has_text="Calidad").click()
        page.wait_for_selector("#grafico-tasa svg")
        query = "&".join(f"{k}={v}" for k, v in PERIOD.items())
        for name in PAGES:
            page.goto(f"{server.url}/supervision/{name}/?{query}")
            charts = page.locator("figure.sup-chart svg")
            assert charts.count() >= 2, name
            for i in range(charts.count()):
                box = charts.nth(i).bounding_box()
                assert box and box["width"] > 200 and box["height"] > 80, name
                assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 1, name
            assert page.locator("section.sup-table table").count() >= 1, name
            assert page.locator("a.sup-button", has_text="Descargar CSV").is_visible()
            screens.shot(page, name)
        # The repair-rate picture: PS(96) over the line, the line drawn at 5 %.
        page.goto(f"{server.url}/supervision/calidad/?{query}")
        chart = page.locator("#grafico-tasa svg")
        drawn = chart.text_content()
        assert "PS(96)" in drawn and "5,0 %" in drawn
        page.emulate_media(media="print")
        assert not page.locator("form.sup-filters").is_visible()
        assert page.locator("#grafico-tasa svg").is_visible()
        screens.shot(page, "impresion")
        assert errors == []
    finally:
        server.stop()


def test_the_wall_tv_takes_turns_showing_the_quality_panel(browser, sheet_store, request):
    screens = Screens(request.node.name)
    build_quality_plant()
    event(QC_PENDING, EventoTipo.COMPLETAR_METROLOGIA, timezone.now(), resultado="RECHAZADO",
          ciclo=2, motivo="socavado")  # fmt: skip
    tv = tv_user()
    server = Server().start()
    try:
        context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="es-CL")
        context.add_cookies(session_cookie(tv, server.url))
        screen = context.new_page()
        screen.goto(server.url + "/dashboard/")
        screen.wait_for_selector("#conn.conn-ok")
        events, panel = screen.locator(".panel-events"), screen.locator(".panel-quality")
        assert events.is_visible() and not panel.is_visible()
        screens.shot(screen, "movimientos")
        panel.wait_for(state="visible", timeout=25_000)  # its turn: 20 s each
        assert not events.is_visible()
        assert "Socavado" in panel.inner_text() and QC_PENDING in panel.inner_text()
        screens.shot(screen, "calidad")
    finally:
        server.stop()
