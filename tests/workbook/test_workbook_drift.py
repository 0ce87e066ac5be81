"""The office changes the workbook under the app: rows and columns move, headers break,
cells are typed by hand. Writes still land on the right spool and column, a broken header
stops every write, and office edits reach the mirror by pull.

The office's edits are plain gspread calls on open_workbook(), as people make them; counts
of API calls come from the local backend's counters.
"""

from __future__ import annotations

import json

import pytest
from gspread.utils import ValueRenderOption

from occupation.services import ActionCommand, perform_action
from spools.models import Event, OutboxEntry, Spool, SyncState
from spools.sheets import open_workbook
from spools.workbook.columns import APP_OWNED_COLUMNS, METADATA, OPERACIONES, column_letter
from spools.workbook.outbox import pending_count
from spools.workbook.pull import pull
from spools.workbook.sync import flush_until_empty, run_cycle
from tests.builders import build_workbook, spool, worker
from tests.plant import (
    APPROVED,
    ARM_DONE,
    ARM_IN_PROGRESS,
    ARM_PAUSED,
    ARM_PENDING,
    BLOCKED,
    NO_MATERIALS,
    QC_PENDING,
    REJECTED_1,
    SOLD_IN_PROGRESS,
    SPOOLS,
    WORKERS,
    act,
    metadata_rows,
    sheet_row,
)

pytestmark = pytest.mark.django_db


def cliente(tag: str) -> str:
    return f"cliente {tag[-3:]}"


def build() -> None:
    """The plant of tests.plant, each row with its own Cliente (to catch a row mix-up)."""
    build_workbook([{**s, "Cliente": cliente(s["TAG_SPOOL"])} for s in SPOOLS], WORKERS)
    pull(workers=True)


@pytest.fixture
def plant_with_clientes(sheet_store, settings):
    """The plant of tests.plant with a Cliente per row, pulled only when a test asks; the
    local backend (its counters at zero)."""
    settings.ZEUES_PULL_INTERVAL = 3600  # pulls only when a test asks for one
    build()
    sheet_store.reset_counters()
    return sheet_store


def do(operacion: str, accion: str, worker_id: int, tag: str, resultado: str = "") -> None:
    outcome = perform_action(ActionCommand(operacion, accion, worker_id, [tag], resultado))
    assert outcome.status == 200, outcome.results


def ops():
    return open_workbook().worksheet(OPERACIONES)


def col_of(ws, name: str) -> int:
    """1-based column of a header, as the sheet has it now."""
    return ws.row_values(1).index(name) + 1


def row_of(ws, tag: str) -> int:
    return ws.col_values(col_of(ws, "TAG_SPOOL")).index(tag) + 1


def records(sheet: str = OPERACIONES) -> list[dict]:
    return open_workbook().worksheet(sheet).get_all_records(numericise_ignore=["all"])


def whole_workbook() -> dict:
    """Every sheet's grid size and every cell, as the office sees them."""
    wb = open_workbook()
    return {ws.title: (ws.row_count, ws.col_count, ws.get_all_values()) for ws in wb.worksheets()}


def assert_every_cell_on_its_spool_and_column(extra_column: str | None = None) -> None:
    """The workbook equals the mirror, row by row, and office cells stayed where they were."""
    rows = {r["TAG_SPOOL"]: r for r in records() if r["TAG_SPOOL"]}
    for s in Spool.objects.filter(tag__in=rows):
        row = rows[s.tag]
        assert {c: row[c] for c in APP_OWNED_COLUMNS} == s.app_cells(), s.tag
        if s.tag.startswith("MK-1923"):
            assert row["Cliente"] == cliente(s.tag), s.tag
        if extra_column:
            assert row[extra_column] == "", f"{s.tag}: a write landed in {extra_column}"
    ids = [r["ID"] for r in records(METADATA)]
    assert ids == [e.metadata_row["ID"] for e in OutboxEntry.objects.order_by("id")]


# --- rows and columns moved between two flushes ---------------------------------------------


def insert_rows_above(ws) -> str | None:
    header = ws.row_values(1)
    new = {"TAG_SPOOL": "MK-OFICINA-901", "Fecha_Materiales": "02-05-2026"}
    ws.insert_rows([[new.get(h, "") for h in header], [""] * len(header)], row=2)
    return None


def sort_rows(ws) -> str | None:
    last = column_letter(ws.col_count - 1)
    ws.sort((col_of(ws, "TAG_SPOOL"), "des"), range=f"A2:{last}{ws.row_count}")
    return None


def delete_rows(ws) -> str | None:
    for tag in (APPROVED, NO_MATERIALS):  # rows with nothing pending, above pending ones
        ws.delete_rows(row_of(ws, tag))
    return None


def insert_column_before_ocupado_por(ws) -> str | None:
    ws.insert_cols([["Nota oficina"]], col=col_of(ws, "Ocupado_Por"))
    return "Nota oficina"


def insert_column_before_tag_spool(ws) -> str | None:
    ws.insert_cols([["Prioridad"]], col=col_of(ws, "TAG_SPOOL"))
    return "Prioridad"


DRIFTS = [
    insert_rows_above,
    sort_rows,
    delete_rows,
    insert_column_before_ocupado_por,
    insert_column_before_tag_spool,
]


@pytest.mark.parametrize("drift", DRIFTS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("cycle", ["flush", "flush_with_pull"])
def test_between_two_flushes_the_office_moves_rows_or_columns_every_cell_lands_right(
    plant_with_clientes, drift, cycle
):
    do("ARM", "TOMAR", 93, ARM_PENDING)
    do("ARM", "COMPLETAR", 93, ARM_IN_PROGRESS)
    flush_until_empty()
    # Pending when the office moves things: rows all over the sheet.
    do("ARM", "PAUSAR", 93, ARM_PENDING)
    do("SOLD", "TOMAR", 94, ARM_DONE)
    do("SOLD", "COMPLETAR", 94, SOLD_IN_PROGRESS)
    do("METROLOGIA", "COMPLETAR", 95, QC_PENDING, "APROBADO")
    do("REPARACION", "TOMAR", 96, REJECTED_1)
    do("ARM", "TOMAR", 100, ARM_PAUSED)

    extra_column = drift(ops())
    result = run_cycle(pull_now=cycle == "flush_with_pull")

    assert result.error == ""
    assert result.entries_flushed == 6
    assert pending_count() == 0
    assert_every_cell_on_its_spool_and_column(extra_column)
    # And the next flush, after the move, too.
    do("ARM", "COMPLETAR", 100, ARM_PAUSED)
    do("REPARACION", "PAUSAR", 96, REJECTED_1)
    flush_until_empty()
    assert_every_cell_on_its_spool_and_column(extra_column)
    assert sheet_row(ARM_PAUSED)["Fecha_Armado"] != ""
    assert sheet_row(REJECTED_1)["Estado_Detalle"] == "REPARACION_PAUSADA (Ciclo 1/3)"


def test_tag_spool_moved_costs_one_extra_read_on_that_flush_only(plant_with_clientes):
    do("ARM", "TOMAR", 93, ARM_PENDING)
    flush_until_empty()
    insert_column_before_tag_spool(ops())
    do("ARM", "PAUSAR", 93, ARM_PENDING)
    plant_with_clientes.reset_counters()

    run_cycle()

    status = plant_with_clientes.status()
    assert (status["reads"], status["writes"]) == (2, 1)
    assert sheet_row(ARM_PENDING)["Ocupado_Por"] == ""
    do("ARM", "TOMAR", 93, ARM_PENDING)
    plant_with_clientes.reset_counters()

    run_cycle()

    status = plant_with_clientes.status()
    assert (status["reads"], status["writes"]) == (1, 1)
    assert_every_cell_on_its_spool_and_column("Prioridad")


# --- a required column renamed or deleted ----------------------------------------------------


def rename(column: str, to: str):
    def do_it(ws):
        ws.update_cell(1, col_of(ws, column), to)

    def undo(ws):
        ws.update_cell(1, col_of(ws, to), column)

    return do_it, undo


def delete_column(column: str):
    saved: list = []

    def do_it(ws):
        col = col_of(ws, column)
        values = ws.col_values(col)
        saved[:] = [col, values + [""] * (ws.row_count - len(values))]
        ws.delete_columns(col)

    def undo(ws):
        col, values = saved
        ws.insert_cols([values], col=col)

    return do_it, undo


BREAKS = {
    "Ocupado_Por renamed": ("Ocupado_Por", *rename("Ocupado_Por", "Ocupante")),
    # Not a column the pending write touches: still no write anywhere.
    "Fecha_Armado renamed": ("Fecha_Armado", *rename("Fecha_Armado", "Fecha de armado (v2)")),
    "Estado_Detalle deleted": ("Estado_Detalle", *delete_column("Estado_Detalle")),
}


@pytest.mark.parametrize("name", BREAKS)
def test_a_missing_required_column_refuses_every_write_until_the_header_is_fixed(
    plant_with_clientes, station, name
):
    column, break_it, fix_it = BREAKS[name]
    assert act(station, "ARM", "TOMAR", 93, ARM_PENDING).status_code == 200  # pending
    ws = ops()
    break_it(ws)
    # Meanwhile the office adds a spool someone already works on (in whatever header now says).
    new_tag = "MK-OFICINA-050"
    typed = {"TAG_SPOOL": new_tag, "Fecha_Materiales": "02-05-2026", "Armador": "DF(100)"}
    typed.update({"Ocupado_Por": "DF(100)", "Ocupante": "DF(100)"})
    ws.append_row([typed.get(h, "") for h in ws.row_values(1)], value_input_option="RAW")
    before = whole_workbook()

    flush = run_cycle()
    assert column in flush.error and OPERACIONES in flush.error
    with_pull = run_cycle(pull_now=True)
    assert column in with_pull.error
    state = SyncState.get()
    assert f"Falta la columna {column} en la hoja {OPERACIONES}" in state.structure_error

    response = act(station, "ARM", "TOMAR", 93, ARM_PAUSED)
    assert response.status_code == 503
    assert f"Falta la columna {column}" in response.text
    health = station.get("/healthz").json()
    assert f"Falta la columna {column}" in health["sheet"]["last_error"]
    assert health["sheet"]["outbox_pending"] == 1
    assert whole_workbook() == before  # nothing written anywhere
    assert not Spool.objects.get(tag=ARM_PAUSED).is_occupied
    # The pull read a sheet it could not understand: the mirror kept what it knew.
    assert Spool.objects.get(tag=ARM_IN_PROGRESS).ocupado_por == "MR(93)"
    assert not Event.objects.filter(evento_tipo="SUPERVISOR_OVERRIDE").exists()

    fix_it(ops())
    assert flush_until_empty() == 1

    assert SyncState.get().structure_error == ""
    assert sheet_row(ARM_PENDING)["Ocupado_Por"] == "MR(93)"
    assert act(station, "ARM", "TOMAR", 93, ARM_PAUSED).status_code == 200
    run_cycle(pull_now=True)
    flush_until_empty()
    assert sheet_row(ARM_IN_PROGRESS)["Ocupado_Por"] == "MR(93)"
    added = Spool.objects.get(tag=new_tag)
    assert (added.armador, added.ocupado_por) == ("DF(100)", "DF(100)")
    assert not Event.objects.filter(evento_tipo="SUPERVISOR_OVERRIDE").exists()
    assert_every_cell_on_its_spool_and_column()
    assert station.get("/healthz").json()["sheet"]["last_error"] is None


# --- office edits arriving by pull --------------------------------------------------------------


def test_a_spool_row_added_by_the_office_appears_in_the_mirror(plant_with_clientes):
    ws = ops()
    header = ws.row_values(1)
    values = {
        "TAG_SPOOL": "MK-1923-TW-17422-099",
        "OT": "OT-1999",
        "Fecha_Materiales": "03-05-2026",
    }
    ws.append_row([values.get(h, "") for h in header], value_input_option="RAW")

    run_cycle(pull_now=True)

    new = Spool.objects.get(tag="MK-1923-TW-17422-099")
    assert (new.ot, new.arm, new.is_occupied) == ("OT-1999", "PENDIENTE", False)
    assert new.fecha_materiales.isoformat() == "2026-05-03"
    do("ARM", "TOMAR", 93, new.tag)
    assert sheet_row(new.tag)["Ocupado_Por"] == "MR(93)"


def test_fecha_materiales_typed_by_the_office_makes_tomar_arm_possible(
    plant_with_clientes, station
):
    assert act(station, "ARM", "TOMAR", 93, NO_MATERIALS).status_code == 400
    ws = ops()
    row, col = row_of(ws, NO_MATERIALS), col_of(ws, "Fecha_Materiales")
    ws.update_cell(row, col, "15/05/2026")  # USER_ENTERED: the sheet keeps a date serial
    raw = ws.cell(row, col, value_render_option=ValueRenderOption.unformatted).value
    assert isinstance(raw, int | float)

    run_cycle(pull_now=True)

    assert Spool.objects.get(tag=NO_MATERIALS).fecha_materiales.isoformat() == "2026-05-15"
    assert act(station, "ARM", "TOMAR", 93, NO_MATERIALS).status_code == 200
    assert sheet_row(NO_MATERIALS)["Ocupado_Por"] == "MR(93)"


@pytest.mark.parametrize(
    "typed,ciclo",
    [("RECHAZADO", 0), ("RECHAZADO (Ciclo 1/3) - Pendiente reparación", 1)],
)
def test_a_blocked_cell_retyped_as_rechazado_unblocks_with_one_override_row(
    plant_with_clientes, station, typed, ciclo
):
    assert act(station, "REPARACION", "TOMAR", 96, BLOCKED).status_code == 403
    ws = ops()
    ws.update_cell(row_of(ws, BLOCKED), col_of(ws, "Estado_Detalle"), typed)

    run_cycle(pull_now=True)
    run_cycle(pull_now=True)  # pulled again: still one override
    flush_until_empty()
    run_cycle(pull_now=True)
    flush_until_empty()

    s = Spool.objects.get(tag=BLOCKED)
    assert (s.is_blocked, s.reparacion, s.ciclo) == (False, "RECHAZADO", ciclo)
    [override] = metadata_rows(BLOCKED)
    assert override["Evento_Tipo"] == "SUPERVISOR_OVERRIDE"
    assert (override["Worker_ID"], override["Worker_Nombre"]) == ("0", "SYSTEM")
    assert override["Accion"] == "OVERRIDE"
    assert json.loads(override["Metadata_JSON"])["tipo"] == "DESBLOQUEAR"
    assert act(station, "REPARACION", "TOMAR", 96, BLOCKED).status_code == 200
    row = sheet_row(BLOCKED)
    assert row["Estado_Detalle"] == f"EN_REPARACION (Ciclo {ciclo}/3) - Ocupado: PS(96)"
    assert [r["Evento_Tipo"] for r in metadata_rows(BLOCKED)] == [
        "SUPERVISOR_OVERRIDE",
        "TOMAR_REPARACION",
    ]


def test_an_office_edit_to_a_cell_with_a_pending_write_does_not_clobber_that_write(
    plant_with_clientes,
):
    do("ARM", "TOMAR", 93, ARM_PENDING)  # pending: Ocupado_Por and Armador = MR(93)
    ws = ops()
    row = row_of(ws, ARM_PENDING)
    ws.update_cell(row, col_of(ws, "Ocupado_Por"), "DF(100)")
    ws.update_cell(row, col_of(ws, "Armador"), "DF(100)")

    run_cycle(pull_now=True)  # reads the office's text, then writes the pending cells
    run_cycle(pull_now=True)

    s = Spool.objects.get(tag=ARM_PENDING)
    assert (s.ocupado_por, s.armador, s.occupant_id) == ("MR(93)", "MR(93)", 93)
    landed = sheet_row(ARM_PENDING)
    assert (landed["Ocupado_Por"], landed["Armador"]) == ("MR(93)", "MR(93)")
    assert [r["Evento_Tipo"] for r in metadata_rows(ARM_PENDING)] == ["TOMAR_SPOOL"]
    assert_every_cell_on_its_spool_and_column()


def test_an_office_edit_to_an_app_cell_of_a_row_with_nothing_pending_is_accepted(
    plant_with_clientes,
):
    ws = ops()
    ws.update_cell(row_of(ws, APPROVED), col_of(ws, "Soldador"), "PS(96)")

    run_cycle(pull_now=True)
    flush_until_empty()

    assert Spool.objects.get(tag=APPROVED).soldador == "PS(96)"
    [edit] = metadata_rows(APPROVED)
    assert edit["Evento_Tipo"] == "SUPERVISOR_OVERRIDE"
    assert json.loads(edit["Metadata_JSON"])["tipo"] == "EDICION_EXTERNA"


# --- what a flush costs -------------------------------------------------------------------------


@pytest.mark.parametrize("actions", [1, 10, 200])
def test_a_flush_is_one_read_and_one_write_whatever_the_number_of_actions(sheet_store, actions):
    tags = [f"MK-4000-TW-50000-{n:03d}" for n in range(1, 51)]
    build_workbook(
        spools=[spool(t, Fecha_Materiales="02-05-2026") for t in tags],
        workers=[worker(93, "Mario", "Rojas", roles=["Armador"])],
    )
    pull(workers=True)
    # A Metadata sheet with room, as a working workbook has (growing it is a separate
    # request, done 1000 rows at a time).
    open_workbook().worksheet(METADATA).add_rows(1000)
    for n in range(actions):
        do("ARM", "PAUSAR" if n % 2 else "TOMAR", 93, tags[(n // 2) % len(tags)])
    sheet_store.reset_counters()

    result = run_cycle()

    status = sheet_store.status()
    assert (status["reads"], status["writes"]) == (1, 1)
    assert status["by_kind"] == {"values.batchGet": 1, "values.batchUpdate": 1}
    assert (result.entries_flushed, result.metadata_written) == (actions, actions)
    assert pending_count() == 0
    assert_every_cell_on_its_spool_and_column()


def test_a_flush_when_a_pull_is_due_is_still_one_read_and_one_write(plant_with_clientes):
    do("ARM", "TOMAR", 93, ARM_PENDING)
    do("SOLD", "TOMAR", 94, ARM_DONE)
    plant_with_clientes.reset_counters()

    result = run_cycle(pull_now=True)

    status = plant_with_clientes.status()
    assert (status["reads"], status["writes"]) == (1, 1)
    assert result.pulled is not None and result.pulled.spools_seen == len(SPOOLS)
    assert result.entries_flushed == 2
    assert_every_cell_on_its_spool_and_column()


def test_a_metadata_row_typed_by_hand_without_an_id_is_never_written_over(plant_with_clientes):
    do("ARM", "TOMAR", 93, ARM_PENDING)
    flush_until_empty()
    ws = open_workbook().worksheet(METADATA)
    ws.append_row(["", "24-11-2026 10:00:00", "NOTA", "", "", "Jefa de turno", "", "", "", ""])
    do("ARM", "PAUSAR", 93, ARM_PENDING)
    flush_until_empty()
    rows = ws.get_all_values()
    assert any(r[2] == "NOTA" and r[5] == "Jefa de turno" for r in rows)  # still there
    assert [r[2] for r in rows[1:]].count("PAUSAR_SPOOL") == 1
