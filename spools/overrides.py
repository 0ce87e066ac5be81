"""Supervisor overrides (domain.md "Supervisor overrides"): Desbloquear and Liberar ocupación.

Each is a lifecycle transition done for a logged-in account instead of a worker, applied by
spools.services like every action (row locked, rules, compare-and-set, ONE event and its
outbox entry, flush and broadcast after commit). What is theirs: the permission, checked
here and not only by the admin that offers the buttons, and their `SUPERVISOR_OVERRIDE`
Metadata row.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from functools import partial

from django.db import transaction
from django.utils import timezone

from spools.lifecycle import (
    ACCION_OVERRIDE,
    EventoTipo,
    Operacion,
    OverrideTipo,
    ReparacionState,
)
from spools.models import Spool, SyncState, Worker
from spools.rules import ActionError
from spools.services import (
    Audit,
    Change,
    TransitionContext,
    apply_transition,
    lock_spool,
    run_transition,
)
from spools.workbook.columns import Col

# The one permission both overrides need (the admin offers them only with it, too).
OVERRIDE_PERMISSION = "spools.override_spool"
DESBLOQUEAR = OverrideTipo.DESBLOQUEAR
LIBERAR = OverrideTipo.LIBERAR

# The occupied operation → the PAUSAR that releases it "as if its occupant had paused".
RELEASE_TRANSITIONS = {
    Operacion.ARM: "pausar_arm",
    Operacion.SOLD: "pausar_sold",
    Operacion.REPARACION: "pausar_reparacion",
}


@dataclass(frozen=True)
class OverrideResult:
    tag: str
    message: str
    event_id: uuid.UUID


@dataclass(frozen=True)
class OverridePreview:
    """What an override would do to a spool now (for the confirmation page)."""

    tag: str
    applies: bool
    before: str  # Estado_Detalle now
    after: str  # Estado_Detalle afterwards, or why it does not apply
    occupant: str = ""
    operacion: str = ""


def supervisor_nombre(account: str) -> str:
    """Worker_Nombre of a supervisor's Metadata row (domain.md: `ADMIN:<username>`)."""
    return f"ADMIN:{account}"


def check_permission(user) -> None:
    if not user.has_perm(OVERRIDE_PERMISSION):
        raise ActionError(
            403,
            "Su cuenta no tiene permiso para desbloquear ni liberar spools.",
            "sin_permiso",
        )


def desbloquear(spool_tag: str, user) -> OverrideResult:
    """BLOQUEADO → RECHAZADO (Ciclo 0/L): the spool is ready for repair again."""
    return _override(spool_tag, user, DESBLOQUEAR)


def liberar(spool_tag: str, user) -> OverrideResult:
    """Release a spool stuck occupied, as if its occupant had paused."""
    return _override(spool_tag, user, LIBERAR)


def preview(spool: Spool, tipo: str) -> OverridePreview:
    """The override tried on a copy of the spool (nothing is saved, no lock is taken)."""
    trial = copy.copy(spool)
    try:
        transition, operacion, worker = _plan(trial, tipo)
        run_transition(trial, transition, TransitionContext.at(worker))
    except ActionError as exc:
        return OverridePreview(spool.tag, False, spool.estado_detalle, exc.message)
    return OverridePreview(
        spool.tag,
        True,
        spool.estado_detalle,
        trial.estado_detalle,
        occupant=spool.ocupado_por,
        operacion=operacion,
    )


def _plan(spool: Spool, tipo: str) -> tuple[str, str, Worker | None]:
    """The transition an override runs on the spool as it is now, the Operacion its
    Metadata row names, and the worker it acts as."""
    if tipo == DESBLOQUEAR:
        return "desbloquear", Operacion.REPARACION, None
    if tipo != LIBERAR:
        raise ValueError(tipo)
    if not spool.is_occupied:
        raise ActionError(400, f"El spool {spool.tag} no está ocupado: nada que liberar.", "libre")
    operacion = spool.occupied_operation
    pausar = RELEASE_TRANSITIONS.get(operacion)
    if pausar and spool.occupant_id is not None:
        # The occupant pauses; a worker gone from Trabajadores still has their Id.
        occupant = Worker.objects.filter(pk=spool.occupant_id).first()
        return pausar, operacion, occupant or Worker(id=spool.occupant_id)
    return "forzar_liberacion", operacion, None


def _audit(tipo: str, operacion: str, change: Change, ctx: TransitionContext) -> Audit:
    """The SUPERVISOR_OVERRIDE row: the account, and the cells before and after."""
    antes, despues = change.diff()
    meta: dict = {"tipo": tipo, "cuenta": ctx.account, "antes": antes, "despues": despues}
    if tipo == LIBERAR:
        meta["ocupante"] = change.before[Col.OCUPADO_POR]
    if change.spool.reparacion != ReparacionState.NINGUNA:
        meta["ciclo"] = change.spool.ciclo
    return Audit(
        EventoTipo.SUPERVISOR_OVERRIDE,
        operacion,
        ACCION_OVERRIDE,
        0,
        supervisor_nombre(ctx.account),
        meta,
    )


def _override(tag: str, user, tipo: str) -> OverrideResult:
    check_permission(user)
    structure_error = SyncState.get().structure_error
    if structure_error:
        raise ActionError(503, structure_error, "estructura")
    account, now = user.get_username(), timezone.now()
    with transaction.atomic():
        spool = lock_spool(tag)
        transition, operacion, worker = _plan(spool, tipo)  # decided on the locked row
        ctx = TransitionContext.at(worker, now, account=account)
        change = apply_transition(
            tag, transition, ctx, partial(_audit, tipo, operacion), locked=spool
        )
    if tipo == DESBLOQUEAR:
        message = f"{tag}: desbloqueado, {spool.estado_detalle}."
    else:
        occupant = change.before[Col.OCUPADO_POR]
        message = f"{tag}: liberado ({occupant} ya no lo ocupa); {spool.estado_detalle}."
    return OverrideResult(tag, message, change.event.id)
