"""The flush as steps: plan the one read, locate rows and columns, build the one write, commit.

    plan    what the one values.batchGet asks for: the Operaciones header and TAG_SPOOL
            column (or the whole sheet when a pull is due, which serves both), and the
            Metadata header and tail when Metadata rows are pending;
    locate  where things are, from the replies: the header maps, the row of each TAG, the
            Metadata IDs already landed and the last filled Metadata row;
    build   the cells and Metadata rows to write (later entries win per cell; a Metadata row
            whose ID already landed is not written again);
    commit  grow the Metadata grid if needed, renew the lease, the one values.batchUpdate,
            mark the entries done.

`plan`, `locate` and `build` take and give plain data and touch no sheet (`locate` re-reads,
through the `read` it is given, only when TAG_SPOOL or ID moved column), so each is tested on
its own. The cycle that runs them, and why it is shaped this way, is in spools.workbook.sync.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from django.db import transaction
from django.utils import timezone

from spools.models import OutboxEntry, SyncState
from spools.workbook import gateway as sheets
from spools.workbook.columns import (
    METADATA,
    METADATA_COLUMNS,
    OPERACIONES,
    OPERACIONES_COLUMNS,
    Col,
    HeaderMap,
    column_letter,
    quote_sheet,
)
from spools.workbook.values import cell_text

METADATA_TAIL_OVERLAP = 50  # rows re-read before the last known one, to find landed IDs
METADATA_GROW_ROWS = 1000

ReadRanges = Callable[[list[str]], list[list[list]]]


class LeaseLost(Exception):
    """Another process took the lease while this cycle was slow: it must not write."""


# --- plan ------------------------------------------------------------------------------------


class Part(StrEnum):
    """What one range of the read is for."""

    OPERACIONES = "operaciones"  # the whole sheet: the pull is due
    OPS_HEADER = "ops_header"
    TAGS = "tags"  # the TAG_SPOOL column where it was last cycle
    META_HEADER = "meta_header"
    META_TAIL = "meta_tail"


@dataclass(frozen=True)
class ReadPlan:
    """The ranges of the one read, in order, each with what it is for."""

    parts: tuple[tuple[Part, str], ...]
    has_entries: bool
    meta_start: int  # first row of the Metadata tail read

    @property
    def ranges(self) -> list[str]:
        return [rng for _, rng in self.parts]

    def replies_by_part(self, replies: list[dict]) -> dict[Part, dict]:
        """The API's ValueRanges (one per range, in order) by what each is for."""
        return {part: reply for (part, _), reply in zip(self.parts, replies, strict=True)}


def plan(state: SyncState, entries: list[OutboxEntry], do_pull: bool) -> ReadPlan:
    """The one read of a cycle."""
    parts: list[tuple[Part, str]] = []
    if do_pull:
        parts.append((Part.OPERACIONES, sheets.sheet_range(OPERACIONES)))
    elif entries:
        # The header even for Metadata rows alone: a broken Operaciones stops every write.
        parts.append((Part.OPS_HEADER, sheets.sheet_range(OPERACIONES, "1:1")))
        if any(e.cells for e in entries):
            parts.append((Part.TAGS, column_range(OPERACIONES, state.tag_column)))
    meta_start = max(2, state.metadata_last_row - METADATA_TAIL_OVERLAP)
    if any(e.metadata_row for e in entries):
        parts.append((Part.META_HEADER, sheets.sheet_range(METADATA, "1:1")))
        parts.append((Part.META_TAIL, metadata_tail_range(state.metadata_id_column, meta_start)))
    return ReadPlan(tuple(parts), has_entries=bool(entries), meta_start=meta_start)


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


# --- locate ----------------------------------------------------------------------------------


@dataclass
class Located:
    """Where the pending writes go, as the read found the workbook."""

    ops_header: HeaderMap | None = None
    rows_by_tag: dict[str, int] = field(default_factory=dict)  # TAG → 1-based sheet row
    meta_header: HeaderMap | None = None
    landed_ids: set[str] = field(default_factory=set)  # Metadata IDs already in the tail
    meta_last_filled: int = 0  # last row of the tail read that holds anything
    meta_grid_rows: int | None = None  # the Metadata grid's height, when read


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
    located = Located()
    if read_plan.has_entries:
        _locate_operaciones(got, state, located, read)
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
    metadata_written: int = 0
    metadata_already_there: int = 0
    grow_metadata_by: int = 0  # rows the Metadata grid needs first
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
    with_meta = [e for e in entries if e.metadata_row]
    if with_meta:
        _build_metadata(located, with_meta, writes)
    return writes


def _build_cells(located: Located, with_cells: list[OutboxEntry], writes: Writes) -> None:
    header = located.ops_header
    assert header is not None  # any pending entry makes locate check the header
    latest: dict[tuple[int, int], object] = {}
    for entry in with_cells:
        row_no = located.rows_by_tag.get(entry.tag)
        if row_no is None:
            writes.errors[entry.pk] = f"El spool {entry.tag} ya no está en la hoja {OPERACIONES}."
            continue
        for column, value in entry.cells.items():
            latest[(row_no, header.col(column))] = value  # later entries win
    for (row_no, col), value in latest.items():
        writes.updates[f"{quote_sheet(OPERACIONES)}!{column_letter(col)}{row_no}"] = value
    writes.cells_written = len(latest)


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
    width = max(header.col(c) for c in METADATA_COLUMNS) + 1
    block = []
    for meta in new_rows:
        row = [""] * width
        for column in METADATA_COLUMNS:
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
    # A slow read (retries, timeouts) can outlast the lease: renew it, or stop here.
    if holder is not None and not renew_lease(holder):
        raise LeaseLost(f"sync lease lost by {holder} before writing")
    if writes.updates:
        sheets.write_cells(writes.updates)
    now = timezone.now()  # when it landed (the write has returned)
    if writes.metadata_last_row is not None:
        state.metadata_last_row = writes.metadata_last_row
    if entries:
        _mark_done(entries, writes.errors, now)
        state.last_flush_at = now
        if writes.errors:
            state.last_error = "; ".join(list(writes.errors.values())[:5])
            state.last_error_at = now
        state.structure_error = ""  # both headers were checked by this flush


def _mark_done(entries: list[OutboxEntry], errors: dict[int, str], now) -> None:
    with transaction.atomic():
        OutboxEntry.objects.filter(pk__in=[e.pk for e in entries if e.pk not in errors]).update(
            flushed_at=now
        )
        for pk, message in errors.items():
            OutboxEntry.objects.filter(pk=pk).update(flushed_at=now, error=message)
