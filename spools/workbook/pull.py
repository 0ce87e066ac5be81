"""The puller: brings the workbook into the mirror.

A regular pull costs one read request (one values.batchGet of Operaciones). Every
ZEUES_WORKERS_PULL_INTERVAL seconds (and on the first pull) a second batchGet brings
Trabajadores, Roles and the Metadata log, which change rarely or only through us.
Rows with odd data stay visible; the odd cell is reported with its TAG and column.

An app-owned cell that differs from the mirror on a row with nothing pending is an office
edit (logged as SUPERVISOR_OVERRIDE); rows with writes still queued keep the mirror's
app-owned fields. While a required column is missing the app-owned cells cannot be read
right: new spools still appear, but app-owned fields of known spools are left as they are
and no edit is logged.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from spools.lifecycle import ACCION_OVERRIDE, EventoTipo, Operacion, OverrideTipo
from spools.models import TRANSITION_FIELDS, Event, Role, Spool, SyncState, Worker
from spools.workbook import gateway as sheets
from spools.workbook.columns import (
    METADATA,
    OPERACIONES,
    OPERACIONES_COLUMNS,
    ROLES,
    TRABAJADORES,
    Col,
    HeaderMap,
    MissingColumnError,
)
from spools.workbook.outbox import app_written_versions, pending_tags, record_change, rewrite_cells
from spools.workbook.rows import parse_spool_row
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

    @property
    def changed_tags(self) -> list[str]:
        return self.created + self.updated + self.removed


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
    (operaciones,) = sheets.read_ranges([sheets.sheet_range(OPERACIONES)])
    apply_operaciones(operaciones, state, result)
    state.save()
    return result


def apply_operaciones(operaciones: list[list], state: SyncState, result: PullResult) -> None:
    """Apply a whole-sheet read of Operaciones to the mirror (the pull's second half)."""
    header, rows = sheets.split_header(OPERACIONES, operaciones)
    missing = header.missing(OPERACIONES_COLUMNS)
    if Col.TAG_SPOOL in missing:
        state.structure_error = str(MissingColumnError(OPERACIONES, [Col.TAG_SPOOL]))
        state.save()
        raise MissingColumnError(OPERACIONES, [Col.TAG_SPOOL])
    state.structure_error = str(MissingColumnError(OPERACIONES, missing)) if missing else ""
    _apply_spools(header, rows, result, complete=not missing)
    state.last_pull_at = timezone.now()
    state.pull_warnings = result.warnings[:200]


def _apply_spools(
    header: HeaderMap, rows: list[list], result: PullResult, *, complete: bool = True
) -> None:
    """Bring the rows into the mirror.

    Not `complete` (a required column missing): the app-owned cells read as blanks, so known
    spools only take their office-owned fields, and new ones are created unread
    (`pulled_at` empty: the first complete pull sets their app-owned fields, logging nothing).
    """
    seen = _parse_rows(header, rows, result)
    now = timezone.now()
    # The mirror first, then the rows whose own writes are still queued (the mirror is
    # newer than the sheet there), both read after the sheet was: an action committed
    # before the second query is in `pending`, one committed after it changed the version
    # and fails the compare-and-set in _take_row.
    existing = {s.tag: s for s in Spool.objects.all()}
    pending = pending_tags()
    stale = _stale_rows(seen, existing, pending) if complete else set()
    to_create = []
    for tag, values in seen.items():
        spool = existing.get(tag)
        if spool is None:
            to_create.append(Spool(tag=tag, pulled_at=now if complete else None, **values))
            result.created.append(tag)
            continue
        if tag in stale:
            _heal(spool, values["version"], now, result)
        trusted = complete and tag not in pending and tag not in stale
        fields = SPOOL_FIELDS if trusted else OFFICE_FIELDS
        _take_row(spool, values, fields, now, result, complete=complete)
    gone = {tag: s.pk for tag, s in existing.items() if tag not in seen and s.sheet_row is not None}
    if gone:
        Spool.objects.filter(pk__in=gone.values()).update(sheet_row=None, updated_at=now)
        result.removed.extend(gone)
    Spool.objects.bulk_create(to_create, batch_size=500)


def _parse_rows(header: HeaderMap, rows: list[list], result: PullResult) -> dict[str, dict]:
    """The mirror's values of each TAG's row (its first row), odd data reported."""
    tag_col = header.col(Col.TAG_SPOOL)
    seen: dict[str, dict] = {}
    for offset, row in enumerate(rows):
        tag = cell_text(row[tag_col]) if tag_col < len(row) else ""
        if not tag:
            continue  # empty rows (or stray text in other columns of a tagless row)
        if len(tag) > TAG_MAX:
            result.warnings.append(
                f"{OPERACIONES} fila {offset + 2}: TAG_SPOOL de {len(tag)} caracteres "
                f"(máximo {TAG_MAX}), fila no leída: {tag[:40]}…"
            )
            continue
        if tag in seen:
            result.warnings.append(
                f"TAG_SPOOL {tag} repetido en la fila {offset + 2} de {OPERACIONES}: "
                f"se usa la fila {seen[tag]['sheet_row']}."
            )
            continue
        values = parse_spool_row(header, row, tag)
        values["sheet_row"] = offset + 2
        seen[tag] = values
        for p in values["problems"]:
            result.warnings.append(f"{tag} {p['column']}: {p['error']}")
    result.spools_seen = len(seen)
    return seen


def _take_row(
    spool: Spool,
    values: dict,
    fields: tuple[str, ...],
    now: datetime,
    result: PullResult,
    *,
    complete: bool,
) -> None:
    """Take the sheet's `fields` of a known spool; an app-owned cell that reads differently
    is an office edit, logged."""
    changed = [f for f in fields if getattr(spool, f) != values[f]]
    if not changed:
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
            update_fields=["nombre", "apellido", "activo"],
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
