"""Unions on the wall: today's pulgadas-diámetro (the plant total, and per worker for ARM and
SOLD as bars), and union progress chips on occupied spools — the same chips the tablet's
spool rows show.

Today's plant, by hand (plant time):
    ARM  MR(93): 2 + 2,5 = 4,5 PD (two unions)   DF(100): 6 PD
    SOLD JP(94): 2 PD
    yesterday 23:59 and tomorrow 00:05 do not count      total 12,5 PD (ARM 10,5 · SOLD 2)
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.utils import timezone
from django.utils.html import strip_tags

from dashboard.live import FRAGMENTS, render_live_fragments
from dashboard.selectors import pd_today
from tests.browser import TABLET, Screens, Server, needs_chromium, session_cookie
from tests.plant import (
    ARM_DONE,
    ARM_IN_PROGRESS,
    ARM_PENDING,
    SOLD_IN_PROGRESS,
    build_plant,
    logged_in,
    station_user,
    tv_user,
)
from tests.unions import at, recount, union

pytestmark = pytest.mark.django_db
WALL = {"width": 1920, "height": 1080}


def build_today() -> None:
    today = timezone.localdate()
    yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)
    mr, df, jp = "MR(93)", "DF(100)", "JP(94)"
    union(
        ARM_PENDING,
        1,
        "2",
        arm=(mr, at(today, "00:30"), at(today, "00:45")),
        sol=(jp, at(today, "01:00"), at(today, "23:30")),
    )
    union(ARM_PENDING, 2, "2.5", arm=(mr, at(today, "08:00"), at(today, "09:00")))
    union(ARM_PENDING, 3, "6", "SO", arm=(df, at(today, "10:00"), at(today, "11:00")))
    union(ARM_PENDING, 4, "8", arm=(mr, at(yesterday, "23:00"), at(yesterday, "23:59")))
    union(ARM_PENDING, 5, "10", arm=(df, at(today, "23:00"), at(tomorrow, "00:05")))


@pytest.fixture
def wall(plant, db):
    build_today()
    return logged_in(tv_user())


def text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(strip_tags(html)))


def test_todays_pd_in_total_and_per_worker_and_trade(wall):
    today = pd_today()
    assert (today.total, today.arm_pd, today.sold_pd) == (
        Decimal("12.5"),
        Decimal("10.5"),
        Decimal("2"),
    )
    assert [(w.worker, w.pd, w.unions) for w in today.arm] == [
        ("DF(100)", Decimal("6"), 1),
        ("MR(93)", Decimal("4.5"), 2),
    ]
    assert [(w.worker, w.pd, w.unions) for w in today.sold] == [("JP(94)", Decimal("2"), 1)]
    # Bars measure against the day's best worker, whatever the trade.
    assert [round(w.percent) for w in today.arm + today.sold] == [100, 75, 33]


def test_the_wall_shows_todays_pd_as_a_fragment_of_its_own(wall):
    page = wall.get("/dashboard/")
    assert page.status_code == 200
    assert 'id="pd-today"' in page.text
    shown = text(page.text)
    assert "12,5 PD ARM 10,5 PD · SOLD 2,0 PD" in shown
    assert "DF(100) 6,0 PD" in shown and "MR(93) 4,5 PD" in shown and "JP(94) 2,0 PD" in shown
    assert 'style="width: 75%"' in page.text


def test_the_pd_fragment_is_pushed_with_the_others(wall):
    assert "dashboard/_pd_today.html" in FRAGMENTS
    pushed = render_live_fragments(oob=True)
    assert 'id="pd-today" hx-swap-oob="true"' in pushed
    assert "12,5 PD" in text(pushed)


def test_a_quiet_day_says_so(plant, db):
    page = logged_in(tv_user()).get("/dashboard/")
    assert "0,0 PD" in text(page.text) and "Sin uniones hoy." in page.text


def test_occupied_spools_with_unions_show_progress_chips(wall):
    from spools.models import Spool

    Spool.objects.filter(tag=ARM_IN_PROGRESS).update(
        uniones_total=7, uniones_arm=3, uniones_sold_total=6, uniones_sold=2
    )
    page = wall.get("/dashboard/")
    row = re.search(r'<li id="occ-' + ARM_IN_PROGRESS + r'".*?</li>', page.text, re.S)[0]
    assert "ARM 3/7 · SOLD 2/6" in text(row)
    other = re.search(r'<li id="occ-' + SOLD_IN_PROGRESS + r'".*?</li>', page.text, re.S)[0]
    assert "union-chips" not in other  # no unions: no chips


def test_a_spool_needing_no_welding_shows_only_arm(wall):
    from spools.models import Spool

    Spool.objects.filter(tag=ARM_IN_PROGRESS).update(uniones_total=2, uniones_arm=2)
    row = re.search(
        r'<li id="occ-' + ARM_IN_PROGRESS + r'".*?</li>', wall.get("/dashboard/").text, re.S
    )[0]
    assert "ARM 2/2" in text(row) and "SOLD" not in text(row).split(ARM_IN_PROGRESS)[1]
    assert "chip-done" in row


def test_the_tablets_spool_rows_show_the_same_chips(plant, db):
    day = timezone.localdate() - timedelta(days=1)
    fitted = ("MR(93)", at(day, "08:00"), at(day, "09:00"))
    union(ARM_DONE, 1, "2", arm=fitted, sol=("JP(94)", at(day, "10:00"), at(day, "11:00")))
    for n in (2, 3, 4):
        union(ARM_DONE, n, "2", arm=fitted)
    union(ARM_DONE, 5, "2", "FW", arm=fitted)
    recount(ARM_DONE)
    page = logged_in(station_user()).get("/t/SOLD/94/TOMAR/")
    row = re.search(r'<li id="spool-' + ARM_DONE + r'".*?</li>', page.text, re.S)[0]
    assert "ARM 5/5 · SOLD 1/4" in text(row)


# --- the wall in a real browser ----------------------------------------------------------

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.mark.browser
@needs_chromium
@pytest.mark.django_db(transaction=True)
def test_the_wall_with_pd_bars_and_chips_in_a_browser(browser, sheet_store, request):
    from spools.models import Spool

    screens = Screens(request.node.name)
    build_plant()
    build_today()
    Spool.objects.filter(tag=ARM_IN_PROGRESS).update(
        uniones_total=7, uniones_arm=3, uniones_sold_total=6, uniones_sold=2
    )
    server = Server().start()
    try:
        context = browser.new_context(viewport=WALL, locale="es-CL")
        context.add_cookies(session_cookie(tv_user(), server.url))
        screen = context.new_page()
        screen.goto(server.url + "/dashboard/")
        screen.wait_for_selector("#conn.conn-ok")
        screens.shot(screen, "muro")
        assert "12,5 PD" in screen.locator("#pd-today .pd-total").inner_text()
        assert screen.locator("#pd-today .pd-worker").count() == 3
        panel = screen.locator(".panel-pd").bounding_box()
        assert panel["y"] + panel["height"] <= WALL["height"]  # on screen, nothing to scroll
        assert "ARM 3/7" in screen.locator(f"#occ-{ARM_IN_PROGRESS}").inner_text()
        context.close()

        # The same chips on a tablet's spool row.
        tablet = browser.new_context(viewport=TABLET, locale="es-CL")
        tablet.add_cookies(session_cookie(station_user(), server.url))
        page = tablet.new_page()
        page.goto(f"{server.url}/t/ARM/93/PAUSAR/")
        row = page.locator(f'.spool-row[data-tag="{ARM_IN_PROGRESS}"]')
        assert row.locator(".union-chips").text_content() == "ARM 3/7 · SOLD 2/6"
        screens.shot(page, "fila-tableta")
        tablet.close()
    finally:
        server.stop()
