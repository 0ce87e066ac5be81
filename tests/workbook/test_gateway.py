"""The Sheets gateway, through the real gspread client on the local backend.

Everything here goes through `spools.workbook.gateway.open_workbook()` (gspread's Spreadsheet) or the
gateway's own read/write functions, exactly as the app and a person editing the sheet do.
"""

from __future__ import annotations

import statistics
import threading
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from gspread.exceptions import APIError

from spools.models import Spool, SyncState
from spools.workbook import gateway as sheets
from spools.workbook.columns import OPERACIONES, HeaderMap, column_letter
from spools.workbook.gateway import (
    RetryingHTTPClient,
    SheetUnavailableError,
    open_workbook,
    read_ranges,
    sheet_range,
    write_cells,
)
from spools.workbook.local_sheet import local_session
from spools.workbook.pull import pull
from tests.builders import build_workbook, spool, worker

SANTIAGO = ZoneInfo("America/Santiago")
DAY = date(2026, 5, 13)  # serial 46155
MOMENT = datetime(2026, 5, 13, 11, 33, 48, tzinfo=SANTIAGO)  # serial 46155.4818


def ops_sheet():
    return open_workbook().worksheet(OPERACIONES)


def header_col(ws, name: str) -> int:
    """1-based column of a header, as a person would find it by eye."""
    return ws.row_values(1).index(name) + 1


# --- read / write / append / clear --------------------------------------------------------


def test_gspread_update_then_read_back_the_same_cells(sheet_store):
    ws = open_workbook().sheet1
    ws.update([["TAG_SPOOL", "OT"], ["MK-1", "OT-1"], ["MK-2", 42]], "A1")

    assert ws.get_all_values() == [["TAG_SPOOL", "OT"], ["MK-1", "OT-1"], ["MK-2", "42"]]
    assert read_ranges([sheet_range(ws.title)]) == [
        [["TAG_SPOOL", "OT"], ["MK-1", "OT-1"], ["MK-2", 42]]
    ]


def test_append_row_lands_after_the_last_row(sheet_store):
    ws = open_workbook().sheet1
    ws.update([["TAG_SPOOL", "OT"], ["MK-1", "OT-1"]], "A1")

    ws.append_row(["MK-2", "OT-2"])
    ws.append_row(["MK-3", "OT-3"])

    assert ws.col_values(1) == ["TAG_SPOOL", "MK-1", "MK-2", "MK-3"]
    assert ws.row_values(4) == ["MK-3", "OT-3"]


def test_batch_clear_empties_only_the_cleared_ranges(sheet_store):
    ws = open_workbook().sheet1
    ws.update([["a", "b", "c"], ["d", "e", "f"], ["g", "h", "i"]], "A1")

    ws.batch_clear(["B1:B2", "A3"])

    assert ws.get_all_values() == [["a", "", "c"], ["d", "", "f"], ["", "h", "i"]]


def test_values_batch_get_answers_each_range_in_order(sheet_store):
    wb = open_workbook()
    ws = wb.sheet1
    ws.update([["a", "b"], ["c", "d"]], "A1")
    notas = wb.add_worksheet("Notas del turno", rows=10, cols=5)
    notas.update([["nota"]], "A1")

    reply = wb.values_batch_get(["'Hoja 1'!B1:B2", "'Notas del turno'!A1:A5", "'Hoja 1'!A1"])

    values = [vr.get("values", []) for vr in reply["valueRanges"]]
    assert values == [[["b"], ["d"]], [["nota"]], [["a"]]]


def test_gateway_write_cells_then_read_ranges_round_trip(sheet_store):
    ws = open_workbook().sheet1
    ws.update([["TAG_SPOOL", "Ocupado_Por"], ["MK-1", ""], ["MK-2", ""]], "A1")

    write_cells({"'Hoja 1'!B2": "MR(93)", "'Hoja 1'!A4": [["MK-3", "JP(94)"]]})

    (rows,) = read_ranges([sheet_range("Hoja 1")])
    assert rows == [["TAG_SPOOL", "Ocupado_Por"], ["MK-1", "MR(93)"], ["MK-2"], ["MK-3", "JP(94)"]]
    # A person sees the same thing.
    assert ws.acell("B2").value == "MR(93)"


def test_gateway_read_of_an_empty_range_is_an_empty_list(sheet_store):
    assert read_ranges(["'Hoja 1'!A1:C3", sheet_range("Hoja 1")]) == [[], []]


def test_write_cells_is_one_write_request_whatever_the_number_of_cells(sheet_store):
    open_workbook()  # metadata read, not counted below
    sheet_store.reset_counters()

    write_cells({f"'Hoja 1'!A{r}": f"MK-{r}" for r in range(1, 51)})

    status = sheet_store.status()
    assert (status["reads"], status["writes"]) == (0, 1)


# --- headers found by name ----------------------------------------------------------------

MESSY_HEADERS = (
    "tag spool",
    " ot ",
    "Nv",
    "Cliente",
    "FECHA_MATERIALES",
    "armador",
    "Fecha Armado",
    "SOLDADOR",
    "fecha_soldadura",
    "FECHA_QC_METROLOGÍA",
    " Ocupado por ",
    "Fecha_Ocupación",
    "VERSION",
    "estado  detalle",
)


@pytest.mark.django_db
def test_headers_with_other_case_accents_and_spaces_pull_into_the_right_fields(sheet_store):
    row = dict.fromkeys(MESSY_HEADERS, "")
    row.update(
        {
            "tag spool": "MK-1923-TW-17422-004",
            " ot ": "OT-1923",
            "Nv": "NV-17422",
            "Cliente": "Codelco",
            "FECHA_MATERIALES": "02-05-2026",
            "armador": "MR(93)",
            "Fecha Armado": "10-05-2026",
            "SOLDADOR": "JP(94)",
            "fecha_soldadura": "11-05-2026",
            "FECHA_QC_METROLOGÍA": "12-05-2026",
            " Ocupado por ": "AD(95)",
            "Fecha_Ocupación": "13-05-2026 11:33:48",
            "VERSION": "v-1",
        }
    )
    build_workbook([row], columns=MESSY_HEADERS)

    result = pull()

    s = Spool.objects.get(tag="MK-1923-TW-17422-004")
    assert (s.ot, s.nv) == ("OT-1923", "NV-17422")
    assert s.fecha_materiales == date(2026, 5, 2)
    assert (s.armador, s.fecha_armado) == ("MR(93)", date(2026, 5, 10))
    assert (s.soldador, s.fecha_soldadura) == ("JP(94)", date(2026, 5, 11))
    assert s.fecha_qc_metrologia == date(2026, 5, 12)
    assert (s.ocupado_por, s.occupant_id) == ("AD(95)", 95)
    assert s.fecha_ocupacion == MOMENT
    assert s.version == "v-1"
    assert s.problems == []
    assert result.warnings == []


def test_header_map_finds_columns_whatever_their_spelling_and_position(sheet_store):
    ws = open_workbook().sheet1
    ws.update([["Notas", "FECHA_QC_METROLOGÍA", " Ocupado por ", "tag_spool"]], "A1")

    (rows,) = read_ranges([sheet_range("Hoja 1")])
    header = HeaderMap.from_row("Hoja 1", rows[0])

    assert header.col("Fecha_QC_Metrologia") == 1
    assert header.col("Ocupado_Por") == 2
    assert header.col("TAG_SPOOL") == 3


@pytest.mark.django_db
def test_a_missing_required_column_names_the_sheet_and_column(sheet_store):
    columns = ("TAG_SPOOL", "OT", "NV", "Fecha_Materiales")
    build_workbook([spool("MK-1", OT="OT-1")], columns=columns)
    pull()

    error = SyncState.get().structure_error
    assert "Operaciones" in error
    assert "Ocupado_Por" in error
    assert Spool.objects.get(tag="MK-1").ot == "OT-1"  # still visible


# --- columns and rows move between reads --------------------------------------------------


def _three_spools():
    return build_workbook(
        [
            spool("MK-B", OT="OT-B", Observaciones="obs B"),
            spool(
                "MK-A",
                OT="OT-A",
                Ocupado_Por="MR(93)",
                Fecha_Ocupacion="13-05-2026 11:33:48",
                Observaciones="obs A",
            ),
            spool("MK-C", OT="OT-C", Observaciones="obs C"),
        ]
    )


def _insert_column_before_ocupado_por_and_sort(ws) -> None:
    """What the office did: a filled column before Ocupado_Por, then sort by TAG."""
    col = header_col(ws, "Ocupado_Por")
    n = len(ws.col_values(1))
    ws.insert_cols([["Responsable"] + ["JP(94)"] * (n - 1)], col=col)
    ws = ops_sheet()  # the grid is one column wider now
    ws.sort((1, "asc"), range=f"A2:{column_letter(ws.col_count - 1)}{ws.row_count}")


@pytest.mark.django_db
def test_column_inserted_before_ocupado_por_and_rows_sorted_between_pulls(sheet_store):
    _three_spools()
    pull()
    assert Spool.objects.get(tag="MK-A").sheet_row == 3
    assert list(Spool.objects.filter(occupant_id=93).values_list("tag", flat=True)) == ["MK-A"]

    _insert_column_before_ocupado_por_and_sort(ops_sheet())
    pull()

    spools = {s.tag: s for s in Spool.objects.all()}
    # Only MK-A is occupied, and by MR(93): not JP(94) of the new column.
    assert {t: s.ocupado_por for t, s in spools.items()} == {
        "MK-A": "MR(93)",
        "MK-B": "",
        "MK-C": "",
    }
    assert spools["MK-A"].fecha_ocupacion == MOMENT
    assert {t: s.ot for t, s in spools.items()} == {"MK-A": "OT-A", "MK-B": "OT-B", "MK-C": "OT-C"}
    assert {t: s.sheet_row for t, s in spools.items()} == {"MK-A": 2, "MK-B": 3, "MK-C": 4}
    assert all(s.problems == [] for s in spools.values())


def test_gateway_reads_follow_a_moved_column_and_sorted_rows(sheet_store):
    _three_spools()

    def by_tag() -> dict[str, tuple]:
        (rows,) = read_ranges([sheet_range(OPERACIONES)])
        header = HeaderMap.from_row(OPERACIONES, rows[0])
        return {
            header.get(r, "TAG_SPOOL"): (
                header.get(r, "Ocupado_Por"),
                header.get(r, "Observaciones"),
            )
            for r in rows[1:]
        }

    before = by_tag()
    ws = ops_sheet()
    ocupado_before = header_col(ws, "Ocupado_Por")
    _insert_column_before_ocupado_por_and_sort(ws)

    assert header_col(ws, "Ocupado_Por") == ocupado_before + 1
    assert (
        by_tag()
        == before
        == {
            "MK-A": ("MR(93)", "obs A"),
            "MK-B": ("", "obs B"),
            "MK-C": ("", "obs C"),
        }
    )


# --- dates in every form of domain.md -----------------------------------------------------

# (how the office wrote it, the value) → the pulled Fecha_Materiales is 13-05-2026
DATE_FORMS = [
    ("RAW", "13-05-2026"),
    ("RAW", "13/05/2026"),
    ("RAW", "2026-05-13"),
    ("RAW", "13-5-2026"),
    ("RAW", 46155),
    ("RAW", "46155"),
    ("RAW", 46155.75),  # a date cell that carries a time of day too
    ("RAW", "13-05-2026 18:00:00"),
    ("RAW", "2026-05-13T18:00:00"),
    ("USER_ENTERED", "13-05-2026"),
    ("USER_ENTERED", "13/05/2026"),
    ("USER_ENTERED", "2026-05-13"),
    ("USER_ENTERED", "46155"),
]

# → the pulled Fecha_Ocupacion is 13-05-2026 11:33:48 plant time
DATETIME_FORMS = [
    ("RAW", "13-05-2026 11:33:48"),
    ("RAW", "13/05/2026 11:33:48"),
    ("RAW", "2026-05-13T11:33:48"),
    ("RAW", "2026-05-13 11:33:48"),
    ("RAW", "2026-05-13T15:33:48Z"),
    ("RAW", "2026-05-13T11:33:48-04:00"),
    ("RAW", 46155.4818),
    ("RAW", "46155.4818"),
    ("RAW", "46155,4818"),
    ("USER_ENTERED", "13-05-2026 11:33:48"),
    ("USER_ENTERED", "13/05/2026 11:33:48"),
    ("USER_ENTERED", "2026-05-13 11:33:48"),
    ("USER_ENTERED", "46155.4818"),
]


def _write_one(column: str, value: object, option: str) -> None:
    ws = ops_sheet()
    col = header_col(ws, column)
    if option == "USER_ENTERED":
        ws.update_cell(2, col, value)  # gspread types it in as a person would
    else:
        ws.update([[value]], f"{column_letter(col - 1)}2", value_input_option="RAW")


@pytest.mark.django_db
@pytest.mark.parametrize(("option", "value"), DATE_FORMS, ids=lambda v: str(v))
def test_every_date_form_pulls_as_the_same_day(sheet_store, option, value):
    build_workbook([spool("MK-1")])
    _write_one("Fecha_Materiales", value, option)

    pull(workers=False)

    s = Spool.objects.get(tag="MK-1")
    assert s.problems == []
    assert s.fecha_materiales == DAY


@pytest.mark.django_db
@pytest.mark.parametrize(("option", "value"), DATETIME_FORMS, ids=lambda v: str(v))
def test_every_date_time_form_pulls_as_the_same_moment(sheet_store, option, value):
    build_workbook([spool("MK-1", Ocupado_Por="MR(93)")])
    _write_one("Fecha_Ocupacion", value, option)

    pull(workers=False)

    s = Spool.objects.get(tag="MK-1")
    assert s.problems == []
    assert s.fecha_ocupacion == MOMENT


def test_user_entered_dates_are_serials_unformatted_and_typed_text_formatted(sheet_store):
    build_workbook([spool("MK-1")])
    ws = ops_sheet()
    ws.update_cell(2, header_col(ws, "Fecha_Materiales"), "13-05-2026")
    ws.update_cell(2, header_col(ws, "Fecha_Ocupacion"), "13-05-2026 11:33:48")
    fm = column_letter(header_col(ws, "Fecha_Materiales") - 1) + "2"
    fo = column_letter(header_col(ws, "Fecha_Ocupacion") - 1) + "2"

    day, moment = read_ranges([f"{OPERACIONES}!{fm}", f"{OPERACIONES}!{fo}"])

    assert day == [[46155]]
    assert moment[0][0] == pytest.approx(46155.4818, abs=1e-5)
    assert ws.acell(fm).value == "13-05-2026"
    assert ws.acell(fo).value == "13-05-2026 11:33:48"


# --- text never becomes a formula ---------------------------------------------------------

FORMULA_LOOKING = ["=1+1", "+56 9 1234 5678", "@x", "-5", '=HYPERLINK("http://x")', "'quoted"]


def test_formula_looking_text_written_by_the_gateway_reads_back_as_the_same_text(sheet_store):
    ws = open_workbook().sheet1
    write_cells({"'Hoja 1'!A1": [[t] for t in FORMULA_LOOKING]})
    rng = f"A1:A{len(FORMULA_LOOKING)}"

    (unformatted,) = read_ranges([f"'Hoja 1'!{rng}"])
    formatted = ws.get(rng, value_render_option="FORMATTED_VALUE")
    formulas = ws.get(rng, value_render_option="FORMULA")

    expected = [[t] for t in FORMULA_LOOKING]
    assert unformatted == expected
    assert formatted == expected
    assert formulas == expected  # stored as text: there is no formula to show


@pytest.mark.django_db
def test_formula_looking_text_in_the_sheet_pulls_as_text(sheet_store):
    build_workbook([spool("MK-1", OT="=1+1", NV="+56 9 1234 5678", Observaciones="@x")])

    pull(workers=False)

    s = Spool.objects.get(tag="MK-1")
    assert (s.ot, s.nv) == ("=1+1", "+56 9 1234 5678")


# --- rate limits, server errors and outages -----------------------------------------------


def _clear_faults_after(store, failures: int) -> threading.Thread:
    """Clear the injected faults once the backend has refused `failures` calls."""

    def run() -> None:
        deadline = time.monotonic() + 10
        while store.status()["failed"] < failures and time.monotonic() < deadline:
            time.sleep(0.002)
        store.clear_faults()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("status", [429, 503])
def test_a_read_refused_with_429_or_503_is_retried_until_it_succeeds(sheet_store, settings, status):
    settings.ZEUES_SHEET_RETRIES = 40
    open_workbook().sheet1.update([["MK-1"]], "A1")
    sheet_store.reset_counters()
    sheet_store.set_errors(1.0, status=status)
    thread = _clear_faults_after(sheet_store, 3)

    rows = read_ranges(["'Hoja 1'!A1"])

    thread.join()
    assert rows == [[["MK-1"]]]
    counts = sheet_store.status()
    assert counts["failures"][str(status)] >= 3
    assert counts["reads"] == counts["failed"] + 1  # every failure retried, then one answer


@pytest.mark.parametrize("status", [429, 503])
def test_a_write_refused_with_429_or_503_lands_exactly_once(sheet_store, settings, status):
    settings.ZEUES_SHEET_RETRIES = 40
    open_workbook()
    sheet_store.reset_counters()
    sheet_store.set_errors(1.0, status=status)
    thread = _clear_faults_after(sheet_store, 3)

    write_cells({"'Hoja 1'!A1": "MR(93)"})

    thread.join()
    counts = sheet_store.status()
    assert counts["failures"][str(status)] >= 3
    assert counts["writes"] == counts["failed"] + 1
    assert read_ranges(["'Hoja 1'"]) == [[["MR(93)"]]]


def test_an_outage_fails_with_a_clear_error_after_the_bounded_retries(sheet_store, settings):
    settings.ZEUES_SHEET_RETRIES = 2
    sheet_store.set_outage(True)

    with pytest.raises(SheetUnavailableError) as exc:
        read_ranges([sheet_range(OPERACIONES)])

    message = str(exc.value)
    assert "no responde tras 3 intentos" in message
    assert "El libro" in message
    assert sheet_store.status()["failures"] == {"outage": 3}


def test_an_outage_also_stops_open_workbook_and_writes(sheet_store, settings):
    settings.ZEUES_SHEET_RETRIES = 1
    sheet_store.set_outage(True)

    with pytest.raises(SheetUnavailableError):
        open_workbook()
    with pytest.raises(SheetUnavailableError):
        write_cells({"'Hoja 1'!A1": "x"})

    assert sheet_store.status()["failures"] == {"outage": 4}
    sheet_store.set_outage(False)
    assert read_ranges(["'Hoja 1'"]) == [[]]  # nothing was written


def test_errors_that_persist_past_the_retries_fail_naming_the_status(sheet_store, settings):
    settings.ZEUES_SHEET_RETRIES = 3
    sheet_store.set_errors(1.0, status=429)

    with pytest.raises(SheetUnavailableError, match="tras 4 intentos.*429"):
        read_ranges(["'Hoja 1'!A1"])

    assert sheet_store.status()["failures"] == {"429": 4}


def test_a_request_that_times_out_is_retried_then_fails_clearly(sheet_store, settings):
    settings.ZEUES_SHEET_RETRIES = 1
    settings.ZEUES_SHEET_TIMEOUT = 0.02
    sheet_store.set_latency(200)

    with pytest.raises(SheetUnavailableError, match="tras 2 intentos.*Timeout"):
        read_ranges(["'Hoja 1'!A1"])

    assert sheet_store.status()["failures"] == {"timeout": 2}


def test_a_changed_timeout_setting_reaches_the_next_request(sheet_store, settings):
    settings.ZEUES_SHEET_RETRIES = 0
    read_ranges(["'Hoja 1'!A1"])  # the cached client, built with the default 30 s timeout
    settings.ZEUES_SHEET_TIMEOUT = 0.02
    sheet_store.set_latency(100)

    with pytest.raises(SheetUnavailableError, match="Timeout"):
        read_ranges(["'Hoja 1'!A1"])


def test_an_invalid_request_is_not_retried(sheet_store, settings):
    settings.ZEUES_SHEET_RETRIES = 5
    sheet_store.reset_counters()

    with pytest.raises(APIError) as exc:
        read_ranges(["'No existe'!A1"])

    assert exc.value.response.status_code == 400
    assert sheet_store.status()["reads"] == 1


def _client(base: float, cap: float) -> RetryingHTTPClient:
    client = RetryingHTTPClient(None, session=local_session(django_settings.ZEUES_LOCAL_SHEET))
    client.backoff_base, client.backoff_max = base, cap
    return client


def test_backoff_delays_grow_exponentially_and_are_jittered():
    client = _client(0.5, 32.0)
    samples = {a: [client.backoff_delay(a) for _ in range(2000)] for a in range(6)}

    for attempt, delays in samples.items():
        ceiling = 0.5 * 2**attempt
        assert all(0 <= d <= ceiling for d in delays)
        # Full jitter: spread over the whole window, mean about half of it.
        assert statistics.mean(delays) == pytest.approx(ceiling / 2, rel=0.1)
        assert max(delays) > 0.9 * ceiling
        assert min(delays) < 0.1 * ceiling
        assert len(set(delays)) > 1900
    means = [statistics.mean(samples[a]) for a in range(6)]
    assert means == sorted(means)
    assert means[5] > 20 * means[0]


def test_backoff_delays_are_capped():
    client = _client(0.5, 4.0)

    delays = [client.backoff_delay(20) for _ in range(2000)]

    assert all(0 <= d <= 4.0 for d in delays)
    assert statistics.mean(delays) == pytest.approx(2.0, rel=0.1)


# --- the grid edge ------------------------------------------------------------------------


def test_writing_past_the_grid_edge_fails_like_google(sheet_store):
    ws = open_workbook().sheet1  # Google's default 1000 x 26 grid

    with pytest.raises(APIError) as exc:
        ws.update([["x"]], "A1001")

    error = exc.value.response.json()["error"]
    assert exc.value.response.status_code == 400
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["message"] == (
        "Range ('Hoja 1'!A1001) exceeds grid limits. Max rows: 1000, max columns: 26"
    )


def test_the_gateway_does_not_retry_a_write_past_the_grid_edge(sheet_store):
    open_workbook()
    sheet_store.reset_counters()

    with pytest.raises(APIError, match="exceeds grid limits"):
        write_cells({"'Hoja 1'!A2": "ok", "'Hoja 1'!AA1": "past the last column"})

    assert sheet_store.status()["writes"] == 1
    assert read_ranges(["'Hoja 1'"]) == [[]]  # the whole batch was refused


def test_after_growing_the_grid_the_write_succeeds(sheet_store):
    open_workbook()
    sheets.add_rows("Hoja 1", 10)

    write_cells({"'Hoja 1'!A1010": "MK-1"})

    assert read_ranges(["'Hoja 1'!A1010"]) == [[["MK-1"]]]


# --- what a pull costs --------------------------------------------------------------------


@pytest.fixture
def small_plant(sheet_store):
    build_workbook(
        [spool(f"MK-{i}", OT="OT-1") for i in range(20)],
        [worker(93, "Mario", "Rojas", roles=["Armador"])],
        [["e-1", "13-05-2026 11:33:48", "TOMAR_SPOOL", "MK-1", 93, "MR(93)", "ARM", "TOMAR"]],
    )
    sheet_store.reset_counters()
    return sheet_store


def _requests(store) -> tuple[int, int]:
    status = store.status()
    return status["reads"], status["writes"]


@pytest.mark.django_db
def test_a_pull_without_the_worker_sheets_costs_one_read(small_plant):
    pull(workers=False)

    assert _requests(small_plant) == (1, 0)
    assert Spool.objects.count() == 20


@pytest.mark.django_db
def test_a_pull_with_the_worker_sheets_costs_two_reads(small_plant):
    pull(workers=True)

    assert _requests(small_plant) == (2, 0)


@pytest.mark.django_db
def test_the_worker_sheets_are_read_on_the_first_pull_then_only_when_due(small_plant, settings):
    settings.ZEUES_WORKERS_PULL_INTERVAL = 300
    first = pull()
    assert _requests(small_plant) == (2, 0)
    assert first.workers_pulled

    second = pull()
    assert _requests(small_plant) == (3, 0)
    assert not second.workers_pulled
