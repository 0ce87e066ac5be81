"""The local Sheets backend, driven through the real gspread client as the app drives Google."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import gspread
import pytest
import requests
from gspread.exceptions import APIError, SpreadsheetNotFound

from spools.workbook.local_sheet import (
    LOCAL_SPREADSHEET_ID,
    LocalSheetsAdapter,
    LocalSheetStore,
    local_session,
)
from tests import ROOT

GRID_MESSAGE = "Range ('Hoja 1'!A1001) exceeds grid limits. Max rows: 1000, max columns: 26"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "local-sheet.sqlite3"


@pytest.fixture
def store(db: Path) -> LocalSheetStore:
    return LocalSheetStore(db)


def open_book(db: Path) -> gspread.Spreadsheet:
    client = gspread.Client(auth=None, session=local_session(db))
    return client.open_by_key(LOCAL_SPREADSHEET_ID)


@pytest.fixture
def book(db: Path) -> gspread.Spreadsheet:
    return open_book(db)


@pytest.fixture
def ops(book: gspread.Spreadsheet) -> gspread.Worksheet:
    return book.add_worksheet("Operaciones", 1000, 26)


def unformatted(ws: gspread.Worksheet, rng: str | None = None, **kw) -> list:
    return ws.get(rng, value_render_option="UNFORMATTED_VALUE", **kw)


def run_in_other_process(db: Path, code: str) -> str:
    """Run ``code`` in a fresh interpreter with ``store = LocalSheetStore(db)`` defined."""
    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from spools.workbook.local_sheet import LocalSheetStore, LOCAL_SPREADSHEET_ID, local_session\n"
        f"store = LocalSheetStore({str(db)!r})\n" + code
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


# ---- the spreadsheet -------------------------------------------------------------------------
def test_new_workbook_has_one_empty_hoja_1_with_googles_default_grid(book):
    assert book.title
    assert book.locale == "es_CL"
    assert book.timezone == "America/Santiago"
    meta = book.fetch_sheet_metadata()
    assert meta["spreadsheetId"] == LOCAL_SPREADSHEET_ID
    assert meta["sheets"] == [
        {
            "properties": {
                "sheetId": 0,
                "title": "Hoja 1",
                "index": 0,
                "sheetType": "GRID",
                "gridProperties": {"rowCount": 1000, "columnCount": 26},
            }
        }
    ]
    assert book.sheet1.get_all_values() == [[]]  # gspread pads an empty reply


def test_adapter_mounted_by_hand_serves_the_real_gspread_client(db):
    session = requests.Session()
    session.mount("https://sheets.googleapis.com/", LocalSheetsAdapter(db))
    sh = gspread.Client(auth=None, session=session).open_by_key(LOCAL_SPREADSHEET_ID)
    sh.sheet1.update([["hola"]], "A1")
    assert sh.sheet1.acell("A1").value == "hola"


def test_unknown_spreadsheet_is_googles_404_not_found(db):
    client = gspread.Client(auth=None, session=local_session(db))
    with pytest.raises(SpreadsheetNotFound):
        client.open_by_key("no-such-id")
    reply = local_session(db).get("https://sheets.googleapis.com/v4/spreadsheets/no-such-id")
    assert reply.status_code == 404
    assert reply.json() == {
        "error": {
            "code": 404,
            "message": "Requested entity was not found.",
            "status": "NOT_FOUND",
        }
    }


def test_every_session_on_the_file_sees_the_same_workbook(db, book):
    book.sheet1.update([["escrito por A"]], "B2")
    other = open_book(db)
    assert other.sheet1.acell("B2").value == "escrito por A"


def test_reset_wipes_the_workbook_back_to_one_empty_sheet(db, book, ops, store):
    ops.update([["x"]], "A1")
    store.reset()
    fresh = open_book(db)
    assert [ws.title for ws in fresh.worksheets()] == ["Hoja 1"]
    assert fresh.sheet1.get_all_values() == [[]]  # gspread pads an empty reply


def test_drive_metadata_answers_last_update_time(book):
    book.sheet1.update([["x"]], "A1")
    assert book.get_lastUpdateTime().endswith("Z")


# ---- reading ---------------------------------------------------------------------------------
def test_whole_sheet_read_trims_trailing_empties_and_reports_googles_range(book, ops):
    ops.update([["TAG", "OT", "", ""], ["", ""], ["x", "", "y", ""], ["", "", ""]], "A1")
    assert book.values_get("Operaciones") == {
        "range": "Operaciones!A1:Z1000",
        "majorDimension": "ROWS",
        "values": [["TAG", "OT"], [], ["x", "", "y"]],
    }


def test_an_empty_range_has_no_values_key(book):
    assert book.values_get("'Hoja 1'!A1:D6") == {
        "range": "'Hoja 1'!A1:D6",
        "majorDimension": "ROWS",
    }


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Operaciones", "Operaciones!A1:B2"),
        ("Hoja 1", "'Hoja 1'!A1:B2"),
        ("D3", "'D3'!A1:B2"),
        ("It's", "'It''s'!A1:B2"),
    ],
)
def test_sheet_names_are_quoted_only_when_google_quotes_them(book, title, expected):
    if title != "Hoja 1":
        book.add_worksheet(title, 10, 5)
    quoted = "'" + title.replace("'", "''") + "'"
    assert book.values_get(f"{quoted}!A1:B2")["range"] == expected


@pytest.mark.parametrize(
    ("a1", "reported"),
    [
        ("A:C", "Operaciones!A1:C1000"),
        ("1:3", "Operaciones!A1:Z3"),
        ("A2:Z", "Operaciones!A2:Z1000"),
        ("A2:2", "Operaciones!A2:Z2"),
        ("A5", "Operaciones!A5"),
        ("B2:A1", "Operaciones!A1:B2"),
        ("$A$1:$B$2", "Operaciones!A1:B2"),
    ],
)
def test_open_ranges_are_closed_at_the_grid_edge(book, ops, a1, reported):
    assert book.values_get(f"Operaciones!{a1}")["range"] == reported


def test_open_ranges_return_the_cells_inside_them(book, ops):
    ops.update([["a", "b", "c", "d"], ["e", "f", "g", "h"], ["i"], ["j"]], "A1")
    assert ops.get("B:C") == [["b", "c"], ["f", "g"]]
    assert ops.get("2:3") == [["e", "f", "g", "h"], ["i"]]
    assert ops.get("A3:Z") == [["i"], ["j"]]
    assert ops.get("A4") == [["j"]]


def test_a_range_without_a_sheet_name_reads_the_first_sheet(book):
    book.sheet1.update([["primera"]], "A1")
    assert book.values_get("A1")["values"] == [["primera"]]
    assert book.values_get("A1")["range"] == "'Hoja 1'!A1"


def test_reading_past_the_grid_edge_fails_like_google(book):
    with pytest.raises(APIError) as err:
        book.values_get("'Hoja 1'!A1:AB5")
    assert err.value.code == 400
    assert err.value.error["message"] == (
        "Range ('Hoja 1'!A1:AB5) exceeds grid limits. Max rows: 1000, max columns: 26"
    )


def test_an_unknown_sheet_in_a_range_is_unable_to_parse_range(book):
    with pytest.raises(APIError) as err:
        book.values_get("'No existe'!A1:B2")
    assert err.value.code == 400
    assert err.value.error == {
        "code": 400,
        "message": "Unable to parse range: 'No existe'!A1:B2",
        "status": "INVALID_ARGUMENT",
    }


def test_columns_major_dimension_reads_and_writes_by_column(book, ops):
    ops.update([["a", "c"], ["b"]], "A1", major_dimension="COLUMNS")
    assert ops.get("A1:B2") == [["a", "b"], ["c"]]
    reply = book.values_get("Operaciones!A1:C3", params={"majorDimension": "COLUMNS"})
    assert reply == {
        "range": "Operaciones!A1:C3",
        "majorDimension": "COLUMNS",
        "values": [["a", "c"], ["b"]],
    }


# ---- writing ---------------------------------------------------------------------------------
TEXTS = ["=1+1", "+56 9 1234", "@x", "0012", "13-05-2026", "TRUE", "12", "'quoted"]


def test_raw_keeps_formula_looking_text_as_text(ops):
    ops.update([TEXTS], "A1", raw=True)
    assert unformatted(ops, "A1:H1") == [TEXTS]
    assert ops.get("A1:H1", value_render_option="FORMULA") == [TEXTS]


def test_user_entered_turns_numbers_booleans_and_formulas_into_values(ops):
    typed = ["12", "0012", "-3,5", "1.25", "TRUE", "false", "'0012", "=1+1", "=SUM(A1:A2)"]
    typed += ["+56 9 1234", "hola", "1e3"]
    ops.update([typed], "A1", raw=False)
    assert unformatted(ops, "A1:L1") == [
        [12, 12, -3.5, 1.25, True, False, "0012", 2, "#ERROR!", "+56 9 1234", "hola", 1000]
    ]
    formulas = ops.get("A1:L1", value_render_option="FORMULA")[0]
    assert formulas[7:9] == ["=1+1", "=SUM(A1:A2)"]
    assert ops.get("A1:L1")[0][:4] == ["12", "12", "-3,5", "1,25"]


def test_user_entered_dates_become_serials_and_render_back_as_typed(ops):
    typed = ["13-05-2026", "13-05-2026 11:33:48", "13/05/2026", "2026-05-13", "2026-05-13 11:33:48"]
    ops.update([typed], "A1", raw=False)
    serials = unformatted(ops, "A1:E1")[0]
    stamp = 46155 + (11 * 3600 + 33 * 60 + 48) / 86400
    assert serials == [46155, pytest.approx(stamp), 46155, 46155, pytest.approx(stamp)]
    assert serials[1] == pytest.approx(46155.4818, abs=1e-4)
    assert ops.get("A1:E1") == [
        ["13-05-2026", "13-05-2026 11:33:48", "13/05/2026", "2026-05-13", "2026-05-13 11:33:48"]
    ]
    as_text = unformatted(ops, "A1:B1", date_time_render_option="FORMATTED_STRING")
    assert as_text == [["13-05-2026", "13-05-2026 11:33:48"]]


def test_impossible_dates_stay_text(ops):
    ops.update([["31-02-2026", "13-13-2026"]], "A1", raw=False)
    assert unformatted(ops, "A1:B1") == [["31-02-2026", "13-13-2026"]]


def test_formatted_values_use_the_es_cl_decimal_comma(ops):
    ops.update([[1.5, 46155, True, 0.1 + 0.2]], "A1")
    assert ops.get("A1:D1") == [["1,5", "46155", "TRUE", "0,3"]]
    assert unformatted(ops, "A1:C1") == [[1.5, 46155, True]]


def test_update_reply_names_the_written_range_and_counts(book):
    reply = book.sheet1.update([["a", "b"], ["c", ""]], "B2")
    assert reply == {
        "spreadsheetId": LOCAL_SPREADSHEET_ID,
        "updatedRange": "'Hoja 1'!B2:C3",
        "updatedRows": 2,
        "updatedColumns": 2,
        "updatedCells": 4,
    }


def test_update_past_the_grid_edge_fails_with_googles_message_and_writes_nothing(book):
    ws = book.sheet1
    with pytest.raises(APIError) as err:
        ws.update([["x"]], "A1001")
    assert err.value.code == 400
    assert err.value.error["message"] == GRID_MESSAGE
    with pytest.raises(APIError, match="exceeds grid limits"):
        ws.update([["a"], ["b"], ["c"]], "A999")
    with pytest.raises(APIError, match="exceeds grid limits"):
        ws.update([["x"] * 27], "A1")
    assert ws.get_all_values() == [[]]  # gspread pads an empty reply


def test_writing_outside_the_requested_range_fails(book):
    with pytest.raises(APIError) as err:
        book.sheet1.update([["a"], ["b"], ["c"]], "A1:B2")
    assert err.value.error["message"] == (
        "Requested writing within range ['Hoja 1'!A1:B2], but tried writing to row [3]"
    )


def test_null_cells_are_left_alone_and_empty_strings_clear(book):
    ws = book.sheet1
    ws.update([["a", "b", "c"]], "A1")
    book.values_update(
        "'Hoja 1'!A1", params={"valueInputOption": "RAW"}, body={"values": [[None, "", "C"]]}
    )
    assert ws.get_all_values() == [["a", "", "C"]]


def test_value_input_option_is_required(book):
    with pytest.raises(APIError, match="'valueInputOption' is required"):
        book.values_update("'Hoja 1'!A1", body={"values": [["x"]]})


def test_include_values_in_response_returns_the_written_cells(book):
    reply = book.sheet1.update(
        [["13-05-2026", "7"]],
        "A1",
        raw=False,
        include_values_in_response=True,
        response_value_render_option="UNFORMATTED_VALUE",
    )
    assert reply["updatedData"] == {
        "range": "'Hoja 1'!A1:B1",
        "majorDimension": "ROWS",
        "values": [[46155, 7]],
    }


# ---- append ----------------------------------------------------------------------------------
def test_append_to_an_empty_sheet_starts_at_a1_without_table_range(book):
    reply = book.sheet1.append_row(["x", "", "y"])
    assert reply == {
        "spreadsheetId": LOCAL_SPREADSHEET_ID,
        "updates": {
            "spreadsheetId": LOCAL_SPREADSHEET_ID,
            "updatedRange": "'Hoja 1'!A1:C1",
            "updatedRows": 1,
            "updatedColumns": 3,
            "updatedCells": 3,
        },
    }


def test_append_writes_after_the_table_and_reports_it(ops):
    ops.update([["ID", "Evento", "Fecha"], ["1", "TOMAR", "x"], ["2", "PAUSAR"]], "A1")
    reply = ops.append_rows([["3", "COMPLETAR", "y"]])
    assert reply["tableRange"] == "Operaciones!A1:C3"
    assert reply["updates"]["updatedRange"] == "Operaciones!A4:C4"
    assert ops.get_all_values()[-1] == ["3", "COMPLETAR", "y"]


def test_append_with_a_single_cell_range_looks_for_the_table_in_that_column(book):
    ws = book.sheet1
    ws.append_row(["x", "", "y"])
    reply = ws.append_row(["x", "", "y"], table_range="A1")
    assert reply["tableRange"] == "'Hoja 1'!A1"
    assert reply["updates"]["updatedRange"] == "'Hoja 1'!A2:C2"


def test_append_extends_the_grid_as_google_does(book):
    ws = book.add_worksheet("Metadata", 3, 2)
    ws.update([["ID", "Evento"], ["1", "a"], ["2", "b"]], "A1")
    reply = ws.append_rows([["3", "c", "extra"], ["4", "d"]])
    assert reply["updates"]["updatedRange"] == "Metadata!A4:C5"
    grid = book.worksheet("Metadata")
    assert (grid.row_count, grid.col_count) == (5, 3)
    assert grid.get_all_values()[3:] == [["3", "c", "extra"], ["4", "d", ""]]


def test_append_with_insert_rows_pushes_the_rows_below_down(book, ops):
    ops.update([["a"], ["b"], [""], [""], ["abajo"]], "A1")
    reply = book.values_append(
        "Operaciones!A1:A2",
        params={"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"},
        body={"values": [["c"]]},
    )
    assert reply["updates"]["updatedRange"] == "Operaciones!A3"
    assert ops.col_values(1) == ["a", "b", "c", "", "", "abajo"]
    assert book.worksheet("Operaciones").row_count == 1001


# ---- rows, columns, sort ---------------------------------------------------------------------
def test_insert_rows_moves_rows_down_like_google(book, ops):
    ops.update([["r1"], ["r2"], ["r3"]], "A1")
    ops.insert_rows([["nueva", "fila"]], 2)
    assert ops.get_all_values() == [["r1", ""], ["nueva", "fila"], ["r2", ""], ["r3", ""]]
    assert book.worksheet("Operaciones").row_count == 1001


def test_insert_cols_moves_columns_right_like_google(book, ops):
    ops.update([["a", "b", "c"], ["d", "e", "f"]], "A1")
    ops.insert_cols([["X", "Y"]], 2)
    assert ops.get_all_values() == [["a", "X", "b", "c"], ["d", "Y", "e", "f"]]
    assert book.worksheet("Operaciones").col_count == 27


def test_delete_rows_and_columns_close_the_gap(book, ops):
    ops.update([["a", "b", "c"], ["d", "e", "f"], ["g", "h", "i"], ["j", "k", "l"]], "A1")
    ops.delete_rows(2, 3)
    assert ops.get_all_values() == [["a", "b", "c"], ["j", "k", "l"]]
    ops.delete_columns(2)
    assert ops.get_all_values() == [["a", "c"], ["j", "l"]]
    fresh = book.worksheet("Operaciones")
    assert (fresh.row_count, fresh.col_count) == (998, 25)


def test_deleting_every_row_fails_like_google(book):
    with pytest.raises(APIError, match="You can't delete all the rows on the sheet."):
        book.sheet1.delete_rows(1, 1000)


def test_sort_orders_numbers_then_text_and_keeps_blanks_last(ops):
    ops.update(
        [["TAG", "N"], ["b", 3], ["A", ""], ["c", 1], ["", 2], ["a", "x"], ["d", True]], "A1"
    )
    ops.sort((2, "asc"), range="A2:B7")
    assert unformatted(ops) == [
        ["TAG", "N"],
        ["c", 1],
        ["", 2],
        ["b", 3],
        ["a", "x"],
        ["d", True],
        ["A"],
    ]
    ops.sort((1, "des"), range="A2:B7")
    # The blank cell sorts last; its row is then a trailing empty in the reply.
    assert unformatted(ops, "A2:A7") == [["d"], ["c"], ["b"], ["a"], ["A"]]


def test_sort_of_the_whole_sheet_moves_whole_rows(ops):
    ops.update([["MK-3", "x"], ["MK-1", "y"], ["MK-2", "z"]], "A1")
    ops.sort((1, "asc"))
    assert ops.get_all_values() == [["MK-1", "y"], ["MK-2", "z"], ["MK-3", "x"]]


def test_resize_shrinks_and_grows_the_grid_dropping_cut_cells(book, ops):
    ops.update([["a", "b", "c"], ["d", "e", "f"], ["g", "h", "i"]], "A1")
    ops.resize(rows=2, cols=2)
    assert ops.get_all_values() == [["a", "b"], ["d", "e"]]
    ops.resize(rows=5, cols=4)
    fresh = book.worksheet("Operaciones")
    assert (fresh.row_count, fresh.col_count) == (5, 4)
    assert fresh.get_all_values() == [["a", "b"], ["d", "e"]]


# ---- sheets ----------------------------------------------------------------------------------
def test_add_worksheet_replies_with_the_new_sheets_properties(book):
    reply = book.batch_update({"requests": [{"addSheet": {"properties": {"title": "Roles"}}}]})
    props = reply["replies"][0]["addSheet"]["properties"]
    assert props["title"] == "Roles"
    assert props["index"] == 1
    assert props["sheetType"] == "GRID"
    assert props["gridProperties"] == {"rowCount": 1000, "columnCount": 26}
    assert isinstance(props["sheetId"], int)
    assert [ws.title for ws in book.worksheets()] == ["Hoja 1", "Roles"]


def test_a_second_sheet_with_the_same_name_is_refused(book):
    book.add_worksheet("Roles", 10, 3)
    with pytest.raises(APIError) as err:
        book.add_worksheet("Roles", 10, 3)
    assert err.value.error["message"] == (
        'Invalid requests[0].addSheet: A sheet with the name "Roles" already exists. '
        "Please enter another name."
    )


def test_duplicate_sheet_copies_values_and_names_the_copy(book):
    book.sheet1.update([["a", "b"]], "A1")
    copy = book.duplicate_sheet(0)
    assert copy.title == "Copia de Hoja 1"
    assert copy.index == 1
    assert copy.get_all_values() == [["a", "b"]]
    named = book.duplicate_sheet(0, new_sheet_name="Respaldo", insert_sheet_index=0)
    assert [ws.title for ws in book.worksheets()] == ["Respaldo", "Hoja 1", "Copia de Hoja 1"]
    book.worksheet("Hoja 1").update([["changed"]], "A1")
    assert named.get_all_values() == [["a", "b"]]


def test_delete_worksheet_and_deleting_the_only_sheet_fails_like_google(book):
    roles = book.add_worksheet("Roles", 10, 3)
    book.del_worksheet(roles)
    assert [ws.title for ws in book.worksheets()] == ["Hoja 1"]
    with pytest.raises(APIError) as err:
        book.del_worksheet(book.sheet1)
    assert err.value.code == 400
    assert err.value.error["message"] == (
        "Invalid requests[0].deleteSheet: You can't remove all the sheets in a document."
    )


def test_sheet_title_index_and_frozen_rows_update(book):
    roles = book.add_worksheet("Roles", 10, 3)
    roles.update_title("Roles v2")
    roles.freeze(rows=1)
    book.reorder_worksheets([roles, book.sheet1])
    meta = book.fetch_sheet_metadata()
    first = meta["sheets"][0]["properties"]
    assert first["title"] == "Roles v2"
    assert first["gridProperties"] == {"rowCount": 10, "columnCount": 3, "frozenRowCount": 1}


def test_a_failed_batch_applies_none_of_its_requests(book):
    with pytest.raises(APIError):
        book.batch_update(
            {
                "requests": [
                    {"addSheet": {"properties": {"title": "Nueva"}}},
                    {"deleteSheet": {"sheetId": 999}},
                ]
            }
        )
    assert [ws.title for ws in book.worksheets()] == ["Hoja 1"]


def test_an_unsupported_request_is_a_400_invalid_argument(book):
    with pytest.raises(APIError) as err:
        book.sheet1.format("A1", {"textFormat": {"bold": True}})
    assert err.value.code == 400
    assert err.value.error["status"] == "INVALID_ARGUMENT"


def test_a_fields_mask_filters_the_metadata(book):
    meta = book.fetch_sheet_metadata(params={"fields": "sheets(properties(sheetId,title))"})
    assert meta == {"sheets": [{"properties": {"sheetId": 0, "title": "Hoja 1"}}]}


# ---- batch calls -----------------------------------------------------------------------------
def test_batch_get_returns_one_value_range_per_range(book, ops):
    ops.update([["a", "b"], ["c", "d"]], "A1")
    reply = book.values_batch_get(["Operaciones!A1:B1", "Operaciones!A2", "'Hoja 1'"])
    assert reply == {
        "spreadsheetId": LOCAL_SPREADSHEET_ID,
        "valueRanges": [
            {"range": "Operaciones!A1:B1", "majorDimension": "ROWS", "values": [["a", "b"]]},
            {"range": "Operaciones!A2", "majorDimension": "ROWS", "values": [["c"]]},
            {"range": "'Hoja 1'!A1:Z1000", "majorDimension": "ROWS"},
        ],
    }
    assert [v for v in ops.batch_get(["A1", "B2"])] == [[["a"]], [["d"]]]


def test_batch_update_writes_many_ranges_in_one_call(book, ops):
    reply = ops.batch_update(
        [{"range": "A1:B1", "values": [["a", "b"]]}, {"range": "C5", "values": [["13-05-2026"]]}],
        raw=False,
    )
    assert reply == {
        "spreadsheetId": LOCAL_SPREADSHEET_ID,
        "totalUpdatedRows": 2,
        "totalUpdatedColumns": 3,
        "totalUpdatedCells": 3,
        "totalUpdatedSheets": 1,
        "responses": [
            {
                "spreadsheetId": LOCAL_SPREADSHEET_ID,
                "updatedRange": "Operaciones!A1:B1",
                "updatedRows": 1,
                "updatedColumns": 2,
                "updatedCells": 2,
            },
            {
                "spreadsheetId": LOCAL_SPREADSHEET_ID,
                "updatedRange": "Operaciones!C5",
                "updatedRows": 1,
                "updatedColumns": 1,
                "updatedCells": 1,
            },
        ],
    }
    assert unformatted(ops, "C5") == [[46155]]


def test_batch_clear_and_clear_report_the_cleared_ranges(book, ops):
    ops.update([["a", "b", "c"], ["d", "e", "f"]], "A1")
    reply = ops.batch_clear(["B1:B2", "A2"])
    assert reply == {
        "spreadsheetId": LOCAL_SPREADSHEET_ID,
        "clearedRanges": ["Operaciones!B1:B2", "Operaciones!A2"],
    }
    assert ops.get_all_values() == [["a", "", "c"], ["", "", "f"]]
    assert ops.clear() == {
        "spreadsheetId": LOCAL_SPREADSHEET_ID,
        "clearedRange": "Operaciones!A1:Z1000",
    }
    assert ops.get_all_values() == [[]]  # gspread pads an empty reply


# ---- recorded Google traffic (gspread's own test cassettes) ---------------------------------
def test_recorded_batch_update_and_read_replay_unchanged(book):
    book.add_worksheet("Sheet1", 1000, 26)
    reply = book.values_batch_update(
        {
            "valueInputOption": "RAW",
            "data": [
                {"range": "'Sheet1'!A1:D1", "values": [["A1", "B1", "", "D1"]]},
                {"range": "'Sheet1'!A4:D4", "values": [["A4", "B4", "", "D4"]]},
            ],
        }
    )
    one = {"spreadsheetId": LOCAL_SPREADSHEET_ID, "updatedRows": 1, "updatedColumns": 4}
    assert reply == {
        "spreadsheetId": LOCAL_SPREADSHEET_ID,
        "totalUpdatedRows": 2,
        "totalUpdatedColumns": 4,
        "totalUpdatedCells": 8,
        "totalUpdatedSheets": 1,
        "responses": [
            {**one, "updatedRange": "Sheet1!A1:D1", "updatedCells": 4},
            {**one, "updatedRange": "Sheet1!A4:D4", "updatedCells": 4},
        ],
    }
    assert book.values_get("'Sheet1'!A1:D4") == {
        "range": "Sheet1!A1:D4",
        "majorDimension": "ROWS",
        "values": [["A1", "B1", "", "D1"], [], [], ["A4", "B4", "", "D4"]],
    }


def test_recorded_insert_row_sequence_replays_unchanged(book):
    ws = book.add_worksheet("Sheet1", 1000, 26)
    values = [[f"test_insert_row {4 * r + c + 1}" for c in range(4)] for r in range(6)]
    assert book.values_update(
        "'Sheet1'!A1:D6", params={"valueInputOption": "RAW"}, body={"values": values}
    ) == {
        "spreadsheetId": LOCAL_SPREADSHEET_ID,
        "updatedRange": "Sheet1!A1:D6",
        "updatedRows": 6,
        "updatedColumns": 4,
        "updatedCells": 24,
    }
    insert = {"range": {"sheetId": ws.id, "dimension": "ROWS", "startIndex": 1, "endIndex": 2}}
    assert book.batch_update({"requests": [{"insertDimension": insert}]}) == {
        "spreadsheetId": LOCAL_SPREADSHEET_ID,
        "replies": [{}],
    }
    new_row = [f"test_insert_row {n}" for n in range(25, 33)]
    assert book.values_append(
        "'Sheet1'!A2",
        params={"valueInputOption": "RAW"},
        body={"majorDimension": "ROWS", "values": [new_row]},
    ) == {
        "spreadsheetId": LOCAL_SPREADSHEET_ID,
        "updates": {
            "spreadsheetId": LOCAL_SPREADSHEET_ID,
            "updatedRange": "Sheet1!A2:H2",
            "updatedRows": 1,
            "updatedColumns": 8,
            "updatedCells": 8,
        },
    }
    assert book.values_get("'Sheet1'!A2:2")["range"] == "Sheet1!A2:Z2"
    assert book.values_get("'Sheet1'!A3:3")["values"] == [values[1]]


def test_recorded_clear_of_a_cell_like_sheet_name_replays_unchanged(book):
    d3 = book.add_worksheet("D3", 4, 4)
    d3.update([["x"]], "A1")
    assert book.values_clear("'D3'") == {
        "spreadsheetId": LOCAL_SPREADSHEET_ID,
        "clearedRange": "'D3'!A1:D4",
    }


# ---- counters and faults ---------------------------------------------------------------------
def test_counters_count_reads_writes_and_each_endpoint(book, ops, store):
    store.reset_counters()
    ops.get_all_values()
    ops.batch_get(["A1"])
    ops.update([["x"]], "A1")
    ops.batch_update([{"range": "B1", "values": [["y"]]}])
    book.fetch_sheet_metadata()
    ops.resize(rows=10)
    status = store.status()
    assert (status["reads"], status["writes"], status["failed"]) == (3, 3, 0)
    assert status["by_kind"] == {
        "spreadsheets.batchUpdate": 1,
        "spreadsheets.get": 1,
        "values.batchGet": 1,
        "values.batchUpdate": 1,
        "values.get": 1,
        "values.update": 1,
    }
    assert status["faults"] == {}
    store.reset_counters()
    assert (store.status()["reads"], store.status()["writes"]) == (0, 0)


def test_outage_breaks_a_second_store_and_session_on_the_same_file(db, book):
    other_store = LocalSheetStore(db)
    other_store.set_outage(True)
    with pytest.raises(requests.exceptions.ConnectionError):
        book.sheet1.get_all_values()
    assert LocalSheetStore(db).status()["faults"] == {"outage": True}
    other_store.set_outage(False)
    assert book.sheet1.get_all_values() == [[]]  # gspread pads an empty reply


def test_outage_switched_by_another_process_reaches_this_process(db, book, store):
    run_in_other_process(db, "store.set_outage(True)\n")
    with pytest.raises(requests.exceptions.ConnectionError):
        book.sheet1.update([["x"]], "A1")
    assert store.status()["failed"] >= 1
    run_in_other_process(db, "store.clear_faults()\n")
    book.sheet1.update([["x"]], "A1")
    assert book.sheet1.get_all_values() == [["x"]]


@pytest.mark.parametrize(
    ("code", "status"), [(429, "RESOURCE_EXHAUSTED"), (500, "INTERNAL"), (503, "UNAVAILABLE")]
)
def test_injected_errors_are_api_errors_and_apply_nothing(book, store, code, status):
    store.set_errors(1.0, status=code)
    with pytest.raises(APIError) as err:
        book.sheet1.update([["no llega"]], "A1")
    assert err.value.code == code
    assert err.value.error["status"] == status
    assert store.status()["faults"] == {"error_rate": 1.0, "error_status": code}
    store.clear_faults()
    assert book.sheet1.get_all_values() == [[]]  # gspread pads an empty reply


def test_an_error_rate_fails_about_that_fraction_of_calls(book, store):
    store.set_errors(0.5, status=503)
    failures = 0
    for _ in range(200):
        try:
            book.values_get("'Hoja 1'!A1")
        except APIError:
            failures += 1
    assert 60 < failures < 140
    assert store.status()["failures"]["503"] == failures


def test_latency_slows_every_call(book, store):
    store.set_latency(80)
    started = time.monotonic()
    book.sheet1.get_all_values()
    assert time.monotonic() - started >= 0.08
    store.set_latency(0)
    assert store.status()["faults"] == {}


def test_latency_over_the_timeout_applies_the_write_then_raises_read_timeout(db, book, store):
    ws = book.sheet1
    store.set_latency(2000)
    book.client.set_timeout(0.1)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        ws.update([["aterrizó"]], "A1")
    assert time.monotonic() - started >= 0.1
    store.clear_faults()
    assert open_book(db).sheet1.get_all_values() == [["aterrizó"]]
    assert store.status()["failures"]["timeout"] == 1


def test_set_errors_and_latency_reject_nonsense(store):
    with pytest.raises(ValueError):
        store.set_errors(1.5)
    with pytest.raises(ValueError):
        store.set_errors(0.5, status=404)
    with pytest.raises(ValueError):
        store.set_latency(-1)


# ---- concurrency and speed -------------------------------------------------------------------
def test_two_threads_appending_concurrently_lose_nothing(db, book):
    ws = book.add_worksheet("Metadata", 5, 2)
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            mine = open_book(db).worksheet("Metadata")
            for i in range(40):
                mine.append_row([f"{name}-{i}", name])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ids = [row[0] for row in ws.get_all_values()]
    assert sorted(ids) == sorted([f"a-{i}" for i in range(40)] + [f"b-{i}" for i in range(40)])


def test_two_processes_appending_concurrently_lose_nothing(db, book):
    book.add_worksheet("Metadata", 5, 2)
    code = (
        "import gspread\n"
        "ws = gspread.Client(auth=None, session=local_session(store.path))"
        ".open_by_key(LOCAL_SPREADSHEET_ID).worksheet('Metadata')\n"
        "for i in range(30):\n"
        "    ws.append_row([f'{NAME}-{i}'])\n"
    )
    script = (
        f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        "from spools.workbook.local_sheet import LocalSheetStore, LOCAL_SPREADSHEET_ID, local_session\n"
        f"store = LocalSheetStore({str(db)!r})\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script + f"NAME = {n!r}\n" + code])
        for n in ("p", "q")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    ids = sorted(row[0] for row in book.worksheet("Metadata").get_all_values())
    assert ids == sorted([f"p-{i}" for i in range(30)] + [f"q-{i}" for i in range(30)])


def _fill(book: gspread.Spreadsheet, title: str, rows: int, cols: int) -> gspread.Worksheet:
    ws = book.add_worksheet(title, rows, cols)
    data = [
        [f"MK-1923-TW-{r:05d}" if c == 0 else f"valor {r}.{c}" for c in range(cols)]
        for r in range(rows)
    ]
    ws.update(data, "A1")
    return ws


def test_a_10000_by_70_sheet_reads_back_whole_in_one_call(book, store):
    ws = _fill(book, "Operaciones", 10_000, 70)
    store.reset_counters()
    values = ws.get_all_values()
    assert len(values) == 10_000 and len(values[-1]) == 70
    assert store.status()["by_kind"] == {"values.get": 1}
    (batch,) = ws.batch_get(["A1:BR10000"], value_render_option="UNFORMATTED_VALUE")
    assert len(batch) == 10_000


def test_a_batch_update_of_300_cells_spread_over_rows_lands_every_cell(book):
    ws = _fill(book, "Operaciones", 10_000, 20)
    data = [
        {"range": f"{'ABCDEFGHIJ'[i % 10]}{(i * 37) % 10_000 + 1}", "values": [[f"n{i}"]]}
        for i in range(300)
    ]
    reply = ws.batch_update(data, raw=False)
    assert reply["totalUpdatedCells"] == 300
    assert ws.acell("B38").value == "n1"


def test_an_unknown_endpoint_is_googles_404(db):
    reply = local_session(db).get(
        f"https://sheets.googleapis.com/v4/spreadsheets/{LOCAL_SPREADSHEET_ID}/developerMetadata/1"
    )
    assert reply.status_code == 404
    assert reply.json()["error"]["status"] == "NOT_FOUND"


def test_a_backend_bug_answers_500_internal_and_applies_nothing(book, store, monkeypatch):
    from spools.workbook.local_sheet import values_api

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    ws = book.sheet1
    monkeypatch.setattr(values_api, "values_update", broken)
    with pytest.raises(APIError) as err:
        ws.update([["x"]], "A1")
    assert (err.value.code, err.value.error["status"]) == (500, "INTERNAL")
    assert store.status()["failures"] == {"500": 1}


def test_reply_bodies_are_plain_json(db):
    reply = local_session(db).get(
        f"https://sheets.googleapis.com/v4/spreadsheets/{LOCAL_SPREADSHEET_ID}/values/A1"
    )
    assert reply.headers["Content-Type"].startswith("application/json")
    assert json.loads(reply.content) == {"range": "'Hoja 1'!A1", "majorDimension": "ROWS"}
