"""Workbook migration v2.1 → v3.0, with backup, verification and rollback.

domain.md "Migration v2.1 → v3.0". A v2.1 workbook lacks `Ocupado_Por`, `Fecha_Ocupacion`,
`version` and `Estado_Detalle`. The migration, in steps that can each be re-run:

1. read every sheet in one values.batchGet (unformatted values, dates as serials);
2. back up every sheet's values into new sheets of the same spreadsheet, named
   `_backup_v21_<YYYYMMDD-HHMMSS>_<n>` (hidden, values written RAW, a manifest in row 1),
   then read the copy back and compare it cell by cell. A service account may have no Drive
   quota to copy files, and a file on the app's disk may not outlive the container, so the
   copy lives in the workbook itself. A run never overwrites a backup: each one gets a new
   timestamp, and a re-run reuses the latest one only when the workbook has not changed
   since (apart from the columns the migration adds);
3. widen the Operaciones grid when the new columns would not fit (writing past the grid
   edge fails);
4. append the missing columns after the last used column (never on top of a cell with data);
5. fill `version` (a UUID4) and `Estado_Detalle` (rendered from the states that the row's
   current columns imply) in every row with a TAG_SPOOL whose cell is empty;
6. verify: same row counts, every other cell as read before, the new headers present, and
   every Estado_Detalle written parses back to the states its columns imply.

Rollback restores the latest complete backup: grid sizes back to what they were, the cells
that differ rewritten, then a cell-by-cell comparison.

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
    OPERACIONES,
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

BACKUP_PREFIX = "_backup_v21_"
BACKUP_MARK = "ZEUES copia de seguridad v2.1"
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
    def taken_at(self) -> str:
        return next(iter(self.manifests.values()), {}).get("taken_at", self.id)


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


def _backup_title(backup_id: str, part: int) -> str:
    return f"{BACKUP_PREFIX}{backup_id}_{part}"


def _parse_backup_title(title: str) -> tuple[str, int] | None:
    if not title.startswith(BACKUP_PREFIX):
        return None
    backup_id, _, part = title[len(BACKUP_PREFIX) :].rpartition("_")
    if not backup_id or not part.isdigit():
        return None
    return backup_id, int(part)


def _parse_manifest(rows: list[list]) -> dict | None:
    if not rows or len(rows[0]) < 2 or rows[0][0] != BACKUP_MARK:
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
    backups: dict[str, Backup] = {}
    for info, head in zip(backup_sheets, got[len(sources) :], strict=True):
        backup_id, part = _parse_backup_title(info.title)
        backup = backups.setdefault(backup_id, Backup(backup_id))
        backup.sheets[part] = info
        manifest = _parse_manifest(head)
        if manifest is not None and manifest.get("backup") == backup_id:
            backup.manifests[part] = manifest
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


# --- backup ----------------------------------------------------------------------------


def _ignore_added_columns(
    backup_rows: list[list], current_rows: list[list]
) -> Callable[[int, int], bool]:
    """Cells of Operaciones that the migration itself adds: v3.0 columns to the right of
    what the backup held."""
    v30 = {normalize_header(name) for name in V30_NEW_COLUMNS}
    header = current_rows[0] if current_rows else []
    added = {
        c for c in range(_width(backup_rows), len(header)) if normalize_header(header[c]) in v30
    }
    return lambda r, c: c in added


def backup_matches(
    backup: Backup, backup_values: dict[str, list[list]], snapshot: Snapshot
) -> bool:
    """Whether the workbook is still what the backup holds, the added columns apart."""
    if [s for s, _, _ in backup.parts()] != [s.title for s in snapshot.sheets]:
        return False
    for source, rows in backup_values.items():
        current = snapshot.values.get(source, [])
        skip = _ignore_added_columns(rows, current) if source == OPERACIONES else None
        if _differences(rows, current, skip=skip):
            return False
    return True


def reusable_backup(io: WorkbookIO, snapshot: Snapshot) -> Backup | None:
    """The latest backup if the workbook has not changed since it was taken (one read)."""
    latest = snapshot.latest_backup()
    if latest is None:
        return None
    return latest if backup_matches(latest, read_backup(io, latest), snapshot) else None


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
    backup_id: str, part: int, parts: int, info: SheetInfo, rows: list[list], taken_at: str
) -> dict:
    """What row 1 of a backup sheet records about its source sheet."""
    return {
        "backup": backup_id,
        "part": part,
        "parts": parts,
        "source": info.title,
        "grid_rows": info.rows,
        "grid_cols": info.cols,
        "value_rows": len(rows),
        "taken_at": taken_at,
    }


def _write_backup(io: WorkbookIO, snapshot: Snapshot, backup: Backup) -> None:
    """Add one hidden sheet per source sheet, then write the values and the manifests."""
    new_sheets, blocks, manifests = StructureBatch(), [], []
    taken_at = timezone.localtime().strftime("%d-%m-%Y %H:%M:%S")
    for part, info in enumerate(snapshot.sheets, start=1):
        rows = snapshot.values[info.title]
        title = _backup_title(backup.id, part)
        width = max([2] + [len(r) for r in rows])
        new_sheets.add_sheet(NewSheet(title, rows=len(rows) + 1, cols=width, hidden=True))
        if rows:
            blocks.append(Block(title, 2, 0, [list(r) for r in rows]))
        manifest = _backup_manifest(backup.id, part, len(snapshot.sheets), info, rows, taken_at)
        manifests.append(
            Block(title, 1, 0, [[BACKUP_MARK, json.dumps(manifest, ensure_ascii=False)]])
        )
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
    backup = Backup(new_backup_id(snapshot))
    _write_backup(io, snapshot, backup)
    report(f"      copia {backup.id}: {len(snapshot.sheets)} hojas ({BACKUP_PREFIX}{backup.id}_1…)")
    _check_backup(io, snapshot, backup)
    report("      copia verificada celda por celda")
    return backup


# --- the steps that change Operaciones --------------------------------------------------


def widen_grid(io: WorkbookIO, plan: MigrationPlan) -> None:
    """Add grid columns to Operaciones so that the new columns fit."""
    if plan.widen_by:
        io.change_structure(StructureBatch().grow(plan.grid.sheet_id, "COLUMNS", plan.widen_by))


def add_columns(io: WorkbookIO, plan: MigrationPlan) -> None:
    """Write the new header cells (one values request)."""
    if plan.adds:
        io.write(_blocks(OPERACIONES, {(0, a.index): a.name for a in plan.adds}))


def fill_rows(io: WorkbookIO, plan: MigrationPlan) -> None:
    """Write version and Estado_Detalle of every row to fill (one values request)."""
    if plan.fills:
        io.write(_blocks(OPERACIONES, {(f.row1 - 1, f.col0): f.value for f in plan.fills}))


def _expected_values(plan: MigrationPlan, title: str) -> list[list]:
    """A sheet's values as the plan leaves them: as read before, plus the cells it writes."""
    expected = [list(r) for r in plan.snapshot.values[title]]
    if title == OPERACIONES:
        for (r, c), value in plan.written_cells().items():
            while len(expected) <= r:
                expected.append([])
            row = expected[r]
            row += [""] * (c + 1 - len(row))
            row[c] = value
    return expected


def _value_problems(plan: MigrationPlan, after: dict[str, list[list]]) -> list[str]:
    """Row counts and every cell of every sheet against what the plan leaves."""
    problems: list[str] = []
    for title, now in after.items():
        before = plan.snapshot.values[title]
        if _height(now) != _height(before):
            problems.append(f"  {title}: {_height(now)} filas, antes {_height(before)}")
        problems += _compare(title, _expected_values(plan, title), now)
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
    """The new headers present, and every spool row filled and coherent."""
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


def verify_migration(io: WorkbookIO, plan: MigrationPlan) -> None:
    """Read the workbook again and fail loudly unless it is exactly what the plan makes."""
    titles = [s.title for s in plan.snapshot.sheets]
    after = dict(zip(titles, io.read([sheet_range(t) for t in titles]), strict=True))
    problems = _value_problems(plan, after) + _operaciones_problems(plan, after[OPERACIONES])
    if problems:
        raise VerificationFailed(
            "La verificación de la migración falló:\n"
            + "\n".join(problems)
            + "\nSi alguien editó el libro durante la migración, revise; "
            "`migrate_workbook --rollback` restaura la copia de seguridad."
        )


@dataclass
class MigrationResult:
    nothing_to_do: bool = False
    dry_run: bool = False
    backup_id: str = ""
    backup_reused: bool = False
    columns_added: list[str] = field(default_factory=list)
    cells_filled: int = 0
    rows_filled: int = 0


def _report_workbook(snapshot: Snapshot, plan: MigrationPlan, report: Report) -> None:
    """Step 1's summary: sheets, Operaciones' size, backups that cannot be used."""
    report(
        f"      {len(snapshot.sheets)} hojas; {OPERACIONES}: {plan.data_rows} filas con "
        f"TAG_SPOOL, {plan.used_width} columnas usadas, grilla "
        f"{plan.grid.rows}×{plan.grid.cols}."
    )
    for backup in snapshot.incomplete_backups:
        report(
            f"      Atención: la copia {backup.id} está incompleta (una ejecución se "
            "interrumpió al tomarla); no se usa y puede borrarse."
        )


def _report_plan(plan: MigrationPlan, reused: Backup | None, report: Report) -> None:
    """Exactly what the run will change, and which backup it relies on."""
    report("Plan:")
    for line in describe_plan(plan):
        report("  " + line)
    if reused is not None:
        report(
            f"  Copia de seguridad: se reutiliza {reused.id} (tomada {reused.taken_at}); el "
            "libro no cambió desde entonces salvo las columnas agregadas."
        )
    else:
        report(
            f"  Copia de seguridad: se toma una nueva de las {len(plan.snapshot.sheets)} "
            f"hojas en hojas ocultas {BACKUP_PREFIX}<fecha>_<n>."
        )


def _apply_plan(
    io: WorkbookIO, plan: MigrationPlan, result: MigrationResult, report: Report
) -> None:
    """Steps 3 to 5: widen the grid, add the columns, fill the rows."""
    report(f"[3/6] Grilla de {OPERACIONES}…")
    widen_grid(io, plan)
    report(
        f"      ampliada a {plan.grid.cols + plan.widen_by} columnas"
        if plan.widen_by
        else "      no hace falta ampliarla"
    )
    report("[4/6] Columnas nuevas…")
    add_columns(io, plan)
    report(
        "      " + ", ".join(f"{a.name} en {a.letter}" for a in plan.adds)
        if plan.adds
        else "      ya estaban"
    )
    result.columns_added = [a.name for a in plan.adds]
    report("[5/6] Completando version y Estado_Detalle…")
    fill_rows(io, plan)
    result.cells_filled, result.rows_filled = len(plan.fills), len(plan.rows_to_fill)
    report(f"      {result.cells_filled} celdas en {result.rows_filled} filas")


def migrate(io: WorkbookIO, *, dry_run: bool = False, report: Report = print) -> MigrationResult:
    """Upgrade the workbook to v3.0 (or, with dry_run, only say what that would change)."""
    result = MigrationResult(dry_run=dry_run)
    report("[1/6] Leyendo el libro (todas las hojas en una lectura)…")
    snapshot = read_workbook(io)
    plan = plan_migration(snapshot)
    _report_workbook(snapshot, plan, report)
    if plan.nothing_to_do:
        report(
            "Nada que hacer: el libro ya tiene las columnas v3.0 y todas las filas tienen "
            "version y Estado_Detalle. No se escribió nada."
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
        report(f"      se reutiliza la copia {backup.id}")
        result.backup_reused = True
    else:
        backup = take_backup(io, snapshot, report)
    result.backup_id = backup.id

    _apply_plan(io, plan, result, report)
    report("[6/6] Verificando…")
    verify_migration(io, plan)
    report(
        f"      OK: mismas filas, celdas anteriores intactas, encabezados presentes, "
        f"Estado_Detalle coherente. Copia de seguridad: {backup.id} (--rollback la restaura)."
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


def plan_rollback(io: WorkbookIO, snapshot: Snapshot) -> RollbackPlan:
    """What restoring the latest complete backup changes (reads the backup: one request)."""
    backup = snapshot.latest_backup()
    if backup is None:
        raise MigrationError(
            f"No hay ninguna copia de seguridad completa ({BACKUP_PREFIX}…) en el libro: "
            "no hay nada que restaurar."
        )
    values = read_backup(io, backup)
    structure = StructureBatch()
    cells: dict[str, dict[tuple[int, int], object]] = {}
    lines = [f"Copia de seguridad {backup.id}, tomada {backup.taken_at}."]
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
    if problems:
        raise VerificationFailed(
            f"La restauración de la copia {plan.backup.id} no quedó idéntica:\n"
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
    # Resize first: deleting the added columns removes them with their values, and the
    # cells written afterwards all lie inside the backup's grid.
    io.change_structure(plan.structure)
    for source, cells in plan.cells.items():
        io.write(_blocks(source, cells))
    report(
        f"      {len(plan.structure)} cambios de grilla, "
        f"{sum(len(c) for c in plan.cells.values())} celdas"
    )
    report("[4/4] Verificando celda por celda…")
    verify_rollback(io, plan)
    report(f"      OK: el libro es idéntico a la copia {plan.backup.id}.")
    return plan


def calls_summary(calls: ApiCalls) -> str:
    return f"Llamadas a la API de Sheets: {calls} (sin contar reintentos)."
