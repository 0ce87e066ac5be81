"""The flush as steps: plan the one read, locate rows and columns, build the one write, commit.

    plan    what the one values.batchGet asks for: the Operaciones header and TAG_SPOOL
            column (or the whole sheet when a pull is due, which serves both, or a note is
            to be appended: its Notas cell must be read to be merged), the Uniones
            header and its TAG_SPOOL and N_UNION columns when union writes are pending (the
            whole sheet when a pull is due or a union row is to be created: only whole rows
            tell the last filled one), and the Metadata header and tail when Metadata rows
            are pending;
    locate  where things are, from the replies: the header maps, the row of each TAG and of
            each union (TAG_SPOOL, N_UNION), the Metadata IDs already landed and the last
            filled Metadata row;
    build   the cells, union rows and Metadata rows to write (later entries win per cell; a
            Notas cell gets the app's new lines appended to what it holds now, see
            `_build_notes`; a created union goes after the last filled Uniones row, a
            deleted one is cleared with blanks, never removed; a Metadata row whose ID
            already landed is not written again);
    commit  grow the Uniones or Metadata grid if needed, renew the lease, the one
            values.batchUpdate, mark the entries (and their notes) done.

Uniones is named in the read only when SyncState says the workbook has it (a batchGet that
names a missing sheet fails whole; see spools.workbook.pull). Optional columns never stop a
flush: the Operaciones counters (Total_Uniones …) are written where the header has them and
the workbook has Uniones, else left to the office; Metadata's N_UNION where it is; Notas where
the header has it, else the note stays in the app (its Metadata row is written). Numbers
(counters, N_UNION, DN_UNION) go as numbers in the RAW write.

`plan`, `locate` and `build` take and give plain data and touch no sheet (`locate` re-reads,
through the `read` it is given, only when TAG_SPOOL or ID moved column), so each is tested on
its own. The cycle that runs them, and why it is shaped this way, is in spools.workbook.sync.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import zip_longest

from django.db import transaction
from django.utils import timezone

from spools.models import Note, OutboxEntry, SyncState
from spools.workbook import gateway as sheets
from spools.workbook.columns import (
    CELL_MAX_CHARS,
    METADATA,
    METADATA_COLUMNS,
    METADATA_N_UNION,
    OPERACIONES,
    OPERACIONES_COLUMNS,
    OPERACIONES_COUNTER_COLUMNS,
    UNIONES,
    UNIONES_COMPLETE,
    Col,
    HeaderMap,
    UCol,
    a1,
    column_letter,
    quote_sheet,
)
from spools.workbook.rows import merge_note_lines, note_cell, parse_n_union
from spools.workbook.values import CellValueError, cell_text

METADATA_TAIL_OVERLAP = 50  # rows re-read before the last known one, to find landed IDs
METADATA_GROW_ROWS = 1000
UNIONES_GROW_ROWS = 1000
# Metadata columns written where the header has them (never required).
METADATA_OPTIONAL_COLUMNS = (METADATA_N_UNION,)

ReadRanges = Callable[[list[str]], list[list[list]]]
NO_NOTAS_COLUMN = f"La hoja {OPERACIONES} no tiene la columna {Col.NOTAS}: la nota queda en la app."
NOTAS_FULL = f"La celda {Col.NOTAS} está llena: la nota queda en la app."


class LeaseLost(Exception):
    """Another process took the lease while this cycle was slow: it must not write."""


# --- plan ------------------------------------------------------------------------------------


class Part(StrEnum):
    """What one range of the read is for."""

    OPERACIONES = "operaciones"  # the whole sheet: the pull is due, or a note is pending
    OPS_HEADER = "ops_header"
    TAGS = "tags"  # the TAG_SPOOL column where it was last cycle
    META_HEADER = "meta_header"
    META_TAIL = "meta_tail"
    UNIONES = "uniones"  # the whole Uniones sheet: a pull is due, or a union row is created
    UNI_HEADER = "uni_header"
    UNI_TAGS = "uni_tags"  # the Uniones TAG_SPOOL column where it was last cycle
    UNI_NS = "uni_ns"  # the N_UNION column, likewise


@dataclass(frozen=True)
class ReadPlan:
    """The ranges of the one read, in order, each with what it is for."""

    parts: tuple[tuple[Part, str], ...]
    has_entries: bool
    meta_start: int  # first row of the Metadata tail read
    union_writes: bool = False  # Uniones rows are written (the sheet is there)
    uniones_sheet: bool = False  # the workbook has a Uniones sheet, as far as we know

    @property
    def ranges(self) -> list[str]:
        return [rng for _, rng in self.parts]

    def replies_by_part(self, replies: list[dict]) -> dict[Part, dict]:
        """The API's ValueRanges (one per range, in order) by what each is for."""
        return {part: reply for (part, _), reply in zip(self.parts, replies, strict=True)}


def reads_whole_sheet(entries: list[OutboxEntry]) -> bool:
    """Whether these entries need the whole Operaciones sheet read: a note to append needs
    its Notas cell, whose column and row the same read tells. Notes are few, and the read
    is the pull's (the cycle applies it): no call is added."""
    return any(Col.NOTAS in e.cells for e in entries)


def plan(state: SyncState, entries: list[OutboxEntry], do_pull: bool) -> ReadPlan:
    """The one read of a cycle."""
    parts: list[tuple[Part, str]] = []
    uniones = bool(state.uniones_sheet)
    union_writes = uniones and any(e.unions for e in entries)
    if do_pull or reads_whole_sheet(entries):
        parts.append((Part.OPERACIONES, sheets.sheet_range(OPERACIONES)))
        if do_pull and uniones:
            parts.append((Part.UNIONES, sheets.sheet_range(UNIONES)))
        elif union_writes:
            parts += _union_parts(state, entries)
    elif entries:
        # The header even for Metadata rows alone: a broken Operaciones stops every write.
        parts.append((Part.OPS_HEADER, sheets.sheet_range(OPERACIONES, "1:1")))
        if any(e.cells for e in entries):
            parts.append((Part.TAGS, column_range(OPERACIONES, state.tag_column)))
        if union_writes:
            parts += _union_parts(state, entries)
    meta_start = max(2, state.metadata_last_row - METADATA_TAIL_OVERLAP)
    if any(e.metadata_row for e in entries):
        parts.append((Part.META_HEADER, sheets.sheet_range(METADATA, "1:1")))
        parts.append((Part.META_TAIL, metadata_tail_range(state.metadata_id_column, meta_start)))
    return ReadPlan(
        tuple(parts),
        has_entries=bool(entries),
        meta_start=meta_start,
        union_writes=union_writes,
        uniones_sheet=uniones,
    )


def _union_parts(state: SyncState, entries: list[OutboxEntry]) -> list[tuple[Part, str]]:
    if any(u.get("create") for e in entries for u in e.unions):
        # A new row goes after the last filled one, and only whole rows tell which that is
        # (a row with notes and no TAG is not to be written over). Creating unions is rare.
        return [(Part.UNIONES, sheets.sheet_range(UNIONES))]
    return [
        (Part.UNI_HEADER, sheets.sheet_range(UNIONES, "1:1")),
        (Part.UNI_TAGS, column_range(UNIONES, state.union_tag_column)),
        (Part.UNI_NS, column_range(UNIONES, state.union_n_column)),
    ]


def metadata_tail_range(id_col: int, start_row: int) -> str:
    """Whole rows of the Metadata tail (columns A to the last of the app's or to ID): a row
    someone typed without an ID still counts as filled and is never written over."""
    last = column_letter(max(id_col, len(METADATA_COLUMNS) - 1))
    return f"{quote_sheet(METADATA)}!A{start_row}:{last}"


def column_range(sheet: str, col: int, start_row: int = 1) -> str:
    letter = column_letter(col)
    return f"{quote_sheet(sheet)}!{letter}{start_row}:{letter}"


def pulled_rows(read_plan: ReadPlan, replies: list[dict]) -> list[list]:
    """The whole Operaciones sheet the read brought for the pull."""
    return read_plan.replies_by_part(replies)[Part.OPERACIONES].get("values", [])


def pulled_uniones(read_plan: ReadPlan, replies: list[dict]) -> list[list] | None:
    """The whole Uniones sheet the read brought, or None when it was not read."""
    reply = read_plan.replies_by_part(replies).get(Part.UNIONES)
    return None if reply is None else reply.get("values", [])


# --- locate ----------------------------------------------------------------------------------


@dataclass
class Located:
    """Where the pending writes go, as the read found the workbook."""

    ops_header: HeaderMap | None = None
    rows_by_tag: dict[str, int] = field(default_factory=dict)  # TAG → 1-based sheet row
    ops_rows: list[list] | None = None  # the whole Operaciones sheet, when read
    meta_header: HeaderMap | None = None
    landed_ids: set[str] = field(default_factory=set)  # Metadata IDs already in the tail
    meta_last_filled: int = 0  # last row of the tail read that holds anything
    meta_grid_rows: int | None = None  # the Metadata grid's height, when read
    uniones_sheet: bool = False  # the workbook has Uniones: the counters may be written
    uni_header: HeaderMap | None = None  # read when union writes are pending
    union_rows: dict[tuple[str, int], int] = field(default_factory=dict)  # (TAG, N) → row
    uni_last_filled: int | None = None  # last row holding anything (whole sheet read)
    uni_grid_rows: int | None = None  # the Uniones grid's height (whole sheet read)


def locate(
    read_plan: ReadPlan,
    replies: list[dict],
    state: SyncState,
    read: ReadRanges | None = None,
) -> Located:
    """Header maps, rows and landed IDs from the replies (`read` only when a column moved).

    Raises MissingColumnError before anything is built when a required column is missing
    from either header. Updates where `state` expects TAG_SPOOL and ID next time.
    """
    read = read or sheets.read_ranges
    got = read_plan.replies_by_part(replies)
    located = Located(uniones_sheet=read_plan.uniones_sheet)
    if read_plan.has_entries:
        _locate_operaciones(got, state, located, read)
    if read_plan.union_writes:
        _locate_uniones(got, state, located, read)
    if Part.META_TAIL in got:
        _locate_metadata(got, read_plan.meta_start, state, located, read)
    return located


def _rows(reply: dict) -> list[list]:
    return reply.get("values", [])


def _locate_operaciones(
    got: dict[Part, dict], state: SyncState, located: Located, read: ReadRanges
) -> None:
    tags: list[list] = []
    if Part.OPERACIONES in got:
        ops_rows = _rows(got[Part.OPERACIONES])
        header = HeaderMap.from_row(OPERACIONES, ops_rows[0] if ops_rows else [])
        header.require(OPERACIONES_COLUMNS)
        tag_idx = header.col(Col.TAG_SPOOL)
        tags = [[r[tag_idx]] if tag_idx < len(r) else [] for r in ops_rows]
        located.ops_rows = ops_rows
    else:
        header_rows = _rows(got[Part.OPS_HEADER])
        header = HeaderMap.from_row(OPERACIONES, header_rows[0] if header_rows else [])
        header.require(OPERACIONES_COLUMNS)
        tag_idx = header.col(Col.TAG_SPOOL)
        if Part.TAGS in got:
            tags = _rows(got[Part.TAGS])
            if tag_idx != state.tag_column:
                # Someone moved TAG_SPOOL since the last cycle: read the right column.
                (tags,) = read([column_range(OPERACIONES, tag_idx)])
    located.ops_header = header
    state.tag_column = tag_idx
    for i, row in enumerate(tags):
        if i == 0 or not row:
            continue
        located.rows_by_tag.setdefault(cell_text(row[0]), i + 1)  # the first row wins


def _at(row: list, index: int) -> object:
    return row[index] if index < len(row) else None


def _locate_uniones(
    got: dict[Part, dict], state: SyncState, located: Located, read: ReadRanges
) -> None:
    if Part.UNIONES in got:
        rows = _rows(got[Part.UNIONES])
        header = HeaderMap.from_row(UNIONES, rows[0] if rows else []).require(UNIONES_COMPLETE)
        tag_idx, n_idx = header.col(UCol.TAG_SPOOL), header.col(UCol.N_UNION)
        keys = [(_at(r, tag_idx), _at(r, n_idx)) for r in rows]
        located.uni_last_filled = len(rows)  # the reply stops at the last row with anything
        located.uni_grid_rows = sheets.grid_rows_of(got[Part.UNIONES])
    else:
        header_rows = _rows(got[Part.UNI_HEADER])
        header = HeaderMap.from_row(UNIONES, header_rows[0] if header_rows else [])
        header.require(UNIONES_COMPLETE)
        tag_idx, n_idx = header.col(UCol.TAG_SPOOL), header.col(UCol.N_UNION)
        tags, ns = _rows(got[Part.UNI_TAGS]), _rows(got[Part.UNI_NS])
        if (tag_idx, n_idx) != (state.union_tag_column, state.union_n_column):
            # Someone moved TAG_SPOOL or N_UNION since the last cycle: read the right ones.
            tags, ns = read([column_range(UNIONES, tag_idx), column_range(UNIONES, n_idx)])
        keys = [(_at(t, 0), _at(n, 0)) for t, n in zip_longest(tags, ns, fillvalue=[])]
    state.union_tag_column, state.union_n_column = tag_idx, n_idx
    located.uni_header = header
    located.union_rows = union_rows(keys)


def union_rows(keys: list[tuple[object, object]]) -> dict[tuple[str, int], int]:
    """(TAG_SPOOL, N_UNION) → sheet row, from the two cells of every row (header first);
    the first row of a repeated key wins, as in the pull."""
    found: dict[tuple[str, int], int] = {}
    for i, (raw_tag, raw_n) in enumerate(keys):
        tag = cell_text(raw_tag)
        if i == 0 or not tag:
            continue
        try:
            n = parse_n_union(raw_n)
        except CellValueError:
            continue  # not a union the app wrote or can name
        if n is not None:
            found.setdefault((tag, n), i + 1)
    return found


def _locate_metadata(
    got: dict[Part, dict], meta_start: int, state: SyncState, located: Located, read: ReadRanges
) -> None:
    header_rows, tail = _rows(got[Part.META_HEADER]), _rows(got[Part.META_TAIL])
    located.meta_grid_rows = sheets.grid_rows_of(got[Part.META_TAIL])
    header = HeaderMap.from_row(METADATA, header_rows[0] if header_rows else [])
    header.require(METADATA_COLUMNS)
    id_idx = header.col("ID")
    if id_idx > max(state.metadata_id_column, len(METADATA_COLUMNS) - 1):
        # ID moved past the block read: read the tail again, wide enough.
        (tail,) = read([metadata_tail_range(id_idx, meta_start)])
    state.metadata_id_column = id_idx
    located.meta_header = header
    located.landed_ids = {cell_text(r[id_idx]) for r in tail if len(r) > id_idx}
    located.meta_last_filled = meta_start - 1 + len(tail)


# --- build -----------------------------------------------------------------------------------


@dataclass
class Writes:
    """The one write of a cycle, and what it means for the entries and the state."""

    updates: dict[str, object] = field(default_factory=dict)  # A1 range → value or rows
    errors: dict[int, str] = field(default_factory=dict)  # entry pk → why its cells were not
    cells_written: int = 0
    notes_written: list[int] = field(default_factory=list)  # entries whose line is in the cell
    notes_left: dict[int, str] = field(default_factory=dict)  # entry pk → why not (no error)
    metadata_written: int = 0
    metadata_already_there: int = 0
    unions_written: int = 0  # union rows written, created or cleared
    grow_metadata_by: int = 0  # rows the Metadata grid needs first
    grow_uniones_by: int = 0  # rows the Uniones grid needs first
    # The last filled Metadata row as read, and as it will be once the write is answered
    # (None: no Metadata rows were pending).
    metadata_seen_row: int | None = None
    metadata_last_row: int | None = None


def build(located: Located, entries: list[OutboxEntry]) -> Writes:
    """The cells (later entries win per cell) and the Metadata rows not landed yet."""
    writes = Writes()
    with_cells = [e for e in entries if e.cells]
    if with_cells:
        _build_cells(located, with_cells, writes)
    with_unions = [e for e in entries if e.unions]
    if with_unions:
        _build_unions(located, with_unions, writes)
    with_meta = [e for e in entries if e.metadata_row]
    if with_meta:
        _build_metadata(located, with_meta, writes)
    return writes


def _build_cells(located: Located, with_cells: list[OutboxEntry], writes: Writes) -> None:
    header = located.ops_header
    assert header is not None  # any pending entry makes locate check the header
    latest: dict[tuple[int, int], object] = {}
    notes: dict[int, list[OutboxEntry]] = {}  # row → the entries appending a note to it
    for entry in with_cells:
        row_no = located.rows_by_tag.get(entry.tag)
        if row_no is None:
            writes.errors[entry.pk] = f"El spool {entry.tag} ya no está en la hoja {OPERACIONES}."
            continue
        for column, value in entry.cells.items():
            if column == Col.NOTAS:
                notes.setdefault(row_no, []).append(entry)
                continue
            col = _cell_column(header, column, located.uniones_sheet)
            if col is not None:
                latest[(row_no, col)] = value  # later entries win
    for (row_no, col), value in latest.items():
        writes.updates[f"{quote_sheet(OPERACIONES)}!{column_letter(col)}{row_no}"] = value
    writes.cells_written = len(latest)
    if notes:
        _build_notes(located, notes, writes)


def _build_notes(located: Located, by_row: dict[int, list[OutboxEntry]], writes: Writes) -> None:
    """Each row's Notas cell as it was read, with the app's new lines appended.

    Never an overwrite of what someone typed: the cell is the one this cycle's read brought
    (the whole sheet, see `plan`), every line in it is kept, and a line already there is not
    added again, so a flush retried after its write landed changes nothing. What stays
    possible is a line typed into the same cell between this read and the write (the
    cycle's few hundred milliseconds; a person still typing in the cell when the write lands
    keeps their own text over ours, in the sheet's usual last-writer-wins): Sheets has no
    compare-and-set on a cell, so it cannot be closed without a lock nobody else honours.
    It is acceptable because notes are rare, that window is short, and nothing is lost
    from the record: every note stays in the app and its Metadata row.
    """
    header, rows = located.ops_header, located.ops_rows
    assert header is not None and rows is not None  # `plan` reads the whole sheet for notes
    col = header.find(Col.NOTAS)
    for row_no, entries in by_row.items():
        if col is None:
            writes.notes_left.update((e.pk, NO_NOTAS_COLUMN) for e in entries)
            continue
        row = rows[row_no - 1] if row_no - 1 < len(rows) else []
        current = note_cell(row[col] if col < len(row) else None)
        merged = merge_note_lines(current, [e.cells[Col.NOTAS] for e in entries])
        if len(merged) > CELL_MAX_CHARS:
            writes.notes_left.update((e.pk, NOTAS_FULL) for e in entries)
            continue
        if merged != current:
            writes.updates[a1(OPERACIONES, row_no, col)] = merged
            writes.cells_written += 1
        writes.notes_written += [e.pk for e in entries]


def _cell_column(header: HeaderMap, column: str, uniones_sheet: bool) -> int | None:
    """Where an Operaciones cell goes. A required column missing raises; an optional counter
    goes only where the header has it and the workbook has Uniones (until then an office
    value stays untouched)."""
    if column in OPERACIONES_COUNTER_COLUMNS:
        return header.find(column) if uniones_sheet else None
    return header.col(column)


@dataclass
class UnionWrite:
    """What the pending entries leave to write on one union's row, coalesced."""

    cells: dict[str, object] = field(default_factory=dict)
    create: bool = False  # append the row when the sheet does not have it
    clear: bool = False  # write the whole row: blanks where `cells` has nothing
    entries: list[int] = field(default_factory=list)  # the entries that asked


def coalesce_unions(entries: list[OutboxEntry]) -> dict[tuple[str, int], UnionWrite]:
    """Each union's writes in entry order: later cells win, a delete drops what came before
    it, a create after a delete writes a fresh row."""
    ops: dict[tuple[str, int], UnionWrite] = {}
    for entry in entries:
        for u in entry.unions:
            op = ops.setdefault((entry.tag, int(u["n"])), UnionWrite())
            op.entries.append(entry.pk)
            if u.get("delete"):
                op.cells, op.create, op.clear = {}, False, True
            else:
                op.create = op.create or bool(u.get("create"))
                op.cells.update(u.get("cells") or {})
    return ops


def _fail(writes: Writes, pk: int, message: str) -> None:
    previous = writes.errors.get(pk)
    if previous is None or message not in previous:
        writes.errors[pk] = f"{previous}; {message}" if previous else message


def _build_unions(located: Located, with_unions: list[OutboxEntry], writes: Writes) -> None:
    header = located.uni_header
    if header is None:  # the workbook has no Uniones sheet
        for e in with_unions:
            numbers = ", ".join(str(u["n"]) for u in e.unions)
            _fail(writes, e.pk, f"La hoja {UNIONES} no está en el libro (uniones {numbers}).")
        return
    next_row = (located.uni_last_filled or 1) + 1
    for (tag, n), op in coalesce_unions(with_unions).items():
        row = located.union_rows.get((tag, n))
        if row is None and op.create:
            row, next_row = next_row, next_row + 1
            op.clear = True  # a whole new row
        if row is None:
            if not op.clear:  # a deleted union already gone is no error
                for pk in op.entries:
                    _fail(
                        writes, pk, f"La unión {n} del spool {tag} ya no está en la hoja {UNIONES}."
                    )
            continue
        writes.updates.update(union_updates(header, row, op))
        writes.unions_written += 1
    grid_rows = located.uni_grid_rows
    if grid_rows is not None and next_row - 1 > grid_rows:
        writes.grow_uniones_by = max(UNIONES_GROW_ROWS, next_row - 1 - grid_rows)


def union_updates(header: HeaderMap, row: int, op: UnionWrite) -> dict[str, object]:
    """The A1 updates of one union's row: its cells, or the whole row (blanks included)."""
    placed: dict[int, object] = {}
    for column, value in op.cells.items():
        col = header.find(column)
        if col is not None:  # the required ones were checked; ID and OT where present
            placed[col] = value
    if not op.clear:
        return {a1(UNIONES, row, col): value for col, value in placed.items()}
    width = max([len(header.headers), *(col + 1 for col in placed)])
    values = [placed.get(col, "") for col in range(width)]
    return {f"{quote_sheet(UNIONES)}!A{row}:{column_letter(width - 1)}{row}": [values]}


def _build_metadata(located: Located, with_meta: list[OutboxEntry], writes: Writes) -> None:
    header = located.meta_header
    assert header is not None  # Metadata rows pending make locate check that header
    new_rows = [e.metadata_row for e in with_meta if e.metadata_row["ID"] not in located.landed_ids]
    writes.metadata_already_there = len(with_meta) - len(new_rows)
    last_filled = located.meta_last_filled
    # What this read saw; the rows about to be written count only once their write is
    # answered (a write that fails or times out may or may not have landed, and the next
    # read must start early enough to find out).
    writes.metadata_seen_row = writes.metadata_last_row = max(last_filled, 1)
    writes.metadata_written = len(new_rows)
    if not new_rows:
        return
    first, last = last_filled + 1, last_filled + len(new_rows)
    grid_rows = located.meta_grid_rows
    if grid_rows is not None and last > grid_rows:
        writes.grow_metadata_by = max(METADATA_GROW_ROWS, last - grid_rows)
    columns = METADATA_COLUMNS + tuple(
        c for c in METADATA_OPTIONAL_COLUMNS if header.find(c) is not None
    )
    width = max(header.col(c) for c in columns) + 1
    block = []
    for meta in new_rows:
        row = [""] * width
        for column in columns:
            row[header.col(column)] = meta.get(column, "")
        block.append(row)
    writes.updates[f"{quote_sheet(METADATA)}!A{first}:{column_letter(width - 1)}{last}"] = block
    writes.metadata_last_row = last


# --- commit ----------------------------------------------------------------------------------


def commit(
    writes: Writes,
    entries: list[OutboxEntry],
    state: SyncState,
    *,
    holder: str | None,
    renew_lease: Callable[[str], bool],
) -> None:
    """Grow the Metadata grid, renew the lease, write once, mark the entries done.

    Raises LeaseLost (nothing written) when `holder` no longer holds the lease.
    """
    if writes.metadata_seen_row is not None:
        # Saved even if what follows fails: the next read starts no later than what was seen.
        state.metadata_last_row = min(state.metadata_last_row, writes.metadata_seen_row)
    if writes.grow_metadata_by:
        sheets.add_rows(METADATA, writes.grow_metadata_by)
    if writes.grow_uniones_by:
        sheets.add_rows(UNIONES, writes.grow_uniones_by)
    # A slow read (retries, timeouts) can outlast the lease: renew it, or stop here.
    if holder is not None and not renew_lease(holder):
        raise LeaseLost(f"sync lease lost by {holder} before writing")
    if writes.updates:
        sheets.write_cells(writes.updates)
    now = timezone.now()  # when it landed (the write has returned)
    if writes.metadata_last_row is not None:
        state.metadata_last_row = writes.metadata_last_row
    if entries:
        _mark_done(entries, writes, now)
        state.last_flush_at = now
        if writes.errors:
            state.last_error = "; ".join(list(writes.errors.values())[:5])
            state.last_error_at = now
        state.structure_error = ""  # every header written to was checked by this flush


def _mark_done(entries: list[OutboxEntry], writes: Writes, now) -> None:
    errors = writes.errors
    with transaction.atomic():
        OutboxEntry.objects.filter(pk__in=[e.pk for e in entries if e.pk not in errors]).update(
            flushed_at=now
        )
        for pk, message in errors.items():
            OutboxEntry.objects.filter(pk=pk).update(flushed_at=now, error=message)
        _mark_notes(entries, writes, now)


def _mark_notes(entries: list[OutboxEntry], writes: Writes, now) -> None:
    """Each note's fate, found by its entry's Metadata row (the note's event): in the cell
    now, or only in the app and why."""
    event_of = {e.pk: e.metadata_row.get("ID") for e in entries if Col.NOTAS in e.cells}
    if not event_of:
        return
    landed = [event_of[pk] for pk in writes.notes_written if pk in event_of]
    Note.objects.filter(event_id__in=landed).update(written_at=now, not_written="")
    left = {**writes.notes_left, **{pk: m for pk, m in writes.errors.items() if pk in event_of}}
    for pk, message in left.items():
        Note.objects.filter(event_id=event_of[pk]).update(not_written=message[:300])
