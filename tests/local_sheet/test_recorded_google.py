"""The local backend answers like Google: recorded Google traffic replayed through gspread.

Each file in ``recorded/`` holds request/response pairs copied (headers dropped) from one of
gspread's own test cassettes (repository burnash/gspread, path and commit inside the file).
Those were recorded against real Google spreadsheets in the en_US locale, with one sheet
"Sheet1" (sheetId 0, 1000 × 26). The replay sets the local workbook up the same way, sends
every recorded request through gspread's HTTP client and compares the status and the body.
"""

from __future__ import annotations

import json
from pathlib import Path

import gspread
import pytest

from spools.workbook.local_sheet import LOCAL_SPREADSHEET_ID, local_session

RECORDED = Path(__file__).parent / "recorded"


@pytest.fixture
def book(tmp_path: Path) -> gspread.Spreadsheet:
    client = gspread.Client(auth=None, session=local_session(tmp_path / "local-sheet.sqlite3"))
    return client.open_by_key(LOCAL_SPREADSHEET_ID)


def set_up_like(book: gspread.Spreadsheet, recording: dict) -> None:
    """The recorded spreadsheet's starting point: its sheet's title and its locale."""
    rename = {"properties": {"sheetId": 0, "title": recording["sheet"]}, "fields": "title"}
    book.batch_update({"requests": [{"updateSheetProperties": rename}]})
    book.update_locale(recording["locale"])


def pick(body: dict, path: str) -> object:
    for key in path.split("."):
        body = body[key]
    return body


def replay(book: gspread.Spreadsheet, name: str) -> None:
    recording = json.loads((RECORDED / name).read_text())
    set_up_like(book, recording)
    recorded_id = recording["spreadsheetId"]
    for i, step in enumerate(recording["interactions"]):
        request, want = step["request"], step["response"]
        uri = request["uri"].replace(recorded_id, LOCAL_SPREADSHEET_ID)
        reply = book.client.request(request["method"], uri, json=request["body"])
        expected = json.loads(json.dumps(want["body"]).replace(recorded_id, LOCAL_SPREADSHEET_ID))
        got = reply.json()
        where = f"{name} step {i}: {request['method']} {uri}"
        assert reply.status_code == want["status"], where
        for path in want.get("compare", []):
            assert pick(got, path) == pick(expected, path), where
        if "compare" not in want:
            assert got == expected, where


@pytest.mark.parametrize(
    "recording",
    [
        "append_row_with_empty_value.json",
        "append_row_with_empty_value_and_table_range.json",
        "get_all_records_value_render_options.json",
        "numeric_value.json",
        "timezone_and_locale.json",
    ],
)
def test_recorded_google_exchange_replays_unchanged(book, recording):
    replay(book, recording)


# ---- locale: what the recordings imply, checked on the plant's own workflow -------------------
def formatted(ws: gspread.Worksheet, rng: str) -> list:
    return ws.get(rng, value_render_option="FORMATTED_VALUE")


def unformatted(ws: gspread.Worksheet, rng: str) -> list:
    return ws.get(rng, value_render_option="UNFORMATTED_VALUE")


def test_the_plants_sheet_is_es_cl_and_formatted_numbers_follow_a_locale_change(book):
    ws = book.sheet1
    assert book.locale == "es_CL"
    ws.update([[42.01, 3, "=1/4"]], "A1", value_input_option="USER_ENTERED")
    assert formatted(ws, "A1:C1") == [["42,01", "3", "0,25"]]
    book.update_locale("en_US")
    # Numbers written before the change are shown the new way too.
    assert formatted(ws, "A1:C1") == [["42.01", "3", "0.25"]]
    ws.update([[1.5]], "A2")
    assert formatted(ws, "A2") == [["1.5"]]
    book.update_locale("es_CL")
    assert formatted(ws, "A1:A2") == [["42,01"], ["1,5"]]
    assert unformatted(ws, "A1:C2") == [[42.01, 3, 0.25], [1.5]]


def test_typed_numbers_are_read_the_way_the_locale_writes_them(book):
    ws = book.sheet1
    ws.update([["1,5", "1.25"]], "A1", value_input_option="USER_ENTERED")
    assert unformatted(ws, "A1:B1") == [[1.5, 1.25]]  # es_CL: the comma is the decimal mark
    book.update_locale("en_US")
    ws.update([["1,5", "1.25", "2,000,000.01", "1,000"]], "A2", value_input_option="USER_ENTERED")
    # en_US: the comma only groups digits, so "1,5" is not a number; grouped input keeps its
    # grouping when shown (the recorded "2,000,000.01" reads back as typed).
    assert unformatted(ws, "A2:D2") == [["1,5", 1.25, 2000000.01, 1000]]
    assert formatted(ws, "A2:D2") == [["1,5", "1.25", "2,000,000.01", "1,000"]]
    book.update_locale("es_CL")
    assert formatted(ws, "C2:D2") == [["2.000.000,01", "1.000"]]


# ---- append: the table Google finds -----------------------------------------------------------
def test_append_writes_under_the_last_table_of_the_range_from_its_first_column(book):
    ws = book.sheet1
    ws.update([["a", "b", "c"], ["a", "b", "c"]], "A1")
    ws.update([["x", "y", ""], ["", "y", "z"], ["x", "y", "z"]], "B4")
    whole = ws.append_row(["n1"])
    assert whole["tableRange"] == "'Hoja 1'!B4:D6"
    assert whole["updates"]["updatedRange"] == "'Hoja 1'!B7"
    upper = ws.append_row(["n2"], table_range="A1")
    assert upper["tableRange"] == "'Hoja 1'!A1:C2"  # the table reaches past the range
    assert upper["updates"]["updatedRange"] == "'Hoja 1'!A3"
    empty = ws.append_row(["n3"], table_range="F10")
    assert "tableRange" not in empty
    assert empty["updates"]["updatedRange"] == "'Hoja 1'!F10"


def test_append_after_a_row_with_leading_empty_cells_lands_where_google_put_it(book):
    ws = book.sheet1
    ws.update([["", "", "ID", "Evento"], ["", "", "1", "TOMAR"]], "A1")
    reply = ws.append_row(["2", "PAUSAR"])
    assert reply["tableRange"] == "'Hoja 1'!C1:D2"
    assert reply["updates"]["updatedRange"] == "'Hoja 1'!C3:D3"
    assert ws.get_all_values()[2] == ["", "", "2", "PAUSAR"]
