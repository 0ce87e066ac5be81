"""Applying a lifecycle transition: the one way a spool of the mirror changes state.

Two layers:

- `run_transition`, the pure core: on an in-memory Spool, check the transition's rules
  (spools.rules, in the order of the domain table), run the django-fsm-2 transition and
  rewrite Estado_Detalle. No database: the demo plays whole histories with it.
- `apply_transition`, the database service around it: the row locked (or the caller's
  locked row reused), the core, a new `version` saved with a compare-and-set, ONE Event and
  its outbox entry in the same transaction, then the workbook flush and the live broadcast
  after commit.

A worker's action (`ACTIONS`, `apply_action`) and a supervisor override (spools.overrides)
are both this service; each only says what its Metadata row holds (an `Audit`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from spools.lifecycle import (
    OPENING_EVENTS,
    Accion,
    EventoTipo,
    Operacion,
    ReparacionState,
    Resultado,
)
from spools.models import TRANSITION_FIELDS, Event, Spool, Worker
from spools.rules import ActionError, check_transition, undoes_tomar
from spools.signals import spools_changed
from spools.workbook.columns import Col
from spools.workbook.outbox import record_change
from spools.workbook.sync import kick


@dataclass(frozen=True)
class Snapshot:
    """The app-owned cells as they were before the TOMAR that a CANCELAR undoes."""

    cells: dict[str, object]
    # False when the TOMAR predates the app (no snapshot in its Metadata row): then only
    # the occupation is undone and Estado_Detalle is rebuilt.
    exact: bool = True


@dataclass(frozen=True)
class TransitionContext:
    """Everything a transition needs besides the spool: every transition takes one."""

    worker: Worker | None  # who acts (the rules check them); None for a supervisor
    now: datetime
    today: date  # the plant's date at `now`
    account: str = ""  # the logged-in account, for the Metadata row
    request_id: uuid.UUID | None = None
    snapshot: Snapshot | None = None  # what a CANCELAR of ARM / SOLD restores

    @classmethod
    def at(
        cls, worker: Worker | None, now: datetime | None = None, **kwargs: Any
    ) -> TransitionContext:
        """A context at `now` (default: this instant), its plant date worked out."""
        now = now or timezone.now()
        return cls(worker, now, timezone.localdate(now), **kwargs)


@dataclass
class Change:
    """What a transition did to a spool."""

    spool: Spool  # holding its new state
    transition: str
    before: dict[str, str]  # the app-owned cells before
    event: Event | None = None  # its Metadata row, once saved

    def diff(self) -> tuple[dict[str, str], dict[str, str]]:
        """(before, after) of the app-owned cells that changed, `version` left out."""
        after = self.spool.app_cells()
        changed = [c for c, v in self.before.items() if c != Col.VERSION and after[c] != v]
        return {c: self.before[c] for c in changed}, {c: after[c] for c in changed}


@dataclass(frozen=True)
class Audit:
    """A change's Metadata row, but for its ID and Timestamp (domain.md "Metadata events")."""

    evento_tipo: str
    operacion: str
    accion: str
    worker_id: int | None
    worker_nombre: str
    meta: dict[str, Any]


# Says what a change's Metadata row holds, once the transition has run.
Auditor = Callable[[Change, TransitionContext], Audit]


# --- the pure core ---------------------------------------------------------------------


def check(spool: Spool, transition: str, worker: Worker | None) -> None:
    """Raise the ActionError of the first rule of the transition that fails for `worker`."""
    spool.actor = worker
    check_transition(spool, transition)


def run_transition(spool: Spool, transition: str, ctx: TransitionContext) -> Change:
    """Check and run a transition on the in-memory spool, then rewrite Estado_Detalle.

    Touches no database and leaves `version` alone. A refusal (ActionError) is raised
    before anything changes.
    """
    check(spool, transition, ctx.worker)
    change = Change(spool, transition, spool.app_cells())
    getattr(spool, transition)(ctx)
    # An exact CANCELAR put every cell back, Estado_Detalle's text included.
    restored = ctx.snapshot is not None and ctx.snapshot.exact
    if not (restored and undoes_tomar(type(spool), transition)):
        spool.refresh_estado_detalle()
    return change


# --- in the database -------------------------------------------------------------------


def lock_spool(tag: str) -> Spool:
    """The spool's row, locked until the transaction ends (404 when the mirror has none)."""
    spool = Spool.objects.select_for_update().filter(tag=tag, sheet_row__isnull=False).first()
    if spool is None:
        raise ActionError(404, f"No existe el spool {tag}.", "spool_desconocido")
    return spool


def apply_transition(
    tag: str,
    transition: str,
    ctx: TransitionContext,
    audit: Auditor,
    *,
    locked: Spool | None = None,
    announce: bool = True,
) -> Change:
    """Run a transition on the spool and commit it with its Metadata row, in a savepoint.

    `locked`: the row as the caller locked it (saves a query). `announce=False` leaves the
    after-commit flush and broadcast to the caller (a batch announces once).
    """
    with transaction.atomic():
        spool = locked or lock_spool(tag)
        operacion = undoes_tomar(Spool, transition)
        if operacion and ctx.snapshot is None:
            ctx = replace(ctx, snapshot=snapshot_before_tomar(spool, operacion))
        change = run_transition(spool, transition, ctx)
        change.event = _save(change, ctx, audit)
        if announce:
            announce_changes([spool.tag], [change.event.id])
    return change


def _save(change: Change, ctx: TransitionContext, audit: Auditor) -> Event:
    """A new version with a compare-and-set on the old one, then the Event and outbox."""
    spool = change.spool
    old_version, spool.version = spool.version, str(uuid.uuid4())
    saved = Spool.objects.filter(pk=spool.pk, version=old_version).update(
        **{f: getattr(spool, f) for f in TRANSITION_FIELDS}, updated_at=ctx.now
    )
    if not saved:
        raise ActionError(409, f"Otro cambio del spool {spool.tag} llegó primero.", "carrera")
    row = audit(change, ctx)
    return record_change(
        spool,
        change.before,
        evento_tipo=row.evento_tipo,
        operacion=row.operacion,
        accion=row.accion,
        worker_id=row.worker_id,
        worker_nombre=row.worker_nombre,
        meta=row.meta,
        account=ctx.account,
        now=ctx.now,
    )


def announce_changes(tags: list[str], events: list[uuid.UUID]) -> None:
    """Once the transaction commits (never before): flush to the workbook, tell the screens."""

    def after_commit() -> None:
        kick()
        spools_changed.send(sender=Spool, tags=tags, events=events)

    transaction.on_commit(after_commit)


def snapshot_before_tomar(spool: Spool, operacion: str) -> Snapshot:
    """The app-owned cells as they were before the TOMAR that CANCELAR undoes.

    Not exact when the TOMAR predates the app (no snapshot in its Metadata row); then only
    the occupation is undone and Estado_Detalle is rebuilt.
    """
    tomar = (
        Event.objects.filter(tag=spool.tag, evento_tipo__in=OPENING_EVENTS, operacion=operacion)
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
        return Snapshot(tomar.metadata_json["antes"])
    cells = spool.app_cells()
    cells.update({Col.OCUPADO_POR: "", Col.FECHA_OCUPACION: "", Col.ESTADO_DETALLE: ""})
    return Snapshot(cells, exact=False)


# --- a worker's actions ----------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """A worker's action: the transition it runs and how its Metadata row names it."""

    transition: str
    operacion: str
    accion: str
    evento_tipo: str
    resultado: str = ""  # METROLOGÍA's verdict, chosen with acción COMPLETAR

    @property
    def key(self) -> tuple[str, str]:
        """(operación, acción), or for METROLOGÍA (operación, resultado)."""
        return (self.operacion, self.resultado or self.accion)


_O, _A, _E = Operacion, Accion, EventoTipo
ACTIONS: dict[tuple[str, str], Step] = {
    s.key: s
    for s in (
        Step("tomar_arm", _O.ARM, _A.TOMAR, _E.TOMAR_SPOOL),
        Step("pausar_arm", _O.ARM, _A.PAUSAR, _E.PAUSAR_SPOOL),
        Step("completar_arm", _O.ARM, _A.COMPLETAR, _E.COMPLETAR_ARM),
        Step("cancelar_arm", _O.ARM, _A.CANCELAR, _E.CANCELAR_ARM),
        Step("tomar_sold", _O.SOLD, _A.TOMAR, _E.TOMAR_SPOOL),
        Step("pausar_sold", _O.SOLD, _A.PAUSAR, _E.PAUSAR_SPOOL),
        Step("completar_sold", _O.SOLD, _A.COMPLETAR, _E.COMPLETAR_SOLD),
        Step("cancelar_sold", _O.SOLD, _A.CANCELAR, _E.CANCELAR_SOLD),
        Step("aprobar", _O.METROLOGIA, _A.COMPLETAR, _E.COMPLETAR_METROLOGIA, Resultado.APROBADO),
        Step("rechazar", _O.METROLOGIA, _A.COMPLETAR, _E.COMPLETAR_METROLOGIA, Resultado.RECHAZADO),
        Step("tomar_reparacion", _O.REPARACION, _A.TOMAR, _E.TOMAR_REPARACION),
        Step("pausar_reparacion", _O.REPARACION, _A.PAUSAR, _E.PAUSAR_REPARACION),
        Step("completar_reparacion", _O.REPARACION, _A.COMPLETAR, _E.COMPLETAR_REPARACION),
        Step("cancelar_reparacion", _O.REPARACION, _A.CANCELAR, _E.CANCELAR_REPARACION),
    )
}


def action_audit(step: Step, change: Change, ctx: TransitionContext) -> Audit:
    """The Metadata row of a worker's action."""
    spool = change.spool
    meta: dict[str, Any] = {"cuenta": ctx.account}
    if ctx.request_id:
        meta["request_id"] = str(ctx.request_id)
    if step.evento_tipo in OPENING_EVENTS:
        meta["antes"] = change.before  # what CANCELAR restores
    if step.operacion == Operacion.METROLOGIA:
        meta.update(resultado=step.resultado, ciclo=spool.ciclo)
    elif spool.reparacion != ReparacionState.NINGUNA:
        meta["ciclo"] = spool.ciclo
    worker = ctx.worker
    return Audit(step.evento_tipo, step.operacion, step.accion, worker.id, worker.short, meta)


def apply_action(
    step: Step,
    tag: str,
    ctx: TransitionContext,
    *,
    locked: Spool | None = None,
    announce: bool = True,
) -> Change:
    """A worker's action on one spool (see apply_transition)."""
    return apply_transition(
        tag, step.transition, ctx, partial(action_audit, step), locked=locked, announce=announce
    )
