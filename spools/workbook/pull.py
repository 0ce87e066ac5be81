"""The puller: brings the workbook into the mirror.

A regular pull costs one read request (one values.batchGet of Operaciones, and Uniones in
the same request when the workbook has it). Every ZEUES_WORKERS_PULL_INTERVAL seconds (and
on the first pull) a second batchGet brings Trabajadores, Roles and the Metadata log, which
change rarely or only through us. Rows with odd data stay visible; the odd cell is reported
with its TAG and column.

An app-owned cell that differs from the mirror on a row with nothing pending is an office
edit (logged as SUPERVISOR_OVERRIDE); rows with writes still queued keep the mirror's
app-owned fields. While a required column is missing the app-owned cells cannot be read
right: new spools still appear, but app-owned fields of known spools are left as they are
and no edit is logged.

Uniones. A union is its row's (TAG_SPOOL, N_UNION); the office may add, edit and delete
rows. The mirror takes every row as the sheet holds it, except the unions with writes of
ours still queued (created, changed or deleted by the app: the mirror is newer there).
A union gone from the sheet is deleted from the mirror, not marked: a spool has unions when
Uniones holds rows for it, and every count, rule and Mi registro reads the Union table as
it is, so a marked-gone row would have to be filtered out by each of them; the log of who
did what stays in Metadata. After the unions are applied the counters of every spool they
touched are counted again; where Operaciones has counter columns that disagree, their
cells are queued to be written.

Rows unchanged since the last pull are skipped (their digest matches: see "rows unchanged
since the last pull" below), so a steady pull costs little more than its read; the first
pull of each process reads every row, and every pull one slice of them.

Whether the workbook has a Uniones sheet. A batchGet naming a sheet that does not exist
fails whole, so Uniones is named only when SyncState.uniones_sheet says it is there. That
is learnt with one metadata read (the sheet titles) when it is not known: a new mirror,
or after a command replaced or reshaped the workbook and called `forget_workbook_positions`
(load_demo, import_workbook; migrate_workbook must too once it has added the sheet); a tool
that wrote the whole workbook may say instead (`note_workbook_sheets`, no read). While it is known absent it is asked again at most once
an hour, at a pull (an office that adds the sheet by hand); while known present, a read
refused with "Unable to parse range" naming Uniones (deleted or renamed) marks it absent and
is made again without it. So a workbook without Uniones costs what it did before it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections import defaultdict, namedtuple
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from spools.lifecycle import ACCION_OVERRIDE, EventoTipo, Operacion, OverrideTipo
from spools.models import (
    TRANSITION_FIELDS,
    UNION_COUNTER_FIELDS,
    Event,
    Note,
    OutboxEntry,
    Role,
    Spool,
    SyncState,
    Union,
    Worker,
)
from spools.workbook import gateway as sheets
from spools.workbook.columns import (
    METADATA,
    OPERACIONES,
    OPERACIONES_COLUMNS,
    OPERACIONES_COUNTER_COLUMNS,
    ROLES,
    TRABAJADORES,
    UNIONES,
    UNIONES_COMPLETE,
    Col,
    HeaderMap,
    MissingColumnError,
    UCol,
)
from spools.workbook.outbox import (
    app_written_versions,
    pending_tags,
    pending_union_keys,
    record_change,
    rewrite_cells,
)
from spools.workbook.rows import (
    N_UNION_MAX,
    counter_cells,
    note_lines,
    parse_n_union,
    parse_note_line,
    parse_spool_row,
    parse_union_row,
)
from spools.workbook.values import (
    CellValueError,
    cell_text,
    is_blank,
    parse_bool,
    parse_date,
    parse_datetime,
)

log = logging.getLogger(__name__)

TAG_MAX = Spool._meta.get_field("tag").max_length
# Fields a pull leaves alone on a row whose own writes are still waiting in the outbox
# (the mirror is newer than the sheet there): the app-owned cells and the states.
APP_OWNED_FIELDS = TRANSITION_FIELDS
# Mirror fields that a pull sets on a Spool.
SPOOL_FIELDS = ("ot", "nv", "fecha_materiales", *APP_OWNED_FIELDS, "sheet_row", "problems")
# What a pull takes where the app-owned cells cannot be trusted (pending writes, a stale
# write of ours, an incomplete header).
OFFICE_FIELDS = tuple(f for f in SPOOL_FIELDS if f not in APP_OWNED_FIELDS)

# The app-owned fields of a Union (its ARM_* / SOL_* cells and version), and all it takes.
UNION_APP_FIELDS = (
    "arm_inicio",
    "arm_fin",
    "arm_worker",
    "arm_worker_id",
    "sol_inicio",
    "sol_fin",
    "sol_worker",
    "sol_worker_id",
    "version",
)
UNION_FIELDS = ("ot", "dn_union", "tipo_union", *UNION_APP_FIELDS, "ndt", "problems")
UNION_OFFICE_FIELDS = tuple(f for f in UNION_FIELDS if f not in UNION_APP_FIELDS)
# Knowing Uniones is absent, how long before the titles are asked again.
UNIONES_RECHECK = timedelta(hours=1)
CHUNK = 500  # rows per query where a list of keys goes into SQL


@dataclass
class PullResult:
    spools_seen: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    workers_pulled: bool = False
    events_added: int = 0
    warnings: list[str] = field(default_factory=list)
    # Rows holding a stale write of the app's own, queued to be written again.
    healed: list[str] = field(default_factory=list)
    uniones_read: bool = False
    unions_seen: int = 0
    unions_created: int = 0
    unions_updated: int = 0
    unions_removed: int = 0
    # Spools whose union counters changed, and those whose Operaciones counter cells
    # disagreed with Uniones and were queued to be written.
    counted: list[str] = field(default_factory=list)
    counters_queued: list[str] = field(default_factory=list)

    @property
    def changed_tags(self) -> list[str]:
        return list(dict.fromkeys(self.created + self.updated + self.removed + self.counted))


# --- rows unchanged since the last pull ------------------------------------------------------
# A steady pull of 10,000 spools and 100,000 unions would read and compare every row every
# cycle (seconds of CPU). Each mirror row keeps `sheet_digest`: a hash of its row's cells,
# with what else decides how they read (the header, the scheme below, the plant's time
# zone), the row's number and the mirror row's version, stored by the pull in the same
# statement that makes the mirror row equal to those cells. A row whose digest matches is
# skipped: an office edit changes the cells, an action gives the mirror row a new version,
# a pull that changes the row stores the new digest, so none of them can match a stale
# one. Rows with odd cells, rows whose app-owned cells are not taken (writes queued, a
# stale write, an incomplete header) store none. What changes the mirror by other paths (a
# hand edit of the database, a new way of reading a cell deployed without a new scheme)
# is put right by the first pull of each process, which reads every row, and by every
# pull reading one slice of the rows whatever their digests: with a pull every 10 s,
# each row at least hourly, with no pull that reads them all at once.

DIGEST_SCHEME = "zeues-pull-2"  # change it when a row reads differently: no digest matches
RECHECK_SLICES = 360  # a pull reads the rows whose number is its own, modulo this
_pulls_done = 0  # pulls applied by this process; the first reads every row


def next_pull_full() -> None:
    """The next pull of this process reads every row, as a new process's first one does."""
    global _pulls_done
    _pulls_done = 0


def _recheck_slice() -> int | None:
    """The slice of rows this pull reads whatever their digests; None: every row."""
    return None if _pulls_done == 0 else _pulls_done % RECHECK_SLICES


def _note_pull() -> None:
    global _pulls_done
    _pulls_done += 1


class RowDigests:
    """The row digests of one sheet in one pull.

    `known`: the mirror's rows by key, each a tuple whose [1] is its version and [2] its
    stored digest. `header` None (an incomplete header): nothing is skipped or stored."""

    def __init__(self, sheet: str, header: HeaderMap | None, *, recheck: int | None) -> None:
        # Keyed by what else decides how a row reads: a digest of another header, scheme or
        # time zone matches nothing.
        self.hasher = (
            None
            if header is None
            else hashlib.blake2b(
                key=hashlib.blake2b(
                    repr((DIGEST_SCHEME, settings.TIME_ZONE, sheet, header.headers)).encode(),
                    digest_size=32,
                ).digest(),
                digest_size=16,
            )
        )
        self.skip = recheck is not None and self.hasher is not None
        self.recheck = recheck
        self.known: dict = {}
        self.refresh: list[tuple[str, int, str]] = []  # (digest, pk, version) to store

    def of(self, row_no: int, row: list, version: str, problems: list = ()) -> str:
        """The digest of a row whose mirror row has `version`; "" where none is kept."""
        if self.hasher is None or problems:
            return ""
        h = self.hasher.copy()
        h.update(repr((row_no, version, row)).encode())
        return h.hexdigest()

    def unchanged(self, key: object, row_no: int, row: list) -> bool:
        """The row holds the cells its mirror row was made equal to, and the mirror row
        has not changed since."""
        known = self.known.get(key) if self.skip else None
        if not known or not known[2] or row_no % RECHECK_SLICES == self.recheck:
            return False
        h = self.hasher.copy()
        h.update(repr((row_no, known[1], row)).encode())
        return h.hexdigest() == known[2]

    def keep(self, pk: int, version: str, digest: str, stored: str) -> None:
        """A row compared equal to its mirror row: store its digest (if not stored yet)."""
        if digest and digest != stored:
            self.refresh.append((digest, pk, version))

    def store(self, model: type[Spool] | type[Union]) -> None:
        """Store the digests kept, each only where the mirror row still has the version it
        was compared at (one statement, many rows)."""
        if not self.refresh:
            return
        q = connection.ops.quote_name
        sql = (
            f"UPDATE {q(model._meta.db_table)} SET {q('sheet_digest')} = %s "
            f"WHERE {q(model._meta.pk.column)} = %s AND {q('version')} = %s"
        )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, self.refresh)
        self.refresh = []


def workers_due(state: SyncState) -> bool:
    return state.last_workers_pull_at is None or (
        timezone.now() - state.last_workers_pull_at
        >= timedelta(seconds=settings.ZEUES_WORKERS_PULL_INTERVAL)
    )


def pull_workers(state: SyncState, result: PullResult) -> None:
    """Trabajadores, Roles and the Metadata log: one batchGet."""
    trabajadores, roles, metadata = sheets.read_ranges(
        [sheets.sheet_range(TRABAJADORES), sheets.sheet_range(ROLES), sheets.sheet_range(METADATA)]
    )
    _apply_workers(trabajadores, roles, result)
    result.events_added = _apply_metadata(metadata, state, result)
    result.workers_pulled = True
    state.last_workers_pull_at = timezone.now()


def pull(*, workers: bool | None = None) -> PullResult:
    """Bring the workbook into the mirror. `workers=None`: the slow sheets only when due."""
    state = SyncState.get()
    result = PullResult()
    if workers or (workers is None and workers_due(state)):
        pull_workers(state, result)
    if uniones_check_due(state, pulling=True):
        check_uniones_sheet(state)
    operaciones, uniones = _read_pull(state)
    apply_pull(operaciones, uniones, state, result)
    state.save()
    return result


def _read_pull(state: SyncState) -> tuple[list[list], list[list] | None]:
    """Operaciones, and Uniones when the workbook has it, in one read."""
    ranges = [sheets.sheet_range(OPERACIONES)]
    if state.uniones_sheet:
        ranges.append(sheets.sheet_range(UNIONES))
    try:
        got = sheets.read_ranges(ranges)
    except sheets.SheetAPIError as exc:
        if not (state.uniones_sheet and sheets.is_missing_sheet_error(exc, UNIONES)):
            raise
        note_uniones_sheet(state, False)  # deleted or renamed: read again without it
        return _read_pull(state)
    return got[0], (got[1] if len(got) > 1 else None)


def apply_pull(
    operaciones: list[list], uniones: list[list] | None, state: SyncState, result: PullResult
) -> None:
    """Apply a whole-sheet read of Operaciones, then of Uniones when it was read."""
    recheck = _recheck_slice()
    sheet_counters = apply_operaciones(operaciones, state, result, recheck=recheck)
    if uniones is not None:
        apply_uniones(uniones, state, result, sheet_counters=sheet_counters, recheck=recheck)
    _note_pull()


def apply_operaciones(
    operaciones: list[list],
    state: SyncState,
    result: PullResult,
    *,
    recheck: int | None = None,
) -> dict[str, dict[str, object]]:
    """Apply a whole-sheet read of Operaciones to the mirror (the pull's second half).
    Returns the counter cells each TAG's row holds (for the columns the header has).
    `recheck`: the slice of rows read whatever their digests (None: every row)."""
    header, rows = sheets.split_header(OPERACIONES, operaciones)
    missing = header.missing(OPERACIONES_COLUMNS)
    if Col.TAG_SPOOL in missing:
        state.structure_error = str(MissingColumnError(OPERACIONES, [Col.TAG_SPOOL]))
        state.save()
        raise MissingColumnError(OPERACIONES, [Col.TAG_SPOOL])
    state.structure_error = str(MissingColumnError(OPERACIONES, missing)) if missing else ""
    digests = RowDigests(OPERACIONES, None if missing else header, recheck=recheck)
    _apply_spools(header, rows, result, digests, complete=not missing)
    state.last_pull_at = timezone.now()
    state.pull_warnings = result.warnings[:200]
    return _sheet_counters(header, rows) if not missing else {}


def _sheet_counters(header: HeaderMap, rows: list[list]) -> dict[str, dict[str, object]]:
    present = [(c, i) for c in OPERACIONES_COUNTER_COLUMNS if (i := header.find(c)) is not None]
    if not present:
        return {}
    tag_col = header.col(Col.TAG_SPOOL)
    found: dict[str, dict[str, object]] = {}
    for row in rows:
        tag = cell_text(row[tag_col]) if tag_col < len(row) else ""
        if tag and tag not in found:
            found[tag] = {c: (row[i] if i < len(row) else None) for c, i in present}
    return found


def _apply_spools(
    header: HeaderMap,
    rows: list[list],
    result: PullResult,
    digests: RowDigests,
    *,
    complete: bool = True,
) -> None:
    """Bring the rows into the mirror.

    Not `complete` (a required column missing): the app-owned cells read as blanks, so known
    spools only take their office-owned fields, and new ones are created unread
    (`pulled_at` empty: the first complete pull sets their app-owned fields, logging nothing).
    """
    # Everything the mirror holds is read after the sheet was: the rows' digests, the rows
    # that must be compared, then the rows whose own writes are still queued (the mirror
    # is newer than the sheet there). An action committed before that last query is in
    # `pending`; one committed after it changed the version and fails the compare-and-set
    # in _take_row (or, on a row skipped as unchanged, is simply not looked at).
    index = {
        tag: (pk, version, digest, sheet_row)
        for tag, pk, version, digest, sheet_row in Spool.objects.values_list(
            "tag", "pk", "version", "sheet_digest", "sheet_row"
        )
    }
    digests.known = index
    seen, parsed = _parse_rows(header, rows, result, digests)
    _apply_sheet_notes(header, rows, seen, list(parsed))
    now = timezone.now()
    existing = _mirror_spools(list(parsed), len(index))
    pending = pending_tags()
    stale = _stale_rows(parsed, existing, pending) if complete else set()
    to_create = []
    for tag, values in parsed.items():
        spool = existing.get(tag)
        if spool is None:
            to_create.append(Spool(tag=tag, pulled_at=now if complete else None, **values))
            result.created.append(tag)
            continue
        if tag in stale:
            _heal(spool, values["version"], now, result)
        trusted = complete and tag not in pending and tag not in stale
        fields = SPOOL_FIELDS if trusted else OFFICE_FIELDS
        _take_row(spool, values, fields, now, result, complete=complete, digests=digests)
    gone = {tag: k[0] for tag, k in index.items() if tag not in seen and k[3] is not None}
    if gone:
        Spool.objects.filter(pk__in=gone.values()).update(
            sheet_row=None, sheet_digest="", updated_at=now
        )
        result.removed.extend(gone)
    Spool.objects.bulk_create(to_create, batch_size=500)
    digests.store(Spool)


def _apply_sheet_notes(
    header: HeaderMap, rows: list[list], seen: dict[str, int], tags: list[str]
) -> None:
    """The lines someone typed into the Notas cells of these rows (those read, not skipped
    as unchanged: the row's digest covers its Notas cell) become the mirror's office notes,
    so the spool page shows them beside the app's. The app's own lines are its notes
    already; an office line gone from the cell goes from the mirror. Without a Notas column
    the mirror's notes stay as they are."""
    col = header.find(Col.NOTAS)
    if col is None or not tags:
        return
    cells = {}
    for tag in tags:
        row = rows[seen[tag] - 2]
        cells[tag] = note_lines(row[col] if col < len(row) else None)
    with_office = set(Note.objects.filter(from_sheet=True).values_list("tag", flat=True))
    wanted = [tag for tag, lines in cells.items() if lines or tag in with_office]
    now = timezone.now()
    for chunk in _chunks(wanted, CHUNK):
        notes: dict[str, list[Note]] = defaultdict(list)
        for note in Note.objects.filter(tag__in=chunk).only("pk", "tag", "line", "from_sheet"):
            notes[note.tag].append(note)
        with transaction.atomic():
            for tag in chunk:
                _take_office_lines(tag, cells[tag], notes[tag], now)


def _take_office_lines(tag: str, lines: list[str], notes: list[Note], now: datetime) -> None:
    """Make the spool's office notes the cell's lines that are not the app's."""
    app_lines = {n.line for n in notes if not n.from_sheet}
    office = [line for line in dict.fromkeys(lines) if line not in app_lines]
    known = {n.line: n.pk for n in notes if n.from_sheet}
    gone = [pk for line, pk in known.items() if line not in office]
    if gone:
        Note.objects.filter(pk__in=gone).delete()
    new = []
    for line in office:
        if line not in known:
            when, author, texto = parse_note_line(line)
            new.append(
                Note(
                    tag=tag,
                    texto=texto,
                    author=author[:150],
                    created=when or now,  # a line with no time: when it was first seen
                    line=line,
                    from_sheet=True,
                )
            )
    Note.objects.bulk_create(new)


def _mirror_spools(tags: list[str], mirrored: int) -> dict[str, Spool]:
    """The mirror's rows of these TAGs (all of them when they are most of the mirror)."""
    if len(tags) * 2 > mirrored:
        return {s.tag: s for s in Spool.objects.all()}
    found: dict[str, Spool] = {}
    for chunk in _chunks(tags, CHUNK):
        found.update((s.tag, s) for s in Spool.objects.filter(tag__in=chunk))
    return found


def _parse_rows(
    header: HeaderMap, rows: list[list], result: PullResult, digests: RowDigests
) -> tuple[dict[str, int], dict[str, dict]]:
    """Each TAG's row (its first row), and the mirror's values of those rows that are not
    unchanged since the mirror took them (odd data reported)."""
    tag_col = header.col(Col.TAG_SPOOL)
    seen: dict[str, int] = {}
    parsed: dict[str, dict] = {}
    for offset, row in enumerate(rows):
        row_no = offset + 2
        tag = cell_text(row[tag_col]) if tag_col < len(row) else ""
        if not tag:
            continue  # empty rows (or stray text in other columns of a tagless row)
        if len(tag) > TAG_MAX:
            result.warnings.append(
                f"{OPERACIONES} fila {row_no}: TAG_SPOOL de {len(tag)} caracteres "
                f"(máximo {TAG_MAX}), fila no leída: {tag[:40]}…"
            )
            continue
        if tag in seen:
            result.warnings.append(
                f"TAG_SPOOL {tag} repetido en la fila {row_no} de {OPERACIONES}: "
                f"se usa la fila {seen[tag]}."
            )
            continue
        seen[tag] = row_no
        if digests.unchanged(tag, row_no, row):
            continue
        values = parse_spool_row(header, row, tag)
        values["sheet_row"] = row_no
        values["sheet_digest"] = digests.of(row_no, row, values["version"], values["problems"])
        parsed[tag] = values
        for p in values["problems"]:
            result.warnings.append(f"{tag} {p['column']}: {p['error']}")
    result.spools_seen = len(seen)
    return seen, parsed


def _take_row(
    spool: Spool,
    values: dict,
    fields: tuple[str, ...],
    now: datetime,
    result: PullResult,
    *,
    complete: bool,
    digests: RowDigests,
) -> None:
    """Take the sheet's `fields` of a known spool; an app-owned cell that reads differently
    is an office edit, logged. The row's digest is kept only where the mirror row becomes
    all the row says (`fields` is everything)."""
    digest = values["sheet_digest"] if fields == SPOOL_FIELDS else ""
    changed = [f for f in fields if getattr(spool, f) != values[f]]
    if not changed:
        digests.keep(spool.pk, spool.version, digest, spool.sheet_digest)
        return
    before = spool.app_cells()
    was_blocked = spool.is_blocked
    proposed = Spool(**{f: getattr(spool, f) for f in APP_OWNED_FIELDS})
    for f in changed:
        if f in APP_OWNED_FIELDS:
            setattr(proposed, f, values[f])
    # An edit is a cell that reads differently; the mirror's finer values (the
    # microseconds of Fecha_Ocupacion) are not cells and are silently aligned.
    external = spool.pulled_at is not None and proposed.app_cells() != before
    with transaction.atomic():
        # Compare-and-set on the version seen: an action that committed since the
        # snapshot wins, and the next pull reconciles.
        updated = Spool.objects.filter(pk=spool.pk, version=spool.version).update(
            **{f: values[f] for f in fields},
            **({"pulled_at": now} if complete else {}),
            sheet_digest=digest,
            updated_at=now,
        )
        if not updated:
            return
        result.updated.append(spool.tag)
        if external:
            for f in fields:
                setattr(spool, f, values[f])
            _record_office_edit(spool, before, was_blocked, now)


def _record_office_edit(
    spool: Spool, before: dict[str, str], was_blocked: bool, now: datetime
) -> None:
    """A SUPERVISOR_OVERRIDE typed into the sheet; `spool` holds the values taken."""
    unblocked = was_blocked and not spool.is_blocked
    after = spool.app_cells()
    record_change(
        None,
        None,
        tag=spool.tag,
        evento_tipo=EventoTipo.SUPERVISOR_OVERRIDE,
        operacion=Operacion.REPARACION if unblocked else "",
        accion=ACCION_OVERRIDE,
        worker_id=0,
        worker_nombre="SYSTEM",
        meta={
            "tipo": OverrideTipo.DESBLOQUEAR if unblocked else OverrideTipo.EDICION_EXTERNA,
            "origen": "hoja",
            "antes": {c: v for c, v in before.items() if after.get(c) != v},
            "despues": {c: v for c, v in after.items() if before.get(c) != v},
        },
        now=now,
    )


def _stale_rows(seen: dict[str, dict], existing: dict[str, Spool], pending: set[str]) -> set[str]:
    """Rows whose `version` is an older one the app itself wrote: a write of ours that landed
    late (not an office edit). Their app-owned cells are not taken; the current ones are
    written again."""
    differing = [
        (tag, values["version"])
        for tag, values in seen.items()
        if tag in existing
        and tag not in pending
        and values["version"]
        and values["version"] != existing[tag].version
    ]
    if not differing:
        return set()
    return {tag for tag, _ in app_written_versions(differing)}


def _heal(spool: Spool, sheet_version: str, now: datetime, result: PullResult) -> None:
    with transaction.atomic():
        # Compare-and-set, as for an update: an action committed since the snapshot queued
        # newer cells itself.
        if not Spool.objects.filter(pk=spool.pk, version=spool.version).update(updated_at=now):
            return
        rewrite_cells(spool, now=now)
    result.healed.append(spool.tag)
    log.warning(
        "%s: the sheet holds an older version written by the app (%s, current %s); "
        "writing the current cells again",
        spool.tag,
        sheet_version,
        spool.version,
    )


def _apply_workers(trabajadores: list[list], roles: list[list], result: PullResult) -> None:
    t_header, t_rows = sheets.split_header(TRABAJADORES, trabajadores)
    r_header, r_rows = sheets.split_header(ROLES, roles)
    t_header.require()
    r_header.require()
    workers: dict[int, Worker] = {}
    previous = dict(Worker.objects.values_list("id", "activo"))
    for n, row in enumerate(t_rows, start=2):
        wid = _worker_id(TRABAJADORES, n, t_header.get(row, "Id"), result)
        if wid is None:
            continue
        activo = _activo(TRABAJADORES, n, t_header.get(row, "Activo"), previous.get(wid), result)
        if wid in workers:
            result.warnings.append(
                f"{TRABAJADORES} fila {n}: Id {wid} repetido, se usa el primero."
            )
            continue
        workers[wid] = Worker(
            id=wid,
            nombre=cell_text(t_header.get(row, "Nombre"))[:120],
            apellido=cell_text(t_header.get(row, "Apellido"))[:120],
            activo=activo,
            credencial=cell_text(t_header.get(row, "Credencial")).strip()[:120],
        )
    role_rows: dict[tuple[int, str], Role] = {}
    for n, row in enumerate(r_rows, start=2):
        rol = cell_text(r_header.get(row, "Rol"))
        wid = _worker_id(ROLES, n, r_header.get(row, "Id"), result) if rol else None
        if wid is None:
            continue
        activo = _activo(ROLES, n, r_header.get(row, "Activo"), None, result)
        if wid not in workers:
            result.warnings.append(f"{ROLES} fila {n}: el trabajador {wid} no existe.")
            continue
        role_rows.setdefault((wid, rol), Role(worker_id=wid, rol=rol[:60], activo=activo))

    with transaction.atomic():
        Worker.objects.bulk_create(
            workers.values(),
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=["nombre", "apellido", "activo", "credencial"],
        )
        # A worker no longer in the sheet cannot act any more, but keeps their history.
        Worker.objects.exclude(id__in=workers.keys()).update(activo=False)
        Role.objects.all().delete()
        Role.objects.bulk_create(role_rows.values())


def _worker_id(sheet: str, n: int, raw: object, result: PullResult) -> int | None:
    """The Id of row `n` (None for a blank one, or one that is no number: reported)."""
    if is_blank(raw):
        return None
    try:
        return int(float(cell_text(raw)))
    except ValueError:
        result.warnings.append(f"{sheet} fila {n}: Id no reconocido {raw!r}.")
        return None


def _activo(sheet: str, n: int, raw: object, previous: bool | None, result: PullResult) -> bool:
    """An Activo cell; an unreadable one keeps the row (reported), with its last known
    value, else active (as a blank cell is)."""
    try:
        return parse_bool(raw, default=True)
    except CellValueError:
        keep = True if previous is None else previous
        result.warnings.append(
            f"{sheet} fila {n}, columna Activo: valor no reconocido {cell_text(raw)!r}; "
            f"se mantiene {'activo' if keep else 'inactivo'}."
        )
        return keep


def _event_id(raw: object) -> uuid.UUID:
    text = cell_text(raw)
    try:
        return uuid.UUID(text)
    except ValueError:
        # Not a UUID (hand-made rows): a stable id from the text keeps "each ID once".
        return uuid.uuid5(uuid.NAMESPACE_URL, f"zeues-metadata:{text}")


def _apply_metadata(rows: list[list], state: SyncState, result: PullResult) -> int:
    """Metadata rows not yet in the event log, each ID once."""
    header, data = sheets.split_header(METADATA, rows)
    if header.find("ID") is None or header.find("Evento_Tipo") is None:
        result.warnings.append(
            f"{METADATA}: faltan las columnas ID/Evento_Tipo; historial no leído."
        )
        return 0
    candidates: dict[uuid.UUID, Event] = {}
    for n, row in enumerate(data, start=2):
        raw_id = header.get(row, "ID")
        if is_blank(raw_id):
            continue
        eid = _event_id(raw_id)
        try:
            ts = parse_datetime(header.get(row, "Timestamp"))
            fecha = parse_date(header.get(row, "Fecha_Operacion"))
        except CellValueError as exc:
            result.warnings.append(f"{METADATA} fila {n}: {exc}")
            continue
        raw_json = header.get(row, "Metadata_JSON")
        try:
            meta = json.loads(cell_text(raw_json)) if not is_blank(raw_json) else {}
            if not isinstance(meta, dict):
                meta = {"valor": meta}
        except ValueError:
            meta = {"texto": cell_text(raw_json)}
        raw_worker = header.get(row, "Worker_ID")
        try:
            worker_id = None if is_blank(raw_worker) else int(float(cell_text(raw_worker)))
        except ValueError:
            worker_id = None
        candidates.setdefault(
            eid,
            Event(
                id=eid,
                timestamp=ts or timezone.now(),
                evento_tipo=cell_text(header.get(row, "Evento_Tipo"))[:40],
                tag=cell_text(header.get(row, "TAG_SPOOL"))[:100],
                worker_id=worker_id,
                worker_nombre=cell_text(header.get(row, "Worker_Nombre"))[:120],
                operacion=cell_text(header.get(row, "Operacion"))[:20],
                accion=cell_text(header.get(row, "Accion"))[:20],
                fecha_operacion=fecha,
                metadata_json=meta,
                from_sheet=True,
            ),
        )
    known: set[uuid.UUID] = set()
    ids = list(candidates)
    for i in range(0, len(ids), 900):
        known.update(Event.objects.filter(id__in=ids[i : i + 900]).values_list("id", flat=True))
    new = [e for eid, e in candidates.items() if eid not in known]
    Event.objects.bulk_create(new, batch_size=500)
    return len(new)


# --- whether the workbook has a Uniones sheet ------------------------------------------------


def uniones_check_due(state: SyncState, *, pulling: bool) -> bool:
    """Not known (a new mirror, a replaced workbook); or known absent for an hour, at a pull."""
    if state.uniones_sheet is None:
        return True
    if state.uniones_sheet or not pulling:
        return False
    checked = state.uniones_checked_at
    return checked is None or timezone.now() - checked >= UNIONES_RECHECK


def check_uniones_sheet(state: SyncState) -> None:
    """Ask the workbook which sheets it has (one metadata read) and remember Uniones."""
    note_uniones_sheet(state, _has_uniones(sheets.sheet_titles()))


def note_uniones_sheet(state: SyncState, present: bool) -> None:
    if state.uniones_sheet is not None and state.uniones_sheet != present:
        log.warning("the workbook %s %s sheet now", "has a" if present else "has no", UNIONES)
    state.uniones_sheet = present
    state.uniones_checked_at = timezone.now()


def note_workbook_sheets(titles: Iterable[str]) -> None:
    """A tool that has just written the whole workbook says which sheets it has, so the
    next cycle need not ask."""
    state = SyncState.get()
    note_uniones_sheet(state, _has_uniones(titles))
    state.save(update_fields=["uniones_sheet", "uniones_checked_at"])


def _has_uniones(titles: Iterable[str]) -> bool:
    # Sheet names in ranges are case-insensitive in Sheets.
    return UNIONES.casefold() in {t.casefold() for t in titles}


# --- Uniones into the mirror -----------------------------------------------------------------


def apply_uniones(
    uniones: list[list],
    state: SyncState,
    result: PullResult,
    *,
    sheet_counters: dict[str, dict[str, object]] | None = None,
    recheck: int | None = None,
) -> None:
    """Apply a whole-sheet read of Uniones: the Union mirror, then the spools' counters.

    Without TAG_SPOOL or N_UNION no union can be named: the mirror is left as it is.
    Without an app-owned column known unions keep their work as the mirror has it, and the
    Operaciones counters are not corrected from a read that cannot be trusted. `recheck`:
    the slice of rows read whatever their digests (None: every row).
    """
    result.uniones_read = True
    header, rows = sheets.split_header(UNIONES, uniones)
    unnamed = header.missing((UCol.TAG_SPOOL, UCol.N_UNION))
    if unnamed:
        result.warnings.append(
            f"{UNIONES}: falta la columna {', '.join(unnamed)}; uniones no leídas."
        )
        state.pull_warnings = result.warnings[:200]
        return
    missing = header.missing(UNIONES_COMPLETE)
    if missing:
        result.warnings.append(
            f"{UNIONES}: falta la columna {', '.join(missing)}; el trabajo de las uniones "
            "conocidas queda como está en el espejo."
        )
    digests = RowDigests(UNIONES, None if missing else header, recheck=recheck)
    # (pk, version, digest, tag, n_union) by (tag, n_union): tuples as the database gives them.
    digests.known = {
        (u[3], u[4]): u
        for u in Union.objects.values_list("pk", "version", "sheet_digest", "tag", "n_union")
    }
    seen, parsed = _parse_union_rows(header, rows, result, digests)
    touched = _apply_union_rows(seen, parsed, result, digests, complete=not missing)
    result.counted = recount_spools(touched)
    if sheet_counters and not missing:
        _queue_counter_cells(sheet_counters, result)
    state.pull_warnings = result.warnings[:200]


def _parse_union_rows(
    header: HeaderMap, rows: list[list], result: PullResult, digests: RowDigests
) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], dict]]:
    """Each union's row (its first row), and the mirror's values of those rows that are not
    unchanged since the mirror took them (odd data reported)."""
    columns = (header.col(UCol.TAG_SPOOL), header.col(UCol.N_UNION))
    seen: dict[tuple[str, int], int] = {}
    parsed: dict[tuple[str, int], dict] = {}
    for offset, row in enumerate(rows):
        row_no = offset + 2
        key = _union_key(row, columns, row_no, result)
        if key is None:
            continue
        if key in seen:
            result.warnings.append(
                f"Unión {key[1]} de {key[0]} repetida en la fila {row_no} de {UNIONES}: "
                f"se usa la fila {seen[key]}."
            )
            continue
        seen[key] = row_no
        if digests.unchanged(key, row_no, row):
            continue
        values = parse_union_row(header, row, key[0])
        values["sheet_row"] = row_no
        values["sheet_digest"] = digests.of(row_no, row, values["version"], values["problems"])
        parsed[key] = values
        for p in values["problems"]:
            result.warnings.append(f"{key[0]} unión {key[1]} {p['column']}: {p['error']}")
    result.unions_seen = len(seen)
    return seen, parsed


def _union_key(
    row: list, columns: tuple[int, int], row_no: int, result: PullResult
) -> tuple[str, int] | None:
    """(TAG_SPOOL, N_UNION) of a row (`columns`: where they are); None for a row that names
    no union (reported when it has a TAG)."""
    tag_col, n_col = columns
    tag = cell_text(row[tag_col]) if tag_col < len(row) else ""
    if not tag:
        return None  # an empty row, or notes in a row that is no union
    if len(tag) > TAG_MAX:
        result.warnings.append(
            f"{UNIONES} fila {row_no}: TAG_SPOOL de {len(tag)} caracteres, fila no leída."
        )
        return None
    raw = row[n_col] if n_col < len(row) else None
    if type(raw) is int and 0 < raw <= N_UNION_MAX:
        return (tag, raw)  # the usual cell, read as parse_n_union would
    where = f"{UNIONES} fila {row_no}"
    try:
        n = parse_n_union(raw)
    except CellValueError as exc:
        result.warnings.append(f"{tag} {UCol.N_UNION} ({where}): {exc.message}; fila no leída.")
        return None
    if n is None:
        result.warnings.append(f"{tag} {UCol.N_UNION} ({where}): vacío; fila no leída.")
    return None if n is None else (tag, n)


def _apply_union_rows(
    seen: dict[tuple[str, int], int],
    parsed: dict[tuple[str, int], dict],
    result: PullResult,
    digests: RowDigests,
    *,
    complete: bool,
) -> set[str]:
    """Create, update and delete Union rows as the sheet says; the TAGs touched."""
    now = timezone.now()
    # The mirror's rows to compare, then the unions with writes of ours queued (read after
    # the sheet was, as for spools): one changed after that has a new version and fails
    # the compare-and-set.
    existing = _mirror_unions(parsed, digests.known)
    pending = pending_union_keys()
    fields = UNION_FIELDS if complete else UNION_OFFICE_FIELDS
    touched: set[str] = set()
    to_create: list[Union] = []
    moved: list[Union] = []
    for key, values in parsed.items():
        if key in pending:
            continue  # the mirror is newer there
        known = existing.get(key)
        if known is None:
            fresh = {f: values[f] for f in UNION_FIELDS}
            digest = values["sheet_digest"] if complete else ""
            to_create.append(
                Union(
                    tag=key[0],
                    n_union=key[1],
                    sheet_row=values["sheet_row"],
                    sheet_digest=digest,
                    **fresh,
                )
            )
            touched.add(key[0])
        elif _take_union(known, values, fields, now, complete=complete, digests=digests):
            result.unions_updated += 1
            touched.add(key[0])
        elif known["sheet_row"] != values["sheet_row"]:
            moved.append(Union(pk=known["pk"], sheet_row=values["sheet_row"]))
    gone = [
        {"pk": k[0], "version": k[1], "tag": key[0]}
        for key, k in digests.known.items()
        if key not in seen and key not in pending
    ]
    result.unions_removed = _delete_unions(gone)
    touched.update(u["tag"] for u in gone)
    for union in to_create:
        union.pulled_at = now if complete else None
    Union.objects.bulk_create(to_create, batch_size=CHUNK, ignore_conflicts=True)
    result.unions_created = len(to_create)
    # Where a row sits is informational (writes find rows by key): no compare-and-set.
    Union.objects.bulk_update(moved, ["sheet_row"], batch_size=CHUNK)
    digests.store(Union)
    return touched


def _mirror_unions(
    parsed: dict[tuple[str, int], dict], known: dict[tuple[str, int], tuple]
) -> dict[tuple[str, int], dict]:
    """The mirror's values of the unions to compare (all of them when they are most of the
    mirror)."""
    columns = ("pk", "tag", "n_union", "sheet_row", "sheet_digest", *UNION_FIELDS)
    if len(parsed) * 2 > len(known):
        rows = Union.objects.values(*columns)
        return {(u["tag"], u["n_union"]): u for u in rows}
    pks = [known[key][0] for key in parsed if key in known]
    found: dict[tuple[str, int], dict] = {}
    for chunk in _chunks(pks, CHUNK):
        found.update(
            ((u["tag"], u["n_union"]), u)
            for u in Union.objects.filter(pk__in=chunk).values(*columns)
        )
    return found


def _take_union(
    known: dict,
    values: dict,
    fields: tuple[str, ...],
    now: datetime,
    *,
    complete: bool,
    digests: RowDigests,
) -> bool:
    """Take the sheet's `fields` of a known union (compare-and-set on its version). The
    row's digest is kept only where the mirror row becomes all the row says."""
    digest = values["sheet_digest"] if fields == UNION_FIELDS else ""
    changed = [f for f in fields if known[f] != values[f]]
    if not changed:
        digests.keep(known["pk"], known["version"], digest, known["sheet_digest"])
        return False
    return bool(
        Union.objects.filter(pk=known["pk"], version=known["version"]).update(
            **{f: values[f] for f in fields},
            sheet_row=values["sheet_row"],
            **({"pulled_at": now} if complete else {}),
            sheet_digest=digest,
            updated_at=now,
        )
    )


def _delete_unions(gone: list[dict]) -> int:
    """Delete unions gone from the sheet, each only if unchanged since the snapshot."""
    deleted = 0
    for chunk in _chunks(gone, CHUNK // 2):
        unchanged = Q()
        for u in chunk:
            unchanged |= Q(pk=u["pk"], version=u["version"])
        _, per_model = Union.objects.filter(unchanged).delete()
        deleted += per_model.get(Union._meta.label, 0)
    return deleted


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def recount_spools(tags: Iterable[str]) -> list[str]:
    """Count the unions of these spools again and save the counters that changed (each
    spool locked, in tag order, as an action locks it). The tags whose counters changed."""
    changed: list[Spool] = []
    now = timezone.now()
    with transaction.atomic():
        for chunk in _chunks(sorted(set(tags)), CHUNK):
            spools = Spool.objects.select_for_update().filter(tag__in=chunk).order_by("tag")
            unions: dict[str, list[Union]] = defaultdict(list)
            for u in Union.objects.filter(tag__in=chunk).only(
                "tag", "tipo_union", "dn_union", "arm_fin", "sol_fin"
            ):
                unions[u.tag].append(u)
            for spool in spools:
                before = _counters(spool)
                spool.count_unions(unions[spool.tag])
                if _counters(spool) != before:
                    spool.updated_at = now
                    changed.append(spool)
        Spool.objects.bulk_update(changed, [*UNION_COUNTER_FIELDS, "updated_at"], batch_size=CHUNK)
    return [s.tag for s in changed]


def _counters(spool: Spool) -> tuple:
    return tuple(getattr(spool, f) for f in UNION_COUNTER_FIELDS)


def _queue_counter_cells(sheet_counters: dict[str, dict[str, object]], result: PullResult) -> None:
    """Queue the counters of rows whose Operaciones counter cells disagree with Uniones
    (the office added a union, or typed over a counter). A spool without unions is left
    alone while its cells are blank or zero."""
    pending = pending_tags()
    # Plain tuples, not model instances: this runs over every spool at every pull.
    with_unions = {
        tag: _Counters._make(counters)
        for tag, *counters in Spool.objects.filter(uniones_total__gt=0).values_list(
            "tag", *UNION_COUNTER_FIELDS
        )
    }
    now = timezone.now()
    entries = []
    for tag, cells in sheet_counters.items():
        spool = with_unions.get(tag)
        if tag in pending or (
            spool is None and all(_number(v) in (None, 0) for v in cells.values())
        ):
            continue
        expected = counter_cells(spool or NO_UNIONS)
        if any(_number(raw) != expected[column] for column, raw in cells.items()):
            entries.append(OutboxEntry(created_at=now, tag=tag, cells=expected))
    OutboxEntry.objects.bulk_create(entries, batch_size=CHUNK)
    result.counters_queued = [e.tag for e in entries]


# A spool's union counters, by name (as counter_cells reads them).
_Counters = namedtuple("_Counters", UNION_COUNTER_FIELDS)
NO_UNIONS = _Counters(*(0 for _ in UNION_COUNTER_FIELDS))


def _number(raw: object) -> float | None:
    """A counter cell as a number (2 decimals), None when blank or not a number."""
    if type(raw) is int or type(raw) is float:
        return round(float(raw), 2)  # the usual cell (a number written RAW), read fast
    if isinstance(raw, bool) or is_blank(raw):
        return None
    try:
        return round(float(cell_text(raw).replace(",", ".")), 2)
    except ValueError:
        return None
