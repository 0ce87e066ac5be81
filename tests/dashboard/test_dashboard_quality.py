"""The wall TV tells why a spool is stuck and since when, and takes turns showing a quality
panel: today's rejections with their reason, and the welders over the line this week."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.live import render_live_fragments
from spools.lifecycle import EventoTipo
from tests.plant import ARM_PAUSED, BLOCKED, QC_PENDING, build_plant, logged_in, tv_user
from tests.supervision.plant import JP, MR, PS, event, pause
from tests.unions import recount, union


@pytest.fixture
def wall(sheet_store, db):
    build_plant()
    return logged_in(tv_user())


def section(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start : html.index("</div>", start)]


def test_a_long_pause_says_why_and_since_when(wall, settings):
    settings.ZEUES_LONG_OCCUPATION_HOURS = 8
    since = timezone.now() - timedelta(hours=10)
    pause(ARM_PAUSED, when=since, motivo="esperando_grua")
    alerts = section(wall.get("/dashboard/").text, "alerts")
    assert "Detenidos hace más de 8 h" in alerts
    assert ARM_PAUSED in alerts and "Esperando grúa" in alerts
    assert f"desde {timezone.localtime(since):%d-%m %H:%M}" in alerts
    assert "10h 00m" in alerts or "9h 59m" in alerts


def test_a_short_pause_is_not_an_alert(wall):
    pause(ARM_PAUSED, when=timezone.now() - timedelta(hours=1), motivo="fin_turno")
    assert ARM_PAUSED not in section(wall.get("/dashboard/").text, "alerts")


def test_a_blocked_spool_says_the_reason_of_the_rejection_that_blocked_it(wall):
    when = timezone.now() - timedelta(days=2)
    event(BLOCKED, EventoTipo.COMPLETAR_METROLOGIA, when, resultado="RECHAZADO", ciclo=3,
          motivo="fisura")  # fmt: skip
    alerts = section(wall.get("/dashboard/").text, "alerts")
    assert "Fisura" in alerts and f"desde {timezone.localtime(when):%d-%m %H:%M}" in alerts


def test_the_quality_panel_shows_todays_rejections_and_the_welders_over_the_line(wall):
    now = timezone.now()
    for n, welder in ((1, JP), (2, JP), (3, PS)):
        union(QC_PENDING, n, "2", arm=(MR, now, now), sol=(welder, now, now))
    recount(QC_PENDING)
    event(QC_PENDING, EventoTipo.COMPLETAR_METROLOGIA, now, resultado="RECHAZADO", ciclo=1,
          motivo="porosidad", uniones=[3])  # fmt: skip
    panel = section(wall.get("/dashboard/").text, "quality")
    assert QC_PENDING in panel and "Porosidad" in panel and "uniones 3" in panel
    assert "Soldadores sobre 5 % esta semana" in panel
    assert "PS(96)" in panel and "100,0 %" in panel  # 1 of its 1 union
    assert "JP(94)" not in panel  # 0 of 2


def test_the_weeks_repair_rates_are_worked_out_once_a_minute_rejections_stay_live(wall):
    now = timezone.now()
    union(QC_PENDING, 1, "2", arm=(MR, now, now), sol=(PS, now, now))
    recount(QC_PENDING)
    event(QC_PENDING, EventoTipo.COMPLETAR_METROLOGIA, now, resultado="RECHAZADO", ciclo=1,
          motivo="porosidad", uniones=[1])  # fmt: skip
    with CaptureQueriesContext(connection) as first:
        before = section(render_live_fragments(oob=True), "quality")
    event(BLOCKED, EventoTipo.COMPLETAR_METROLOGIA, now, resultado="RECHAZADO", ciclo=3,
          motivo="fisura")  # fmt: skip
    with CaptureQueriesContext(connection) as second:
        after = section(render_live_fragments(oob=True), "quality")
    assert "PS(96)" in before and "PS(96)" in after
    assert BLOCKED not in before and BLOCKED in after  # today's rejections: every publish
    assert len(second.captured_queries) < len(first.captured_queries)


def test_the_quality_panel_is_pushed_with_the_other_fragments(wall):
    html = render_live_fragments(oob=True)
    assert 'id="quality" hx-swap-oob="true"' in html
    assert "Ningún rechazo hoy." in html and "Todos bajo la línea." in html
