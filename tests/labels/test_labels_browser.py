"""Spool labels in a real browser: the QR code on the screen and on the paper reads back as
the TAG exactly (zxing-cpp decodes the screenshots), whatever the TAG holds.

Screenshots are kept under test-artifacts/screens/<test>/ to look at.
"""

from __future__ import annotations

import io
import os
import re
from urllib.parse import quote

import pytest
import zxingcpp
from PIL import Image

from tests.browser import PORTRAIT, TABLET, Screens, Server, needs_chromium, session_cookie
from tests.builders import spool
from tests.plant import ARM_PENDING, build_plant, station_user

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SLASH = "MK-0077-TW-1/01"
ACCENTS = "Spool Ñandú 3/á"
HTML = 'MK-9/A<b>&"1'
OT_77 = [SLASH, "MK-0077-TW-1/02", "MK-0077-TW-2/01", "MK-0077-TW-2/02"]
EXTRA = [
    *(spool(tag, OT="OT-77", NV="NV-1", Fecha_Materiales="02-05-2026") for tag in OT_77),
    spool(ACCENTS, OT="OT-ÑU", NV="NV-1"),
    spool(HTML, OT="OT-<9>", NV="NV-&9"),
    spool("MK-0078-TW-1/01", OT="OT-78", NV="NV-1"),
]
MM = 96 / 25.4  # CSS pixels per millimetre


@pytest.fixture
def server(sheet_store):
    build_plant(EXTRA)
    srv = Server().start()
    yield srv
    srv.stop()


@pytest.fixture
def open_page(browser, server):
    user = station_user()
    contexts = []

    def open_page(viewport=TABLET, scale=1):
        context = browser.new_context(viewport=viewport, locale="es-CL", device_scale_factor=scale)
        context.add_cookies(session_cookie(user, server.url))
        contexts.append(context)
        return context.new_page()

    yield open_page
    for c in contexts:
        c.close()


def decoded(png: bytes) -> list[str]:
    """Every barcode zxing-cpp finds in a screenshot, as text."""
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert all(r.format == zxingcpp.BarcodeFormat.QRCode for r in results)
    return [r.text for r in results]


def label_url(base: str, tag: str, formato: str = "etiqueta") -> str:
    return f"{base}/spools/{quote(tag, safe='/')}/etiqueta/?formato={formato}"


@pytest.mark.parametrize(
    "tag", [ARM_PENDING, SLASH, ACCENTS, HTML], ids=["plain", "slash", "accents", "html"]
)
def test_the_label_qr_reads_back_as_the_tag(open_page, server, tag, request):
    screens = Screens(request.node.name)
    page = open_page()
    response = page.goto(label_url(server.url, tag))
    assert response.status == 200
    screens.shot(page, "pantalla")
    assert decoded(page.screenshot()) == [tag]
    assert page.locator(".label-tag").inner_text() == tag
    # The label's box on screen is the paper's: 100×50 mm, the QR code 46 mm square.
    box = page.locator(".label").bounding_box()
    assert (round(box["width"] / MM), round(box["height"] / MM)) == (100, 50)
    qr = page.locator(".label-qr svg").bounding_box()
    assert round(qr["width"] / MM) == round(qr["height"] / MM) == 46

    # As printed: only the label, at the label printer's size.
    page.emulate_media(media="print")
    page.set_viewport_size({"width": round(100 * MM), "height": round(50 * MM)})
    shot = page.screenshot()
    (screens.dir / "etiqueta-impresa.png").write_bytes(shot)
    assert decoded(shot) == [tag]
    assert not page.locator(".topbar").is_visible()
    assert not page.locator(".labels-toolbar").is_visible()


def test_the_printed_label_is_one_100x50_page(open_page, server):
    page = open_page()
    page.goto(label_url(server.url, SLASH))
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert pdf_pages(pdf) == [(100, 50)]
    page.goto(label_url(server.url, SLASH, "a4"))
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert pdf_pages(pdf) == [(210, 297)]


def pdf_pages(pdf: bytes) -> list[tuple[int, int]]:
    """Each page's size in millimetres, from the MediaBoxes of chromium's PDF."""
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    return [(round(float(w) / 72 * 25.4), round(float(h) / 72 * 25.4)) for w, h in boxes]


def test_an_a4_sheet_of_an_ot_reads_back_every_tag(open_page, server, request):
    screens = Screens(request.node.name)
    page = open_page(PORTRAIT)
    page.goto(f"{server.url}/etiquetas/")
    screens.shot(page, "formulario")
    page.locator("input[name=ot]").fill("OT-77")
    page.get_by_role("button", name="Ver etiquetas").click()
    page.wait_for_selector(".label")
    screens.shot(page, "hoja-a4-pantalla")
    assert page.locator(".label-tag").all_inner_texts() == sorted(OT_77)

    # The sheet as printed, at A4's size: ten labels fit, the four here all read.
    page.emulate_media(media="print")
    page.set_viewport_size({"width": round(210 * MM), "height": round(297 * MM)})
    shot = page.screenshot(full_page=True)
    (screens.dir / "hoja-a4-impresa.png").write_bytes(shot)
    assert sorted(decoded(shot)) == sorted(OT_77)
    assert pdf_pages(page.pdf(prefer_css_page_size=True)) == [(210, 297)]

    # The label printer's format: one label a page (a fresh tab: the print emulation and
    # the viewport set above would change chromium's PDF).
    page = open_page(PORTRAIT)
    page.goto(f"{server.url}/etiquetas/?ot=OT-77")
    page.get_by_role("link", name="Etiqueta 100×50 mm").click()
    page.wait_for_url(re.compile("formato=etiqueta"))
    screens.shot(page, "rollo-pantalla")
    assert pdf_pages(page.pdf(prefer_css_page_size=True)) == [(100, 50)] * len(OT_77)
