"""Mi registro: a worker's own day of unions and pulgadas-diámetro, one tap from the tablet.

The plant below, by hand (DAY = Tuesday 12-05-2026, plant time):

    spool 002 (ARM_PENDING)       spool 004 (ARM_PAUSED)
    n  DN   tipo  ARM                     SOLD
    1  2    BW    MR(93) 08:00-09:00 DAY  JP(94) 13:30-14:00 DAY
    2  2.5  BW    MR(93) 08:00-10:30 DAY  —                       (welder pendiente)
    3  4    FW    MR(93) 10:30-11:00 DAY  —                       (FW: no SOLD)
    4  6    SO    DF(100) 14:00-15:00 DAY —
    5  3    BW    DF(100) 22:45-23:30 DAY —                       (late: still DAY)
    6  1.5  BW    MR(93) 15:00-16:00 DAY-1
    7  8    BW    MR(93) 23:50 DAY → 00:10 DAY+1                  (belongs to DAY+1)
    004/1  10  BW MR(93) 12:00-13:00 DAY  JP(94) 15:00-16:00 DAY

    MR(93) on DAY: ARM 002 → 1, 2, 3 = 8,5 PD; ARM 004 → 1 = 10 PD; 18,5 PD, 4 uniones, 2 spools
    DF(100) on DAY: ARM 002 → 4, 5 = 9 PD
    JP(94) on DAY: SOLD 002 → 1 = 2 PD; SOLD 004 → 1 = 10 PD; 12 PD
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.html import strip_tags

from spools.models import Worker
from spools.selectors import worker_registro
from tests.browser import PORTRAIT, TABLET, Screens, Server, needs_chromium, session_cookie
from tests.plant import (
    ARM_PAUSED,
    ARM_PENDING,
    build_plant,
    logged_in,
    station_user,
    tv_user,
)
from tests.unions import DAY, at, union

pytestmark = pytest.mark.django_db

BEFORE, AFTER = DAY - timedelta(days=1), DAY + timedelta(days=1)


def build_unions() -> None:
    mr, df, jp = "MR(93)", "DF(100)", "JP(94)"
    union(
        ARM_PENDING,
        1,
        "2",
        arm=(mr, at(DAY, "08:00"), at(DAY, "09:00")),
        sol=(jp, at(DAY, "13:30"), at(DAY, "14:00")),
    )
    union(ARM_PENDING, 2, "2.5", arm=(mr, at(DAY, "08:00"), at(DAY, "10:30")))
    union(ARM_PENDING, 3, "4", "FW", arm=(mr, at(DAY, "10:30"), at(DAY, "11:00")))
    union(ARM_PENDING, 4, "6", "SO", arm=(df, at(DAY, "14:00"), at(DAY, "15:00")))
    union(ARM_PENDING, 5, "3", arm=(df, at(DAY, "22:45"), at(DAY, "23:30")))
    union(ARM_PENDING, 6, "1.5", arm=(mr, at(BEFORE, "15:00"), at(BEFORE, "16:00")))
    union(ARM_PENDING, 7, "8", arm=(mr, at(DAY, "23:50"), at(AFTER, "00:10")))
    union(
        ARM_PAUSED,
        1,
        "10",
        arm=(mr, at(DAY, "12:00"), at(DAY, "13:00")),
        sol=(jp, at(DAY, "15:00"), at(DAY, "16:00")),
    )


@pytest.fixture
def floor(plant):
    build_unions()


@pytest.fixture
def tablet(floor, db):
    return logged_in(station_user())


def registro_of(client, worker_id: int, fecha=DAY, **params):
    query = {"fecha": fecha.isoformat()} if fecha else {}
    return client.get(f"/registro/{worker_id}/", {**query, **params})


def text(response) -> str:
    """The page as a person reads it: no tags, one space between words."""
    return re.sub(r"\s+", " ", unescape(strip_tags(response.text)))


def groups(response) -> list[tuple]:
    return [
        (g.tag, g.operacion, g.numbers, g.pd, g.others) for g in response.context["registro"].groups
    ]


# --- what a worker sees ----------------------------------------------------------------


def test_a_fitters_day_is_grouped_by_spool_with_pd_span_and_the_welder(tablet):
    page = registro_of(tablet, 93)
    assert page.status_code == 200
    registro = page.context["registro"]
    assert (registro.pd, registro.n_unions, registro.n_spools) == (Decimal("18.5"), 4, 2)
    assert groups(page) == [
        (
            ARM_PENDING,
            "ARM",
            [1, 2, 3],
            Decimal("8.5"),
            {"JP(94)": [1], "pendiente": [2], "no requiere": [3]},
        ),
        (ARM_PAUSED, "ARM", [1], Decimal("10"), {"JP(94)": [1]}),
    ]
    first = registro.groups[0]
    assert (first.start, first.end) == (at(DAY, "08:00"), at(DAY, "11:00"))
    shown = text(page)
    assert "MR(93) Mario Rojas" in shown
    assert "18,5 PD" in shown and "4 uniones" in shown and "2 spools" in shown
    assert f"ARM {ARM_PENDING} 8,5 PD" in shown
    assert "Uniones 1, 2, 3" in shown
    assert "08:00 – 11:00" in shown
    assert "Soldador JP(94) (1) · pendiente (2) · no requiere (3)" in shown
    assert "Martes 12 de mayo de 2026" in shown


def test_two_fitters_splitting_one_spools_unions_each_see_their_own_pd(tablet):
    mario, diego = registro_of(tablet, 93), registro_of(tablet, 100)
    assert groups(mario)[0][:4] == (ARM_PENDING, "ARM", [1, 2, 3], Decimal("8.5"))
    assert groups(diego) == [(ARM_PENDING, "ARM", [4, 5], Decimal("9"), {"pendiente": [4, 5]})]
    assert "9,0 PD" in text(diego)


def test_a_union_finished_at_2330_plant_time_counts_on_that_day(tablet):
    diego = registro_of(tablet, 100).context["registro"]
    assert diego.groups[0].end == at(DAY, "23:30")  # 03:30 UTC the next day
    assert registro_of(tablet, 100, fecha=AFTER).context["registro"].groups == []
    # And one finished ten minutes after midnight belongs to the next day.
    mario_after = registro_of(tablet, 93, fecha=AFTER).context["registro"]
    assert [(g.tag, g.numbers, g.pd) for g in mario_after.groups] == [
        (ARM_PENDING, [7], Decimal("8"))
    ]
    assert "23:50" in text(registro_of(tablet, 93, fecha=AFTER))  # the span shows its start


def test_a_welder_sees_who_fitted_the_unions_they_welded(tablet):
    page = registro_of(tablet, 94)
    assert groups(page) == [
        (ARM_PENDING, "SOLD", [1], Decimal("2"), {"MR(93)": [1]}),
        (ARM_PAUSED, "SOLD", [1], Decimal("10"), {"MR(93)": [1]}),
    ]
    assert page.context["registro"].pd == Decimal("12")
    assert "Armador MR(93)" in text(page)


def test_the_last_seven_days_pd_as_bars_ending_on_the_day_shown(tablet):
    week = registro_of(tablet, 93).context["registro"].week
    assert [b.day for b in week] == [DAY - timedelta(days=6 - i) for i in range(7)]
    assert [b.pd for b in week] == [0, 0, 0, 0, 0, Decimal("1.5"), Decimal("18.5")]
    assert [round(b.percent) for b in week] == [0, 0, 0, 0, 0, 8, 100]
    assert [b.current for b in week] == [False] * 6 + [True]
    page = registro_of(tablet, 93)
    assert page.text.count('class="week-day') == 7
    assert 'href="?fecha=2026-05-11"' in page.text  # each bar opens its day


def test_a_day_without_unions_says_so(tablet):
    page = registro_of(tablet, 96)
    assert page.status_code == 200
    assert "0,0 PD" in text(page) and "Sin uniones terminadas este día." in text(page)


def test_previous_and_next_day_links_keep_the_way_back(tablet):
    page = registro_of(tablet, 93, volver="/t/ARM/")
    assert 'href="?fecha=2026-05-11&amp;volver=/t/ARM/"' in page.text
    assert 'href="?fecha=2026-05-13&amp;volver=/t/ARM/"' in page.text
    assert 'href="/t/ARM/">Volver</a>' in page.text


def test_without_fecha_it_is_today_in_plant_time_and_there_is_no_next_day(tablet):
    now = timezone.now()
    union(ARM_PAUSED, 2, "3", arm=("MR(93)", now - timedelta(minutes=5), now))
    page = registro_of(tablet, 93, fecha=None)
    registro = page.context["registro"]
    assert registro.day == timezone.localdate()
    assert [(g.tag, g.numbers) for g in registro.groups] == [(ARM_PAUSED, [2])]
    assert registro.next_day is None
    assert 'rel="next"' not in page.text and "Día siguiente" in page.text


def test_volver_only_leads_to_this_site(tablet):
    page = registro_of(tablet, 93, volver="https://evil.example/")
    assert "evil" not in page.text
    assert page.context["volver"] == ""


def test_an_unknown_worker_is_404_and_a_bad_date_400(tablet):
    missing = registro_of(tablet, 12345)
    assert missing.status_code == 404
    assert "No existe el trabajador 12345" in missing.text
    for bad in ("12-05-2026", "2026-02-30", "0001-01-01", "mañana"):
        answer = tablet.get("/registro/93/", {"fecha": bad})
        assert answer.status_code == 400, bad
        assert "Fecha no válida" in answer.text


def test_whoever_may_see_spool_pages_may_see_it(floor, db):
    tv = logged_in(tv_user())
    assert registro_of(tv, 93).status_code == 200
    User.objects.create_user("nadie", password="pw-nadie")
    assert registro_of(logged_in(User.objects.get(username="nadie")), 93).status_code == 403


def test_it_is_a_handful_of_indexed_queries(floor, django_assert_num_queries):
    worker = Worker.objects.get(pk=93)
    with django_assert_num_queries(4):  # the day's ARM and SOLD; the week's ARM and SOLD
        registro = worker_registro(worker, DAY)
        assert registro.pd == Decimal("18.5")


def test_the_worker_step_links_every_worker_to_mi_registro(tablet):
    page = tablet.get("/t/ARM/")
    for worker_id in (93, 96, 100):
        assert f'href="/registro/{worker_id}/?volver=/t/ARM/"' in page.text
    assert "Mi registro" in page.text
    # METROLOGÍA's inspectors register no unions.
    assert "Mi registro" not in tablet.get("/t/METROLOGIA/").text


# --- in a real browser, as a worker with gloves --------------------------------------------

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.mark.browser
@needs_chromium
@pytest.mark.django_db(transaction=True)
def test_mi_registro_in_a_browser_landscape_portrait_and_printed(browser, sheet_store, request):
    screens = Screens(request.node.name)
    build_plant()
    build_unions()
    user = station_user()
    server = Server().start()
    try:
        context = browser.new_context(viewport=TABLET, locale="es-CL")
        context.add_cookies(session_cookie(user, server.url))
        page = context.new_page()
        page.goto(server.url + "/t/SOLD/")
        screens.shot(page, "trabajador")
        link = page.get_by_role("link", name="Mi registro de JP(94)")
        box = link.bounding_box()
        assert box["height"] >= 56 and box["width"] >= 150  # a gloved finger fits
        link.click()
        page.wait_for_selector(".registro")
        assert "/registro/94/" in page.url
        page.get_by_role("link", name="‹ Día anterior").wait_for()
        page.goto(f"{server.url}/registro/93/?fecha={DAY.isoformat()}&volver=/t/ARM/")
        screens.shot(page, "registro-1280x800")
        assert "18,5 PD" in page.locator(".total-pd").inner_text()
        for target in page.locator(
            ".registro-nav a, .registro-actions a, .registro-actions button"
        ).all():
            assert target.bounding_box()["height"] >= 60
        page.locator(".week-day.current a").wait_for()

        page.emulate_media(media="print")
        screens.shot(page, "impreso")
        assert not page.locator(".topbar").is_visible()
        assert not page.locator(".registro-nav").is_visible()
        page.emulate_media(media="screen")

        page.set_viewport_size(PORTRAIT)
        screens.shot(page, "registro-800x1280")
        page.get_by_role("link", name="‹ Día anterior").click()
        page.wait_for_url("**fecha=2026-05-11**")
        screens.shot(page, "dia-anterior-800x1280")
        assert "1,5 PD" in page.locator(".total-pd").inner_text()
        page.get_by_role("link", name="Volver").click()
        page.wait_for_url("**/t/ARM/")
        context.close()
    finally:
        server.stop()
