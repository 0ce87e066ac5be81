"""Supervisor overrides (domain.md "Supervisor overrides"): Desbloquear and Liberar ocupación.

Each is a lifecycle transition done for a logged-in account instead of a worker, and goes
the way every action goes: the row locked, the transition's rules checked, a new version
saved with a compare-and-set, ONE `SUPERVISOR_OVERRIDE` event and its outbox entry in the
same transaction, then the workbook flush and the live broadcast after commit. The
permission is checked here, not only by the admin that offers the buttons.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from spools.lifecycle import Operacion, ReparacionState
from spools.models import TRANSITION_FIELDS, Spool, SyncState, Worker
from spools.rules import ActionError, check_transition
from spools.signals import spools_changed
from spools.workbook.columns import Col
from spools.workbook.outbox import record_change
from spools.workbook.sync import kick

OVERRIDE_PERMISSION = "spools.override_spool"
DESBLOQUEAR = "DESBLOQUEAR"
LIBERAR = "LIBERAR"

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


def check_permission(user) -> None:
    if not user.has_perm(OVERRIDE_PERMISSION):
        raise ActionError(
            403,
            "Su cuenta no tiene permiso para desbloquear ni liberar spools.",
            "sin_permiso",
        )


def desbloquear(spool_tag: str, user) -> OverrideResult:
    """BLOQUEADO → RECHAZADO (Ciclo 0/3): the spool is ready for repair again."""
    return _override(spool_tag, user, DESBLOQUEAR)


def liberar(spool_tag: str, user) -> OverrideResult:
    """Release a spool stuck occupied, as if its occupant had paused."""
    return _override(spool_tag, user, LIBERAR)


def preview(spool: Spool, tipo: str) -> OverridePreview:
    """The override tried on a copy of the spool (nothing is saved, no lock is taken)."""
    trial = copy.copy(spool)
    try:
        operacion = _apply(trial, tipo)
    except ActionError as exc:
        return OverridePreview(spool.tag, False, spool.estado_detalle, exc.message)
    trial.refresh_estado_detalle()
    return OverridePreview(
        spool.tag,
        True,
        spool.estado_detalle,
        trial.estado_detalle,
        occupant=spool.ocupado_por,
        operacion=operacion,
    )


def _apply(spool: Spool, tipo: str) -> str:
    """Run the override's transition on the in-memory spool; returns the Operacion."""
    if tipo == DESBLOQUEAR:
        check_transition(spool, "desbloquear")
        spool.desbloquear()
        return Operacion.REPARACION
    if tipo != LIBERAR:
        raise ValueError(tipo)
    if not spool.is_occupied:
        raise ActionError(400, f"El spool {spool.tag} no está ocupado: nada que liberar.", "libre")
    operacion = spool.occupied_operation
    method_name = RELEASE_TRANSITIONS.get(operacion)
    if method_name and spool.occupant_id is not None:
        # The occupant pauses; a worker gone from Trabajadores still has their Id.
        spool.actor = Worker.objects.filter(pk=spool.occupant_id).first() or Worker(
            id=spool.occupant_id
        )
        check_transition(spool, method_name)
        getattr(spool, method_name)()
    else:
        # The row contradicts itself (Ocupado_Por unreadable, or set on a spool with no
        # work in progress): clear the occupation and read the states from the columns.
        spool._release()
        spool.rederive_states()
    return operacion


def _override(tag: str, user, tipo: str) -> OverrideResult:
    check_permission(user)
    structure_error = SyncState.get().structure_error
    if structure_error:
        raise ActionError(503, structure_error, "estructura")
    account = user.get_username()
    now = timezone.now()
    with transaction.atomic():
        spool = Spool.objects.select_for_update().filter(tag=tag, sheet_row__isnull=False).first()
        if spool is None:
            raise ActionError(404, f"No existe el spool {tag}.", "spool_desconocido")
        before = spool.app_cells()
        old_version = spool.version
        occupant = spool.ocupado_por
        operacion = _apply(spool, tipo)
        spool.refresh_estado_detalle()
        spool.version = str(uuid.uuid4())
        after = spool.app_cells()
        meta: dict = {
            "tipo": tipo,
            "cuenta": account,
            "antes": {c: v for c, v in before.items() if c != Col.VERSION and after[c] != v},
            "despues": {c: v for c, v in after.items() if c != Col.VERSION and before[c] != v},
        }
        if tipo == LIBERAR:
            meta["ocupante"] = occupant
        if spool.reparacion != ReparacionState.NINGUNA:
            meta["ciclo"] = spool.ciclo
        saved = Spool.objects.filter(pk=spool.pk, version=old_version).update(
            **{f: getattr(spool, f) for f in TRANSITION_FIELDS}, updated_at=now
        )
        if not saved:
            raise ActionError(409, f"Otro cambio del spool {tag} llegó primero.", "carrera")
        event = record_change(
            spool,
            before,
            evento_tipo="SUPERVISOR_OVERRIDE",
            operacion=operacion,
            accion="OVERRIDE",
            worker_id=0,
            worker_nombre=f"ADMIN:{account}",
            meta=meta,
            account=account,
            now=now,
        )
        transaction.on_commit(lambda: _after_commit(tag, event.id))
    if tipo == DESBLOQUEAR:
        message = f"{tag}: desbloqueado, {spool.estado_detalle}."
    else:
        message = f"{tag}: liberado ({occupant} ya no lo ocupa); {spool.estado_detalle}."
    return OverrideResult(tag, message, event.id)


def _after_commit(tag: str, event_id: uuid.UUID) -> None:
    kick()
    spools_changed.send(sender=Spool, tags=[tag], events=[event_id])
