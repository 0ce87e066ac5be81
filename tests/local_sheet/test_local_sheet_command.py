"""``manage.py local_sheet``: counters and runtime faults of the local backend."""

from __future__ import annotations

import io
import json
from pathlib import Path

import gspread
import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError
from gspread.exceptions import APIError

from spools.workbook.local_sheet import LOCAL_SPREADSHEET_ID, LocalSheetStore, local_session


@pytest.fixture
def sheet_file(tmp_path: Path, settings) -> Path:
    path = tmp_path / "local-sheet.sqlite3"
    settings.ZEUES_LOCAL_SHEET = str(path)
    settings.ZEUES_SHEET_ID = ""
    return path


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("local_sheet", *args, stdout=out)
    return out.getvalue()


def workbook(path: Path) -> gspread.Spreadsheet:
    return gspread.Client(auth=None, session=local_session(path)).open_by_key(LOCAL_SPREADSHEET_ID)


def test_status_json_prints_one_object_with_reads_writes_and_faults(sheet_file):
    ws = workbook(sheet_file).sheet1
    LocalSheetStore(sheet_file).reset_counters()
    ws.update([["x"]], "A1")
    ws.get_all_values()
    status = json.loads(run("status", "--json"))
    assert status["reads"] == 1
    assert status["writes"] == 1
    assert status["faults"] == {}
    assert status["by_kind"] == {"values.get": 1, "values.update": 1}


def test_status_text_lists_counts_by_kind_and_faults_in_force(sheet_file):
    workbook(sheet_file).sheet1.get_all_values()
    run("latency", "150")
    text = run("status")
    assert "spreadsheets.get" in text
    assert "values.get" in text
    assert "latencia 150 ms" in text


def test_outage_on_makes_every_client_fail_until_off(sheet_file):
    ws = workbook(sheet_file).sheet1
    run("outage", "on")
    assert LocalSheetStore(sheet_file).status()["faults"] == {"outage": True}
    with pytest.raises(requests.exceptions.ConnectionError):
        ws.get_all_values()
    run("outage", "off")
    assert ws.get_all_values() == [[]]


def test_errors_with_a_status_fail_that_fraction_and_zero_clears(sheet_file):
    ws = workbook(sheet_file).sheet1
    run("errors", "1", "--status", "429")
    assert LocalSheetStore(sheet_file).status()["faults"] == {
        "error_rate": 1.0,
        "error_status": 429,
    }
    with pytest.raises(APIError) as err:
        ws.update([["x"]], "A1")
    assert err.value.code == 429
    run("errors", "0")
    assert LocalSheetStore(sheet_file).status()["faults"] == {}
    ws.update([["x"]], "A1")


def test_errors_default_to_503(sheet_file):
    run("errors", "0.25")
    assert LocalSheetStore(sheet_file).status()["faults"] == {
        "error_rate": 0.25,
        "error_status": 503,
    }


def test_latency_zero_clears_it(sheet_file):
    run("latency", "40")
    assert LocalSheetStore(sheet_file).status()["faults"] == {"latency_ms": 40}
    run("latency", "0")
    assert LocalSheetStore(sheet_file).status()["faults"] == {}


def test_reset_counters_zeroes_the_counts(sheet_file):
    workbook(sheet_file).sheet1.get_all_values()
    assert json.loads(run("status", "--json"))["reads"] > 0
    run("reset-counters")
    status = json.loads(run("status", "--json"))
    assert (status["reads"], status["writes"], status["failed"]) == (0, 0, 0)


@pytest.mark.parametrize("rate", ["1.5", "-0.1", "mucho"])
def test_a_rate_outside_0_to_1_is_refused(sheet_file, rate):
    with pytest.raises(CommandError, match="RATE"):
        run("errors", rate)


def test_a_negative_latency_is_refused(sheet_file):
    with pytest.raises(CommandError):
        run("latency", "-5")


def test_refuses_when_the_google_backend_is_configured(sheet_file, settings):
    settings.ZEUES_SHEET_ID = "1AbCdEf"
    with pytest.raises(CommandError, match="ZEUES_SHEET_ID"):
        run("status")
    assert not sheet_file.exists()


def test_help_reads_like_a_man_page():
    from spools.management.commands.local_sheet import Command

    for word in ("status", "--json", "outage", "latency", "errors", "reset-counters"):
        assert word in Command.help
