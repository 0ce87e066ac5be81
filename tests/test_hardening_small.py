"""Small hardening items: /healthz publishes a classified sync error (never its text), DOM
ids are injective in the TAG, and `load_demo --if-empty` reads narrow sheets within their
grid. Real database, the local Sheets backend through real gspread."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from occupation.live import LiveList, render_changes
from occupation.services import ActionCommand, perform_action
from spools.lifecycle import Accion, Operacion
from spools.models import Spool, SyncState, Worker
from spools.sheets import open_workbook
from spools.templatetags.zeues import dom_id
from spools.workbook.columns import OPERACIONES
from spools.workbook.gateway import spreadsheet_id
from spools.workbook.sync import run_cycle
from tests.builders import build_workbook, spool, worker
from tests.plant import MAT, build_plant

pytestmark = pytest.mark.django_db

# --- /healthz: a classified message, the details stay in SyncState and the log -----------


def sheet_health(client) -> dict:
    response = client.get("/healthz")
    assert response.status_code == 200
    return response.json()["sheet"]


def assert_no_details(sheet: dict) -> None:
    text = str(sheet)
    for leak in (spreadsheet_id(), "http", "googleapis", "Error", "Connection refused"):
        assert leak not in text, f"{leak!r} leaked into /healthz: {text}"


def test_an_outage_shows_a_classified_message_without_url_or_id(plant, sheet_store, client):
    sheet_store.set_outage(True)

    first = run_cycle(pull_now=True)
    assert first.error
    state = SyncState.get()
    assert spreadsheet_id() in state.last_error  # the details are kept for the admin/log
    since = state.last_error_since
    run_cycle(pull_now=True)  # still failing the same way: "since" does not move

    sheet = sheet_health(client)
    assert sheet["last_error"].startswith("sin conexión desde ")
    assert sheet["last_error_kind"] == "conexion"
    assert sheet["last_error_since"] == since.isoformat()
    assert SyncState.get().last_error_since == since
    assert_no_details(sheet)
    assert client.get("/healthz").json()["status"] == "degraded"

    sheet_store.set_outage(False)
    assert not run_cycle(pull_now=True).error
    sheet = sheet_health(client)
    assert (sheet["last_error"], sheet["last_error_kind"], sheet["last_error_since"]) == (
        None,
        None,
        None,
    )


def test_a_429_storm_shows_cuota_with_its_status(plant, sheet_store, client, settings):
    settings.ZEUES_SHEET_RETRIES = 2
    sheet_store.set_errors(1.0, status=429)

    assert "429" in run_cycle(pull_now=True).error

    sheet = sheet_health(client)
    assert sheet["last_error"].startswith("cuota (429) desde ")
    assert sheet["last_error_kind"] == "cuota"
    assert_no_details(sheet)
    assert "Quota exceeded" in SyncState.get().last_error


def test_server_errors_name_their_status(plant, sheet_store, client, settings):
    settings.ZEUES_SHEET_RETRIES = 1
    sheet_store.set_errors(1.0, status=503)

    run_cycle(pull_now=True)

    sheet = sheet_health(client)
    assert sheet["last_error"].startswith("error del servidor (503) desde ")
    assert_no_details(sheet)


def test_a_workbook_too_slow_to_answer_shows_tiempo_de_espera(plant, sheet_store, client, settings):
    settings.ZEUES_SHEET_RETRIES = 0
    settings.ZEUES_SHEET_TIMEOUT = 0.02
    sheet_store.set_latency(200)

    run_cycle(pull_now=True)

    sheet = sheet_health(client)
    assert sheet["last_error"].startswith("tiempo de espera desde ")
    assert sheet["last_error_kind"] == "tiempo"
    assert_no_details(sheet)


def test_a_change_whose_row_is_gone_stays_reported_until_a_clean_flush(plant, client):
    from spools.workbook.sync import flush_until_empty
    from tests.plant import ARM_PENDING

    ws = open_workbook().worksheet(OPERACIONES)
    ws.delete_rows(ws.find(ARM_PENDING).row)  # the office deletes the row; no pull yet
    assert perform_action(ActionCommand("ARM", "TOMAR", 93, [ARM_PENDING])).status == 200

    flush_until_empty()

    sheet = sheet_health(client)
    assert sheet["last_error_kind"] == "otro"
    assert_no_details(sheet)
    assert ARM_PENDING in SyncState.get().last_error  # the details, for the admin and log
    assert (
        perform_action(ActionCommand("ARM", "PAUSAR", 93, ["MK-1923-TW-17422-003"])).status == 200
    )
    flush_until_empty()  # a flush with nothing refused
    assert sheet_health(client)["last_error"] is None


# --- DOM ids: one per TAG ------------------------------------------------------------------

VALID_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")  # an HTML id and a plain CSS #selector


def test_dom_id_is_injective_and_a_valid_id():
    tags = ["A/1", "A_1", "A 1", "A.1", "A-1", "A1", "A_2F1", "Ñ-1", "A__1"]
    ids = [dom_id(t) for t in tags]
    assert len(set(ids)) == len(tags), ids
    assert all(VALID_ID.match(f"spool-{i}") for i in ids), ids
    # Tags the plant writes (letters, digits, dashes) keep the ids they always had.
    assert dom_id("MK-1923-TW-17422-002") == "MK-1923-TW-17422-002"


def rows_by_id(html: str) -> dict[str, list[str]]:
    """Each <li> id of the tablet's list → the tags of the rows carrying it."""
    found: dict[str, list[str]] = {}
    for m in re.finditer(r'<li id="([^"]+)" class="spool-row[^"]*" data-tag="([^"]+)"', html):
        found.setdefault(m[1], []).append(m[2])
    return found


def test_a_live_delete_removes_only_its_own_row(sheet_store, station):
    build_plant([spool("A/1", Fecha_Materiales=MAT), spool("A_1", Fecha_Materiales=MAT)])
    page = station.get("/t/ARM/100/TOMAR/").content.decode()
    rows = rows_by_id(page)
    assert rows[f"spool-{dom_id('A/1')}"] == ["A/1"]
    assert rows[f"spool-{dom_id('A_1')}"] == ["A_1"]
    assert all(len(tags) == 1 for tags in rows.values())

    tomar = LiveList(Operacion.ARM, Accion.TOMAR, Worker.objects.get(pk=100))
    taken = perform_action(ActionCommand("ARM", "TOMAR", 93, ["A/1"], ""))
    assert taken.status == 200, taken
    html = render_changes(tomar.changes(["A/1"]))

    deleted = re.findall(r'<li id="([^"]+)" hx-swap-oob="delete">', html)
    assert len(deleted) == 1 and rows[deleted[0]] == ["A/1"]  # never the A_1 row
    assert Spool.objects.get(tag="A_1").ocupado_por == ""


# --- load_demo --if-empty and sheets narrower than A:Z -------------------------------------


def add_narrow_sheet(title: str, rows: list[list[str]]) -> None:
    """An office sheet of 5 columns and 10 rows (A1:Z20 is past its grid)."""
    ws = open_workbook().add_worksheet(title, rows=10, cols=5)
    if rows:
        ws.update(rows, "A1", raw=True)


def load_demo(*args: str) -> str:
    out = StringIO()
    with override_settings(DEBUG=True):  # a developer's demo; DEBUG off needs new passwords
        call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def test_if_empty_loads_the_demo_beside_a_5_column_sheet(sheet_store):
    build_workbook(spools=[], workers=[worker(93, "Mario", "Rojas", roles=["Armador"])])
    add_narrow_sheet("Oficina", [["Nota", "", "", "", "Fin"], ["abc"]])
    add_narrow_sheet("Vacía", [])

    load_demo("--if-empty", "--spools", "30")

    assert Spool.objects.count() == 30
    titles = [ws.title for ws in open_workbook().worksheets()]
    assert "Oficina" in titles and "Vacía" not in titles  # office data kept, empty goes
    assert open_workbook().worksheet("Oficina").get_all_values()[0] == [
        "Nota",
        "",
        "",
        "",
        "Fin",
    ]


def test_if_empty_leaves_a_workbook_with_spools_and_a_5_column_sheet_alone(sheet_store):
    build_workbook(spools=[spool("MK-1", Fecha_Materiales=MAT)])
    add_narrow_sheet("Oficina", [["x"]])
    before = open_workbook().worksheet(OPERACIONES).get_all_values()

    assert "no se toca" in load_demo("--if-empty")

    assert open_workbook().worksheet(OPERACIONES).get_all_values() == before
