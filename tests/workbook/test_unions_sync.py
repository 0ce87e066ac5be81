"""The Uniones sheet in the mirror: the office's unions pulled in, the app's union writes
landing on the right rows, and a workbook without Uniones costing what it always did.

Real parts only: the database, the sync cycle, and the local Sheets backend reached through
the real gspread client; the app's changes go through the outbox as every action's do.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from spools.lifecycle import EventoTipo
from spools.models import OutboxEntry, Spool, SyncState, Union
from spools.sheets import open_workbook
from spools.workbook.columns import (
    METADATA,
    METADATA_COLUMNS,
    OPERACIONES,
    OPERACIONES_COLUMNS,
    UNIONES,
    UNIONES_COLUMNS,
    column_letter,
)
from spools.workbook.gateway import read_ranges, sheet_range
from spools.workbook.outbox import pending_count, record_change, union_write
from spools.workbook.pull import pull
from spools.workbook.sync import forget_workbook_positions, run_cycle
from spools.workbook.values import datetime_to_serial, format_datetime
from tests.builders import build_workbook, spool, union, worker

pytestmark = pytest.mark.django_db

SANTIAGO = ZoneInfo("America/Santiago")
MAT = "02-05-2026"
WORKERS = [worker(93, "Mario", "Rojas", roles=["Armador"]), worker(94, "Juan", "Perez")]
MOMENT = datetime(2026, 5, 13, 11, 33, 48, tzinfo=SANTIAGO)


def unions_of(tag: str) -> list[tuple]:
    return list(
        Union.objects.filter(tag=tag)
        .order_by("n_union")
        .values_list("n_union", "dn_union", "tipo_union", "arm_worker")
    )


def counters(tag: str) -> tuple:
    s = Spool.objects.get(tag=tag)
    return (s.uniones_total, s.uniones_arm, s.uniones_sold_total, s.uniones_sold, s.pulgadas_arm)


def sheet_rows(title: str) -> list[dict]:
    """A sheet's rows by header, unformatted (numbers stay numbers), blank rows included."""
    (rows,) = read_ranges([sheet_range(title)])
    header = rows[0]
    return [{h: (r[i] if i < len(r) else "") for i, h in enumerate(header)} for r in rows[1:]]


def union_row(tag: str, n: int) -> dict:
    (row,) = [r for r in sheet_rows(UNIONES) if r["TAG_SPOOL"] == tag and r["N_UNION"] == n]
    return row


def ops_row(tag: str) -> dict:
    (row,) = [r for r in sheet_rows(OPERACIONES) if r["TAG_SPOOL"] == tag]
    return row


def calls(store) -> tuple[int, int]:
    status = store.status()
    return status["reads"], status["writes"]


def app_registers_arm(tag: str, numbers: list[int], worker_short: str = "MR(93)") -> None:
    """What a session end does to the mirror for these unions, and its one outbox entry."""
    spool_obj = Spool.objects.get(tag=tag)
    before = spool_obj.app_cells()
    writes = []
    for u in Union.objects.filter(tag=tag, n_union__in=numbers):
        u.arm_inicio, u.arm_fin = MOMENT - timedelta(hours=1), MOMENT
        u.arm_worker, u.arm_worker_id = worker_short, 93
        u.version = uuid.uuid4().hex
        u.save()
        writes.append(union_write(u))
    spool_obj.count_unions(Union.objects.filter(tag=tag))
    spool_obj.version = uuid.uuid4().hex
    spool_obj.save()
    record_change(
        spool_obj,
        before,
        evento_tipo=EventoTipo.UNION_ARM_REGISTRADA,
        operacion="ARM",
        accion="PAUSAR",
        worker_id=93,
        worker_nombre=worker_short,
        meta={"n_union": numbers[0]},
        unions=writes,
    )


def app_edits_unions(tag: str, *, create: list[Union] = (), delete: list[int] = ()) -> None:
    """A union definition change (Estación / Supervisor): rows created or deleted."""
    spool_obj = Spool.objects.get(tag=tag)
    writes = []
    for u in create:
        u.save()
        writes.append(union_write(u, create=True))
    for u in Union.objects.filter(tag=tag, n_union__in=delete):
        writes.append(union_write(u, delete=True))
        u.delete()
    spool_obj.count_unions(Union.objects.filter(tag=tag))
    spool_obj.save()
    record_change(
        spool_obj,
        spool_obj.app_cells(),
        evento_tipo=EventoTipo.UNIONES_EDITADAS,
        operacion="",
        accion="",
        worker_id=None,
        worker_nombre="ana",
        unions=writes,
    )


THREE_UNIONS = [
    union("MK-1", 1, OT="OT-1", DN_UNION=2, TIPO_UNION="BW"),
    union("MK-1", 2, OT="OT-1", DN_UNION="2 1/2", TIPO_UNION="SO"),
    union("MK-1", 3, OT="OT-1", DN_UNION=4, TIPO_UNION="FW"),
]


@pytest.fixture
def with_unions(sheet_store, settings):
    """MK-1 with three unions and MK-2 with none, pulled; counters at zero after."""
    settings.ZEUES_PULL_INTERVAL = 3600  # pulls only when a test asks for one
    build_workbook(
        [spool("MK-1", OT="OT-1", Fecha_Materiales=MAT), spool("MK-2", Fecha_Materiales=MAT)],
        WORKERS,
        uniones=THREE_UNIONS,
    )
    pull(workers=True)
    sheet_store.reset_counters()
    return sheet_store


# --- the pull -------------------------------------------------------------------------------


def test_the_unions_and_the_spool_counters_come_with_the_pull(with_unions):
    assert unions_of("MK-1") == [
        (1, Decimal("2"), "BW", ""),
        (2, Decimal("2.5"), "SO", ""),
        (3, Decimal("4"), "FW", ""),
    ]
    assert counters("MK-1") == (3, 0, 2, 0, 0)  # FW needs no SOLD
    assert counters("MK-2") == (0, 0, 0, 0, 0)
    assert SyncState.get().uniones_sheet is True


def test_a_union_the_office_adds_in_the_sheet_reaches_the_mirror_and_the_counters(with_unions):
    ws = open_workbook().worksheet(UNIONES)
    new = union(
        "MK-1", 4, DN_UNION=6, TIPO_UNION="BW", ARM_FECHA_FIN="13-05-2026 10:00:00",
        ARM_WORKER="MR(93)",
    )  # fmt: skip
    ws.append_row([new.get(c, "") for c in UNIONES_COLUMNS], value_input_option="RAW")
    with_unions.reset_counters()

    result = pull()

    assert calls(with_unions) == (1, 0)  # Operaciones and Uniones in the one batchGet
    assert unions_of("MK-1")[-1] == (4, Decimal("6"), "BW", "MR(93)")
    assert counters("MK-1") == (4, 1, 3, 0, Decimal("6"))
    assert result.changed_tags == ["MK-1"]  # screens of MK-1 update, nothing else moved
    assert result.unions_created == 1


def test_office_edits_to_a_union_are_taken_and_a_removed_union_leaves_the_mirror(with_unions):
    ws = open_workbook().worksheet(UNIONES)
    ws.update([["MR(93)"]], f"{column_letter(UNIONES_COLUMNS.index('ARM_WORKER'))}2")
    ws.update(
        [["13-05-2026 09:00:00"]], f"{column_letter(UNIONES_COLUMNS.index('ARM_FECHA_FIN'))}2"
    )
    ws.delete_rows(4)  # union 3

    result = pull()

    assert unions_of("MK-1") == [(1, Decimal("2"), "BW", "MR(93)"), (2, Decimal("2.5"), "SO", "")]
    assert Union.objects.get(tag="MK-1", n_union=1).arm_worker_id == 93
    assert counters("MK-1") == (2, 1, 2, 0, Decimal("2"))
    assert (result.unions_updated, result.unions_removed) == (1, 1)


def test_the_header_is_found_by_name_and_messy_rows_are_reported(sheet_store):
    columns = ("Notas", *reversed(UNIONES_COLUMNS))  # moved, and an office column
    build_workbook(
        [spool("MK-1"), spool("MK-2")],
        uniones=[
            union("MK-1", 1, DN_UNION="¾", TIPO_UNION="bw", Notas="ok"),
            union("MK-1", "2", DN_UNION="dos", TIPO_UNION="BW"),  # DN unreadable
            union("MK-1", 3, DN_UNION=2, ARM_FECHA_FIN="ayer", TIPO_UNION="BW"),
            union("MK-1", 1.0, DN_UNION=8, TIPO_UNION="SO"),  # the same union again
            union("MK-2", "", DN_UNION=2),  # no N_UNION
            union("MK-2", "x", DN_UNION=2),  # not a number
            union("", 9, DN_UNION=2),  # no TAG: no union
            {"Notas": "revisar"},
        ],
        uniones_columns=columns,
    )

    result = pull()

    assert unions_of("MK-1") == [
        (1, Decimal("0.75"), "BW", ""),
        (2, None, "BW", ""),
        (3, Decimal("2"), "BW", ""),
    ]
    assert not Union.objects.filter(tag="MK-2").exists()
    problems = Union.objects.get(tag="MK-1", n_union=2).problems
    assert [(p["tag"], p["column"]) for p in problems] == [("MK-1", "DN_UNION")]
    warnings = SyncState.get().pull_warnings
    assert warnings == result.warnings
    assert any("MK-1" in w and "DN_UNION" in w for w in warnings)
    assert any("MK-1" in w and "ARM_FECHA_FIN" in w for w in warnings)
    assert any("Unión 1 de MK-1 repetida en la fila 5" in w and "fila 2" in w for w in warnings)
    assert sum("MK-2 N_UNION" in w for w in warnings) == 2
    assert counters("MK-1")[0] == 3


def test_a_union_date_stored_as_a_serial_counts_on_its_plant_day(sheet_store):
    late = datetime(2026, 5, 13, 23, 30, tzinfo=SANTIAGO)  # 03:30 of the 14th in UTC
    build_workbook(
        [spool("MK-1")],
        uniones=[
            union(
                "MK-1", 1, DN_UNION=2, TIPO_UNION="BW", ARM_FECHA_FIN=datetime_to_serial(late),
                ARM_WORKER="MR(93)",
            )
        ],
    )  # fmt: skip

    pull()

    arm_fin = Union.objects.get(tag="MK-1", n_union=1).arm_fin
    assert arm_fin == late
    assert timezone.localdate(arm_fin) == date(2026, 5, 13)
    assert Union.objects.filter(arm_worker_id=93, arm_fin__date=date(2026, 5, 13)).count() == 1


def test_a_union_with_writes_queued_keeps_the_mirrors_work_until_they_land(with_unions):
    app_registers_arm("MK-1", [1])
    ws = open_workbook().worksheet(UNIONES)
    ws.update([["JP(94)"]], f"{column_letter(UNIONES_COLUMNS.index('ARM_WORKER'))}2")

    pull()

    assert Union.objects.get(tag="MK-1", n_union=1).arm_worker == "MR(93)"
    run_cycle()
    assert union_row("MK-1", 1)["ARM_WORKER"] == "MR(93)"
    pull()
    assert Union.objects.get(tag="MK-1", n_union=1).arm_worker == "MR(93)"


# --- the flush ------------------------------------------------------------------------------


def test_union_cells_land_on_their_row_after_people_sorted_uniones(with_unions):
    ws = open_workbook().worksheet(UNIONES)
    n_col = UNIONES_COLUMNS.index("N_UNION") + 1
    ws.sort((n_col, "des"), range=f"A2:{column_letter(len(UNIONES_COLUMNS) - 1)}4")
    app_registers_arm("MK-1", [1, 3])
    with_unions.reset_counters()

    result = run_cycle()

    assert calls(with_unions) == (1, 1)
    assert result.unions_written == 2
    rows = sheet_rows(UNIONES)
    assert [r["N_UNION"] for r in rows] == [3, 2, 1]  # as the office sorted them
    for n in (1, 3):
        row = union_row("MK-1", n)
        assert row["ARM_WORKER"] == "MR(93)"
        assert row["ARM_FECHA_FIN"] == format_datetime(MOMENT)
        assert row["version"] == Union.objects.get(tag="MK-1", n_union=n).version
    assert union_row("MK-1", 2)["ARM_WORKER"] == ""
    assert pending_count() == 0


def test_counters_are_written_raw_as_numbers_where_the_columns_exist(sheet_store):
    build_workbook([spool("MK-1", Fecha_Materiales=MAT)], uniones=THREE_UNIONS, counters=True)
    pull()
    app_registers_arm("MK-1", [1, 2])

    run_cycle()

    row = ops_row("MK-1")
    assert row["Total_Uniones"] == 3 and isinstance(row["Total_Uniones"], int)
    assert row["Uniones_ARM_Completadas"] == 2
    assert row["Uniones_SOLD_Completadas"] == 0
    assert row["Pulgadas_ARM"] == 4.5
    (formatted,) = open_workbook().worksheet(OPERACIONES).get("A1:Z2")[1:]
    assert "03-01-1900" not in formatted  # never parsed as a date


def test_without_the_counter_columns_the_flush_writes_the_rest(with_unions):
    app_registers_arm("MK-1", [1])

    result = run_cycle()

    assert result.error == ""
    assert ops_row("MK-1")["version"] == Spool.objects.get(tag="MK-1").version
    assert union_row("MK-1", 1)["ARM_WORKER"] == "MR(93)"
    assert set(ops_row("MK-1")) == set(OPERACIONES_COLUMNS) | {
        "Cliente",
        "Diametro",
        "Observaciones",
    }


def test_without_a_uniones_sheet_an_office_counter_stays_untouched(sheet_store):
    build_workbook([spool("MK-1", Fecha_Materiales=MAT, Total_Uniones=7)], counters=True)
    pull()
    spool_obj = Spool.objects.get(tag="MK-1")
    spool_obj.uniones_total = 2  # a spool with unions, as the mirror has it
    spool_obj.save()
    record_change(
        spool_obj, spool_obj.app_cells(), evento_tipo="PAUSAR_SPOOL", operacion="ARM",
        accion="PAUSAR", worker_id=93, worker_nombre="MR(93)",
    )  # fmt: skip

    result = run_cycle()

    assert result.error == ""
    assert ops_row("MK-1")["Total_Uniones"] == 7


def test_the_pull_queues_the_counters_when_the_office_added_a_union(sheet_store, settings):
    settings.ZEUES_PULL_INTERVAL = 3600
    build_workbook([spool("MK-1"), spool("MK-2")], uniones=THREE_UNIONS, counters=True)

    result = pull()

    assert result.counters_queued == ["MK-1"]  # MK-2 has no unions and blank cells
    run_cycle()
    assert [ops_row("MK-1")[c] for c in ("Total_Uniones", "Pulgadas_ARM")] == [3, 0]
    assert ops_row("MK-2")["Total_Uniones"] == ""
    assert pull().counters_queued == []  # equal now: nothing more to write


def test_a_union_the_app_creates_is_appended_with_its_id_and_numbers(with_unions):
    ws = open_workbook().worksheet(UNIONES)
    ws.update([["", "", "", "", "", "", "", "", "", "", "", "", "nota al pie"]], "A6")
    new = Union(tag="MK-1", n_union=5, ot="OT-1", dn_union=Decimal("1.5"), tipo_union="BR")

    app_edits_unions("MK-1", create=[new])
    run_cycle()

    rows = sheet_rows(UNIONES)
    assert len(rows) == 6  # after the note in row 6, never over it
    created = rows[-1]
    assert created["ID"] == "MK-1+5"
    assert (created["TAG_SPOOL"], created["N_UNION"], created["DN_UNION"]) == ("MK-1", 5, 1.5)
    assert created["TIPO_UNION"] == "BR" and created["OT"] == "OT-1"
    assert rows[4]["NDT_UNION"] == "nota al pie"
    pull()
    assert counters("MK-1")[0] == 4
    assert OutboxEntry.objects.filter(error="").count() == OutboxEntry.objects.count()


def test_a_created_union_past_the_grid_edge_grows_the_grid_first(with_unions):
    open_workbook().worksheet(UNIONES).resize(rows=4)  # header and three unions: full

    app_edits_unions("MK-1", create=[Union(tag="MK-1", n_union=4, dn_union=2, tipo_union="BW")])
    result = run_cycle()

    assert result.error == ""
    assert union_row("MK-1", 4)["ID"] == "MK-1+4"
    assert open_workbook().worksheet(UNIONES).row_count > 4


def test_a_deleted_union_has_its_row_cleared_not_removed(with_unions):
    ws = open_workbook().worksheet(UNIONES)
    ndt = column_letter(UNIONES_COLUMNS.index("NDT_STATUS"))
    ws.update([["RT OK"]], f"{ndt}3")
    rows_before = ws.row_count

    app_edits_unions("MK-1", delete=[2])
    run_cycle()

    rows = sheet_rows(UNIONES)
    assert [r["N_UNION"] for r in rows] == [1, "", 3]  # union 3 stays on its row
    assert set(rows[1].values()) == {""}
    assert open_workbook().worksheet(UNIONES).row_count == rows_before
    pull()
    assert [u[0] for u in unions_of("MK-1")] == [1, 3]  # a gap: N_UNION is never renumbered


def test_a_union_row_someone_deleted_marks_that_entry_only(with_unions):
    open_workbook().worksheet(UNIONES).delete_rows(2)  # union 1, before the app writes it
    app_registers_arm("MK-1", [1])

    run_cycle()

    entry = OutboxEntry.objects.get()
    assert entry.flushed_at and "La unión 1 del spool MK-1 ya no está" in entry.error
    assert ops_row("MK-1")["version"] == Spool.objects.get(tag="MK-1").version
    assert [r["ID"] for r in sheet_rows(METADATA)] == [entry.metadata_row["ID"]]


def test_metadata_n_union_is_written_where_the_column_exists(sheet_store):
    build_workbook(
        [spool("MK-1", Fecha_Materiales=MAT)],
        uniones=THREE_UNIONS,
        metadata_columns=(*METADATA_COLUMNS, "N_UNION"),
    )
    pull()
    app_registers_arm("MK-1", [2])

    run_cycle()

    (row,) = sheet_rows(METADATA)
    assert row["N_UNION"] == 2 and row["Evento_Tipo"] == "UNION_ARM_REGISTRADA"


def test_a_broken_uniones_header_with_union_writes_pending_writes_nothing(with_unions):
    ws = open_workbook().worksheet(UNIONES)
    ws.update([["SOLDADOR"]], f"{column_letter(UNIONES_COLUMNS.index('SOL_WORKER'))}1")
    app_registers_arm("MK-1", [1])
    with_unions.reset_counters()

    result = run_cycle()

    assert "SOL_WORKER" in result.error and "Uniones" in result.error
    assert "Uniones" in SyncState.get().structure_error
    assert calls(with_unions) == (1, 0)
    assert pending_count() == 1


# --- what it costs --------------------------------------------------------------------------


def test_a_flush_when_a_pull_is_due_reads_uniones_in_its_one_read(with_unions):
    ws = open_workbook().worksheet(UNIONES)
    new = union("MK-1", 4, DN_UNION=3, TIPO_UNION="BW")
    ws.append_row([new.get(c, "") for c in UNIONES_COLUMNS], value_input_option="RAW")
    app_registers_arm("MK-1", [1])
    with_unions.reset_counters()

    result = run_cycle(pull_now=True)

    status = with_unions.status()
    assert status["by_kind"] == {"values.batchGet": 1, "values.batchUpdate": 1}
    assert result.pulled is not None and result.pulled.unions_created == 1
    assert counters("MK-1")[0] == 4
    assert union_row("MK-1", 1)["ARM_WORKER"] == "MR(93)"


@pytest.fixture
def without_unions(sheet_store, settings):
    settings.ZEUES_PULL_INTERVAL = 3600
    build_workbook([spool(f"MK-{i}", Fecha_Materiales=MAT) for i in range(5)], WORKERS)
    sheet_store.reset_counters()
    return sheet_store


def test_without_uniones_a_pull_and_a_flush_cost_what_they_did(without_unions):
    pull(workers=True)
    assert calls(without_unions) == (2, 0)
    pull(workers=False)
    assert calls(without_unions) == (3, 0)
    without_unions.reset_counters()
    spool_obj = Spool.objects.get(tag="MK-1")
    record_change(
        spool_obj, {}, evento_tipo="TOMAR_SPOOL", operacion="ARM", accion="TOMAR",
        worker_id=93, worker_nombre="MR(93)",
    )  # fmt: skip

    run_cycle(pull_now=True)

    assert without_unions.status()["by_kind"] == {"values.batchGet": 1, "values.batchUpdate": 1}
    assert not Union.objects.exists()
    assert SyncState.get().uniones_sheet is False


def test_a_new_mirror_asks_once_which_sheets_the_workbook_has(without_unions):
    forget_workbook_positions()  # as after load_demo / import_workbook / migrate_workbook

    pull(workers=False)
    pull(workers=False)

    assert without_unions.status()["by_kind"] == {"spreadsheets.get": 1, "values.batchGet": 2}
    assert SyncState.get().uniones_sheet is False


def test_a_uniones_sheet_added_by_hand_is_seen_within_the_hour(without_unions):
    pull(workers=False)
    wb = open_workbook()
    ws = wb.add_worksheet(UNIONES, rows=10, cols=len(UNIONES_COLUMNS))
    ws.update([list(UNIONES_COLUMNS), ["", "", "MK-1", 1, 2, "BW"]], "A1")
    pull(workers=False)
    assert not Union.objects.exists()  # known absent: not asked again at once
    SyncState.objects.update(uniones_checked_at=timezone.now() - timedelta(hours=2))
    without_unions.reset_counters()

    pull(workers=False)

    assert without_unions.status()["by_kind"] == {"spreadsheets.get": 1, "values.batchGet": 1}
    assert counters("MK-1")[0] == 1


def test_a_uniones_sheet_someone_deleted_is_noticed_by_the_read_itself(with_unions):
    wb = open_workbook()
    wb.del_worksheet(wb.worksheet(UNIONES))
    app_registers_arm("MK-1", [1])
    with_unions.reset_counters()

    result = run_cycle()

    assert with_unions.status()["by_kind"] == {"values.batchGet": 2, "values.batchUpdate": 1}
    assert SyncState.get().uniones_sheet is False
    entry = OutboxEntry.objects.get()
    assert "La hoja Uniones no está en el libro" in entry.error
    assert result.error == ""
    assert ops_row("MK-1")["version"] == Spool.objects.get(tag="MK-1").version
    with_unions.reset_counters()
    pull(workers=False)
    assert calls(with_unions) == (1, 0)
