"""Badge scans and the PIN pad in a real browser (issue 15): a keyboard-wedge scanner's
burst and Enter on the worker step picks the worker; so does the camera's read; an unknown
badge is told in place; with ZEUES_WORKER_PIN on, the digit pad takes gloved taps on
1280x800 and 800x1280. Screenshots under test-artifacts/screens/<test>/."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from occupation.models import WorkerPin
from spools.models import Event
from tests.badges import give_badges, give_pin
from tests.browser import PORTRAIT, TABLET, Screens, Server, needs_chromium, session_cookie
from tests.plant import ARM_PENDING, build_plant, station_user

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

BADGE_100 = "0004451299"  # DF(100): typed into a number cell, the sheet lost the zeros


def start_server(pins: bool) -> Server:
    build_plant()
    give_badges({100: 4451299})
    give_pin(100, "4821")
    # Hashed as the server hashes (the tests' own fast hasher is not among its hashers).
    hasher = PBKDF2PasswordHasher()
    WorkerPin.objects.filter(pk=100).update(pin_hash=hasher.encode("4821", hasher.salt()))
    return Server(extra_env={"ZEUES_WORKER_PIN": "1" if pins else "0"}).start()


@pytest.fixture
def server(sheet_store):
    srv = start_server(pins=False)
    yield srv
    srv.stop()


@pytest.fixture
def pin_server(sheet_store):
    srv = start_server(pins=True)
    yield srv
    srv.stop()


@pytest.fixture
def open_tablet(browser):
    user = station_user()
    contexts = []

    def open_(srv: Server, viewport=TABLET):
        context = browser.new_context(viewport=viewport, locale="es-CL")
        context.add_cookies(session_cookie(user, srv.url))
        contexts.append(context)
        page = context.new_page()
        page.goto(srv.url + "/t/ARM/")
        page.wait_for_function("() => !!window.htmx")
        return page

    yield open_
    for c in contexts:
        c.close()


def confirm(page, screens: Screens) -> None:
    """Pick ARM_PENDING, continue, confirm: as a worker would."""
    page.locator(f'.spool-row[data-tag="{ARM_PENDING}"] input.pick').check()
    page.locator("#continue").click()
    page.wait_for_selector(".confirm")
    assert "identificacion=" in page.url  # the list's form carried the token on
    # The confirmation form carries the token on to POST /acciones/.
    assert page.locator('#confirm-form input[name="identificacion"]').count() == 1
    screens.shot(page, "confirmacion")
    page.locator(".confirm-button").click()
    page.wait_for_selector("#resultado")
    screens.shot(page, "resultado")


def identificado_por(tag: str) -> list[str]:
    """What the spool's Metadata rows say (the events the server wrote for the sheet)."""
    return [e.metadata_json.get("identificado_por") for e in Event.objects.filter(tag=tag)]


def test_a_badge_scan_on_the_worker_step_picks_the_worker(open_tablet, server, request):
    screens = Screens(request.node.name)
    page = open_tablet(server)
    screens.shot(page, "trabajador")
    # A keyboard-wedge scanner: the code typed fast, then Enter, with nothing focused.
    page.keyboard.type(BADGE_100, delay=5)
    page.keyboard.press("Enter")
    page.wait_for_url("**/t/ARM/100/TOMAR/?identificacion=*")
    page.wait_for_selector(".spools-step")
    screens.shot(page, "spools")
    assert "DF(100)" in page.locator(".steps").inner_text()
    assert BADGE_100 not in page.content() and "4451299" not in page.content()
    confirm(page, screens)
    assert "tomado por DF(100)" in page.locator("#resultado").inner_text()
    assert identificado_por(ARM_PENDING) == ["badge"]


def test_an_unknown_badge_is_told_in_place_then_the_camera_reads_the_right_one(
    open_tablet, server, request
):
    screens = Screens(request.node.name)
    page = open_tablet(server)
    page.keyboard.type("ZZ-NADIE-77", delay=5)
    page.keyboard.press("Enter")
    message = page.locator("#badge-message.error")
    message.wait_for()
    screens.shot(page, "desconocida")
    assert "Credencial no reconocida" in message.inner_text()
    assert "ZZ-NADIE-77" not in page.content()
    assert "/t/ARM/" == page.url.removeprefix(server.url)  # still on the worker step
    # A person typing slowly then Enter is not a scanner: nothing is sent.
    page.keyboard.type("4451299", delay=150)
    page.keyboard.press("Enter")
    page.wait_for_timeout(500)
    assert "Credencial no reconocida" in message.inner_text()
    # The camera reader (static/js/scan.js) announces its read the same way.
    page.evaluate(
        """(code) => document.dispatchEvent(
            new CustomEvent("zeues:scanned", {detail: {code}}))""",
        BADGE_100,
    )
    page.wait_for_url("**/t/ARM/100/TOMAR/?identificacion=*")


@pytest.mark.parametrize("viewport", [TABLET, PORTRAIT], ids=["1280x800", "800x1280"])
def test_the_pin_pad_takes_gloved_taps(open_tablet, pin_server, request, viewport):
    screens = Screens(request.node.name)
    page = open_tablet(pin_server, viewport)
    page.locator(".choice.worker", has_text="DF(100)").click()
    page.wait_for_selector(".pin-pad")
    screens.shot(page, "pin")
    keys = page.locator(".pin-key")
    assert keys.count() == 12
    for i in range(keys.count()):
        box = keys.nth(i).bounding_box()
        assert box["height"] >= 64 and box["width"] >= 64  # gloves
        assert box["y"] + box["height"] <= viewport["height"]  # all on screen, no scrolling

    def tap(pin: str) -> None:
        for digit in pin:
            page.locator(f'[data-pin-digit="{digit}"]').click()
        page.locator(".pin-enter").click()

    tap("0000")
    page.wait_for_selector("#pin-message.error")
    screens.shot(page, "pin-incorrecto")
    assert page.locator("#pin-message").inner_text() == "PIN incorrecto, le quedan 4 intentos."
    page.locator("[data-pin-erase]").click()  # an empty field stays empty
    tap("4821")
    page.wait_for_url("**/t/ARM/100/TOMAR/?identificacion=*")
    page.wait_for_selector(".spools-step")
    screens.shot(page, "spools")
    if viewport is TABLET:
        confirm(page, screens)
        assert identificado_por(ARM_PENDING) == ["pin"]
