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

Unions (uniones.md): a session end (PAUSAR, COMPLETAR, FINALIZAR of ARM / SOLD) registers
the unions named in `TransitionContext.uniones`. The core reads the spool's unions from
`spool.unions` (apply_transition loads them locked; the demo attaches its own list); the
selection is checked by rules.check_union_selection, the transition registers them and
decides the completion on all of them, and apply_transition saves the changed Union rows,
the counters, the spool's event and one UNION_*_REGISTRADA row per union together.
`union_choice` is what the tablet's union step shows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
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
    WorkState,
)
from spools.models import TRANSITION_FIELDS, UNION_COUNTER_FIELDS, Event, Spool, Union, Worker
from spools.rules import (
    ActionError,
    check_failed_unions,
    check_transition,
    check_union_selection,
    field_of,
    session_end,
    undoes_tomar,
)
from spools.signals import spools_changed
from spools.workbook.columns import Col
from spools.workbook.outbox import record_change, union_write
from spools.workbook.sync import kick
from spools.workbook.values import format_datetime


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
    # N_UNION of the unions finished in the session that a PAUSAR / COMPLETAR / FINALIZAR
    # of ARM / SOLD ends (uniones.md); empty for any other transition.
    uniones: tuple[int, ...] = ()
    # Why: a rejection's or a pause's reason code (checked against the plant's lists by
    # the form), stored as `motivo` in the event's Metadata_JSON; "" when not given.
    motivo: str = ""
    # N_UNION of the unions a METROLOGÍA rejection names as failed: recorded in the event,
    # nothing registered on them (unlike `uniones`).
    failed_unions: tuple[int, ...] = ()
    # How the tablet knew the worker: "badge", "pin" or "lista" (issue 15); written to the
    # event's Metadata_JSON as `identificado_por`; "" when no tablet chose (the demo).
    identificado_por: str = ""

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
    unions: list[Union] = field(default_factory=list)  # the unions it registered

    @property
    def pulgadas(self) -> Decimal:
        """Pulgadas-diámetro of the unions registered, rounded as stored."""
        return round(sum((u.dn_union or Decimal(0) for u in self.unions), Decimal(0)), 2)

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
    check_union_selection(spool, transition, ctx.uniones)
    check_failed_unions(spool, transition, ctx.failed_unions)
    change = Change(spool, transition, spool.app_cells())
    getattr(spool, transition)(ctx)
    if spool.unions is not None:  # loaded: the counters follow them
        spool.count_unions(spool.unions)
        selected = set(ctx.uniones)
        change.unions = [u for u in spool.unions if u.n_union in selected]
    # An exact CANCELAR put every cell back, Estado_Detalle's text included.
    restored = ctx.snapshot is not None and ctx.snapshot.exact
    if not (restored and undoes_tomar(type(spool), transition)):
        spool.refresh_estado_detalle()
    return change


# --- unions ----------------------------------------------------------------------------


def load_unions(spool: Spool, *, lock: bool = False) -> list[Union]:
    """Read the spool's Union rows from the mirror (locked with `lock`) and attach them."""
    qs = Union.objects.filter(tag=spool.tag).order_by("n_union")
    spool.unions = list(qs.select_for_update() if lock else qs)
    return spool.unions


def attach_unions(spools: list[Spool]) -> None:
    """Attach their unions to many spools in one query (lists checking rules on each);
    the ones whose counters say they have none get an empty list."""
    tags = [s.tag for s in spools if s.uniones_total > 0]
    by_tag: dict[str, list[Union]] = {}
    for union in Union.objects.filter(tag__in=tags).order_by("n_union") if tags else ():
        by_tag.setdefault(union.tag, []).append(union)
    for spool in spools:
        spool.unions = by_tag.get(spool.tag, [])


@dataclass(frozen=True)
class UnionChoice:
    """What the tablet's union step shows for a spool and ARM / SOLD: the unions that count
    (in N_UNION order) and those this session may register."""

    operacion: str
    counting: list[Union]
    selectable: list[Union]

    @property
    def done(self) -> list[Union]:
        """Already done (shown struck through, with their worker)."""
        return [u for u in self.counting if u.done_for(self.operacion)]

    @property
    def remaining(self) -> list[int]:
        """N_UNION of the counting unions still to do: what COMPLETAR pre-selects."""
        return [u.n_union for u in self.counting if not u.done_for(self.operacion)]


def union_choice(spool: Spool, operacion: str) -> UnionChoice:
    """The unions a session of `operacion` (ARM, SOLD) on this spool may register.

    Uses the unions attached to the spool (load_unions reads them when none are).
    """
    unions = spool.unions if spool.unions is not None else load_unions(spool)
    return UnionChoice(
        operacion,
        [u for u in unions if u.counts_for(operacion)],
        [u for u in unions if u.selectable_for(operacion)],
    )


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
        load_unions(spool, lock=True)
        operacion = undoes_tomar(Spool, transition)
        if operacion and ctx.snapshot is None:
            ctx = replace(ctx, snapshot=snapshot_before_tomar(spool, operacion))
        change = run_transition(spool, transition, ctx)
        change.event = _save(change, ctx, audit)
        if announce:
            announce_changes([spool.tag], [change.event.id])
    return change


def _save(change: Change, ctx: TransitionContext, audit: Auditor) -> Event:
    """A new version with a compare-and-set on the old one (the spool's and each registered
    union's), then the Event and outbox, then one Metadata row per union registered."""
    spool = change.spool
    old_version, spool.version = spool.version, str(uuid.uuid4())
    fields = (*TRANSITION_FIELDS, *UNION_COUNTER_FIELDS)
    saved = Spool.objects.filter(pk=spool.pk, version=old_version).update(
        **{f: getattr(spool, f) for f in fields}, updated_at=ctx.now
    )
    if not saved:
        raise ActionError(409, f"Otro cambio del spool {spool.tag} llegó primero.", "carrera")
    for union in change.unions:
        _save_union(union, ctx)
    row = audit(change, ctx)
    event = record_change(
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
        unions=[union_write(u) for u in change.unions],
    )
    for union in change.unions:
        _record_union(change, union, row, ctx)
    return event


def _save_union(union: Union, ctx: TransitionContext) -> None:
    """A registered union's new cells and version, compare-and-set on the old version."""
    old_version, union.version = union.version, str(uuid.uuid4())
    saved = Union.objects.filter(pk=union.pk, version=old_version).update(
        **{f: getattr(union, f) for f in Union.APP_FIELDS},
        version=union.version,
        updated_at=ctx.now,
    )
    if not saved:
        raise ActionError(
            409, f"Otro cambio de la unión {union.n_union} de {union.tag} llegó primero.", "carrera"
        )


def _record_union(change: Change, union: Union, row: Audit, ctx: TransitionContext) -> Event:
    """The union's own Metadata row (UNION_ARM_REGISTRADA / UNION_SOLD_REGISTRADA)."""
    operacion, _ = session_end(Spool, change.transition)
    arm = operacion == Operacion.ARM
    meta: dict[str, Any] = {
        "n_union": union.n_union,
        "dn_union": float(union.dn_union) if union.dn_union is not None else None,
        "tipo_union": union.tipo_union,
        "inicio": format_datetime(union.arm_inicio if arm else union.sol_inicio),
        "fin": format_datetime(union.fin_for(operacion)),
        "cuenta": ctx.account,
    }
    if ctx.request_id:
        meta["request_id"] = str(ctx.request_id)
    return record_change(
        None,
        None,
        tag=change.spool.tag,
        evento_tipo=EventoTipo.UNION_ARM_REGISTRADA if arm else EventoTipo.UNION_SOLD_REGISTRADA,
        operacion=operacion,
        accion=row.accion,
        worker_id=row.worker_id,
        worker_nombre=row.worker_nombre,
        meta=meta,
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
        Step("finalizar_arm", _O.ARM, _A.FINALIZAR, _E.COMPLETAR_ARM),
        Step("tomar_sold", _O.SOLD, _A.TOMAR, _E.TOMAR_SPOOL),
        Step("pausar_sold", _O.SOLD, _A.PAUSAR, _E.PAUSAR_SPOOL),
        Step("completar_sold", _O.SOLD, _A.COMPLETAR, _E.COMPLETAR_SOLD),
        Step("cancelar_sold", _O.SOLD, _A.CANCELAR, _E.CANCELAR_SOLD),
        Step("finalizar_sold", _O.SOLD, _A.FINALIZAR, _E.COMPLETAR_SOLD),
        Step("aprobar", _O.METROLOGIA, _A.COMPLETAR, _E.COMPLETAR_METROLOGIA, Resultado.APROBADO),
        Step("rechazar", _O.METROLOGIA, _A.COMPLETAR, _E.COMPLETAR_METROLOGIA, Resultado.RECHAZADO),
        Step("tomar_reparacion", _O.REPARACION, _A.TOMAR, _E.TOMAR_REPARACION),
        Step("pausar_reparacion", _O.REPARACION, _A.PAUSAR, _E.PAUSAR_REPARACION),
        Step("completar_reparacion", _O.REPARACION, _A.COMPLETAR, _E.COMPLETAR_REPARACION),
        Step("cancelar_reparacion", _O.REPARACION, _A.CANCELAR, _E.CANCELAR_REPARACION),
    )
}


_COMPLETES = {Operacion.ARM: EventoTipo.COMPLETAR_ARM, Operacion.SOLD: EventoTipo.COMPLETAR_SOLD}


def session_outcome(change: Change) -> tuple[str, str]:
    """(Evento_Tipo, Accion) a session end wrote: COMPLETAR_ARM / COMPLETAR_SOLD when the
    operation is now complete, else PAUSAR_SPOOL (FINALIZAR, or the PAUSAR that registered
    the last union, decide it here). ("", "") for any other transition."""
    operacion, _ = session_end(Spool, change.transition)
    if not operacion:
        return "", ""
    if getattr(change.spool, field_of(Spool, change.transition)) == WorkState.COMPLETADO:
        return _COMPLETES[operacion], Accion.COMPLETAR
    return EventoTipo.PAUSAR_SPOOL, Accion.PAUSAR


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
        if ctx.failed_unions:  # the unions that failed (supervision reads this key)
            meta["uniones"] = sorted(ctx.failed_unions)
    elif spool.reparacion != ReparacionState.NINGUNA:
        meta["ciclo"] = spool.ciclo
    if ctx.motivo:  # why it was rejected or paused; absent when the worker skipped it
        meta["motivo"] = ctx.motivo
    if ctx.identificado_por:
        meta["identificado_por"] = ctx.identificado_por
    evento_tipo, accion = session_outcome(change)
    if not evento_tipo:
        evento_tipo, accion = step.evento_tipo, step.accion
    else:
        if accion != step.accion:
            meta["accion_solicitada"] = step.accion  # FINALIZAR, or a PAUSAR that completed
        if spool.unions:  # a spool with unions: what this session registered
            meta["uniones"] = sorted(u.n_union for u in change.unions)
            meta["pulgadas"] = float(change.pulgadas)
    worker = ctx.worker
    return Audit(evento_tipo, step.operacion, accion, worker.id, worker.short, meta)


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
