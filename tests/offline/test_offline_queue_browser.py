"""A confirmation is never lost to the Wi-Fi: with the network cut (Playwright's offline
mode) the tablet keeps it, says so on every screen, and sends it when the network returns,
after a reload or a browser restart too. The server applies it once; a refusal is shown.

Each test saves screenshots under test-artifacts/screens/<test>/.
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from spools.models import Event, Spool
from tests.browser import PORTRAIT, TABLET, Screens, Server, needs_chromium, session_cookie
from tests.plant import (
    ARM_IN_PROGRESS,
    ARM_PENDING,
    add_unions,
    build_plant,
    station_user,
    union,
)

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]

# Playwright's sync API runs an event loop in this thread; the ORM calls between browser
# steps are plain synchronous code all the same.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SENT = 20_000  # ms: the sender waits 1-2.5 s after the network returns, then posts


@pytest.fixture
def server(sheet_store):
    build_plant()
    srv = Server().start()
    yield srv
    srv.stop()


@pytest.fixture
def tablet(browser, server):
    """A new tablet (browser context) logged in as its station account."""
    contexts = []
    users = {}

    def open_tablet(viewport=TABLET, user="tablet-1", storage_state=None):
        if user not in users:
            users[user] = station_user(user)
        context = browser.new_context(
            viewport=viewport, locale="es-CL", storage_state=storage_state
        )
        context.add_cookies(session_cookie(users[user], server.url))
        contexts.append(context)
        return context.new_page()

    yield open_tablet
    for c in contexts:
        c.close()


def offline_ready(page, base: str) -> None:
    """The start screen once online, and the service worker in charge of the page."""
    page.goto(base + "/")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


def confirm_tomar_offline(page, base: str, worker_id: int, screens: Screens) -> None:
    """TOMAR ARM of ARM_PENDING by that worker, confirmed with the network cut."""
    page.goto(f"{base}/t/ARM/{worker_id}/TOMAR/")
    page.locator(f'.spool-row[data-tag="{ARM_PENDING}"] input.pick').check()
    page.locator("#continue").click()
    page.wait_for_selector(".confirm-button")
    page.wait_for_function("() => !!window.htmx")
    page.context.set_offline(True)
    page.locator(".confirm-button").click()
    page.wait_for_selector("#send-error:not([hidden])")
    screens.shot(page, "pendiente")


def tomar_events() -> int:
    return Event.objects.filter(tag=ARM_PENDING, evento_tipo="TOMAR_SPOOL").count()


def test_a_confirmation_made_offline_survives_a_reload_and_is_applied_once(tablet, server, request):
    screens = Screens(request.node.name)
    page = tablet()
    offline_ready(page, server.url)
    confirm_tomar_offline(page, server.url, 100, screens)
    assert "Sin conexión: quedó pendiente de envío" in page.locator("#send-error").inner_text()
    assert not page.locator(".confirm-button").is_visible()  # no second tap
    assert page.locator("#envios-toggle").inner_text() == "1 pendiente de envío"
    assert page.locator("#sin-red").is_visible()

    page.reload()  # the service worker answers with the start screen it keeps
    assert page.url == server.url + "/"
    page.wait_for_selector(".op-grid")
    assert page.locator("#envios-toggle").inner_text() == "1 pendiente de envío"
    page.locator("#envios-toggle").click()
    pendiente = page.locator("#envios-pendientes li")
    assert pendiente.count() == 1
    assert f"TOMAR ARMADO · DF(100) · {ARM_PENDING}" in pendiente.inner_text()
    screens.shot(page, "inicio-sin-red-panel")
    page.locator("[data-envios-cerrar]").click()
    assert tomar_events() == 0  # nothing reached the server

    page.context.set_offline(False)
    aviso = page.locator("#envios-aviso")
    aviso.wait_for(timeout=SENT)
    screens.shot(page, "enviado")
    assert "Enviado:" in aviso.inner_text() and "tomado por DF(100)" in aviso.inner_text()
    assert tomar_events() == 1
    assert Spool.objects.get(tag=ARM_PENDING).ocupado_por == "DF(100)"
    assert page.locator("#envios-toggle").inner_text() == "Envíos recientes"

    page.reload()  # online: nothing left to send, the result is kept
    page.locator("#envios-toggle").click()
    reciente = page.locator("#envios-recientes li")
    assert reciente.count() == 1
    assert "Enviado:" in reciente.inner_text() and "tomado por DF(100)" in reciente.inner_text()
    assert page.locator("#envios-pendientes li").count() == 0
    screens.shot(page, "recientes")
    assert tomar_events() == 1


def test_two_tablets_queue_the_same_spool_offline_one_wins_the_other_sees_the_refusal(
    tablet, server, request
):
    screens = Screens(request.node.name)
    first, second = tablet(user="tablet-1"), tablet(PORTRAIT, user="tablet-2")
    for page in (first, second):
        offline_ready(page, server.url)
    confirm_tomar_offline(first, server.url, 100, screens)  # DF(100)
    confirm_tomar_offline(second, server.url, 93, screens)  # MR(93)
    second.locator("#send-error a", has_text="Siguiente trabajador").click()
    second.wait_for_selector(".op-grid")  # the next worker has the tablet (offline)
    screens.shot(second, "siguiente-trabajador")

    first.context.set_offline(False)
    first.wait_for_selector("#resultado", timeout=SENT)  # it lands on the screen it left
    screens.shot(first, "gana")
    assert "tomado por DF(100)" in first.locator("#resultado").inner_text()
    assert "/t/resultado/" in first.url  # as a result sent at once: its own URL

    second.context.set_offline(False)
    aviso = second.locator("#envios-aviso")
    aviso.wait_for(timeout=SENT)
    screens.shot(second, "rechazo")
    assert "Rechazado:" in aviso.inner_text()
    assert "ocupado por DF(100)" in aviso.inner_text()
    second.locator("#envios-toggle").click()
    assert "Rechazado:" in second.locator("#envios-recientes li").inner_text()
    screens.shot(second, "rechazo-panel")

    assert tomar_events() == 1
    assert Spool.objects.get(tag=ARM_PENDING).ocupado_por == "DF(100)"


def test_a_pending_confirmation_survives_a_browser_restart(tablet, server, request, tmp_path):
    screens = Screens(request.node.name)
    page = tablet()
    offline_ready(page, server.url)
    confirm_tomar_offline(page, server.url, 100, screens)
    state = tmp_path / "tablet.json"
    page.context.storage_state(path=str(state))  # what the browser keeps on disk
    page.context.close()
    assert tomar_events() == 0

    page = tablet(storage_state=str(state))  # the browser opens again, online
    page.goto(server.url + "/")
    page.locator("#envios-aviso").wait_for(timeout=SENT)
    screens.shot(page, "enviado-al-reabrir")
    assert "tomado por DF(100)" in page.locator("#envios-aviso").inner_text()
    assert tomar_events() == 1


@pytest.mark.parametrize("turn", ["web-locks", "lease"])
def test_two_tabs_of_one_tablet_send_a_pending_confirmation_once(tablet, server, request, turn):
    screens = Screens(request.node.name)
    page = tablet()
    if turn == "lease":  # as on plain http (not a secure context): no Web Locks API
        page.context.add_init_script(
            "Object.defineProperty(Navigator.prototype, 'locks', {get: () => undefined})"
        )
    offline_ready(page, server.url)
    assert page.evaluate("() => navigator.locks === undefined") == (turn == "lease")
    confirm_tomar_offline(page, server.url, 100, screens)
    other = page.context.new_page()
    other.goto(server.url + "/")  # served from the cache: still offline
    assert other.locator("#envios-toggle").inner_text() == "1 pendiente de envío"
    posts = []
    for p in (page, other):
        p.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
    page.context.set_offline(False)
    other.locator("#envios-aviso").wait_for(timeout=SENT)  # every tab hears of it
    page.wait_for_selector("#resultado", timeout=SENT)
    assert len(posts) == 1  # one sender per browser
    assert tomar_events() == 1


def test_a_union_step_kept_offline_keeps_every_field_it_had(tablet, server, request):
    """The unions ticked, the reason tapped (the button's own value), the request_id."""
    add_unions(ARM_IN_PROGRESS, union(1, "2"), union(2, "3"))
    screens = Screens(request.node.name)
    page = tablet(PORTRAIT)
    offline_ready(page, server.url)
    page.goto(f"{server.url}/t/ARM/93/PAUSAR/")
    page.locator(f'.spool-row[data-tag="{ARM_IN_PROGRESS}"] input.pick').check()
    page.locator("#continue").click()
    page.wait_for_selector("#union-form")
    page.wait_for_function("() => !!window.htmx")
    page.locator('#union-form input.union-box[value="1"]').check()
    page.context.set_offline(True)
    page.locator("#union-form button.motivo", has_text="Esperando grúa").click()
    page.wait_for_selector("#send-error:not([hidden])")
    screens.shot(page, "pendiente")
    assert not page.locator("#union-go").is_visible()

    page.context.set_offline(False)
    page.wait_for_selector("#resultado", timeout=SENT)
    screens.shot(page, "resultado")
    text = page.locator("#resultado").inner_text()
    assert "1 unión registrada" in text and "Motivo: Esperando grúa." in text
    (event,) = Event.objects.filter(tag=ARM_IN_PROGRESS, evento_tipo="PAUSAR_SPOOL")
    assert (event.metadata_json["motivo"], event.metadata_json["uniones"]) == (
        "esperando_grua",
        [1],
    )


def test_an_expired_session_keeps_the_confirmation_pending_until_a_login(tablet, server, request):
    screens = Screens(request.node.name)
    page = tablet()
    offline_ready(page, server.url)
    confirm_tomar_offline(page, server.url, 100, screens)
    page.context.clear_cookies(name=settings.SESSION_COOKIE_NAME)  # the session ran out
    page.context.set_offline(False)
    note = page.locator("#envios-pendientes .envio-note")
    page.wait_for_function(
        "() => document.querySelector('#envios-pendientes .envio-note')"
        "?.textContent.includes('inicie sesión')",
        timeout=SENT,
    )
    page.locator("#envios-toggle").click()
    screens.shot(page, "sesion-vencida")
    assert "La sesión de esta tableta venció" in note.inner_text()
    assert tomar_events() == 0

    page.context.add_cookies(session_cookie(station_user("tablet-9"), server.url))
    page.locator("#envios-enviar").click()  # "Enviar ahora"
    page.wait_for_selector("#resultado", timeout=SENT)
    assert "tomado por DF(100)" in page.locator("#resultado").inner_text()
    assert page.locator("#envios-toggle").inner_text() == "Envíos recientes"
    assert tomar_events() == 1
