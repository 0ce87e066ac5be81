"""The "Escanear" button and scanning on the start screen, in a real browser.

Chromium's fake camera plays a video of a printed label's QR code (made here from segno's
PNG); the vendored ZXing build reads it through static/js/scan.js. A page of this test
carries the real templates/_scan_button.html and the real static files, served by the real
server (the start screen and the tablet steps include them through base.html).
"""

from __future__ import annotations

import io
import os
import re
from urllib.parse import quote

import pytest
import segno
from django.template.loader import render_to_string
from PIL import Image

from tests.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TABLET,
    Screens,
    Server,
    needs_chromium,
    session_cookie,
)
from tests.builders import spool
from tests.plant import ARM_PENDING, build_plant, station_user

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# What the camera sees: a label whose TAG has a "/", a space and accents.
LABEL_TAG = "Spool Ñandú 3/á"
SCRATCH = "/scan-test/"  # a page of this test, on the server's origin


def label_video(tag: str, path) -> None:
    """A few seconds of Y4M video (what chromium's fake camera plays): the TAG's QR code on
    a grey bench, the size a label has in a tablet's camera from ~30 cm."""
    png = io.BytesIO()
    segno.make(tag, error="q", micro=False).save(png, kind="png", scale=9, border=4)
    qr = Image.open(png).convert("RGB")
    frame = Image.new("RGB", (640, 480), (120, 124, 128))
    frame.paste(qr, ((640 - qr.width) // 2, (480 - qr.height) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    half = (320, 240)
    planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with open(path, "wb") as f:
        f.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(20):
            f.write(b"FRAME\n" + planes)


@pytest.fixture(scope="module")
def camera_browser(browser, tmp_path_factory):
    """A second chromium whose camera films a label (allowed where a test grants it)."""
    video = tmp_path_factory.mktemp("camera") / "label.y4m"
    label_video(LABEL_TAG, video)
    fake = [
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    b = browser.browser_type.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS + fake, headless=True
    )
    yield b
    b.close()


@pytest.fixture
def server(sheet_store):
    build_plant([spool(LABEL_TAG, OT="OT-ÑU"), spool("MK-0077-TW-1/01", OT="OT-77")])
    srv = Server().start()
    yield srv
    srv.stop()


def scratch_page(open_url: str | None) -> str:
    """A page with the real "Escanear" button and the scripts base.html loads for it (htmx,
    zeues.js — which tells a scanner's keystrokes from typing — and scan.js); `open_url`
    marks it as the start screen does (`data-scan-open-url`)."""
    button = render_to_string("_scan_button.html")
    mark = f' data-scan-open-url="{open_url}"' if open_url is not None else ""
    return (
        '<!doctype html><html lang="es-CL"><head><meta charset="utf-8">'
        '<link rel="stylesheet" href="/static/css/zeues.css">'
        '<link rel="stylesheet" href="/static/css/scan.css">'
        '<script src="/static/vendor/htmx/htmx-2.0.11.min.js" defer></script>'
        '<script src="/static/js/zeues.js" defer></script>'
        '<script src="/static/js/scan.js" defer></script></head>'
        f'<body{mark}><main id="main"><h1>Prueba</h1>{button}</main></body></html>'
    )


@pytest.fixture
def open_page(server):
    contexts = []

    def open_page(browser, open_url: str | None = None, origin: str | None = None, **options):
        context = browser.new_context(viewport=TABLET, locale="es-CL", **options)
        context.add_cookies(session_cookie(station_user(f"tablet-{len(contexts)}"), server.url))
        contexts.append(context)
        page = context.new_page()
        page.route(
            f"**{SCRATCH}",
            lambda route: route.fulfill(
                status=200, content_type="text/html; charset=utf-8", body=scratch_page(open_url)
            ),
        )
        if origin:  # another host name for the same server: its files come from the server
            page.route(
                f"{origin}/static/**",
                lambda route: route.fulfill(
                    response=route.fetch(url=route.request.url.replace(origin, server.url))
                ),
            )
        # A read anywhere is recorded, as the spools step would receive it.
        page.add_init_script(
            "window.scans = []; document.addEventListener('zeues:scanned',"
            " function (e) { window.scans.push(e.detail.code); });"
        )
        page.goto((origin or server.url) + SCRATCH)
        return page

    yield open_page
    for c in contexts:
        c.close()


def overlay(page):
    return page.locator(".scan-overlay")


def test_the_camera_reads_a_label_and_hands_the_tag_to_the_page(camera_browser, open_page, request):
    screens = Screens(request.node.name)
    page = open_page(camera_browser, permissions=["camera"])
    screens.shot(page, "boton")
    page.get_by_role("button", name="Escanear").click()
    expect_visible(overlay(page))
    page.wait_for_function("window.scans.length > 0", timeout=20000)
    assert page.evaluate("window.scans") == [LABEL_TAG]
    # The overlay closed and the camera was given back.
    assert not overlay(page).is_visible()
    assert page.evaluate("document.querySelector('.scan-video').srcObject") is None
    screens.shot(page, "leido")


def test_on_the_start_screen_a_camera_read_opens_the_spool(camera_browser, open_page, server):
    page = open_page(camera_browser, open_url="/spools/", permissions=["camera"])
    page.get_by_role("button", name="Escanear").click()
    page.wait_for_url(re.compile(r"/spools/.+/$"), timeout=20000)
    assert page.url == f"{server.url}/spools/{quote(LABEL_TAG, safe='/')}/"
    assert page.locator("h1.spool-tag").inner_text() == LABEL_TAG


def test_on_the_start_screen_a_keyboard_scanner_opens_the_spool(browser, open_page, server):
    page = open_page(browser, open_url="/spools/")
    # A person typing (slowly) and pressing Enter stays where they are.
    page.keyboard.type("MK-0077", delay=150)
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    assert page.url.endswith(SCRATCH)
    # A scanner: the whole TAG in a burst, then Enter.
    page.keyboard.type("MK-0077-TW-1/01", delay=5)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.url}/spools/MK-0077-TW-1/01/")
    assert page.locator("h1.spool-tag").inner_text() == "MK-0077-TW-1/01"


def test_a_scan_elsewhere_does_not_navigate(browser, open_page):
    page = open_page(browser)
    page.keyboard.type(ARM_PENDING, delay=5)
    page.keyboard.press("Enter")
    page.evaluate(
        "document.dispatchEvent(new CustomEvent('zeues:scanned', {detail: {code: 'X-1'}}))"
    )
    page.wait_for_timeout(300)
    assert page.url.endswith(SCRATCH)


def test_a_tablet_without_a_camera_says_so_and_closes(browser, open_page, request):
    screens = Screens(request.node.name)
    page = open_page(browser, permissions=["camera"])
    page.get_by_role("button", name="Escanear").click()
    error = overlay(page).locator(".scan-error")
    expect_visible(error)
    screens.shot(page, "sin-camara")
    assert error.inner_text() == "No se encontró ninguna cámara en este equipo."
    assert page.evaluate("window.scans") == []
    page.get_by_role("button", name="Cerrar").click()
    assert not overlay(page).is_visible()


def test_a_camera_not_allowed_says_how_to_allow_it(camera_browser, open_page):
    page = open_page(camera_browser)  # a camera, but the permission is not granted
    page.get_by_role("button", name="Escanear").click()
    error = overlay(page).locator(".scan-error")
    expect_visible(error)
    assert error.inner_text().startswith("No hay permiso para usar la cámara.")


def test_a_page_not_served_securely_explains_the_camera_needs_https(
    browser, open_page, server, request
):
    """http://zeues.planta/ (not localhost): the browser withholds the camera."""
    screens = Screens(request.node.name)
    page = open_page(browser, origin="http://zeues.planta")
    assert page.evaluate("window.isSecureContext") is False
    page.get_by_role("button", name="Escanear").click()
    error = overlay(page).locator(".scan-error")
    expect_visible(error)
    screens.shot(page, "sin-https")
    assert "https://" in error.inner_text()
    page.keyboard.press("Escape")
    assert not overlay(page).is_visible()


def expect_visible(locator) -> None:
    locator.wait_for(state="visible", timeout=10000)


def test_the_real_start_screen_opens_a_scanned_spool(browser, server):
    """The tablet's own start screen (not a test page) is marked for scans: a label read
    there opens that spool's page."""
    context = browser.new_context(viewport=TABLET, locale="es-CL")
    context.add_cookies(session_cookie(station_user("tablet-start"), server.url))
    try:
        page = context.new_page()
        page.goto(server.url + "/")
        page.wait_for_selector(".op-grid")
        page.keyboard.type("MK-0077-TW-1/01", delay=5)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{server.url}/spools/MK-0077-TW-1/01/")
        assert page.locator("h1.spool-tag").inner_text() == "MK-0077-TW-1/01"
    finally:
        context.close()
