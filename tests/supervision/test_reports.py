"""/supervision/: who may see it, and its figures checked against a small plant computed by
hand (tests/supervision/plant.py), the exports equal to the tables on the page."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook

from spools.lifecycle import EventoTipo
from supervision import quality
from supervision.filters import Filters
from supervision.productivity import worker_days
from tests.plant import (
    ARM_PAUSED,
    BLOCKED,
    QC_PENDING,
    REJECTED_1,
    REPAIR_PAUSED,
    logged_in,
    station_user,
    tv_user,
)
from tests.supervision.plant import PERIOD, build_quality_plant, event, pause
from tests.unions import DAY, at

PAGES = ("productividad", "calidad", "flujo", "pausas")


@pytest.fixture
def boss(supervisor):
    return logged_in(supervisor)


@pytest.fixture
def quality_plant(sheet_store, db):
    build_quality_plant()


def period(**others) -> Filters:
    return Filters(DAY.replace(day=DAY.day - 6), DAY, **others)


# --- who may look --------------------------------------------------------------------------


@pytest.mark.parametrize("account", [station_user, tv_user])
def test_the_station_and_the_wall_tv_accounts_are_refused(db, account):
    client = logged_in(account())
    assert client.get("/supervision/").status_code == 403
    for page in PAGES:
        assert client.get(f"/supervision/{page}/").status_code == 403
        assert client.get(f"/supervision/{page}/?formato=csv").status_code == 403


def test_someone_not_logged_in_is_sent_to_the_login(client, db):
    answer = client.get("/supervision/calidad/")
    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")


def test_the_supervisor_sees_the_index_and_every_page(boss, quality_plant):
    index = boss.get("/supervision/")
    assert index.status_code == 200
    for page in PAGES:
        assert f'href="/supervision/{page}/"' in index.text
        answer = boss.get(f"/supervision/{page}/")
        assert answer.status_code == 200, page
        assert answer.text.count("<svg") >= 2 and "<script" not in answer.text.split("<main")[1]
        assert "formato=csv" in answer.text and "formato=xlsx" in answer.text


def test_an_unknown_page_is_a_spanish_404(boss, db):
    answer = boss.get("/supervision/ventas/")
    assert answer.status_code == 404
    assert "no existe" in answer.text


@pytest.mark.parametrize(
    "query, message",
    [
        ("desde=2026-13-01", "fecha inválida"),
        ("desde=2026-05-12&hasta=2026-05-01", "posterior"),
        ("formato=pdf", "Formato desconocido"),
    ],
)
def test_a_bad_filter_is_a_400_that_says_why_in_spanish(boss, db, query, message):
    answer = boss.get(f"/supervision/productividad/?{query}")
    assert answer.status_code == 400
    assert message in answer.text
    assert 'name="desde"' in answer.text  # the form is there to correct it


# --- the figures -----------------------------------------------------------------------------


def test_a_rejection_naming_unions_counts_against_their_welder_and_one_naming_none_is_shared(
    quality_plant,
):
    rates = {w.worker: w for w in quality.repair_rates(period())}
    assert set(rates) == {"JP(94)", "PS(96)"}
    jp, ps = rates["JP(94)"], rates["PS(96)"]
    # QC_PENDING named union 4 (PS's); REJECTED_1 named none: JP 2/3, PS 1/3 of one union.
    assert (jp.inspected, ps.inspected) == (18, 3)
    assert jp.rejected == pytest.approx(2 / 3)
    assert ps.rejected == pytest.approx(1 + 1 / 3)
    assert round(jp.rate, 1) == 3.7 and not jp.over_line
    assert round(ps.rate, 1) == 44.4 and ps.over_line
    assert [w.worker for w in quality.repair_rates(period(worker=94))] == ["JP(94)"]


def test_rejection_reasons_are_ranked_and_blocked_spools_say_why(quality_plant):
    event(REJECTED_1, EventoTipo.COMPLETAR_METROLOGIA, at(DAY, "17:00"),
          resultado="RECHAZADO", ciclo=2, motivo="porosidad")  # fmt: skip
    event(BLOCKED, EventoTipo.COMPLETAR_METROLOGIA, at(DAY, "09:00"),
          resultado="RECHAZADO", ciclo=3, motivo="fisura")  # fmt: skip
    assert quality.reasons(period()) == [("Porosidad", 2), ("Falta de fusión", 1), ("Fisura", 1)]
    # QC_PENDING reached cycle 1; REJECTED_1 cycle 2; BLOCKED cycle 3.
    assert quality.spools_by_cycle(period()) == [(1, 1), (2, 1), (3, 1)]
    (blocked,) = quality.blocked_now(period())
    assert (blocked.tag, blocked.motivo, blocked.since) == (BLOCKED, "Fisura", at(DAY, "09:00"))


def test_pd_per_worker_and_day_is_the_sum_of_their_unions_diameters(quality_plant):
    rows = {(w.day, w.operacion, w.worker): (w.unions, w.pd) for w in worker_days(period())}
    assert rows == {
        (DAY, "ARM", "MR(93)"): (17, Decimal("33")),
        (DAY, "SOLD", "JP(94)"): (15, Decimal("29")),
        (DAY, "SOLD", "PS(96)"): (2, Decimal("4")),
        # 23:30 in Santiago is still the day before (03:30 UTC of DAY).
        (DAY.replace(day=DAY.day - 1), "ARM", "PS(96)"): (1, Decimal("6")),
    }
    narrowed = worker_days(period(ot="OT-1923"))  # no spool of those has unions
    assert narrowed == []


def test_the_productivity_page_shows_the_plant_total(boss, quality_plant):
    html = boss.get("/supervision/productividad/", PERIOD).text
    plant = table_rows(html, "tabla-planta")
    assert plant[-1] == ["Total", "18", "39,0", "17", "33,0", "72,0"]
    assert ["12-05-2026", "17", "33,0", "17", "33,0", "66,0"] in plant


def test_the_open_pauses_say_why_and_since_when(boss, quality_plant):
    pause(ARM_PAUSED, motivo="falta_material")
    html = boss.get("/supervision/pausas/", PERIOD).text
    rows = {r[0]: r for r in table_rows(html, "tabla-abiertas")[1:]}
    assert rows[ARM_PAUSED][:6] == [
        ARM_PAUSED,
        "",
        "ARMADO",
        "Falta de material",
        "PS(96)",
        "12-05-2026 15:00",
    ]
    assert ["Falta de material", "1"] in table_rows(html, "tabla-motivos")
    # Paused in the sheet with no PAUSAR in the mirror: listed, the reason unknown, last.
    assert list(rows)[-1] == REPAIR_PAUSED and rows[REPAIR_PAUSED][3:6] == ["", "", ""]


def test_stage_times_are_the_median_and_p90_of_the_spools(boss, quality_plant):
    for i, (tag, hours) in enumerate([(QC_PENDING, 2), (REJECTED_1, 4)]):
        event(tag, EventoTipo.TOMAR_SPOOL, at(DAY, f"0{i}:00"), operacion="ARM")
        event(tag, EventoTipo.COMPLETAR_ARM, at(DAY, f"0{i + hours}:00"), operacion="ARM")
    html = boss.get("/supervision/flujo/", PERIOD).text
    rows = {r[0]: r[1:] for r in table_rows(html, "tabla-tiempos")}
    assert rows["ARM (de TOMAR a COMPLETAR)"] == ["2", "2,0", "4,0"]
    # REJECTED_1: rejected at 13:00 and not repaired yet; nothing measured.
    assert rows["Reparación (del rechazo a reparado)"] == ["0", "", ""]


# --- exports ---------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("when", [PERIOD, {"desde": "2025-01-01", "hasta": "2025-01-03"}])
def test_the_csv_and_the_xlsx_are_exactly_the_tables_on_the_page(boss, quality_plant, page, when):
    pause(ARM_PAUSED, motivo="fin_turno")
    html = boss.get(f"/supervision/{page}/", when).text
    shown = all_tables(html)
    answer = boss.get(f"/supervision/{page}/", {**when, "formato": "csv"})
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/csv")
    assert "attachment" in answer["Content-Disposition"]
    exported = csv_tables(answer.content.decode("utf-8-sig"), len(shown))
    assert exported == shown
    book = load_workbook(
        io.BytesIO(boss.get(f"/supervision/{page}/", {**when, "formato": "xlsx"}).content)
    )
    assert [len(list(ws.iter_rows())) for ws in book.worksheets] == [len(t) for t in shown]


# --- helpers: reading the page as a person does -------------------------------------------


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current: str | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and (a.get("id") or "").startswith("tabla-"):
            self.current = a["id"]
            self.tables[self.current] = []
        elif tag == "tr" and self.current and "sup-empty-row" not in (a.get("class") or ""):
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.tables[self.current].append(self.row)
            self.row = None
        elif tag == "section":
            self.current = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def all_tables(html: str) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return list(parser.tables.values())


def table_rows(html: str, key: str) -> list[list[str]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables[key]


def csv_tables(text: str, count: int) -> list[list[list[str]]]:
    """Several tables: each a title row, its header and rows, a blank line between them."""
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    if count == 1:
        return [rows]
    tables: list[list[list[str]]] = [[]]
    for row in rows:
        if not row:
            tables.append([])
        else:
            tables[-1].append(row)
    return [t[1:] for t in tables]  # without the title row


def test_the_dashboard_links_the_reports_for_a_supervisor_only(boss, db):
    assert 'href="/supervision/"' in boss.get("/dashboard/").text
    assert 'href="/supervision/"' not in logged_in(tv_user()).get("/dashboard/").text


def test_the_start_screen_links_the_reports_for_a_supervisor_only(boss, db):
    assert 'href="/supervision/"' in boss.get("/").text
    assert 'href="/supervision/"' not in logged_in(station_user()).get("/").text
