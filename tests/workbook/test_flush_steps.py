"""The flush's steps on plain data: what the one read asks for, where the writes go, what
is written — no workbook behind them (only `commit` touches the database)."""

from __future__ import annotations

import pytest

from spools.models import OutboxEntry, SyncState
from spools.workbook import gateway
from spools.workbook.columns import (
    METADATA_COLUMNS,
    OPERACIONES_COLUMNS,
    OPERACIONES_COUNTER_COLUMNS,
    UNIONES_COLUMNS,
    MissingColumnError,
    column_letter,
)
from spools.workbook.flush import (
    METADATA_GROW_ROWS,
    METADATA_TAIL_OVERLAP,
    UNIONES_GROW_ROWS,
    LeaseLost,
    ReadPlan,
    build,
    commit,
    locate,
    plan,
)

OPS_HEADER = list(OPERACIONES_COLUMNS)  # TAG_SPOOL first: column A
META_HEADER = list(METADATA_COLUMNS)  # ID first: column A
UNI_HEADER = list(UNIONES_COLUMNS)  # TAG_SPOOL in C, N_UNION in D


def state(
    tag_column: int = 0,
    metadata_id_column: int = 0,
    metadata_last_row: int = 1,
    uniones_sheet: bool | None = None,
):
    return SyncState(
        tag_column=tag_column,
        metadata_id_column=metadata_id_column,
        metadata_last_row=metadata_last_row,
        uniones_sheet=uniones_sheet,
    )


def cells_entry(pk: int, tag: str, **cells: str) -> OutboxEntry:
    return OutboxEntry(pk=pk, tag=tag, cells=cells)


def meta_entry(pk: int, event_id: str, tag: str = "") -> OutboxEntry:
    row = {c: "" for c in METADATA_COLUMNS} | {
        "ID": event_id,
        "Evento_Tipo": "TOMAR_SPOOL",
        "TAG_SPOOL": tag,
    }
    return OutboxEntry(pk=pk, tag=tag, metadata_row=row)


def reply(rows: list[list], rng: str = "") -> dict:
    """A ValueRange as the API answers it (`values` absent when empty)."""
    return {"range": rng, **({"values": rows} if rows else {})}


def no_read(ranges: list[str]) -> list[list[list]]:
    raise AssertionError(f"nothing moved, nothing should be read again: {ranges}")


def locate_with(read_plan: ReadPlan, st: SyncState, *replies: dict, read=no_read):
    return locate(read_plan, list(replies), st, read=read)


# --- plan: the one read ----------------------------------------------------------------------


def test_without_a_pull_due_the_read_asks_only_for_the_header_and_the_tag_column():
    read_plan = plan(state(tag_column=3), [cells_entry(1, "T-1", Armador="MR(93)")], False)

    assert read_plan.ranges == ["'Operaciones'!1:1", "'Operaciones'!D1:D"]


def test_metadata_rows_alone_still_check_the_operaciones_header():
    # A broken Operaciones stops every write, so its header is read even with no cells.
    read_plan = plan(state(metadata_last_row=500), [meta_entry(1, "e-1")], False)

    assert read_plan.ranges == [
        "'Operaciones'!1:1",
        "'Metadata'!1:1",
        f"'Metadata'!A{500 - METADATA_TAIL_OVERLAP}:J",
    ]


def test_a_due_pull_reads_the_whole_operaciones_sheet_which_serves_the_flush_too():
    entries = [cells_entry(1, "T-1", Armador="MR(93)"), meta_entry(2, "e-2", "T-1")]

    read_plan = plan(state(), entries, True)

    assert read_plan.ranges == ["'Operaciones'", "'Metadata'!1:1", "'Metadata'!A2:J"]


def test_the_metadata_tail_is_read_as_far_right_as_the_id_column_last_seen():
    read_plan = plan(
        state(metadata_id_column=12, metadata_last_row=30), [meta_entry(1, "e")], False
    )

    assert read_plan.ranges[-1] == "'Metadata'!A2:M"  # never above row 2, through column M


# --- locate: rows and columns from the replies -----------------------------------------------


def test_a_tag_is_found_on_its_row_after_people_sorted_the_rows():
    entries = [cells_entry(1, "T-2", Armador="MR(93)")]
    read_plan = plan(state(), entries, False)

    located = locate_with(
        read_plan,
        state(),
        reply([OPS_HEADER]),
        reply([["TAG_SPOOL"], ["T-3"], [], ["T-2"], ["T-1"], ["T-2"]]),
    )

    # T-2 is on row 4; its repeat on row 6 is ignored, as the pull ignores it.
    assert located.rows_by_tag == {"T-3": 2, "T-2": 4, "T-1": 5}


def test_when_tag_spool_moved_column_the_right_column_is_read_again():
    moved = ["OT", *[c for c in OPS_HEADER if c != "OT"]]  # TAG_SPOOL now in column B
    st = state(tag_column=0)
    read_plan = plan(st, [cells_entry(1, "T-1", Armador="MR(93)")], False)
    asked: list[list[str]] = []

    def read(ranges: list[str]) -> list[list[list]]:
        asked.append(ranges)
        return [[["TAG_SPOOL"], ["T-1"]]]

    located = locate_with(read_plan, st, reply([moved]), reply([["OT"], ["OT-55"]]), read=read)

    assert asked == [["'Operaciones'!B1:B"]]
    assert located.rows_by_tag == {"T-1": 2}
    assert st.tag_column == 1  # the next cycle reads column B straight away


def test_a_missing_required_column_raises_before_anything_is_located():
    header = [c for c in OPS_HEADER if c != "Estado_Detalle"]
    st = state()
    read_plan = plan(st, [cells_entry(1, "T-1", Armador="MR(93)")], False)

    with pytest.raises(MissingColumnError) as exc:
        locate_with(read_plan, st, reply([header]), reply([["TAG_SPOOL"], ["T-1"]]))

    assert exc.value.sheet == "Operaciones"
    assert exc.value.columns == ["Estado_Detalle"]


def test_a_broken_metadata_header_stops_the_flush_too():
    st = state()
    read_plan = plan(st, [meta_entry(1, "e-1")], False)
    header = [c for c in META_HEADER if c != "Timestamp"]

    with pytest.raises(MissingColumnError) as exc:
        locate_with(read_plan, st, reply([OPS_HEADER]), reply([header]), reply([]))

    assert (exc.value.sheet, exc.value.columns) == ("Metadata", ["Timestamp"])


def test_with_a_pull_the_tags_come_from_the_whole_sheet_read():
    st = state()
    read_plan = plan(st, [cells_entry(1, "T-2", Armador="MR(93)")], True)
    sheet = [OPS_HEADER, ["T-1", "OT-1"], ["T-2", "OT-2"]]

    located = locate_with(read_plan, st, reply(sheet))

    assert located.rows_by_tag == {"T-1": 2, "T-2": 3}


def test_the_metadata_tail_tells_landed_ids_the_last_filled_row_and_the_grid_height():
    st = state(metadata_last_row=60)  # the tail read starts at row 10
    read_plan = plan(st, [meta_entry(1, "e-new")], False)
    tail = [["e-8"], ["e-9"], ["", "typed by hand, no ID"]]

    located = locate_with(
        read_plan,
        st,
        reply([OPS_HEADER]),
        reply([META_HEADER]),
        reply(tail, "'Metadata'!A10:J1000"),
    )

    assert {"e-8", "e-9"} <= located.landed_ids
    assert "e-new" not in located.landed_ids
    assert located.meta_last_filled == 12  # rows 10 to 12, the one without an ID included
    assert located.meta_grid_rows == 1000


def test_when_id_moved_past_the_block_read_the_tail_is_read_again_wide_enough():
    header = [*META_HEADER[1:], "Notas", "ID"]  # ID now in column K, past the block A:J
    st = state()
    read_plan = plan(st, [meta_entry(1, "e-1")], False)
    asked: list[list[str]] = []

    def read(ranges: list[str]) -> list[list[list]]:
        asked.append(ranges)
        return [[[""] * 10 + ["e-1"]]]

    located = locate_with(
        read_plan, st, reply([OPS_HEADER]), reply([header]), reply([["x"]]), read=read
    )

    assert asked == [["'Metadata'!A2:K"]]
    assert located.landed_ids == {"e-1"}
    assert st.metadata_id_column == 10


# --- build: what the one write carries -------------------------------------------------------


def located_for(entries: list[OutboxEntry], tags: list[list], tail: list[list], grid: int = 1000):
    """Plan and locate against a workbook whose Metadata tail starts at row 2."""
    st = state()
    read_plan = plan(st, entries, False)
    replies = [reply([OPS_HEADER])]
    if any(e.cells for e in entries):
        replies.append(reply(tags))
    if any(e.metadata_row for e in entries):
        replies += [reply([META_HEADER]), reply(tail, f"'Metadata'!A2:J{grid}")]
    return locate(read_plan, replies, st, read=no_read)


def test_later_entries_win_per_cell_and_each_cell_is_written_once():
    entries = [
        cells_entry(1, "T-1", Ocupado_Por="MR(93)", version="v1"),
        cells_entry(2, "T-1", Ocupado_Por="", version="v2"),
    ]
    tags = [["TAG_SPOOL"], ["T-1"]]

    writes = build(located_for(entries, tags, []), entries)

    ocupado = column_letter(OPS_HEADER.index("Ocupado_Por"))
    version = column_letter(OPS_HEADER.index("version"))
    assert writes.updates == {f"'Operaciones'!{ocupado}2": "", f"'Operaciones'!{version}2": "v2"}
    assert writes.cells_written == 2
    assert writes.errors == {}


def test_a_spool_gone_from_the_sheet_fails_its_entry_only():
    entries = [cells_entry(1, "T-GONE", version="v1"), cells_entry(2, "T-1", version="v2")]

    writes = build(located_for(entries, [["TAG_SPOOL"], ["T-1"]], []), entries)

    assert writes.errors == {1: "El spool T-GONE ya no está en la hoja Operaciones."}
    assert list(writes.updates.values()) == ["v2"]


def test_metadata_rows_whose_id_already_landed_are_not_written_again():
    # A flush died after its write landed: e-1 is in the sheet, e-2 is not.
    entries = [meta_entry(1, "e-1"), meta_entry(2, "e-2")]
    tail = [["e-0"], ["e-1"]]

    writes = build(located_for(entries, [], tail), entries)

    assert writes.metadata_already_there == 1
    assert writes.metadata_written == 1
    ((rng, block),) = writes.updates.items()
    assert rng == "'Metadata'!A4:J4"  # right after the last filled row (3)
    assert [row[0] for row in block] == ["e-2"]


def test_a_row_someone_typed_without_an_id_is_not_written_over():
    entries = [meta_entry(1, "e-1")]
    tail = [["e-0"], ["", "2025-01-01", "NOTA A MANO"]]

    writes = build(located_for(entries, [], tail), entries)

    assert list(writes.updates) == ["'Metadata'!A4:J4"]  # row 3 holds the hand-typed note


def test_metadata_rows_are_laid_out_by_the_header_not_by_the_apps_order():
    header = list(reversed(META_HEADER))  # ID in the last column (J)
    st = state(metadata_id_column=9)
    entries = [meta_entry(1, "e-1", "T-1")]
    read_plan = plan(st, entries, False)
    located = locate(
        read_plan,
        [reply([OPS_HEADER]), reply([header]), reply([], "'Metadata'!A2:J1000")],
        st,
        read=no_read,
    )

    writes = build(located, entries)

    (block,) = writes.updates.values()
    assert block[0][header.index("ID")] == "e-1"
    assert block[0][header.index("TAG_SPOOL")] == "T-1"
    assert block[0][header.index("Evento_Tipo")] == "TOMAR_SPOOL"


def test_the_metadata_grid_grows_when_the_new_rows_pass_its_edge():
    entries = [meta_entry(1, "e-1"), meta_entry(2, "e-2")]
    tail = [[f"old-{i}"] for i in range(8)]  # rows 2..9 filled, grid of 10 rows

    writes = build(located_for(entries, [], tail, grid=10), entries)

    assert list(writes.updates) == ["'Metadata'!A10:J11"]
    assert writes.grow_metadata_by == METADATA_GROW_ROWS


def test_the_last_metadata_row_counts_the_new_rows_only_once_written():
    entries = [meta_entry(1, "e-1")]

    writes = build(located_for(entries, [], [["e-0"]]), entries)

    assert writes.metadata_seen_row == 2  # what the read saw, kept if the write fails
    assert writes.metadata_last_row == 3  # once the write is answered


# --- commit: lease, the one write, entries done ----------------------------------------------


def test_a_flusher_that_lost_its_lease_writes_nothing(monkeypatch):
    entries = [cells_entry(1, "T-1", version="v2")]
    writes = build(located_for(entries, [["TAG_SPOOL"], ["T-1"]], []), entries)
    written: list[dict] = []
    monkeypatch.setattr(gateway, "write_cells", lambda updates: written.append(updates))

    with pytest.raises(LeaseLost):
        commit(writes, entries, state(), holder="host:1:1", renew_lease=lambda holder: False)

    assert written == []


@pytest.mark.django_db
def test_commit_writes_once_and_marks_each_entry_with_its_outcome(monkeypatch):
    gone = OutboxEntry.objects.create(tag="T-GONE", cells={"version": "v1"})
    here = OutboxEntry.objects.create(tag="T-1", cells={"version": "v2"})
    meta = OutboxEntry.objects.create(tag="T-1", metadata_row=meta_entry(0, "e-1").metadata_row)
    entries = [gone, here, meta]
    writes = build(located_for(entries, [["TAG_SPOOL"], ["T-1"]], [["e-0"]]), entries)
    st = SyncState.get()
    st.structure_error = "Falta la columna version…"
    written: list[dict] = []
    monkeypatch.setattr(gateway, "write_cells", lambda updates: written.append(dict(updates)))
    renewed: list[str] = []

    commit(writes, entries, st, holder="h", renew_lease=lambda h: renewed.append(h) or True)

    assert renewed == ["h"]
    assert written == [writes.updates]  # one write with every cell and Metadata row
    gone.refresh_from_db()
    here.refresh_from_db()
    meta.refresh_from_db()
    assert gone.flushed_at and "T-GONE" in gone.error
    assert here.flushed_at and here.error == ""
    assert meta.flushed_at and meta.error == ""
    assert st.metadata_last_row == 3
    assert st.structure_error == ""  # both headers were checked by this flush
    assert "T-GONE" in st.last_error


# --- unions: where their rows are, what is written ------------------------------------------


def union_entry(pk: int, tag: str, *unions: dict, **cells: object) -> OutboxEntry:
    return OutboxEntry(pk=pk, tag=tag, cells=cells, unions=list(unions))


def u_cells(n: int, **cells: object) -> dict:
    return {"n": n, "cells": cells, "create": False, "delete": False}


def u_create(n: int, **cells: object) -> dict:
    return {"n": n, "cells": cells, "create": True, "delete": False}


def u_delete(n: int) -> dict:
    return {"n": n, "cells": {}, "create": False, "delete": True}


def uni_col(name: str) -> str:
    return column_letter(UNI_HEADER.index(name))


def test_without_a_uniones_sheet_union_writes_read_nothing_more():
    entries = [union_entry(1, "T-1", u_cells(1, ARM_WORKER="MR(93)"), version="v1")]

    assert plan(state(uniones_sheet=False), entries, False).ranges == [
        "'Operaciones'!1:1",
        "'Operaciones'!A1:A",
    ]
    assert plan(state(uniones_sheet=None), entries, True).ranges == ["'Operaciones'"]


def test_union_writes_read_the_uniones_header_and_its_two_key_columns():
    entries = [union_entry(1, "T-1", u_cells(1, ARM_WORKER="MR(93)"))]

    read_plan = plan(state(uniones_sheet=True), entries, False)

    assert read_plan.ranges == [
        "'Operaciones'!1:1",
        "'Uniones'!1:1",
        "'Uniones'!C1:C",
        "'Uniones'!D1:D",
    ]


def test_a_union_to_create_or_a_due_pull_reads_the_whole_uniones_sheet():
    create = [union_entry(1, "T-1", u_create(3, N_UNION=3))]

    assert plan(state(uniones_sheet=True), create, False).ranges == [
        "'Operaciones'!1:1",
        "'Uniones'",
    ]
    assert plan(state(uniones_sheet=True), [], True).ranges == ["'Operaciones'", "'Uniones'"]


def locate_unions(entries, uniones_rows, *, ops=None, st=None, read=no_read):
    """Plan and locate with Uniones, from the whole sheet or its key columns as planned."""
    st = st or state(uniones_sheet=True)
    read_plan = plan(st, entries, False)
    replies = []
    for part, _ in read_plan.parts:
        if part == "ops_header":
            replies.append(reply([ops or OPS_HEADER]))
        elif part == "tags":
            replies.append(reply([["TAG_SPOOL"], ["T-1"], ["T-2"]]))
        elif part == "uniones":
            replies.append(reply(uniones_rows, f"'Uniones'!A1:Q{len(uniones_rows) + 5}"))
        elif part == "uni_header":
            replies.append(reply([uniones_rows[0]]))
        elif part == "uni_tags":
            replies.append(reply([[r[2] if len(r) > 2 else ""] for r in uniones_rows]))
        elif part == "uni_ns":
            replies.append(reply([[r[3] if len(r) > 3 else ""] for r in uniones_rows]))
    return locate(read_plan, replies, st, read=read)


def uni_row(tag: str, n: object, **cells: object) -> list:
    row = [cells.get(c, "") for c in UNI_HEADER]
    row[UNI_HEADER.index("TAG_SPOOL")], row[UNI_HEADER.index("N_UNION")] = tag, n
    return row


def test_unions_are_found_by_tag_and_number_after_people_sorted_the_rows():
    sorted_by_hand = [
        UNI_HEADER,
        uni_row("T-2", 1),
        uni_row("T-1", 2.0),  # a number read back as a float
        uni_row("T-1", "1"),  # typed as text
        uni_row("T-1", 2),  # a repeat: the first row wins
        uni_row("", 7),
        uni_row("T-1", "siete"),
    ]
    entries = [union_entry(1, "T-1", u_cells(2, ARM_WORKER="MR(93)"))]

    located = locate_unions(entries, sorted_by_hand)

    assert located.union_rows == {("T-2", 1): 2, ("T-1", 2): 3, ("T-1", 1): 4}


def test_when_a_key_column_moved_the_key_columns_are_read_again():
    moved = ["Notas", *UNI_HEADER]  # TAG_SPOOL now in D, N_UNION in E
    st = state(uniones_sheet=True)
    asked: list[list[str]] = []

    def read(ranges: list[str]) -> list[list[list]]:
        asked.append(ranges)
        return [[["TAG_SPOOL"], ["T-1"]], [["N_UNION"], [4]]]

    located = locate_unions(
        [union_entry(1, "T-1", u_cells(4, ARM_WORKER="MR(93)"))], [moved], st=st, read=read
    )

    assert asked == [["'Uniones'!D1:D", "'Uniones'!E1:E"]]
    assert located.union_rows == {("T-1", 4): 2}
    assert (st.union_tag_column, st.union_n_column) == (3, 4)


def test_a_uniones_header_without_an_app_owned_column_stops_the_flush():
    header = [c for c in UNI_HEADER if c != "SOL_WORKER"]

    with pytest.raises(MissingColumnError) as exc:
        locate_unions([union_entry(1, "T-1", u_cells(1, ARM_WORKER="MR(93)"))], [header])

    assert (exc.value.sheet, exc.value.columns) == ("Uniones", ["SOL_WORKER"])


def test_union_cells_land_on_their_row_and_later_entries_win_per_cell():
    sheet = [UNI_HEADER, uni_row("T-1", 2), uni_row("T-1", 1)]
    entries = [
        union_entry(1, "T-1", u_cells(1, ARM_WORKER="MR(93)", version="u1")),
        union_entry(2, "T-1", u_cells(1, version="u2"), u_cells(2, ARM_WORKER="JP(94)")),
    ]

    writes = build(locate_unions(entries, sheet), entries)

    assert writes.updates == {
        f"'Uniones'!{uni_col('ARM_WORKER')}3": "MR(93)",
        f"'Uniones'!{uni_col('version')}3": "u2",
        f"'Uniones'!{uni_col('ARM_WORKER')}2": "JP(94)",
    }
    assert writes.unions_written == 2
    assert writes.errors == {}


def test_a_created_union_goes_after_the_last_filled_row_as_a_whole_row():
    notes = [""] * 16 + ["nota sin TAG"]  # a row that is no union still counts as filled
    sheet = [UNI_HEADER, uni_row("T-1", 1), notes]
    entries = [union_entry(1, "T-1", u_create(2, ID="T-1+2", N_UNION=2, DN_UNION=2.5))]

    writes = build(locate_unions(entries, sheet), entries)

    ((rng, block),) = writes.updates.items()
    assert rng == "'Uniones'!A4:Q4"
    assert block[0][UNI_HEADER.index("ID")] == "T-1+2"
    assert block[0][UNI_HEADER.index("N_UNION")] == 2  # a number, as given
    assert block[0][UNI_HEADER.index("DN_UNION")] == 2.5
    assert writes.grow_uniones_by == 0


def test_a_union_created_again_after_its_write_landed_is_written_in_place():
    sheet = [UNI_HEADER, uni_row("T-1", 1), uni_row("T-1", 2)]
    entries = [union_entry(1, "T-1", u_create(2, N_UNION=2, DN_UNION=3))]

    writes = build(locate_unions(entries, sheet), entries)

    assert writes.updates == {
        f"'Uniones'!{uni_col('N_UNION')}3": 2,
        f"'Uniones'!{uni_col('DN_UNION')}3": 3,
    }


def test_the_uniones_grid_grows_when_a_created_row_passes_its_edge():
    sheet = [UNI_HEADER, uni_row("T-1", 1)]
    st = state(uniones_sheet=True)
    entries = [union_entry(1, "T-1", u_create(2, N_UNION=2))]
    read_plan = plan(st, entries, False)
    located = locate(
        read_plan, [reply([OPS_HEADER]), reply(sheet, "'Uniones'!A1:Q2")], st, read=no_read
    )

    writes = build(located, entries)

    assert list(writes.updates) == ["'Uniones'!A3:Q3"]
    assert writes.grow_uniones_by == UNIONES_GROW_ROWS


def test_a_deleted_union_has_its_row_cleared_never_removed():
    sheet = [UNI_HEADER, uni_row("T-1", 1, NDT_STATUS="OK"), uni_row("T-1", 2)]
    entries = [
        union_entry(1, "T-1", u_cells(1, ARM_WORKER="MR(93)")),
        union_entry(2, "T-1", u_delete(1)),
        union_entry(3, "T-1", u_delete(9)),  # already gone: nothing to clear, no error
    ]

    writes = build(locate_unions(entries, sheet), entries)

    assert writes.updates == {"'Uniones'!A2:Q2": [[""] * len(UNI_HEADER)]}
    assert writes.errors == {}


def test_a_union_whose_row_is_gone_fails_its_entry_only():
    sheet = [UNI_HEADER, uni_row("T-1", 1)]
    entries = [
        union_entry(1, "T-1", u_cells(5, ARM_WORKER="MR(93)"), version="v1"),
        union_entry(2, "T-1", u_cells(1, ARM_WORKER="MR(93)")),
    ]

    writes = build(locate_unions(entries, sheet), entries)

    assert writes.errors == {1: "La unión 5 del spool T-1 ya no está en la hoja Uniones."}
    assert f"'Uniones'!{uni_col('ARM_WORKER')}2" in writes.updates
    assert any(v == "v1" for v in writes.updates.values())  # its Operaciones cells still go


def test_union_writes_without_a_uniones_sheet_fail_their_entry():
    st = state(uniones_sheet=False)
    entries = [union_entry(1, "T-1", u_cells(1, ARM_WORKER="MR(93)"), version="v1")]
    read_plan = plan(st, entries, False)
    located = locate(
        read_plan, [reply([OPS_HEADER]), reply([["TAG_SPOOL"], ["T-1"]])], st, read=no_read
    )

    writes = build(located, entries)

    assert writes.errors == {1: "La hoja Uniones no está en el libro (uniones 1)."}
    assert list(writes.updates.values()) == ["v1"]


COUNTERS = {"Total_Uniones": 4, "Uniones_ARM_Completadas": 2, "Pulgadas_ARM": 12.5}


def test_counters_are_written_where_the_header_has_them_and_the_workbook_has_uniones():
    header = [*OPS_HEADER, "Total_Uniones", "Pulgadas_ARM"]  # two of the five
    entries = [cells_entry(1, "T-1", version="v2", **COUNTERS)]
    uniones = [UNI_HEADER]

    with_sheet = build(locate_unions(entries, uniones, ops=header), entries)
    without_sheet = build(
        locate_unions(entries, uniones, ops=header, st=state(uniones_sheet=False)), entries
    )

    total, pulgadas = column_letter(len(OPS_HEADER)), column_letter(len(OPS_HEADER) + 1)
    assert with_sheet.updates[f"'Operaciones'!{total}2"] == 4
    assert with_sheet.updates[f"'Operaciones'!{pulgadas}2"] == 12.5
    assert len(with_sheet.updates) == 3  # version, and the two counters the header has
    assert list(without_sheet.updates.values()) == ["v2"]  # the office's cells stay


def test_a_missing_counter_column_never_stops_a_flush():
    assert not set(OPERACIONES_COUNTER_COLUMNS) & set(OPS_HEADER)
    entries = [cells_entry(1, "T-1", version="v2", **COUNTERS)]

    writes = build(locate_unions(entries, [UNI_HEADER]), entries)

    assert list(writes.updates.values()) == ["v2"]


def test_metadata_n_union_is_written_where_the_metadata_header_has_it():
    entry = meta_entry(1, "e-1", "T-1")
    entry.metadata_row["N_UNION"] = 3
    st = state()
    read_plan = plan(st, [entry], False)
    header = [*META_HEADER, "N_UNION"]
    located = locate(
        read_plan,
        [reply([OPS_HEADER]), reply([header]), reply([], "'Metadata'!A2:J1000")],
        st,
        read=no_read,
    )

    writes = build(located, [entry])

    ((rng, block),) = writes.updates.items()
    assert rng == "'Metadata'!A2:K2"
    assert block[0][10] == 3
