"""Performing actions: one worker, one operation, one or more spools, each on its own.

`perform_action` is the only way a worker's action changes the mirror. What happens to one
spool is spools.services.apply_action (rules, transition, compare-and-set, Event and outbox,
broadcast after commit); this module adds what a request from a tablet needs on top: the
worker's role, up to MAX_SPOOLS spools locked in one fixed order, and idempotency per
`request_id`.

A request that every spool refuses costs no more than a refusal: no write lock, nothing
remembered. The outcomes remembered are forgotten after RETENTION (prune_outcomes).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from occupation.identify import LISTA, PROVEN, pin_required
from occupation.models import ActionRequest
from spools.lifecycle import SESSION_ENDS, Accion, Operacion, Resultado, motivo_label
from spools.models import Spool, SyncState, Worker
from spools.rules import ActionError
from spools.services import (
    ACTIONS,
    Change,
    TransitionContext,
    announce_changes,
    apply_action,
    attach_unions,
    check,
    session_outcome,
)
from spools.workbook.values import format_pd

MAX_SPOOLS = 50
# How long an outcome is remembered for a retry: an offline tablet may resend days later.
RETENTION = timedelta(days=30)
# Outcomes are pruned once the oldest is this much past RETENTION: at most once an hour.
PRUNE_SLACK = timedelta(hours=1)

OK_MESSAGES = {
    Accion.TOMAR: "{tag}: tomado por {worker}.",
    Accion.PAUSAR: "{tag}: pausado.",
    Accion.COMPLETAR: "{tag}: completado.",
    Accion.CANCELAR: "{tag}: cancelado, vuelve a como estaba.",
    Accion.FINALIZAR: "{tag}: finalizado.",
    Resultado.APROBADO: "{tag}: metrología APROBADA.",
    Resultado.RECHAZADO: "{tag}: metrología RECHAZADA ({estado}).",
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
    # N_UNION finished in the session this PAUSAR / COMPLETAR / FINALIZAR ends (one spool);
    # for a METROLOGÍA RECHAZADO, the unions that failed.
    uniones: tuple[int, ...] = ()
    motivo: str = ""  # why: a PAUSAR's or a rejection's reason code (optional)
    # How the tablet identified the worker (occupation.identify): "badge", "pin" or
    # "lista". Not part of the fingerprint: a resend is the same action however it came.
    identificado_por: str = LISTA

    @property
    def step(self) -> str:
        """What is done: the acción, or for METROLOGÍA the resultado."""
        return self.resultado if self.operacion == Operacion.METROLOGIA else self.accion

    def fingerprint(self) -> str:
        fields: list = [self.operacion, self.accion, self.worker_id, self.tags, self.resultado]
        if self.uniones:  # left out when empty: fingerprints stored before unions still match
            fields.append(list(self.uniones))
        if self.motivo:  # likewise
            fields.append({"motivo": self.motivo})
        key = json.dumps(fields, sort_keys=True)
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
    stored: bool = False  # remembered under its request_id (the result step can show it)

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
            stored=True,
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


def precheck(cmd: ActionCommand, worker: Worker) -> dict[str, SpoolResult]:
    """Refusals decided on the spools as they were when the request arrived.

    Read without waiting for any lock, so a refusal is answered at once: a worker pausing
    someone else's spool is told whose it is, even if its occupant is pausing it at the
    same instant. Passing here proves nothing yet; the locked check decides.
    """
    transition = ACTIONS[(cmd.operacion, cmd.step)].transition
    arrived = {s.tag: s for s in Spool.objects.filter(tag__in=cmd.tags, sheet_row__isnull=False)}
    attach_unions(list(arrived.values()))  # TOMAR SOLD and METROLOGÍA read them
    refused: dict[str, SpoolResult] = {}
    for tag in cmd.tags:
        spool = arrived.get(tag)
        if spool is None:
            refused[tag] = SpoolResult(tag, 404, f"No existe el spool {tag}.")
            continue
        try:
            check(spool, transition, worker)
        except ActionError as exc:
            refused[tag] = SpoolResult(tag, exc.status, exc.message)
    return refused


def check_identified(cmd: ActionCommand, worker: Worker) -> None:
    """With ZEUES_WORKER_PIN on, a worker acts only once identified by badge or PIN."""
    if pin_required() and cmd.identificado_por not in PROVEN:
        raise ActionError(
            403,
            f"{worker.short} debe identificarse con su credencial o su PIN. "
            "Vuelva a elegir el trabajador. No se registró nada.",
            "identificacion_requerida",
        )


def _stored(request_id: uuid.UUID | None) -> ActionRequest | None:
    return ActionRequest.objects.filter(pk=request_id).first() if request_id else None


def perform_action(cmd: ActionCommand) -> ActionOutcome:
    """Do the action on each spool independently; idempotent per request_id."""
    stored = _stored(cmd.request_id)
    if stored:
        return _replay(stored, cmd)
    worker = get_worker_for(cmd.operacion, cmd.worker_id)
    check_identified(cmd, worker)
    structure_error = SyncState.get().structure_error
    if structure_error:
        # Nothing is applied (so nothing is remembered): a retry after the fix works.
        return _outcome(worker, [SpoolResult(t, 503, structure_error) for t in cmd.tags])
    refused = precheck(cmd, worker)
    if len(refused) == len(cmd.tags):
        # Nothing to write: no lock, nothing remembered (a retry is judged again, which
        # changes nothing twice). But a double tap whose twin has just committed (so this
        # one found the spool already taken) answers as its twin did.
        stored = _stored(cmd.request_id)
        return _replay(stored, cmd) if stored else _outcome(worker, [refused[t] for t in cmd.tags])
    try:
        outcome = _apply_locked(cmd, worker, refused)
    except IntegrityError:
        stored = _stored(cmd.request_id)
        if stored is None:
            raise
        return _replay(stored, cmd)
    if outcome.stored:  # the table grew: forget what is past keeping
        prune_outcomes()
    return outcome


class _AllRefused(Exception):
    """Every spool was refused under the lock: leave the transaction, keeping nothing."""

    def __init__(self, outcome: ActionOutcome) -> None:
        super().__init__(outcome.status)
        self.outcome = outcome


def _apply_locked(
    cmd: ActionCommand, worker: Worker, refused: dict[str, SpoolResult]
) -> ActionOutcome:
    """The batch under the write lock, its outcome remembered under the request's id."""
    ctx = _context(cmd, worker)
    try:
        with write_turn(), transaction.atomic():
            # Claims the id first: a concurrent duplicate waits here, then replays.
            claim = _claim(cmd)
            outcome = _outcome(worker, _apply_batch(cmd, ctx, refused))
            if not outcome.succeeded:
                # Lost a race (the spool was taken while this request was on its way):
                # rolled back like any refusal, so it commits (and syncs) nothing.
                raise _AllRefused(outcome)
            if claim is not None:
                claim.status = outcome.status
                claim.outcome = outcome.to_json()
                claim.save(update_fields=["status", "outcome"])
                outcome.stored = True
    except _AllRefused as refusal:
        return refusal.outcome
    return outcome


def prune_outcomes(now: datetime | None = None) -> int:
    """Forget the outcomes older than RETENTION; how many. Only once the oldest is
    PRUNE_SLACK past it, so the delete runs at most once an hour, whatever the traffic and
    the number of processes, and the check is one indexed read."""
    now = now or timezone.now()
    old = ActionRequest.objects.filter(created_at__lt=now - RETENTION)
    if not old.filter(created_at__lt=now - RETENTION - PRUNE_SLACK).exists():
        return 0
    with write_turn():
        deleted, _ = old.delete()
    return deleted


def _context(cmd: ActionCommand, worker: Worker) -> TransitionContext:
    """The transition context of the command: a rejection's `uniones` are the unions that
    failed (recorded only), a session end's the unions it registers."""
    rejecting = cmd.operacion == Operacion.METROLOGIA
    return TransitionContext.at(
        worker,
        account=cmd.account,
        request_id=cmd.request_id,
        uniones=() if rejecting else cmd.uniones,
        failed_unions=cmd.uniones if rejecting else (),
        motivo=cmd.motivo,
        identificado_por=cmd.identificado_por,
    )


def _apply_batch(
    cmd: ActionCommand, ctx: TransitionContext, refused: dict[str, SpoolResult]
) -> list[SpoolResult]:
    """Each spool of the command on its own, in its order; one broadcast for the batch."""
    step = ACTIONS[(cmd.operacion, cmd.step)]
    # Lock every spool of the batch up front, in one fixed order: two batches over the
    # same spools in different orders would otherwise deadlock (PostgreSQL).
    to_lock = sorted(t for t in cmd.tags if t not in refused)
    locked = {
        s.tag: s
        for s in Spool.objects.select_for_update()
        .filter(tag__in=to_lock, sheet_row__isnull=False)
        .order_by("tag")
    }
    results: list[SpoolResult] = []
    changes: list[Change] = []
    for tag in cmd.tags:
        if tag in refused:
            results.append(refused[tag])
            continue
        try:
            change = apply_action(step, tag, ctx, locked=locked.pop(tag, None), announce=False)
        except ActionError as exc:
            results.append(SpoolResult(tag, exc.status, exc.message))
            continue
        changes.append(change)
        results.append(SpoolResult(tag, 200, ok_message(cmd, change, ctx.worker)))
    if changes:
        announce_changes([c.spool.tag for c in changes], [c.event.id for c in changes])
    return results


def ok_message(cmd: ActionCommand, change: Change, worker: Worker) -> str:
    """What the tablet says for a spool done: a session end says how it ended (FINALIZAR
    decides) and what unions it registered."""
    key = cmd.step
    if cmd.accion in SESSION_ENDS and cmd.operacion in (Operacion.ARM, Operacion.SOLD):
        key = session_outcome(change)[1] or key
    message = OK_MESSAGES[key].format(
        tag=change.spool.tag, worker=worker.short, estado=change.spool.estado_detalle
    )
    n = len(change.unions)
    if n:
        unions = "1 unión registrada" if n == 1 else f"{n} uniones registradas"
        message += f" {unions} ({format_pd(change.pulgadas)} PD)."
    if cmd.motivo:
        message += f" Motivo: {motivo_label(cmd.motivo)}."
    if cmd.operacion == Operacion.METROLOGIA and cmd.uniones:
        message += " Uniones con falla: " + ", ".join(str(n) for n in cmd.uniones) + "."
    return message


def _claim(cmd: ActionCommand) -> ActionRequest | None:
    """Take the request's id (IntegrityError if a duplicate took it first)."""
    if not cmd.request_id:
        return None
    return ActionRequest.objects.create(
        request_id=cmd.request_id,
        account=cmd.account,
        fingerprint=cmd.fingerprint(),
        status=0,
    )


def _outcome(worker: Worker, results: list[SpoolResult]) -> ActionOutcome:
    return ActionOutcome(overall_status(results), results, worker.short, worker.full_name)


def _replay(stored: ActionRequest, cmd: ActionCommand) -> ActionOutcome:
    if stored.fingerprint != cmd.fingerprint():
        raise ActionError(
            400, "Este envío ya se usó para otra acción. Vuelva a empezar.", "request_id_reusado"
        )
    return ActionOutcome.from_request(stored)
