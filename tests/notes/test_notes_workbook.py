"""Notes in the workbook: each note's line lands in the Operaciones Notas cell exactly once,
beside whatever the office typed there (never over it), with its NOTA_AGREGADA Metadata row
once, through failures and retries; the office's lines come back into the mirror; a
workbook without the Notas column keeps notes in the app. Real parts: the database, the
flusher and the local Sheets backend through gspread, the office editing with gspread."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from spools.lifecycle import EventoTipo
from spools.models import Note, SyncState
from spools.notes import add_note
from spools.sheets import open_workbook
from spools.workbook.columns import METADATA, OPERACIONES
from spools.workbook.outbox import pending_count
from spools.workbook.pull import pull
from spools.workbook.rows import merge_note_lines
from spools.workbook.sync import flush_until_empty, run_cycle
from tests.builders import build_workbook
from tests.floor import wait_until
from tests.notes.conftest import OFFICE_LINE, SLASH_TAG
from tests.plant import ARM_PENDING, SPOOLS, WORKERS

OFFICE_2 = "llamar a calidad antes del viernes"


def ops_cell(tag: str, column: str) -> tuple[int, int, str]:
    """(row, column, text) of a tag's cell in Operaciones, as the sheet holds it now."""
    rows = open_workbook().worksheet(OPERACIONES).get_all_values()
    col = rows[0].index(column)
    tags = [r[rows[0].index("TAG_SPOOL")] for r in rows]
    row = tags.index(tag)
    return row + 1, col + 1, rows[row][col]


def notas(tag: str) -> list[str]:
    return ops_cell(tag, "Notas")[2].split("\n")


def office_types(tag: str, text: str) -> None:
    """The office edits the cell in the sheet (plain gspread, as a person's edit lands)."""
    row, col, _ = ops_cell(tag, "Notas")
    open_workbook().worksheet(OPERACIONES).update_cell(row, col, text)


def metadata_rows_of(event_id) -> list[list[str]]:
    rows = open_workbook().worksheet(METADATA).get_all_values()
    return [r for r in rows if r[0] == str(event_id)]


def note(tag: str, texto: str, worker_id: int | None = 93) -> Note:
    return add_note(tag, texto, worker_id=worker_id, account="tablet-1")


# --- the cell and the Metadata row -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_note_lands_in_the_notas_cell_and_metadata_once_with_one_read_and_one_write(
    notes_plant, sheet_store
):
    n = note(SLASH_TAG, "Falta una brida")
    assert run_cycle().error == ""

    assert sheet_store.status()["reads"] == 1 and sheet_store.status()["writes"] == 1
    assert notas(SLASH_TAG) == [OFFICE_LINE, n.line]
    [row] = metadata_rows_of(n.event_id)
    assert row[2:6] == [EventoTipo.NOTA_AGREGADA, SLASH_TAG, "93", "MR(93)"]
    n.refresh_from_db()
    assert n.written_at is not None and n.not_written == ""
    assert pending_count() == 0

    # The office line and the app's line are one office note and one app note, no more.
    pull()
    assert [(x.line, x.from_sheet) for x in Note.objects.filter(tag=SLASH_TAG)] == [
        (n.line, False),
        (OFFICE_LINE, True),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_note_landing_while_the_office_typed_another_line_keeps_the_office_line(notes_plant):
    first = note(SLASH_TAG, "Primera nota")
    second = note(SLASH_TAG, "Segunda nota", worker_id=94)
    # While those wait in the outbox, the office adds a line to the same cell.
    office_types(SLASH_TAG, f"{OFFICE_LINE}\n{OFFICE_2}")

    flush_until_empty()

    assert notas(SLASH_TAG) == [OFFICE_LINE, OFFICE_2, first.line, second.line]
    # And the office goes on typing after them: nothing of theirs or ours is lost.
    office_types(SLASH_TAG, "\n".join([*notas(SLASH_TAG), "otra de la oficina"]))
    third = note(SLASH_TAG, "Tercera")
    flush_until_empty()
    assert notas(SLASH_TAG) == [
        OFFICE_LINE,
        OFFICE_2,
        first.line,
        second.line,
        "otra de la oficina",
        third.line,
    ]
    pull()
    office = Note.objects.filter(tag=SLASH_TAG, from_sheet=True)
    assert sorted(x.line for x in office) == sorted([OFFICE_LINE, OFFICE_2, "otra de la oficina"])


@pytest.mark.django_db(transaction=True)
def test_a_flush_retried_after_errors_writes_the_line_and_the_metadata_row_once(
    notes_plant, sheet_store, settings
):
    settings.ZEUES_SHEET_RETRIES = 0
    n = note(SLASH_TAG, "Durante la falla")
    sheet_store.set_errors(1.0, status=503)
    for _ in range(3):
        assert "503" in run_cycle().error
    sheet_store.set_outage(True)
    assert run_cycle().error
    sheet_store.clear_faults()
    assert pending_count() == 1

    assert flush_until_empty() == 1

    assert notas(SLASH_TAG).count(n.line) == 1
    assert len(metadata_rows_of(n.event_id)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_write_that_landed_but_timed_out_adds_neither_the_line_nor_the_row_again(
    notes_plant, sheet_store, settings
):
    n = note(SLASH_TAG, "Con la red lenta")
    settings.ZEUES_SHEET_TIMEOUT = 0.3
    settings.ZEUES_SHEET_RETRIES = 1  # the retry lands a second time, at the same place
    # Writes are paced one a second: the cycle's write waits ~1 s after its read, long
    # enough to make the sheet slow (past the timeout) between the two.
    settings.ZEUES_SHEET_MIN_WRITE_INTERVAL = 1.0
    open_workbook().worksheet(METADATA).update_acell("A1", "ID")  # a write (of nothing) now
    sheet_store.reset_counters()
    results = []

    def flush() -> None:
        try:
            results.append(run_cycle())
        finally:
            connection.close()

    flusher = threading.Thread(target=flush)
    flusher.start()
    wait_until(lambda: sheet_store.status()["reads"] >= 1, 10, "the flush's read")
    sheet_store.set_latency(1000)
    flusher.join(30)
    sheet_store.clear_faults()

    [result] = results
    assert "Timeout" in result.error
    assert sheet_store.status()["writes"] == 2  # landed twice, the same text both times
    assert notas(SLASH_TAG) == [OFFICE_LINE, n.line]
    assert pending_count() == 1  # but the flusher could not know

    sheet_store.reset_counters()
    assert flush_until_empty() == 1

    assert sheet_store.status()["writes"] == 0  # the read showed both already there
    assert notas(SLASH_TAG) == [OFFICE_LINE, n.line]
    assert len(metadata_rows_of(n.event_id)) == 1
    n.refresh_from_db()
    assert n.written_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_full_notas_cell_is_left_alone_and_the_note_stays_in_the_app(notes_plant):
    full = "x" * 49_990
    office_types(ARM_PENDING, full)
    n = note(ARM_PENDING, "No cabe")

    flush_until_empty()

    assert ops_cell(ARM_PENDING, "Notas")[2] == full
    n.refresh_from_db()
    assert n.written_at is None and "llena" in n.not_written
    assert len(metadata_rows_of(n.event_id)) == 1


# --- a workbook without the Notas column -----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_without_a_notas_column_notes_stay_in_the_app_and_nothing_else_is_written(
    sheet_store, station
):
    build_workbook(spools=SPOOLS, workers=WORKERS)
    pull(workers=True)
    before = open_workbook().worksheet(OPERACIONES).get_all_values()

    response = station.post(f"/spools/{ARM_PENDING}/notas/", {"texto": "Sin columna", "worker": 93})
    assert response.status_code == 200
    assert flush_until_empty() == 1

    assert open_workbook().worksheet(OPERACIONES).get_all_values() == before
    n = Note.objects.get(tag=ARM_PENDING)
    assert len(metadata_rows_of(n.event_id)) == 1
    assert n.written_at is None and "no tiene la columna Notas" in n.not_written
    state = SyncState.get()
    assert (state.last_error, state.structure_error) == ("", "")  # optional: no error
    page = station.get(f"/spools/{ARM_PENDING}/").content.decode()
    assert "Sin columna" in page and "no tiene la columna Notas" in page


# --- the office's lines in the mirror --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_office_lines_follow_the_cell_into_the_mirror(notes_plant):
    def office_notes() -> list[tuple[str, str, str]]:
        return [
            (x.author, x.texto, x.line)
            for x in Note.objects.filter(tag=SLASH_TAG, from_sheet=True).order_by("pk")
        ]

    assert office_notes() == [("jefa", "revisar bridas antes de soldar", OFFICE_LINE)]
    first_pk = Note.objects.get(from_sheet=True).pk

    office_types(SLASH_TAG, f"{OFFICE_LINE}\n\n  {OFFICE_2}  ")
    pull()
    assert office_notes() == [
        ("jefa", "revisar bridas antes de soldar", OFFICE_LINE),
        ("", OFFICE_2, OFFICE_2),  # not in the app's form: shown as typed
    ]
    assert Note.objects.get(line=OFFICE_LINE).pk == first_pk  # kept, not made again

    pull()  # nothing changed: nothing moves
    assert Note.objects.filter(from_sheet=True).count() == 2

    office_types(SLASH_TAG, OFFICE_2)  # the office deleted its first line
    pull()
    assert office_notes() == [("", OFFICE_2, OFFICE_2)]

    office_types(SLASH_TAG, "")
    pull()
    assert office_notes() == []


# --- merging lines -----------------------------------------------------------------------------


def test_merging_keeps_every_line_and_adds_only_the_missing_ones():
    assert merge_note_lines("", ["a"]) == "a"
    assert merge_note_lines("  \n", ["a", "b"]) == "a\nb"
    assert merge_note_lines("x\n  y  \n", ["a"]) == "x\n  y  \na"
    assert merge_note_lines("x\na", ["a", "b", "b"]) == "x\na\nb"
    assert merge_note_lines("x\na\nb", ["a", "b"]) == "x\na\nb"  # a retry: unchanged
