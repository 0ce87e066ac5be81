"""Workbook migration v2.1 → v3.0 → uniones, with backup, verification and rollback.

Two steps, run in order by one command; each finds by header what is already there, so a
workbook at any stage (v2.1, v3.0, half-way through a run) ends in the same place.

Step 1, v2.1 → v3.0 (domain.md "Migration v2.1 → v3.0"): append `Ocupado_Por`,
`Fecha_Ocupacion`, `version`, `Estado_Detalle` to Operaciones and fill `version` (a UUID4) and
`Estado_Detalle` (rendered from the states the row's columns imply) in every row with a
TAG_SPOOL whose cell is empty.

Step 2, v3.0 → uniones (uniones.md "The workbook"): create the `Uniones` sheet with its header
(right after Operaciones, 1000×26 like a sheet added by hand) when it is missing — or append
the missing Uniones columns to one the office made — and append the optional columns
`Total_Uniones`, `Uniones_ARM_Completadas`, `Uniones_SOLD_Completadas`, `Pulgadas_ARM`,
`Pulgadas_SOLD` to Operaciones and `N_UNION` to Metadata. Only header cells are written: the
counters of every spool stay **empty**. A new Uniones sheet has no unions, and the app writes
a spool's counters (RAW numbers) the moment it has unions; a blank reads as "no unions
recorded", where a 0 typed by the migration would claim a count nobody made and would be one
more cell per row to write, verify and undo. A counter column the office already had keeps
its values (they stay untouched until that spool has unions); the plan says how many there are.

A run, in phases that can each be re-run:

1. read every sheet in one values.batchGet (unformatted values, dates as serials) and plan
   both steps (step 2 is planned on the header step 1 leaves);
2. back up every sheet's values into new hidden sheets of the same spreadsheet (values
   written RAW, a manifest in row 1), then read the copy back and compare it cell by cell.
   One backup per run, taken before anything changes, named for what it holds:
   `_backup_v21_<YYYYMMDD-HHMMSS>_<n>` for a v2.1 workbook, `_backup_v30_…` for a v3.0 one.
   A service account may have no Drive quota to copy files, and a file on the app's disk may
   not outlive the container, so the copy lives in the workbook itself. The manifest records
   the sheets the run creates (Uniones), so that rollback deletes them. A run never
   overwrites a backup; a re-run reuses the latest one only when it was taken on the way to
   the same place and the workbook has not changed since, apart from what the migration
   adds (its columns, a Uniones sheet holding only its header);
3. one batchUpdate: grow every grid that the new columns would not fit (writing past the
   grid edge fails) and add the Uniones sheet;
4. one values request: every new header cell, after each sheet's last used column (never on
   top of a cell with data, so office columns anywhere survive);
5. fill `version` and `Estado_Detalle` (step 1);
6. verify: same row counts, every other cell as read before, the headers present, every
   Estado_Detalle written parses back to the states its columns imply, a created Uniones
   holding exactly its header.

Rollback restores the latest complete backup, whichever step it precedes: grid sizes back to
what they were (the added columns go with their cells), the sheets the run created deleted,
the cells that differ rewritten, then a cell-by-cell comparison. After a run on a v2.1
workbook that is the v2.1 workbook; after a run on a v3.0 one, the v3.0 workbook.

All I/O is a handful of gateway calls on the Spreadsheet (reads and writes batched), counted
in `ApiCalls` so a run can say what it cost against Google's quotas.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.utils import timezone

from spools.lifecycle import render_estado_detalle
from spools.workbook.columns import (
    METADATA,
    METADATA_N_UNION,
    OPERACIONES,
    OPERACIONES_COUNTER_COLUMNS,
    UNIONES,
    UNIONES_COLUMNS,
    UNIONES_REQUIRED,
    V21_COLUMNS,
    V30_NEW_COLUMNS,
    Col,
    HeaderMap,
    a1,
    column_letter,
)
from spools.workbook.gateway import (
    NewSheet,
    Spreadsheet,
    StructureBatch,
    read_sheet_values,
    sheet_range,
    write_ranges,
)
from spools.workbook.pull import parse_spool_row
from spools.workbook.values import cell_text, is_blank, normalize_header

# A backup is named for the workbook it holds: v2.1 (taken before step 1) or v3.0 (before
# step 2 alone). Row 1 of each backup sheet starts with its mark.
BACKUP_PREFIX = "_backup_v21_"
BACKUP_PREFIX_V30 = "_backup_v30_"
BACKUP_MARKS = {
    BACKUP_PREFIX: "ZEUES copia de seguridad v2.1",
    BACKUP_PREFIX_V30: "ZEUES copia de seguridad v3.0",
}
BACKUP_MARK = BACKUP_MARKS[BACKUP_PREFIX]
# Where a run takes the workbook, recorded in its backup: a re-run reuses only a backup taken
# on the way to the same place (backups of the v3.0-only migration have no target).
TARGET = "uniones"
# Columns the migration appends, by sheet: a backup ignores them when deciding whether the
# workbook changed since it was taken.
ADDED_COLUMNS = {
    OPERACIONES: V30_NEW_COLUMNS + OPERACIONES_COUNTER_COLUMNS,
    METADATA: (METADATA_N_UNION,),
    UNIONES: UNIONES_COLUMNS,
}
# A Uniones sheet the migration creates: Google's size for a sheet added by hand (room for
# the office's own columns).
NEW_UNIONES_GRID = (1000, 26)
# Google caps a request's body (about 10 MB); staying far below it keeps requests fast.
MAX_REQUEST_CHARS = 2_000_000
# How many differing cells a failed verification names before summarising.
MAX_REPORTED = 10

Report = Callable[[str], None]


class MigrationError(Exception):
    """The migration or rollback cannot go on; the message says why, in Spanish."""


class MigrationRefused(MigrationError):
    """The workbook is not something we can migrate; nothing was written."""


class VerificationFailed(MigrationError):
    """After writing, the workbook is not what it must be."""


@dataclass
class ApiCalls:
    """Requests sent to the Sheets API by this run (the gateway's retries not included)."""

    reads: int = 0
    writes: int = 0

    def __str__(self) -> str:
        return f"{self.reads} lecturas, {self.writes} escrituras"


@dataclass(frozen=True)
class SheetInfo:
    title: str
    sheet_id: int
    rows: int
    cols: int
    hidden: bool = False
    index: int = 0  # position among the workbook's sheets


@dataclass(frozen=True)
class Block:
    """Rows of values to write with their top-left cell at (row1, col0) of a sheet."""

    sheet: str
    row1: int
    col0: int
    rows: list[list]

    def as_range(self) -> tuple[str, list[list]]:
        """(A1 range of the top-left cell, rows), as the gateway writes it."""
        return a1(self.sheet, self.row1, self.col0), self.rows


class WorkbookIO:
    """The few gateway calls the migration makes, each one counted."""

    def __init__(self, spreadsheet: Spreadsheet, calls: ApiCalls | None = None) -> None:
        self.spreadsheet = spreadsheet
        self.calls = calls if calls is not None else ApiCalls()

    def sheets(self) -> list[SheetInfo]:
        """Every grid sheet with its size (one metadata read)."""
        self.calls.reads += 1
        meta = self.spreadsheet.fetch_sheet_metadata()
        out = []
        for sheet in meta.get("sheets", []):
            props = sheet.get("properties", {})
            if props.get("sheetType", "GRID") != "GRID":
                continue  # charts have no cells
            grid = props.get("gridProperties", {})
            out.append(
                SheetInfo(
                    title=props["title"],
                    sheet_id=props["sheetId"],
                    rows=int(grid.get("rowCount", 0)),
                    cols=int(grid.get("columnCount", 0)),
                    hidden=bool(props.get("hidden", False)),
                    index=int(props.get("index", 0)),
                )
            )
        return out

    def read(self, ranges: list[str]) -> list[list[list]]:
        """One values.batchGet; one list of rows per range, in order."""
        if not ranges:
            return []
        self.calls.reads += 1
        return read_sheet_values(self.spreadsheet, ranges)

    def write(self, blocks: Iterable[Block]) -> int:
        """values.batchUpdate with RAW input (text stays text), split only when very large.

        Blocks are sent in order, so a block placed last lands only after all the others.
        """
        sent = 0
        for ranges in _pack(blocks):
            self.calls.writes += 1
            write_ranges(self.spreadsheet, ranges)
            sent += 1
        return sent

    def change_structure(self, batch: StructureBatch) -> None:
        """One spreadsheets.batchUpdate (add sheets, resize grids); none for an empty batch."""
        if not batch:
            return
        self.calls.writes += 1
        batch.send(self.spreadsheet)


def _pack(blocks: Iterable[Block]) -> list[list[tuple[str, list[list]]]]:
    requests: list[list[tuple[str, list[list]]]] = []
    current: list[tuple[str, list[list]]] = []
    size = 0
    for block in blocks:
        for piece, piece_size in _split(block):
            if current and size + piece_size > MAX_REQUEST_CHARS:
                requests.append(current)
                current, size = [], 0
            current.append(piece.as_range())
            size += piece_size
    if current:
        requests.append(current)
    return requests


def _split(block: Block) -> Iterable[tuple[Block, int]]:
    """A block cut by rows so that no piece is bigger than half a request."""
    start, size = 0, 0
    for i, row in enumerate(block.rows):
        n = len(json.dumps(row, ensure_ascii=False)) + 1
        if i > start and size + n > MAX_REQUEST_CHARS // 2:
            yield Block(block.sheet, block.row1 + start, block.col0, block.rows[start:i]), size
            start, size = i, 0
        size += n
    yield Block(block.sheet, block.row1 + start, block.col0, block.rows[start:]), size + 100


# --- cells -----------------------------------------------------------------------------


def _cell_key(value: object) -> tuple:
    """What makes two read values the same cell (1 and 1.0 are; 1, TRUE and "1" are not)."""
    if value is None or value == "":
        return ("",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", float(value))
    return ("text", str(value))


def same_value(a: object, b: object) -> bool:
    return _cell_key(a) == _cell_key(b)


def _cell(rows: list[list], r: int, c: int) -> object:
    if r < len(rows) and c < len(rows[r]):
        return rows[r][c]
    return ""


def _width(rows: list[list]) -> int:
    """Columns in use: up to the last non-empty cell of any row."""
    width = 0
    for row in rows:
        for c in range(len(row) - 1, width - 1, -1):
            if not is_blank(row[c]):
                width = c + 1
                break
    return width


def _height(rows: list[list]) -> int:
    """Rows in use: up to the last row with a non-empty cell."""
    for r in range(len(rows) - 1, -1, -1):
        if _width([rows[r]]):
            return r + 1
    return 0


def _differences(
    expected: list[list], actual: list[list], *, skip: Callable[[int, int], bool] | None = None
) -> list[tuple[int, int, object, object]]:
    """Every (row0, col0, expected, actual) that differs, over both grids' used areas."""
    out = []
    for r in range(max(len(expected), len(actual))):
        e_row = expected[r] if r < len(expected) else []
        a_row = actual[r] if r < len(actual) else []
        for c in range(max(len(e_row), len(a_row))):
            e = e_row[c] if c < len(e_row) else ""
            a = a_row[c] if c < len(a_row) else ""
            if not same_value(e, a) and not (skip and skip(r, c)):
                out.append((r, c, e, a))
    return out


def _describe_differences(
    sheet: str,
    diffs: list[tuple[int, int, object, object]],
    wording: str = "se esperaba {e!r}, hay {a!r}",
) -> list[str]:
    lines = [
        f"  {sheet}!{column_letter(c)}{r + 1}: " + wording.format(e=e, a=a)
        for r, c, e, a in diffs[:MAX_REPORTED]
    ]
    if len(diffs) > MAX_REPORTED:
        lines.append(f"  … y {len(diffs) - MAX_REPORTED} celdas más en {sheet}")
    return lines


def _compare(sheet: str, expected: list[list], actual: list[list]) -> list[str]:
    """The lines naming every cell of `sheet` that differs (none when identical)."""
    return _describe_differences(sheet, _differences(expected, actual))


def _capped(lines: list[str], more: str) -> list[str]:
    """The first MAX_REPORTED lines, then one saying how many more `more` there are."""
    if len(lines) <= MAX_REPORTED:
        return lines
    return lines[:MAX_REPORTED] + [f"  … y {len(lines) - MAX_REPORTED} {more}"]


def _row_spans(rows1: list[int]) -> str:
    """[2, 3, 4, 7] → "2–4, 7" (at most 12 spans shown)."""
    spans: list[list[int]] = []
    for r in sorted(rows1):
        if spans and r == spans[-1][1] + 1:
            spans[-1][1] = r
        else:
            spans.append([r, r])
    text = ", ".join(f"{a}–{b}" if a != b else f"{a}" for a, b in spans[:12])
    if len(spans) > 12:
        text += f", … ({len(spans)} tramos)"
    return text


def _runs(cells: dict[tuple[int, int], object]) -> list[tuple[int, int, list[list]]]:
    """Cells grouped into rectangles: (row0, col0, rows) for horizontal runs that repeat
    over consecutive rows with the same columns (the added columns become one block)."""
    by_row: dict[int, list[tuple[int, int]]] = {}
    for r, c in sorted(cells):
        spans = by_row.setdefault(r, [])
        if spans and c == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], c)
        else:
            spans.append((c, c))
    open_blocks: dict[tuple[int, int], tuple[int, list[list]]] = {}
    done: list[tuple[int, int, list[list]]] = []
    previous_row = None
    for r in sorted(by_row):
        if previous_row is None or r != previous_row + 1:
            done += [(r0, c0, rows) for (c0, _), (r0, rows) in open_blocks.items()]
            open_blocks = {}
        still_open: dict[tuple[int, int], tuple[int, list[list]]] = {}
        for c0, c1 in by_row[r]:
            values = [cells[(r, c)] for c in range(c0, c1 + 1)]
            if (c0, c1) in open_blocks:
                r0, rows = open_blocks.pop((c0, c1))
                rows.append(values)
                still_open[(c0, c1)] = (r0, rows)
            else:
                still_open[(c0, c1)] = (r, [values])
        done += [(r0, c0, rows) for (c0, _), (r0, rows) in open_blocks.items()]
        open_blocks = still_open
        previous_row = r
    done += [(r0, c0, rows) for (c0, _), (r0, rows) in open_blocks.items()]
    return sorted(done)


def _blocks(sheet: str, cells: dict[tuple[int, int], object]) -> list[Block]:
    return [Block(sheet, r0 + 1, c0, rows) for r0, c0, rows in _runs(cells)]


# --- reading the workbook --------------------------------------------------------------


@dataclass
class Backup:
    """One backup: a sheet per source sheet, each with a manifest in row 1."""

    id: str
    prefix: str = BACKUP_PREFIX
    sheets: dict[int, SheetInfo] = field(default_factory=dict)  # part number → backup sheet
    manifests: dict[int, dict] = field(default_factory=dict)  # part number → manifest

    @property
    def complete(self) -> bool:
        # The manifests are written in the last request of a backup: all of them present
        # means every value landed.
        if not self.manifests or len(self.manifests) != len(self.sheets):
            return False
        return all(m.get("parts") == len(self.sheets) for m in self.manifests.values())

    def parts(self) -> list[tuple[str, SheetInfo, dict]]:
        """(source title, backup sheet, manifest) in the workbook's original order."""
        return [
            (self.manifests[n]["source"], self.sheets[n], self.manifests[n])
            for n in sorted(self.sheets)
        ]

    @property
    def _manifest(self) -> dict:
        return next(iter(self.manifests.values()), {})

    @property
    def taken_at(self) -> str:
        return self._manifest.get("taken_at", self.id)

    @property
    def name(self) -> str:
        """How the backup's sheets start: `_backup_v21_20260501-120000`."""
        return f"{self.prefix}{self.id}"

    @property
    def target(self) -> str:
        return self._manifest.get("target", "v3.0")

    @property
    def created_sheets(self) -> list[str]:
        """Sheets the run that took this backup creates (absent from the copy)."""
        return list(self._manifest.get("created_sheets", []))


@dataclass
class Snapshot:
    """The workbook as read at one moment: sheets (backups apart) and their values."""

    sheets: list[SheetInfo]
    values: dict[str, list[list]]
    backups: list[Backup]  # oldest first

    def sheet(self, title: str) -> SheetInfo | None:
        return next((s for s in self.sheets if s.title == title), None)

    def latest_backup(self) -> Backup | None:
        complete = [b for b in self.backups if b.complete]
        return complete[-1] if complete else None

    @property
    def incomplete_backups(self) -> list[Backup]:
        return [b for b in self.backups if not b.complete]


def _backup_title(backup: Backup, part: int) -> str:
    return f"{backup.name}_{part}"


def _parse_backup_title(title: str) -> tuple[str, str, int] | None:
    """(prefix, backup id, part number) of a backup sheet's title, None for other sheets."""
    prefix = next((p for p in BACKUP_MARKS if title.startswith(p)), None)
    if prefix is None:
        return None
    backup_id, _, part = title[len(prefix) :].rpartition("_")
    if not backup_id or not part.isdigit():
        return None
    return prefix, backup_id, int(part)


def _parse_manifest(rows: list[list], prefix: str) -> dict | None:
    if not rows or len(rows[0]) < 2 or rows[0][0] != BACKUP_MARKS[prefix]:
        return None
    try:
        manifest = json.loads(str(rows[0][1]))
    except ValueError:
        return None
    return manifest if isinstance(manifest, dict) and "source" in manifest else None


def read_workbook(io: WorkbookIO) -> Snapshot:
    """Every sheet's values and the backups' manifests: one metadata read, one batchGet."""
    infos = io.sheets()
    sources = [s for s in infos if _parse_backup_title(s.title) is None]
    backup_sheets = [s for s in infos if _parse_backup_title(s.title) is not None]
    got = io.read(
        [sheet_range(s.title) for s in sources]
        + [sheet_range(s.title, "A1:B1") for s in backup_sheets]
    )
    values = {s.title: got[i] for i, s in enumerate(sources)}
    backups: dict[tuple[str, str], Backup] = {}
    for info, head in zip(backup_sheets, got[len(sources) :], strict=True):
        prefix, backup_id, part = _parse_backup_title(info.title)
        backup = backups.setdefault((backup_id, prefix), Backup(backup_id, prefix))
        backup.sheets[part] = info
        manifest = _parse_manifest(head, prefix)
        if manifest is not None and manifest.get("backup") == backup_id:
            backup.manifests[part] = manifest
    # Ids are timestamps, unique across both kinds: sorting them orders the backups in time.
    return Snapshot(sources, values, [backups[k] for k in sorted(backups)])


def read_backup(io: WorkbookIO, backup: Backup) -> dict[str, list[list]]:
    """The values each source sheet had when the backup was taken (one batchGet)."""
    parts = backup.parts()
    got = io.read([sheet_range(info.title) for _, info, _ in parts])
    return {source: rows[1:] for (source, _, _), rows in zip(parts, got, strict=True)}


# --- the migration plan ----------------------------------------------------------------


@dataclass(frozen=True)
class ColumnAdd:
    name: str
    index: int  # 0-based

    @property
    def letter(self) -> str:
        return column_letter(self.index)


@dataclass(frozen=True)
class Fill:
    row1: int
    col0: int
    column: str
    tag: str
    value: str


@dataclass
class MigrationPlan:
    snapshot: Snapshot
    header: HeaderMap  # Operaciones as it will be, with the added columns
    data_rows: int  # rows with a TAG_SPOOL
    used_width: int
    grid: SheetInfo
    adds: list[ColumnAdd]
    widen_by: int
    fills: list[Fill]
    # The states each filled Estado_Detalle must parse back to, by sheet row.
    expected_states: dict[int, tuple] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def nothing_to_do(self) -> bool:
        return not (self.adds or self.widen_by or self.fills)

    @property
    def rows_to_fill(self) -> list[int]:
        return sorted({f.row1 for f in self.fills})

    def written_cells(self) -> dict[tuple[int, int], object]:
        """Every Operaciones cell this plan writes, (row0, col0) → value."""
        cells: dict[tuple[int, int], object] = {(0, a.index): a.name for a in self.adds}
        cells.update({(f.row1 - 1, f.col0): f.value for f in self.fills})
        return cells


# The parsed row's keys that make a spool's state, in the order verification reports them.
_STATE_KEYS = ("arm", "sold", "metrologia", "reparacion", "ciclo")


def _states(values: dict) -> tuple:
    return tuple(values[key] for key in _STATE_KEYS)


def estado_detalle_for(header: HeaderMap, row: list, tag: str) -> tuple[str, dict]:
    """Estado_Detalle for a row, rendered from the states its current columns imply.

    Uses the pull's own row parser, so the migration and the app can never disagree.
    """
    values = parse_spool_row(header, row, tag)
    text = render_estado_detalle(**{key: values[key] for key in (*_STATE_KEYS, "ocupado_por")})
    return text, values


def plan_migration(snapshot: Snapshot) -> MigrationPlan:
    """What the migration must do to this workbook; refuses a workbook it cannot migrate."""
    grid = snapshot.sheet(OPERACIONES)
    if grid is None:
        raise MigrationRefused(f"El libro no tiene la hoja {OPERACIONES}: no se modificó nada.")
    rows = snapshot.values[OPERACIONES]
    header = HeaderMap.from_row(OPERACIONES, rows[0] if rows else [])
    missing = header.missing(V21_COLUMNS)
    if missing:
        names = ", ".join(missing)
        raise MigrationRefused(
            f"La hoja {OPERACIONES} no tiene la columna requerida {names} (esquema v2.1): "
            "no se modificó nada. Corrija el encabezado y vuelva a ejecutar."
        )
    # New columns go after the last used cell of any row, not just of the header: an
    # unlabelled column with data must not be written over.
    used = _width(rows)
    adds: list[ColumnAdd] = []
    for name in V30_NEW_COLUMNS:
        if header.find(name) is None:
            adds.append(ColumnAdd(name, used + len(adds)))
    header_row = list(rows[0]) if rows else []
    header_row += [""] * (used - len(header_row)) + [a.name for a in adds]
    final = HeaderMap.from_row(OPERACIONES, header_row)
    widen_by = max(0, used + len(adds) - grid.cols) if adds else 0

    plan = MigrationPlan(snapshot, final, 0, used, grid, adds, widen_by, [])
    version_col, estado_col = final.col(Col.VERSION), final.col(Col.ESTADO_DETALLE)
    for offset, row in enumerate(rows[1:]):
        row1 = offset + 2
        tag = cell_text(final.get(row, Col.TAG_SPOOL))
        if not tag:
            continue  # empty rows, or stray text in a row without a spool
        plan.data_rows += 1
        # Only empty cells are filled: a re-run after an interruption completes the rows
        # left, and never replaces a version the app or a previous run wrote.
        if is_blank(final.get(row, Col.VERSION)):
            plan.fills.append(Fill(row1, version_col, Col.VERSION, tag, str(uuid.uuid4())))
        if is_blank(final.get(row, Col.ESTADO_DETALLE)):
            text, values = estado_detalle_for(final, row, tag)
            plan.fills.append(Fill(row1, estado_col, Col.ESTADO_DETALLE, tag, text))
            plan.expected_states[row1] = _states(values)
            plan.warnings += [
                f"fila {row1} {tag} {p['column']}: {p['error']} (se toma como vacía)"
                for p in values["problems"]
            ]
    return plan


def describe_plan(plan: MigrationPlan) -> list[str]:
    """Exactly what the run changes, line by line."""
    lines = []
    if plan.adds:
        lines.append(
            f"Se agregan {len(plan.adds)} columnas al final del encabezado de {OPERACIONES} "
            f"(después de la última columna usada, {column_letter(plan.used_width - 1)}):"
        )
        lines += [f"  {a.letter}1 = {a.name}" for a in plan.adds]
    else:
        lines.append(f"Las columnas v3.0 ya están en el encabezado de {OPERACIONES}.")
    if plan.widen_by:
        lines.append(
            f"La grilla de {OPERACIONES} se amplía de {plan.grid.cols} a "
            f"{plan.grid.cols + plan.widen_by} columnas (hasta "
            f"{column_letter(plan.grid.cols + plan.widen_by - 1)})."
        )
    else:
        lines.append(f"La grilla de {OPERACIONES} ({plan.grid.cols} columnas) alcanza; no cambia.")
    by_column: dict[str, list[Fill]] = {}
    for f in plan.fills:
        by_column.setdefault(f.column, []).append(f)
    for column in (Col.VERSION, Col.ESTADO_DETALLE):
        fills = by_column.get(column, [])
        if not fills:
            lines.append(f"{column}: ninguna fila vacía que completar.")
            continue
        letter = column_letter(fills[0].col0)
        lines.append(
            f"{column} (columna {letter}): se completan {len(fills)} de {plan.data_rows} filas "
            f"con TAG_SPOOL — filas {_row_spans([f.row1 for f in fills])}."
        )
    estados: dict[str, int] = {}
    for f in by_column.get(Col.ESTADO_DETALLE, []):
        estados[f.value] = estados.get(f.value, 0) + 1
    for text, n in sorted(estados.items(), key=lambda kv: -kv[1])[:15]:
        lines.append(f"  {n:>6} × {text}")
    if len(estados) > 15:
        lines.append(f"  … y {len(estados) - 15} textos más")
    lines += [f"Atención: {w}" for w in plan.warnings[:20]]
    if len(plan.warnings) > 20:
        lines.append(f"Atención: … y {len(plan.warnings) - 20} avisos más")
    return lines


# --- step 2: the unions plan ----------------------------------------------------------


@dataclass(frozen=True)
class SheetColumns:
    """Header cells step 2 appends to one existing sheet, after its last used column."""

    sheet: str
    sheet_id: int
    grid_cols: int  # as step 1 leaves it
    used_width: int  # as step 1 leaves it
    adds: tuple[ColumnAdd, ...]

    @property
    def widen_by(self) -> int:
        return max(0, self.used_width + len(self.adds) - self.grid_cols) if self.adds else 0


def _columns_to_add(
    info: SheetInfo, grid_cols: int, header: HeaderMap, used: int, names: Iterable[str]
) -> SheetColumns:
    missing = [name for name in names if header.find(name) is None]
    adds = tuple(ColumnAdd(name, used + i) for i, name in enumerate(missing))
    return SheetColumns(info.title, info.sheet_id, grid_cols, used, adds)


@dataclass
class UnionesPlan:
    """Step 2, v3.0 → uniones: the Uniones sheet, the counter columns, Metadata's N_UNION."""

    new_sheet: NewSheet | None = None  # Uniones, created with its header
    columns: list[SheetColumns] = field(default_factory=list)
    # The columns each sheet's header must hold afterwards (verification).
    required: dict[str, tuple[str, ...]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def nothing_to_do(self) -> bool:
        return self.new_sheet is None and not any(c.adds for c in self.columns)

    def columns_of(self, sheet: str) -> SheetColumns | None:
        return next((c for c in self.columns if c.sheet == sheet), None)

    def written_cells(self) -> dict[str, dict[tuple[int, int], object]]:
        """Every cell step 2 writes, by sheet: header cells only."""
        cells: dict[str, dict[tuple[int, int], object]] = {}
        if self.new_sheet is not None:
            cells[UNIONES] = {(0, c): name for c, name in enumerate(UNIONES_COLUMNS)}
        for cols in self.columns:
            if cols.adds:
                cells.setdefault(cols.sheet, {}).update({(0, a.index): a.name for a in cols.adds})
        return cells


def _counter_notes(header: HeaderMap, rows: list[list]) -> list[str]:
    """Counter columns the office already had: their values stay as they are."""
    notes = []
    for name in OPERACIONES_COUNTER_COLUMNS:
        c = header.find(name)
        if c is None:
            continue
        filled = sum(1 for row in rows[1:] if not is_blank(_cell([row], 0, c)))
        if filled:
            notes.append(
                f"{name} ya existe (columna {column_letter(c)}) con {filled} "
                + ("valor" if filled == 1 else "valores")
                + " de la oficina: no se tocan; la app los reemplaza solo en los spools que "
                "tengan uniones."
            )
    return notes


def _plan_metadata(plan: UnionesPlan, snapshot: Snapshot) -> None:
    info = snapshot.sheet(METADATA)
    rows = snapshot.values.get(METADATA, [])
    if info is None or not rows:
        # N_UNION is optional (always in Metadata_JSON); a missing log is the app's to report.
        plan.notes.append(
            f"El libro no tiene la hoja {METADATA} con encabezado: no se agrega N_UNION."
        )
        return
    header = HeaderMap.from_row(METADATA, rows[0])
    plan.columns.append(_columns_to_add(info, info.cols, header, _width(rows), [METADATA_N_UNION]))
    plan.required[METADATA] = (METADATA_N_UNION,)


def _plan_uniones_sheet(plan: UnionesPlan, snapshot: Snapshot, operaciones: SheetInfo) -> None:
    """Create Uniones, or complete the header of one the office made."""
    plan.required[UNIONES] = UNIONES_COLUMNS
    info = snapshot.sheet(UNIONES)
    if info is None:
        rows, cols = NEW_UNIONES_GRID
        plan.new_sheet = NewSheet(UNIONES, rows=rows, cols=cols, index=operaciones.index + 1)
        return
    rows = snapshot.values[UNIONES]
    header = HeaderMap.from_row(UNIONES, rows[0] if rows else [])
    missing = header.missing(UNIONES_REQUIRED)
    if _height(rows) > 1 and missing:
        raise MigrationRefused(
            f"La hoja {UNIONES} tiene filas pero no la columna requerida {', '.join(missing)}: "
            "no se modificó nada. Corrija el encabezado y vuelva a ejecutar."
        )
    plan.columns.append(_columns_to_add(info, info.cols, header, _width(rows), UNIONES_COLUMNS))
    unions = _height(rows) - 1
    if unions > 0:
        plan.notes.append(
            f"{UNIONES} ya tiene {unions} filas: la app calcula los contadores de sus spools "
            "al leerlas."
        )


def plan_uniones(snapshot: Snapshot, step1: MigrationPlan) -> UnionesPlan:
    """What step 2 must do, on the workbook as step 1 leaves it."""
    plan = UnionesPlan()
    operaciones = step1.grid
    used = max([step1.used_width] + [a.index + 1 for a in step1.adds])
    plan.columns.append(
        _columns_to_add(
            operaciones,
            operaciones.cols + step1.widen_by,
            step1.header,
            used,
            OPERACIONES_COUNTER_COLUMNS,
        )
    )
    plan.required[OPERACIONES] = OPERACIONES_COUNTER_COLUMNS
    plan.notes += _counter_notes(step1.header, snapshot.values[OPERACIONES])
    _plan_metadata(plan, snapshot)
    _plan_uniones_sheet(plan, snapshot, operaciones)
    return plan


@dataclass
class RunPlan:
    """Both steps of one run, planned together on one read."""

    step1: MigrationPlan
    step2: UnionesPlan

    @property
    def snapshot(self) -> Snapshot:
        return self.step1.snapshot

    @property
    def nothing_to_do(self) -> bool:
        return self.step1.nothing_to_do and self.step2.nothing_to_do

    def written_cells(self) -> dict[str, dict[tuple[int, int], object]]:
        """Every cell the run writes, by sheet, (row0, col0) → value."""
        cells = {OPERACIONES: dict(self.step1.written_cells())}
        for sheet, more in self.step2.written_cells().items():
            cells.setdefault(sheet, {}).update(more)
        return cells

    def grow_by(self) -> dict[str, tuple[int, int]]:
        """Sheet → (sheet id, grid columns to append), over both steps."""
        grow: dict[str, tuple[int, int]] = {}
        if self.step1.widen_by:
            grow[OPERACIONES] = (self.step1.grid.sheet_id, self.step1.widen_by)
        for cols in self.step2.columns:
            if cols.widen_by:
                _, before = grow.get(cols.sheet, (cols.sheet_id, 0))
                grow[cols.sheet] = (cols.sheet_id, before + cols.widen_by)
        return grow


def plan_run(snapshot: Snapshot) -> RunPlan:
    """Both steps; refuses (writing nothing) a workbook either step cannot handle."""
    step1 = plan_migration(snapshot)
    return RunPlan(step1, plan_uniones(snapshot, step1))


def _describe_columns(cols: SheetColumns) -> list[str]:
    if not cols.adds:
        return [f"{cols.sheet}: las columnas ya están en el encabezado."]
    after = f"después de {column_letter(cols.used_width - 1)}" if cols.used_width else "desde A"
    what = "se agrega 1 columna" if len(cols.adds) == 1 else f"se agregan {len(cols.adds)} columnas"
    lines = [
        f"{cols.sheet}: {what} al final del encabezado ({after}): "
        + ", ".join(f"{a.letter}1 = {a.name}" for a in cols.adds)
    ]
    if cols.widen_by:
        lines.append(
            f"La grilla de {cols.sheet} se amplía de {cols.grid_cols} a "
            f"{cols.grid_cols + cols.widen_by} columnas (hasta "
            f"{column_letter(cols.grid_cols + cols.widen_by - 1)})."
        )
    else:
        lines.append(f"La grilla de {cols.sheet} ({cols.grid_cols} columnas) alcanza; no cambia.")
    return lines


def describe_uniones(plan: UnionesPlan) -> list[str]:
    """Exactly what step 2 changes, line by line."""
    lines = []
    if plan.new_sheet is not None:
        lines.append(
            f"Se crea la hoja {UNIONES} después de {OPERACIONES} "
            f"({plan.new_sheet.rows}×{plan.new_sheet.cols}), encabezado en la fila 1: "
            + ", ".join(UNIONES_COLUMNS)
            + "."
        )
    for cols in plan.columns:
        lines += _describe_columns(cols)
    counters = plan.columns_of(OPERACIONES)
    if counters is not None and counters.adds:
        lines.append(
            "Los contadores quedan vacíos en todas las filas (aún no hay uniones): la app los "
            "escribe cuando un spool tiene uniones."
        )
    return lines + [f"Nota: {note}" for note in plan.notes]


def describe_run(plan: RunPlan) -> list[str]:
    """Both steps, each under its own title."""
    lines = ["Paso 1, v2.1 → v3.0:"]
    if plan.step1.nothing_to_do:
        lines.append(
            "  nada que hacer: las columnas v3.0 están y todas las filas tienen version y "
            "Estado_Detalle."
        )
    else:
        lines += ["  " + line for line in describe_plan(plan.step1)]
    lines.append(f"Paso 2, uniones ({UNIONES}, contadores de {OPERACIONES}, N_UNION):")
    if plan.step2.nothing_to_do:
        lines.append(f"  nada que hacer: la hoja {UNIONES} y las columnas de uniones están.")
        return lines + [f"  Nota: {note}" for note in plan.step2.notes]
    return lines + ["  " + line for line in describe_uniones(plan.step2)]


# --- backup ----------------------------------------------------------------------------


def _ignore_added_columns(
    sheet: str, backup_rows: list[list], current_rows: list[list]
) -> Callable[[int, int], bool]:
    """Cells of `sheet` that the migration itself adds: its columns (ADDED_COLUMNS) to the
    right of what the backup held."""
    names = {normalize_header(name) for name in ADDED_COLUMNS.get(sheet, ())}
    header = current_rows[0] if current_rows else []
    added = {
        c for c in range(_width(backup_rows), len(header)) if normalize_header(header[c]) in names
    }
    return lambda r, c: c in added


def _as_created(sheet: str, rows: list[list]) -> bool:
    """Whether a sheet the migration creates holds nothing but what it writes (the header,
    or nothing yet when a run stopped right after adding it)."""
    expected = {(0, c): name for c, name in enumerate(ADDED_COLUMNS.get(sheet, ()))}
    if _height(rows) > 1:
        return False
    return all(
        is_blank(value) or normalize_header(value) == normalize_header(expected.get((0, c), ""))
        for c, value in enumerate(rows[0] if rows else [])
    )


def backup_matches(
    backup: Backup, backup_values: dict[str, list[list]], snapshot: Snapshot
) -> bool:
    """Whether the workbook is still what the backup holds, what the migration adds apart."""
    created = set(backup.created_sheets)
    if [s for s, _, _ in backup.parts()] != [
        s.title for s in snapshot.sheets if s.title not in created
    ]:
        return False
    if not all(_as_created(t, snapshot.values[t]) for t in created if t in snapshot.values):
        return False
    for source, rows in backup_values.items():
        current = snapshot.values.get(source, [])
        if _differences(rows, current, skip=_ignore_added_columns(source, rows, current)):
            return False
    return True


def reusable_backup(io: WorkbookIO, snapshot: Snapshot) -> Backup | None:
    """The latest backup if it was taken on the way to where this run goes and the workbook
    has not changed since (one read)."""
    latest = snapshot.latest_backup()
    if latest is None or latest.target != TARGET:
        return None
    return latest if backup_matches(latest, read_backup(io, latest), snapshot) else None


def backup_prefix_for(snapshot: Snapshot) -> str:
    """A workbook still missing a v3.0 column is backed up as v2.1, any other as v3.0."""
    rows = snapshot.values.get(OPERACIONES, [])
    header = HeaderMap.from_row(OPERACIONES, rows[0] if rows else [])
    return BACKUP_PREFIX if header.missing(V30_NEW_COLUMNS) else BACKUP_PREFIX_V30


def new_backup_id(snapshot: Snapshot) -> str:
    """A plant-time timestamp, suffixed if a backup with that id exists (never overwritten)."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    taken = {b.id for b in snapshot.backups}
    backup_id, n = stamp, 1
    while backup_id in taken:
        n += 1
        backup_id = f"{stamp}-{n:02d}"
    return backup_id


def _backup_manifest(
    backup_id: str, part: int, snapshot: Snapshot, info: SheetInfo, taken_at: str
) -> dict:
    """What row 1 of a backup sheet records about its source sheet, and about the run."""
    return {
        "backup": backup_id,
        "part": part,
        "parts": len(snapshot.sheets),
        "source": info.title,
        "grid_rows": info.rows,
        "grid_cols": info.cols,
        "value_rows": len(snapshot.values[info.title]),
        "taken_at": taken_at,
        "target": TARGET,
        # The run creates these; rollback deletes them.
        "created_sheets": [UNIONES] if snapshot.sheet(UNIONES) is None else [],
    }


def _write_backup(io: WorkbookIO, snapshot: Snapshot, backup: Backup) -> None:
    """Add one hidden sheet per source sheet, then write the values and the manifests."""
    new_sheets, blocks, manifests = StructureBatch(), [], []
    taken_at = timezone.localtime().strftime("%d-%m-%Y %H:%M:%S")
    for part, info in enumerate(snapshot.sheets, start=1):
        rows = snapshot.values[info.title]
        title = _backup_title(backup, part)
        width = max([2] + [len(r) for r in rows])
        new_sheets.add_sheet(NewSheet(title, rows=len(rows) + 1, cols=width, hidden=True))
        if rows:
            blocks.append(Block(title, 2, 0, [list(r) for r in rows]))
        manifest = _backup_manifest(backup.id, part, snapshot, info, taken_at)
        mark = BACKUP_MARKS[backup.prefix]
        manifests.append(Block(title, 1, 0, [[mark, json.dumps(manifest, ensure_ascii=False)]]))
        backup.sheets[part] = SheetInfo(title, -1, len(rows) + 1, 0, True)
        backup.manifests[part] = manifest
    io.change_structure(new_sheets)
    # The manifests go last: a backup interrupted half-way has none and is never used.
    io.write(blocks + manifests)


def _check_backup(io: WorkbookIO, snapshot: Snapshot, backup: Backup) -> None:
    """Read the copy back and fail unless it holds every cell of the workbook."""
    copy = read_backup(io, backup)
    problems = []
    for info in snapshot.sheets:
        problems += _compare(info.title, snapshot.values[info.title], copy.get(info.title, []))
    if problems:
        raise VerificationFailed(
            f"La copia de seguridad {backup.id} no coincide con el libro; no se modificó "
            "nada más:\n" + "\n".join(problems)
        )


def take_backup(io: WorkbookIO, snapshot: Snapshot, report: Report = print) -> Backup:
    """Copy every sheet's values into new hidden sheets, then check the copy cell by cell.

    Costs one batchUpdate (add the sheets), one values.batchUpdate (more only for a very
    large workbook) and one batchGet to read the copy back.
    """
    backup = Backup(new_backup_id(snapshot), backup_prefix_for(snapshot))
    _write_backup(io, snapshot, backup)
    report(f"      copia {backup.id}: {len(snapshot.sheets)} hojas ({backup.name}_1…)")
    _check_backup(io, snapshot, backup)
    report("      copia verificada celda por celda")
    return backup


# --- the phases that change the workbook ----------------------------------------------


def widen_grid(io: WorkbookIO, plan: MigrationPlan) -> None:
    """Add grid columns to Operaciones so that step 1's columns fit."""
    if plan.widen_by:
        io.change_structure(StructureBatch().grow(plan.grid.sheet_id, "COLUMNS", plan.widen_by))


def add_columns(io: WorkbookIO, plan: MigrationPlan) -> None:
    """Write step 1's header cells (one values request)."""
    if plan.adds:
        io.write(_blocks(OPERACIONES, {(0, a.index): a.name for a in plan.adds}))


def fill_rows(io: WorkbookIO, plan: MigrationPlan) -> None:
    """Write version and Estado_Detalle of every row to fill (one values request)."""
    if plan.fills:
        io.write(_blocks(OPERACIONES, {(f.row1 - 1, f.col0): f.value for f in plan.fills}))


def change_structure(io: WorkbookIO, plan: RunPlan) -> None:
    """Both steps' grids grown and Uniones added: one batchUpdate (none when nothing)."""
    batch = StructureBatch()
    for sheet_id, columns in plan.grow_by().values():
        batch.grow(sheet_id, "COLUMNS", columns)
    if plan.step2.new_sheet is not None:
        batch.add_sheet(plan.step2.new_sheet)
    io.change_structure(batch)


def write_headers(io: WorkbookIO, plan: RunPlan) -> None:
    """Every new header cell of both steps, in every sheet: one values request."""
    blocks = []
    for sheet, cells in plan.written_cells().items():
        headers = {(r, c): v for (r, c), v in cells.items() if r == 0}
        blocks += _blocks(sheet, headers)
    if blocks:
        io.write(blocks)


def _expected_values(before: list[list], cells: dict[tuple[int, int], object]) -> list[list]:
    """A sheet's values as the run leaves them: as read before, plus the cells it writes."""
    expected = [list(r) for r in before]
    for (r, c), value in cells.items():
        while len(expected) <= r:
            expected.append([])
        row = expected[r]
        row += [""] * (c + 1 - len(row))
        row[c] = value
    return expected


def _value_problems(plan: RunPlan, after: dict[str, list[list]]) -> list[str]:
    """Row counts and every cell of every sheet against what the run leaves."""
    problems: list[str] = []
    written = plan.written_cells()
    for title, now in after.items():
        before = plan.snapshot.values.get(title, [])
        expected = _expected_values(before, written.get(title, {}))
        if _height(now) != _height(expected):
            problems.append(f"  {title}: {_height(now)} filas, antes {_height(expected)}")
        problems += _compare(title, expected, now)
    return problems


def _header_problems(plan: RunPlan, after: dict[str, list[list]]) -> list[str]:
    """Step 2's columns present in every sheet's header."""
    problems = []
    for sheet, names in plan.step2.required.items():
        rows = after.get(sheet)
        if rows is None:
            problems.append(f"  falta la hoja {sheet}")
            continue
        header = HeaderMap.from_row(sheet, rows[0] if rows else [])
        problems += [
            f"  {sheet}: falta la columna {n} en el encabezado" for n in header.missing(names)
        ]
    return problems


def _row_problem(plan: MigrationPlan, header: HeaderMap, row1: int, row: list) -> str | None:
    """What is wrong with one migrated spool row, if anything."""
    tag = cell_text(header.get(row, Col.TAG_SPOOL))
    if not tag:
        return None
    if is_blank(header.get(row, Col.VERSION)) or is_blank(header.get(row, Col.ESTADO_DETALLE)):
        return f"  fila {row1} {tag}: version o Estado_Detalle vacío"
    expected_states = plan.expected_states.get(row1)
    if expected_states is None:
        return None  # not written by this run
    values = parse_spool_row(header, row, tag)
    if _states(values) != expected_states:
        return (
            f"  fila {row1} {tag}: Estado_Detalle {values['estado_detalle']!r} "
            f"indica {_states(values)}, sus columnas indican {expected_states}"
        )
    return None


def _operaciones_problems(plan: MigrationPlan, rows: list[list]) -> list[str]:
    """The v3.0 headers present, and every spool row filled and coherent."""
    header = HeaderMap.from_row(OPERACIONES, rows[0] if rows else [])
    missing = header.missing(V30_NEW_COLUMNS)
    if missing:
        return [f"  {OPERACIONES}: falta la columna {name} en el encabezado" for name in missing]
    bad_rows = [
        problem
        for offset, row in enumerate(rows[1:])
        if (problem := _row_problem(plan, header, offset + 2, row)) is not None
    ]
    return _capped(bad_rows, "filas más")


def verify_run(io: WorkbookIO, plan: RunPlan) -> None:
    """Read the workbook again and fail loudly unless it is exactly what the run makes."""
    titles = [s.title for s in plan.snapshot.sheets]
    if plan.step2.new_sheet is not None:
        titles.append(UNIONES)
    after = dict(zip(titles, io.read([sheet_range(t) for t in titles]), strict=True))
    problems = (
        _value_problems(plan, after)
        + _operaciones_problems(plan.step1, after[OPERACIONES])
        + _header_problems(plan, after)
    )
    if problems:
        raise VerificationFailed(
            "La verificación de la migración falló:\n"
            + "\n".join(problems)
            + "\nSi alguien editó el libro durante la migración, revise; "
            "`migrate_workbook --rollback` restaura la copia de seguridad."
        )


def verify_migration(io: WorkbookIO, plan: MigrationPlan) -> None:
    """Verify step 1 alone (a workbook taken to v3.0 by widen_grid, add_columns, fill_rows)."""
    verify_run(io, RunPlan(plan, UnionesPlan()))


@dataclass
class MigrationResult:
    nothing_to_do: bool = False
    dry_run: bool = False
    backup_id: str = ""
    backup_reused: bool = False
    columns_added: list[str] = field(default_factory=list)  # step 1, Operaciones
    union_columns_added: list[str] = field(default_factory=list)  # step 2, "Hoja!Columna"
    uniones_created: bool = False
    cells_filled: int = 0
    rows_filled: int = 0


def _report_workbook(snapshot: Snapshot, plan: RunPlan, report: Report) -> None:
    """Phase 1's summary: sheets, Operaciones' size, Uniones, backups that cannot be used."""
    step1 = plan.step1
    report(
        f"      {len(snapshot.sheets)} hojas; {OPERACIONES}: {step1.data_rows} filas con "
        f"TAG_SPOOL, {step1.used_width} columnas usadas, grilla "
        f"{step1.grid.rows}×{step1.grid.cols}."
    )
    uniones = snapshot.sheet(UNIONES)
    report(
        f"      {UNIONES}: no existe."
        if uniones is None
        else f"      {UNIONES}: {max(0, _height(snapshot.values[UNIONES]) - 1)} filas."
    )
    for backup in snapshot.incomplete_backups:
        report(
            f"      Atención: la copia {backup.name} está incompleta (una ejecución se "
            "interrumpió al tomarla); no se usa y puede borrarse."
        )


def _report_plan(plan: RunPlan, reused: Backup | None, report: Report) -> None:
    """Exactly what the run will change, and which backup it relies on."""
    report("Plan:")
    for line in describe_run(plan):
        report("  " + line)
    if reused is not None:
        report(
            f"  Copia de seguridad: se reutiliza {reused.name} (tomada {reused.taken_at}); el "
            "libro no cambió desde entonces salvo lo que agrega la migración."
        )
    else:
        report(
            f"  Copia de seguridad: se toma una nueva de las {len(plan.snapshot.sheets)} "
            f"hojas en hojas ocultas {backup_prefix_for(plan.snapshot)}<fecha>_<n>."
        )


def _structure_lines(plan: RunPlan) -> list[str]:
    """What phase 3 did, a line per sheet."""
    grown = plan.grow_by()
    lines = []
    for cols in [c for c in plan.step2.columns if c.sheet != UNIONES or c.adds]:
        if cols.sheet in grown:
            lines.append(f"{cols.sheet}: ampliada a {cols.grid_cols + cols.widen_by} columnas")
        else:
            lines.append(f"{cols.sheet}: no hace falta ampliarla")
    if plan.step2.new_sheet is not None:
        sheet = plan.step2.new_sheet
        lines.append(f"{UNIONES}: creada ({sheet.rows}×{sheet.cols})")
    return lines


def _apply_run(io: WorkbookIO, plan: RunPlan, result: MigrationResult, report: Report) -> None:
    """Phases 3 to 5: grids and Uniones, header cells, row fills."""
    report(f"[3/6] Grillas y hoja {UNIONES}…")
    change_structure(io, plan)
    for line in _structure_lines(plan):
        report("      " + line)
    result.uniones_created = plan.step2.new_sheet is not None
    report("[4/6] Columnas nuevas…")
    write_headers(io, plan)
    adds = [(OPERACIONES, a) for a in plan.step1.adds] + [
        (c.sheet, a) for c in plan.step2.columns for a in c.adds
    ]
    for sheet in dict.fromkeys(sheet for sheet, _ in adds):
        report(
            f"      {sheet}: " + ", ".join(f"{a.name} en {a.letter}" for s, a in adds if s == sheet)
        )
    if plan.step2.new_sheet is not None:
        report(f"      {UNIONES}: encabezado A1:{column_letter(len(UNIONES_COLUMNS) - 1)}1")
    if not adds and plan.step2.new_sheet is None:
        report("      ya estaban")
    result.columns_added = [a.name for a in plan.step1.adds]
    result.union_columns_added = [f"{c.sheet}!{a.name}" for c in plan.step2.columns for a in c.adds]
    report("[5/6] Completando version y Estado_Detalle…")
    fill_rows(io, plan.step1)
    result.cells_filled, result.rows_filled = len(plan.step1.fills), len(plan.step1.rows_to_fill)
    report(f"      {result.cells_filled} celdas en {result.rows_filled} filas")


def migrate(io: WorkbookIO, *, dry_run: bool = False, report: Report = print) -> MigrationResult:
    """Bring the workbook to v3.0 with unions (or, with dry_run, only say what that changes)."""
    result = MigrationResult(dry_run=dry_run)
    report("[1/6] Leyendo el libro (todas las hojas en una lectura)…")
    snapshot = read_workbook(io)
    plan = plan_run(snapshot)
    _report_workbook(snapshot, plan, report)
    if plan.nothing_to_do:
        for note in plan.step2.notes:
            report(f"      Nota: {note}")
        report(
            "Nada que hacer: el libro ya tiene las columnas v3.0, todas las filas tienen "
            f"version y Estado_Detalle, y están la hoja {UNIONES} y las columnas de uniones. "
            "No se escribió nada."
        )
        result.nothing_to_do = True
        return result

    reused = reusable_backup(io, snapshot)
    _report_plan(plan, reused, report)
    if dry_run:
        report("Simulación (--dry-run): no se escribió nada.")
        return result

    report("[2/6] Copia de seguridad…")
    if reused is not None:
        backup = reused
        report(f"      se reutiliza la copia {backup.name}")
        result.backup_reused = True
    else:
        backup = take_backup(io, snapshot, report)
    result.backup_id = backup.id

    _apply_run(io, plan, result, report)
    report("[6/6] Verificando…")
    verify_run(io, plan)
    report(
        "      OK: mismas filas, celdas anteriores intactas, encabezados presentes, "
        f"Estado_Detalle coherente. Copia de seguridad: {backup.name} (--rollback la restaura)."
    )
    return result


# --- rollback --------------------------------------------------------------------------


@dataclass
class RollbackPlan:
    backup: Backup
    values: dict[str, list[list]]  # what each source sheet must hold
    structure: StructureBatch
    cells: dict[str, dict[tuple[int, int], object]]  # sheet → cells to rewrite
    lines: list[str]


def _restore_grid(
    structure: StructureBatch, source: str, info: SheetInfo | None, manifest: dict
) -> list[str]:
    """Queue what gives `source` back the backup's grid (recreating a deleted sheet)."""
    want_rows, want_cols = manifest["grid_rows"], manifest["grid_cols"]
    if info is None:
        structure.add_sheet(NewSheet(source, rows=want_rows, cols=want_cols))
        return [f"{source}: la hoja ya no existe; se vuelve a crear ({want_rows}×{want_cols})."]
    lines = []
    for dimension, have, want, word in (
        ("COLUMNS", info.cols, want_cols, "columnas"),
        ("ROWS", info.rows, want_rows, "filas"),
    ):
        if have > want:
            structure.shrink(info.sheet_id, dimension, want, have)
        elif have < want:
            structure.grow(info.sheet_id, dimension, want - have)
        if have != want:
            lines.append(f"{source}: grilla de {have} a {want} {word}.")
    return lines


def _drop_created(structure: StructureBatch, snapshot: Snapshot, backup: Backup) -> list[str]:
    """Queue the deletion of the sheets the backup's run created (Uniones)."""
    lines = []
    for title in backup.created_sheets:
        info = snapshot.sheet(title)
        if info is None:
            continue
        structure.delete_sheet(info.sheet_id)
        rows = max(0, _height(snapshot.values[title]) - 1)
        lines.append(
            f"{title}: se elimina la hoja (la creó la migración después de la copia)"
            + (f"; se pierden sus {rows} filas." if rows else ".")
        )
    return lines


def plan_rollback(io: WorkbookIO, snapshot: Snapshot) -> RollbackPlan:
    """What restoring the latest complete backup changes (reads the backup: one request)."""
    backup = snapshot.latest_backup()
    if backup is None:
        raise MigrationError(
            f"No hay ninguna copia de seguridad completa ({BACKUP_PREFIX}… ni "
            f"{BACKUP_PREFIX_V30}…) en el libro: no hay nada que restaurar."
        )
    values = read_backup(io, backup)
    structure = StructureBatch()
    cells: dict[str, dict[tuple[int, int], object]] = {}
    lines = [f"Copia de seguridad {backup.name}, tomada {backup.taken_at}."]
    lines += _drop_created(structure, snapshot, backup)
    for source, _, manifest in backup.parts():
        info = snapshot.sheet(source)
        lines += _restore_grid(structure, source, info, manifest)
        # What the resize leaves: the cells inside the backup's grid.
        current = snapshot.values.get(source, []) if info is not None else []
        current = [list(r[: manifest["grid_cols"]]) for r in current[: manifest["grid_rows"]]]
        diffs = _differences(values[source], current)
        if diffs:
            cells[source] = {(r, c): ("" if is_blank(e) else e) for r, c, e, _ in diffs}
            lines.append(
                f"{source}: se restauran {len(diffs)} celdas (todo cambio posterior a la "
                "copia en ellas se pierde)."
            )
            lines += _describe_differences(source, diffs, "en la copia {e!r}, ahora {a!r}")
    if not structure and not cells:
        lines.append("El libro ya es idéntico a la copia; no hay nada que restaurar.")
    return RollbackPlan(backup, values, structure, cells, lines)


def verify_rollback(io: WorkbookIO, plan: RollbackPlan) -> None:
    """Grid sizes and every cell as in the backup, or fail loudly."""
    sheets = {s.title: s for s in io.sheets()}
    parts = plan.backup.parts()
    got = io.read([sheet_range(source) for source, _, _ in parts])
    problems = []
    for (source, _, manifest), now in zip(parts, got, strict=True):
        info = sheets.get(source)
        if info is None:
            problems.append(f"  falta la hoja {source}")
            continue
        if (info.rows, info.cols) != (manifest["grid_rows"], manifest["grid_cols"]):
            problems.append(
                f"  {source}: grilla {info.rows}×{info.cols}, la copia tenía "
                f"{manifest['grid_rows']}×{manifest['grid_cols']}"
            )
        problems += _compare(source, plan.values[source], now)
    problems += [
        f"  la hoja {t} sigue en el libro" for t in plan.backup.created_sheets if t in sheets
    ]
    if problems:
        raise VerificationFailed(
            f"La restauración de la copia {plan.backup.name} no quedó idéntica:\n"
            + "\n".join(problems)
        )


def rollback(io: WorkbookIO, *, dry_run: bool = False, report: Report = print) -> RollbackPlan:
    """Restore the latest complete backup exactly, then check it cell by cell."""
    report("[1/4] Buscando la copia de seguridad más reciente…")
    snapshot = read_workbook(io)
    plan = plan_rollback(io, snapshot)
    report("[2/4] Comparando el libro con la copia…")
    for line in plan.lines:
        report("      " + line)
    if dry_run:
        report("Simulación (--dry-run): no se escribió nada.")
        return plan
    report("[3/4] Restaurando…")
    # Structure first: deleting the added columns and sheets removes them with their
    # values, and the cells written afterwards all lie inside the backup's grid.
    io.change_structure(plan.structure)
    for source, cells in plan.cells.items():
        io.write(_blocks(source, cells))
    report(
        f"      {len(plan.structure)} cambios de grilla, "
        f"{sum(len(c) for c in plan.cells.values())} celdas"
    )
    report("[4/4] Verificando celda por celda…")
    verify_rollback(io, plan)
    report(f"      OK: el libro es idéntico a la copia {plan.backup.name}.")
    return plan


def calls_summary(calls: ApiCalls) -> str:
    return f"Llamadas a la API de Sheets: {calls} (sin contar reintentos)."
