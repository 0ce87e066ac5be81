"""Performing actions: one worker, one operation, one or more spools, each on its own.

`perform_action` is the only way an action changes the mirror. For each spool it locks the
row, checks the transition's rules (spools.rules, in the order of the domain table), runs
the django-fsm-2 transition, saves with a compare-and-set on `version`, and records the
event and its outbox entry in the same transaction. The workbook write and the live
broadcast happen after commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from occupation.models import ActionRequest
from spools.lifecycle import Accion, Operacion
from spools.models import TRANSITION_FIELDS, Event, Spool, SyncState, Worker
from spools.rules import ActionError, check_transition
from spools.signals import spools_changed
from spools.workbook.outbox import record_change
from spools.workbook.sync import kick

MAX_SPOOLS = 50

# (operación, acción or resultado) → (transition method, Evento_Tipo)
TRANSITIONS: dict[tuple[str, str], tuple[str, str]] = {
    (Operacion.ARM, Accion.TOMAR): ("tomar_arm", "TOMAR_SPOOL"),
    (Operacion.ARM, Accion.PAUSAR): ("pausar_arm", "PAUSAR_SPOOL"),
    (Operacion.ARM, Accion.COMPLETAR): ("completar_arm", "COMPLETAR_ARM"),
    (Operacion.ARM, Accion.CANCELAR): ("cancelar_arm", "CANCELAR_ARM"),
    (Operacion.SOLD, Accion.TOMAR): ("tomar_sold", "TOMAR_SPOOL"),
    (Operacion.SOLD, Accion.PAUSAR): ("pausar_sold", "PAUSAR_SPOOL"),
    (Operacion.SOLD, Accion.COMPLETAR): ("completar_sold", "COMPLETAR_SOLD"),
    (Operacion.SOLD, Accion.CANCELAR): ("cancelar_sold", "CANCELAR_SOLD"),
    (Operacion.METROLOGIA, "APROBADO"): ("aprobar", "COMPLETAR_METROLOGIA"),
    (Operacion.METROLOGIA, "RECHAZADO"): ("rechazar", "COMPLETAR_METROLOGIA"),
    (Operacion.REPARACION, Accion.TOMAR): ("tomar_reparacion", "TOMAR_REPARACION"),
    (Operacion.REPARACION, Accion.PAUSAR): ("pausar_reparacion", "PAUSAR_REPARACION"),
    (Operacion.REPARACION, Accion.COMPLETAR): ("completar_reparacion", "COMPLETAR_REPARACION"),
    (Operacion.REPARACION, Accion.CANCELAR): ("cancelar_reparacion", "CANCELAR_REPARACION"),
}
TOMAR_EVENTS = {"TOMAR_SPOOL", "TOMAR_REPARACION"}

OK_MESSAGES = {
    "TOMAR": "{tag}: tomado por {worker}.",
    "PAUSAR": "{tag}: pausado.",
    "COMPLETAR": "{tag}: completado.",
    "CANCELAR": "{tag}: cancelado, vuelve a como estaba.",
    "APROBADO": "{tag}: metrología APROBADA.",
    "RECHAZADO": "{tag}: metrología RECHAZADA ({estado}).",
}


@dataclass(frozen=True)
class ActionCommand:
    operacion: str
    accion: str
    worker_id: int
    tags: list[str]
    resultado: str = ""
    request_id: uuid.UUID | None = None
    account: str = ""

    @property
    def step(self) -> str:
        """What is done: the acción, or for METROLOGÍA the resultado."""
        return self.resultado if self.operacion == Operacion.METROLOGIA else self.accion

    def fingerprint(self) -> str:
        key = json.dumps(
            [self.operacion, self.accion, self.worker_id, self.tags, self.resultado], sort_keys=True
        )
        return hashlib.sha256(key.encode()).hexdigest()


@dataclass
class SpoolResult:
    tag: str
    status: int
    message: str

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class ActionOutcome:
    status: int
    results: list[SpoolResult] = field(default_factory=list)
    worker_short: str = ""
    worker_name: str = ""
    replayed: bool = False

    @property
    def succeeded(self) -> list[SpoolResult]:
        return [r for r in self.results if r.ok]

    @property
    def failed(self) -> list[SpoolResult]:
        return [r for r in self.results if not r.ok]

    def to_json(self) -> dict:
        return {
            "worker_short": self.worker_short,
            "worker_name": self.worker_name,
            "results": [r.__dict__ for r in self.results],
        }

    @classmethod
    def from_request(cls, stored: ActionRequest) -> ActionOutcome:
        data = stored.outcome
        return cls(
            status=stored.status,
            results=[SpoolResult(**r) for r in data.get("results", [])],
            worker_short=data.get("worker_short", ""),
            worker_name=data.get("worker_name", ""),
            replayed=True,
        )


_sqlite_writers = threading.Lock()


def write_turn() -> contextlib.AbstractContextManager:
    """On SQLite, this process's writers take turns on a lock of their own.

    SQLite admits one writer at a time; the others would poll with growing sleeps (its busy
    handler), leaving the database idle between them: 60 tablets confirming at once then
    take seconds. Waiting on a lock hands over the moment the writer commits. Other
    processes still meet SQLite's own lock; PostgreSQL needs none of this (row locks).
    """
    if connection.vendor == "sqlite":
        return _sqlite_writers
    return contextlib.nullcontext()


def overall_status(results: list[SpoolResult]) -> int:
    """200 if all succeeded, 207 if some did, else the status of the first failure."""
    if results and all(r.ok for r in results):
        return 200
    if any(r.ok for r in results):
        return 207
    return next((r.status for r in results if not r.ok), 400)


def get_worker_for(operacion: str, worker_id: int) -> Worker:
    """The worker, if they may work on this operation now (404 unknown, 403 not allowed)."""
    worker = Worker.objects.prefetch_related("roles").filter(pk=worker_id).first()
    if worker is None:
        raise ActionError(404, f"No existe el trabajador {worker_id}.", "trabajador_desconocido")
    if not worker.activo:
        raise ActionError(403, f"{worker.short} no está activo.", "trabajador_inactivo")
    if not worker.can_work_on(operacion):
        label = Operacion(operacion).label
        raise ActionError(403, f"{worker.short} no tiene un rol para {label}.", "rol_no_permitido")
    return worker


def snapshot_before_tomar(spool: Spool, operacion: str) -> tuple[dict[str, object], bool]:
    """The app-owned cells as they were before the TOMAR that CANCELAR undoes.

    Returns (cells, exact): not exact when the TOMAR predates the app (no snapshot in its
    Metadata row); then only the occupation is undone and Estado_Detalle is rebuilt.
    """
    tomar = (
        Event.objects.filter(tag=spool.tag, evento_tipo__in=TOMAR_EVENTS, operacion=operacion)
        .order_by("-timestamp")
        .first()
    )
    # Only the TOMAR of the current occupation (same worker, same time) may be undone;
    # an occupation typed into the sheet has none, and an older snapshot would be stale.
    is_current = (
        tomar is not None
        and tomar.worker_id == spool.occupant_id
        and spool.fecha_ocupacion is not None
        and abs((tomar.timestamp - spool.fecha_ocupacion).total_seconds()) < 2
    )
    if is_current and isinstance(tomar.metadata_json.get("antes"), dict):
        return tomar.metadata_json["antes"], True
    cells = spool.app_cells()
    cells.update({"Ocupado_Por": "", "Fecha_Ocupacion": "", "Estado_Detalle": ""})
    return cells, False


def precheck(cmd: ActionCommand, worker: Worker) -> dict[str, SpoolResult]:
    """Refusals decided on the spools as they were when the request arrived.

    Read without waiting for any lock, so a refusal is answered at once: a worker pausing
    someone else's spool is told whose it is, even if its occupant is pausing it at the
    same instant. Passing here proves nothing yet; the locked check decides.
    """
    method_name, _ = TRANSITIONS[(cmd.operacion, cmd.step)]
    arrived = {s.tag: s for s in Spool.objects.filter(tag__in=cmd.tags, sheet_row__isnull=False)}
    refused: dict[str, SpoolResult] = {}
    for tag in cmd.tags:
        spool = arrived.get(tag)
        if spool is None:
            refused[tag] = SpoolResult(tag, 404, f"No existe el spool {tag}.")
            continue
        spool.actor = worker
        try:
            check_transition(spool, method_name)
        except ActionError as exc:
            refused[tag] = SpoolResult(tag, exc.status, exc.message)
    return refused


def _apply_one(
    cmd: ActionCommand, worker: Worker, tag: str, now: datetime, locked: Spool | None = None
) -> SpoolResult:
    """One spool, in a savepoint. `locked`: the row as the batch locked it (saves a query)."""
    method_name, evento_tipo = TRANSITIONS[(cmd.operacion, cmd.step)]
    with transaction.atomic():
        spool = locked or (
            Spool.objects.select_for_update().filter(tag=tag, sheet_row__isnull=False).first()
        )
        if spool is None:
            raise ActionError(404, f"No existe el spool {tag}.", "spool_desconocido")
        spool.actor = worker
        check_transition(spool, method_name)
        before = spool.app_cells()
        old_version = spool.version
        method = getattr(spool, method_name)
        today = timezone.localdate(now)
        meta: dict = {"cuenta": cmd.account}
        if cmd.request_id:
            meta["request_id"] = str(cmd.request_id)
        rebuild_estado = True
        if method_name.startswith("tomar"):
            method(worker, now)
            meta["antes"] = before  # what CANCELAR restores
        elif method_name in ("completar_arm", "completar_sold"):
            method(worker, today)
        elif method_name in ("cancelar_arm", "cancelar_sold"):
            snapshot, exact = snapshot_before_tomar(spool, cmd.operacion)
            method(snapshot)
            rebuild_estado = not exact  # every app-owned cell back as it was
        elif method_name == "aprobar":
            method(today)
        else:
            method()
        if rebuild_estado:
            spool.refresh_estado_detalle()
        spool.version = str(uuid.uuid4())
        if cmd.operacion == Operacion.METROLOGIA:
            meta.update(resultado=cmd.resultado, ciclo=spool.ciclo)
        elif spool.reparacion != "NINGUNA":
            meta["ciclo"] = spool.ciclo
        saved = Spool.objects.filter(pk=spool.pk, version=old_version).update(
            **{f: getattr(spool, f) for f in TRANSITION_FIELDS}, updated_at=now
        )
        if not saved:
            raise ActionError(409, f"Otro cambio del spool {tag} llegó primero.", "carrera")
        record_change(
            spool,
            before,
            evento_tipo=evento_tipo,
            operacion=cmd.operacion,
            accion=cmd.accion,
            worker_id=worker.id,
            worker_nombre=worker.short,
            meta=meta,
            account=cmd.account,
            now=now,
        )
    message = OK_MESSAGES[cmd.step].format(
        tag=tag, worker=worker.short, estado=spool.estado_detalle
    )
    return SpoolResult(tag, 200, message)


def perform_action(cmd: ActionCommand) -> ActionOutcome:
    """Do the action on each spool independently; idempotent per request_id."""
    if cmd.request_id:
        stored = ActionRequest.objects.filter(pk=cmd.request_id).first()
        if stored:
            return _replay(stored, cmd)
    worker = get_worker_for(cmd.operacion, cmd.worker_id)
    structure_error = SyncState.get().structure_error
    if structure_error:
        # Nothing is applied (so nothing is remembered): a retry after the fix works.
        return ActionOutcome(
            503,
            [SpoolResult(t, 503, structure_error) for t in cmd.tags],
            worker.short,
            worker.full_name,
        )
    refused = precheck(cmd, worker)
    if len(refused) == len(cmd.tags) and not cmd.request_id:
        results = [refused[t] for t in cmd.tags]  # nothing to write: no lock taken
        return ActionOutcome(overall_status(results), results, worker.short, worker.full_name)
    now = timezone.now()
    try:
        with write_turn(), transaction.atomic():
            if cmd.request_id:
                # Claims the id first: a concurrent duplicate waits here, then replays.
                claim = ActionRequest.objects.create(
                    request_id=cmd.request_id,
                    account=cmd.account,
                    fingerprint=cmd.fingerprint(),
                    status=0,
                )
            # Lock every spool of the batch up front, in one fixed order: two batches over
            # the same spools in different orders would otherwise deadlock (PostgreSQL).
            to_lock = sorted(t for t in cmd.tags if t not in refused)
            locked = {
                s.tag: s
                for s in Spool.objects.select_for_update()
                .filter(tag__in=to_lock, sheet_row__isnull=False)
                .order_by("tag")
            }
            results = []
            for tag in cmd.tags:
                if tag in refused:
                    results.append(refused[tag])
                    continue
                try:
                    results.append(_apply_one(cmd, worker, tag, now, locked.pop(tag, None)))
                except ActionError as exc:
                    results.append(SpoolResult(tag, exc.status, exc.message))
            outcome = ActionOutcome(
                overall_status(results), results, worker.short, worker.full_name
            )
            if cmd.request_id:
                claim.status = outcome.status
                claim.outcome = outcome.to_json()
                claim.save(update_fields=["status", "outcome"])
            done = [r.tag for r in results if r.ok]
            if done:
                transaction.on_commit(lambda: _after_commit(done))
    except IntegrityError:
        stored = ActionRequest.objects.filter(pk=cmd.request_id).first()
        if stored is None:
            raise
        return _replay(stored, cmd)
    return outcome


def _replay(stored: ActionRequest, cmd: ActionCommand) -> ActionOutcome:
    if stored.fingerprint != cmd.fingerprint():
        raise ActionError(
            400, "Este envío ya se usó para otra acción. Vuelva a empezar.", "request_id_reusado"
        )
    return ActionOutcome.from_request(stored)


def _after_commit(tags: list[str]) -> None:
    kick()
    spools_changed.send(sender=Spool, tags=tags)
