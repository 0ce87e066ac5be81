"""A pull skips the rows that have not changed since the mirror took them (their digest
matches), and never at the price of a change: an office edit after an unchanged pull, an
edit that puts back exactly what an earlier pull saw, a sort, a changed header, a restart.

Real parts only: the database, the local Sheets backend through gspread, the app's actions
through occupation.services. `next_pull_full()` is what a new process starts with.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from occupation.services import ActionCommand, perform_action
from spools.lifecycle import EventoTipo, WorkState
from spools.models import Event, OutboxEntry, Spool, SyncState, Union
from spools.workbook.columns import OPERACIONES, UNIONES, column_letter
from spools.workbook.gateway import read_ranges, sheet_range, write_cells
from spools.workbook.pull import RECHECK_SLICES, next_pull_full, pull
from spools.workbook.sync import flush_until_empty
from tests.builders import build_workbook, spool, union, worker

pytestmark = pytest.mark.django_db

MAT = "02-05-2026"
WORKERS = [
    worker(93, "Mario", "Rojas", roles=["Armador"]),
    worker(94, "Juan", "Perez", roles=["Soldador"]),
]
SPOOLS = [
    spool("MK-1", OT="OT-1", NV="NV-1", Fecha_Materiales=MAT),
    spool("MK-2", OT="OT-2", NV="NV-2", Fecha_Materiales=MAT),
]
UNIONS = [
    union("MK-1", 1, OT="OT-1", DN_UNION=2, TIPO_UNION="BW"),
    union("MK-1", 2, OT="OT-1", DN_UNION=3, TIPO_UNION="SO"),
    union("MK-1", 3, OT="OT-1", DN_UNION=4, TIPO_UNION="FW"),
    union("MK-2", 1, OT="OT-2", DN_UNION=6, TIPO_UNION="BW"),
]
ROW = {"MK-1": 2, "MK-2": 3}  # Operaciones rows
UNION_ROW = {("MK-1", 1): 2, ("MK-1", 2): 3, ("MK-1", 3): 4, ("MK-2", 1): 5}


def header(title: str) -> list:
    (rows,) = read_ranges([sheet_range(title, "1:1")])
    return rows[0]


def type_in(title: str, row_no: int, **cells: object) -> None:
    """The office types these cells of one row (column name → value)."""
    names = header(title)
    write_cells(
        {
            sheet_range(title, f"{column_letter(names.index(c))}{row_no}"): v
            for c, v in cells.items()
        }
    )


def row_cells(title: str, row_no: int) -> list:
    """A whole row as the sheet holds it, padded to the header's width."""
    width = len(header(title))
    (rows,) = read_ranges([sheet_range(title, f"{row_no}:{row_no}")])
    row = rows[0] if rows else []
    return row + [""] * (width - len(row))


def put_row(title: str, row_no: int, cells: list) -> None:
    write_cells({sheet_range(title, f"A{row_no}"): [cells]})


def digests() -> dict:
    return {
        **dict(Spool.objects.values_list("tag", "sheet_digest")),
        **{(t, n): d for t, n, d in Union.objects.values_list("tag", "n_union", "sheet_digest")},
    }


def counters(tag: str) -> tuple:
    s = Spool.objects.get(tag=tag)
    return (s.uniones_total, s.uniones_arm, s.uniones_sold_total, s.uniones_sold, s.pulgadas_arm)


@pytest.fixture
def steady(sheet_store, settings):
    """Two spools with unions and the Operaciones counter columns, pulled by this process's
    first pull (every row read), the counters written, and pulled until nothing changes:
    every row has its digest, the next pull skips them all."""
    settings.ZEUES_PULL_INTERVAL = 3600  # pulls only when a test asks for one
    build_workbook(SPOOLS, WORKERS, uniones=UNIONS, counters=True)
    next_pull_full()
    pull(workers=True)
    flush_until_empty()  # the counters the first pull queued
    pull()
    assert pull().changed_tags == []
    assert all(digests().values()), digests()
    sheet_store.reset_counters()
    return sheet_store


# --- unchanged rows ---------------------------------------------------------------------------


def test_a_pull_of_an_unchanged_workbook_writes_nothing_to_the_mirror(steady):
    before = digests()

    with CaptureQueriesContext(connection) as queries:
        result = pull()

    assert (result.changed_tags, result.spools_seen, result.unions_seen) == ([], 2, 4)
    writes = [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert not [w for w in writes if "spools_spool" in w or "spools_union" in w], writes
    assert digests() == before
    assert steady.status()["reads"] == 1


def test_digests_missing_from_an_older_mirror_are_stored_by_the_next_pull(steady):
    Spool.objects.update(sheet_digest="")
    Union.objects.update(sheet_digest="")

    result = pull()

    assert result.changed_tags == []
    assert all(digests().values())


# --- office edits -----------------------------------------------------------------------------


def test_an_office_edit_to_a_spool_after_an_unchanged_pull_is_taken(steady):
    type_in(OPERACIONES, ROW["MK-1"], OT="OT-9", Armador="MR(93)", Fecha_Armado="10-05-2026")

    result = pull()

    s = Spool.objects.get(tag="MK-1")
    assert (s.ot, s.armador, s.arm) == ("OT-9", "MR(93)", WorkState.COMPLETADO)
    assert result.updated == ["MK-1"]
    edit = Event.objects.get(tag="MK-1", evento_tipo=EventoTipo.SUPERVISOR_OVERRIDE)
    assert edit.metadata_json["despues"]["Armador"] == "MR(93)"
    assert Spool.objects.get(tag="MK-2").ot == "OT-2"
    assert pull().changed_tags == []  # and the edited row is skipped from then on


def test_an_office_edit_to_a_union_after_an_unchanged_pull_is_taken_and_counted(steady):
    type_in(
        UNIONES,
        UNION_ROW[("MK-1", 2)],
        DN_UNION=8,
        ARM_FECHA_FIN="13-05-2026 10:00:00",
        ARM_WORKER="MR(93)",
    )

    result = pull()

    u = Union.objects.get(tag="MK-1", n_union=2)
    assert (u.dn_union, u.arm_worker, u.arm_worker_id) == (Decimal("8"), "MR(93)", 93)
    assert counters("MK-1") == (3, 1, 2, 0, Decimal("8"))
    assert (result.unions_updated, result.counted) == (1, ["MK-1"])
    assert result.counters_queued == ["MK-1"]  # the Operaciones counters follow Uniones


def test_an_edit_that_puts_back_exactly_what_an_earlier_pull_saw_is_taken(steady):
    """The office undoes an action in the sheet before any pull saw the action's cells: the
    rows hold again, to the byte, what the mirror took from them earlier."""
    spool_row = row_cells(OPERACIONES, ROW["MK-1"])
    union_row = row_cells(UNIONES, UNION_ROW[("MK-1", 1)])
    perform_action(ActionCommand("ARM", "TOMAR", 93, ["MK-1"]))
    perform_action(ActionCommand("ARM", "PAUSAR", 93, ["MK-1"], uniones=(1,)))
    flush_until_empty()  # the action is in the sheet; no pull has read it
    assert row_cells(UNIONES, UNION_ROW[("MK-1", 1)]) != union_row

    put_row(OPERACIONES, ROW["MK-1"], spool_row)
    put_row(UNIONES, UNION_ROW[("MK-1", 1)], union_row)
    result = pull()

    u = Union.objects.get(tag="MK-1", n_union=1)
    assert (u.arm_fin, u.arm_worker, u.version) == (None, "", "")
    s = Spool.objects.get(tag="MK-1")
    assert (s.arm, s.armador, s.version, s.uniones_arm) == (WorkState.PENDIENTE, "", "", 0)
    assert "MK-1" in result.updated
    assert result.counters_queued == []  # the counters put back agree with the unions put back
    assert pull().changed_tags == []


def test_the_app_s_own_change_is_not_undone_by_a_pull_of_unchanged_rows(steady):
    perform_action(ActionCommand("ARM", "TOMAR", 93, ["MK-1"]))  # queued, not flushed

    pull()

    assert Spool.objects.get(tag="MK-1").occupant_id == 93
    flush_until_empty()
    pull()
    assert Spool.objects.get(tag="MK-1").occupant_id == 93
    assert pull().changed_tags == []


def test_an_office_edit_on_a_row_with_writes_queued_is_taken_once_they_are_written(steady):
    """While a row has writes queued its app-owned cells are not taken; the writes may then
    change nothing in the row (the office had typed the same counter), and the edit must
    still be read."""
    type_in(OPERACIONES, ROW["MK-1"], Total_Uniones=9)
    assert pull().counters_queued == ["MK-1"]
    type_in(OPERACIONES, ROW["MK-1"], Total_Uniones=3, Armador="MR(93)", Fecha_Armado="10-05-2026")
    pull()
    assert Spool.objects.get(tag="MK-1").armador == ""  # the mirror is newer while queued
    flush_until_empty()  # writes Total_Uniones 3 over the 3 typed: the row is as it was

    pull()

    assert Spool.objects.get(tag="MK-1").armador == "MR(93)"


# --- rows that move, leave, come back; headers that change --------------------------------------


def test_rows_moved_by_a_sort_keep_their_values_and_get_their_new_row_numbers(steady):
    one, two = row_cells(OPERACIONES, 2), row_cells(OPERACIONES, 3)
    put_row(OPERACIONES, 2, two)
    put_row(OPERACIONES, 3, one)
    u1, u4 = row_cells(UNIONES, 2), row_cells(UNIONES, 5)
    put_row(UNIONES, 2, u4)
    put_row(UNIONES, 5, u1)

    pull()

    assert dict(Spool.objects.values_list("tag", "sheet_row")) == {"MK-1": 3, "MK-2": 2}
    assert Spool.objects.get(tag="MK-1").ot == "OT-1"
    rows = {(t, n): r for t, n, r in Union.objects.values_list("tag", "n_union", "sheet_row")}
    assert (rows[("MK-1", 1)], rows[("MK-2", 1)]) == (5, 2)
    assert pull().changed_tags == []


def test_a_row_that_leaves_the_sheet_and_comes_back_unchanged_is_mirrored_again(steady):
    spool_row, union_row = row_cells(OPERACIONES, 3), row_cells(UNIONES, 5)
    put_row(OPERACIONES, 3, [""] * len(spool_row))
    put_row(UNIONES, 5, [""] * len(union_row))
    result = pull()
    assert result.removed == ["MK-2"] and result.unions_removed == 1

    put_row(OPERACIONES, 3, spool_row)
    put_row(UNIONES, 5, union_row)
    pull()

    assert Spool.objects.get(tag="MK-2").sheet_row == 3
    assert Union.objects.get(tag="MK-2", n_union=1).dn_union == Decimal("6")
    assert counters("MK-2") == (1, 0, 1, 0, 0)


def test_the_same_cells_under_a_changed_header_are_read_again(steady):
    names = header(OPERACIONES)
    ot, nv = names.index("OT"), names.index("NV")
    names[ot], names[nv] = "NV", "OT"  # the office swaps two headings, not the data
    put_row(OPERACIONES, 1, names)

    pull()

    s = Spool.objects.get(tag="MK-1")
    assert (s.ot, s.nv) == ("NV-1", "OT-1")


def test_rows_with_odd_cells_are_read_and_reported_at_every_pull(steady):
    type_in(OPERACIONES, ROW["MK-2"], Fecha_Materiales="31-02-2026")
    type_in(UNIONES, UNION_ROW[("MK-1", 3)], DN_UNION="grande")

    first, second = pull(), pull()

    for result in (first, second):
        assert any("MK-2" in w and "Fecha_Materiales" in w for w in result.warnings)
        assert any("MK-1 unión 3" in w for w in result.warnings), result.warnings
    assert SyncState.get().pull_warnings == second.warnings
    assert digests()["MK-2"] == "" and digests()[("MK-1", 3)] == ""


# --- a new process ----------------------------------------------------------------------------


def test_an_office_edit_made_while_no_process_ran_is_taken_by_the_first_pull(steady):
    type_in(OPERACIONES, ROW["MK-2"], NV="NV-9")
    type_in(UNIONES, UNION_ROW[("MK-2", 1)], TIPO_UNION="FW")
    next_pull_full()  # a new process

    pull()

    assert Spool.objects.get(tag="MK-2").nv == "NV-9"
    assert counters("MK-2") == (1, 0, 0, 0, 0)  # FW needs no SOLD


def test_the_first_pull_of_a_new_process_puts_right_a_mirror_changed_behind_its_back(steady):
    """A hand edit of the database (no new version, no pull) is not a change of the sheet:
    a steady pull does not even look at the row, the first pull of a new process does."""
    Spool.objects.filter(tag="MK-1").update(ot="A MANO")
    Union.objects.filter(tag="MK-2").update(dn_union=Decimal("99"))
    pull()  # (its slice of rows read whatever their digests is row 3's, not row 2's)
    assert Spool.objects.get(tag="MK-1").ot == "A MANO"  # skipped: the sheet row is unchanged

    next_pull_full()
    result = pull()

    assert Spool.objects.get(tag="MK-1").ot == "OT-1"
    assert Union.objects.get(tag="MK-2", n_union=1).dn_union == Decimal("6")
    assert result.updated == ["MK-1"] and result.unions_updated == 1
    assert not OutboxEntry.objects.filter(flushed_at__isnull=True).exists()


def test_every_row_is_read_again_within_a_round_of_pulls_whatever_its_digest(steady):
    Spool.objects.filter(tag="MK-2").update(nv="A MANO")
    Union.objects.filter(tag="MK-1", n_union=3).update(tipo_union="XX")

    for _ in range(RECHECK_SLICES):
        pull()

    assert Spool.objects.get(tag="MK-2").nv == "NV-2"
    assert Union.objects.get(tag="MK-1", n_union=3).tipo_union == "FW"
