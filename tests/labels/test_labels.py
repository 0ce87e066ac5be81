"""Spool labels over HTTP: the label page, the batch of an OT or NV, who may see them.

The QR codes themselves are read back from real screenshots in test_labels_browser.py."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from spools.labels import qr_svg
from spools.models import Spool
from tests.builders import spool
from tests.plant import ARM_PENDING, NO_MATERIALS, build_plant, logged_in, station_user, tv_user
from tests.unions import recount, union

pytestmark = pytest.mark.django_db

MAT = "02-05-2026"
ODD_TAG = 'MK-9/A<b>&"1 ñ'
OT_77 = ["MK-0077-TW-1/01", "MK-0077-TW-1/02", "MK-0077-TW-2/01"]
OTHERS = [
    spool(OT_77[2], OT="OT-77", NV="NV-2", Fecha_Materiales=MAT),
    spool(OT_77[0], OT="OT-77", NV="NV-1", Fecha_Materiales=MAT),
    spool(OT_77[1], OT="OT-77", NV="NV-1"),
    spool("MK-0078-TW-1/01", OT="OT-78", NV="NV-1", Fecha_Materiales=MAT),
    spool("MK-0770-TW-1/01", OT="OT-770", NV="NV-1"),  # OT-77 is not a prefix match
    spool(ODD_TAG, OT="OT-<9>", NV="NV-&9"),
]


@pytest.fixture
def floor(sheet_store):
    build_plant(OTHERS)


def label_url(tag: str, **query: str) -> str:
    url = reverse("spool-etiqueta", args=[tag])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def tags_on(page) -> list[str]:
    return [unescape(t) for t in re.findall(r'<p class="label-tag">(.*?)</p>', page.text)]


def test_a_label_shows_the_tag_ot_nv_and_unions(floor):
    union(ARM_PENDING, 1, "2")
    union(ARM_PENDING, 2, "3")
    recount(ARM_PENDING)
    page = logged_in(station_user()).get(label_url(ARM_PENDING))
    assert page.status_code == 200
    assert tags_on(page) == [ARM_PENDING]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))
    assert "OT OT-1923" in text and "NV NV-17422" in text and "Uniones 2" in text
    assert page.text.count('<svg viewBox="0 0 ') == 1
    # The label printer's paper by default, A4 on request; a made-up format is the default.
    assert "formato-etiqueta" in page.text
    assert (
        "formato-a4" in logged_in(station_user("t2")).get(label_url(ARM_PENDING, formato="a4")).text
    )
    assert (
        "formato-etiqueta"
        in logged_in(station_user("t3")).get(label_url(ARM_PENDING, formato="x")).text
    )


def test_a_tag_with_a_slash_has_its_label_and_its_page(floor):
    client = logged_in(station_user())
    label = client.get(f"/spools/{OT_77[0]}/etiqueta/")
    assert label.status_code == 200 and tags_on(label) == [OT_77[0]]
    page = client.get(f"/spools/{OT_77[0]}/")
    assert page.status_code == 200 and "label-tag" not in page.text


def test_a_tag_with_html_characters_stays_text(floor):
    page = logged_in(station_user()).get(label_url(ODD_TAG))
    assert page.status_code == 200
    assert tags_on(page) == [ODD_TAG]
    assert "<b>" not in page.text and "&lt;b&gt;" in page.text
    assert "OT-&lt;9&gt;" in page.text and "NV-&amp;9" in page.text
    # The SVG is module paths only: nothing of the TAG reaches it.
    svg = qr_svg(ODD_TAG)
    assert re.fullmatch(r'<svg viewBox="0 0 \d+ \d+" class="qr">(<path [^<>]*/>)+</svg>', svg)
    assert svg in page.text


def test_unknown_tag_is_a_spanish_404(floor):
    response = logged_in(station_user()).get(label_url("NO-EXISTE"))
    assert response.status_code == 404
    assert "No existe el spool NO-EXISTE" in response.text


@pytest.mark.parametrize("url", [f"/spools/{ARM_PENDING}/etiqueta/", "/etiquetas/?ot=OT-1923"])
def test_labels_need_a_login(client, floor, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("url", [f"/spools/{ARM_PENDING}/etiqueta/", "/etiquetas/?ot=OT-1923"])
def test_an_account_without_spool_rights_is_refused(floor, url):
    nobody = User.objects.create_user("nobody", password="pw-nobody")
    assert logged_in(nobody).get(url).status_code == 403
    assert logged_in(tv_user()).get(url).status_code == 200  # the wall TV's account may


def test_the_batch_of_an_ot_has_every_spool_of_it_and_nothing_else(floor):
    page = logged_in(station_user()).get("/etiquetas/", {"ot": "OT-77"})
    assert page.status_code == 200
    assert tags_on(page) == sorted(OT_77)
    assert page.text.count('<svg viewBox="0 0 ') == 3
    assert "<strong>3</strong> etiquetas" in page.text
    # A4 by default: the three on one sheet.
    assert page.text.count('class="label-sheet"') == 1


def test_the_batch_of_an_nv_or_of_both(floor):
    client = logged_in(station_user())
    nv = client.get("/etiquetas/", {"nv": "nv-1"})  # typed in lower case
    assert tags_on(nv) == sorted([OT_77[0], OT_77[1], "MK-0078-TW-1/01", "MK-0770-TW-1/01"])
    both = client.get("/etiquetas/", {"ot": "OT-77", "nv": "NV-1", "formato": "etiqueta"})
    assert tags_on(both) == [OT_77[0], OT_77[1]]
    assert both.text.count('class="label-sheet"') == 2  # one label a page


def test_a_batch_leaves_out_spools_gone_from_the_sheet(floor):
    Spool.objects.filter(tag=OT_77[1]).update(sheet_row=None)
    page = logged_in(station_user()).get("/etiquetas/", {"ot": "OT-77"})
    assert tags_on(page) == [OT_77[0], OT_77[2]]


def test_an_a4_sheet_holds_ten_labels(floor):
    page = logged_in(station_user()).get("/etiquetas/", {"ot": "OT-1923", "formato": "a4"})
    assert len(tags_on(page)) == 2
    Spool.objects.filter(tag__startswith="MK-1923-").update(ot="OT-1923")
    page = logged_in(station_user("t2")).get("/etiquetas/", {"ot": "OT-1923"})
    assert len(tags_on(page)) == 14
    assert page.text.count('class="label-sheet"') == 2


def test_the_batch_form_alone_and_an_unknown_ot(floor):
    client = logged_in(station_user())
    form = client.get("/etiquetas/")
    assert form.status_code == 200 and tags_on(form) == []
    assert 'name="ot"' in form.text and '<option value="OT-77">' in form.text
    none = client.get("/etiquetas/", {"ot": "OT-404"})
    assert none.status_code == 200 and tags_on(none) == []
    assert "Ningún spool de la hoja con OT «OT-404»." in none.text
    bad = client.get("/etiquetas/", {"ot": "OT-77", "formato": "A3"})
    assert bad.status_code == 400 and tags_on(bad) == []
    assert NO_MATERIALS not in bad.text
