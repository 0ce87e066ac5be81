"""What the tablet shows: the workers for an operation and the spools an action can take.

The spool lists are not a second copy of the rules: the database narrows the candidates to
the transition's own source states (and, for PAUSAR / COMPLETAR / CANCELAR, to the
worker's spools), then each candidate is checked with the transition's own rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, QuerySet

from spools import rules
from spools.lifecycle import IN_PROGRESS, Accion, Operacion, ReparacionState, Resultado
from spools.models import ALLOWED_ROLES, Spool, Worker
from spools.rules import ActionError
from spools.services import ACTIONS, attach_unions, check

LIST_LIMIT = 200  # longer lists ask for a search (a 10,000-row list helps nobody)
ACCIONES = [Accion.TOMAR, Accion.PAUSAR, Accion.COMPLETAR, Accion.CANCELAR]


def step_of(operacion: str, accion: str) -> str:
    """The ACTIONS key: METROLOGÍA's choice is made later (APROBADO/RECHAZADO)."""
    return Resultado.APROBADO if operacion == Operacion.METROLOGIA else accion


def transition_for(operacion: str, accion: str) -> str:
    return ACTIONS[(operacion, step_of(operacion, accion))].transition


def workers_for(operacion: str) -> QuerySet[Worker]:
    """Active workers with an active role allowed for the operation (REPARACIÓN: any)."""
    qs = Worker.objects.filter(activo=True)
    allowed = ALLOWED_ROLES[Operacion(operacion)]
    if allowed is not None:
        qs = qs.filter(roles__rol__in=allowed, roles__activo=True).distinct()
    return qs.order_by("nombre", "apellido")


def occupied_counts(operacion: str) -> dict[int, int]:
    """How many spools each worker occupies in this operation (for skipping steps)."""
    if operacion == Operacion.METROLOGIA:
        return {}  # instant: nobody occupies a spool for it
    field = rules.field_of(Spool, transition_for(operacion, Accion.PAUSAR))
    rows = (
        Spool.objects.filter(**{field: IN_PROGRESS[field]}, occupant_id__isnull=False)
        .values("occupant_id")
        .annotate(n=Count("id"))
    )
    return {r["occupant_id"]: r["n"] for r in rows}


def _candidates(transition: str, worker: Worker) -> QuerySet[Spool]:
    sources = rules.source_states(Spool, transition)
    field = rules.field_of(Spool, transition)
    qs = Spool.objects.filter(sheet_row__isnull=False, **{f"{field}__in": sources})
    if rules.requires(Spool, transition, rules.BY_ACTOR):
        qs = qs.filter(occupant_id=worker.id)  # only the worker's own spools
    return qs


@dataclass
class SpoolList:
    spools: list[Spool]  # selectable, at most LIST_LIMIT
    total: int  # selectable found (LIST_LIMIT + 1 means "more than LIST_LIMIT")
    blocked: list[Spool]  # shown in red with a lock, never selectable
    query: str = ""

    @property
    def truncated(self) -> bool:
        return self.total > len(self.spools)

    @property
    def limit(self) -> int:
        return LIST_LIMIT


def eligible(
    operacion: str,
    accion: str,
    worker: Worker,
    query: str = "",
    tags: list[str] | None = None,
    limit: int | None = None,
) -> list[Spool]:
    """The spools the action is possible on right now for this worker (the first `limit`)."""
    transition = transition_for(operacion, accion)
    qs = _candidates(transition, worker).order_by("tag")
    if query:
        qs = qs.filter(tag__icontains=query.strip())
    if tags is not None:
        qs = qs.filter(tag__in=tags)
    result = []
    # Stream the candidates: a 200-row page of a 10,000-spool floor stops reading early.
    for chunk in _chunks(qs.iterator(chunk_size=250), 250):
        attach_unions(chunk)  # the rules of TOMAR SOLD and METROLOGÍA read them
        for spool in chunk:
            try:
                check(spool, transition, worker)
            except ActionError:
                continue
            result.append(spool)
            if limit is not None and len(result) >= limit:
                return result
    return result


def _chunks(spools: Iterator[Spool], size: int) -> Iterator[list[Spool]]:
    chunk: list[Spool] = []
    for spool in spools:
        chunk.append(spool)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def spool_list(operacion: str, accion: str, worker: Worker, query: str = "") -> SpoolList:
    # One more than shown tells that the list goes on, without checking every spool.
    spools = eligible(operacion, accion, worker, query, limit=LIST_LIMIT + 1)
    blocked = blocked_in_list(operacion, accion)
    if query:
        blocked = blocked.filter(tag__icontains=query.strip())
    return SpoolList(spools[:LIST_LIMIT], len(spools), list(blocked[:LIST_LIMIT]), query)


def blocked_in_list(operacion: str, accion: str) -> QuerySet[Spool]:
    """The BLOQUEADO spools a list shows in red, never selectable: REPARACIÓN's TOMAR only
    (the repair a worker came for is locked, and they should see why)."""
    if operacion != Operacion.REPARACION or accion != Accion.TOMAR:
        return Spool.objects.none()
    return Spool.objects.filter(
        sheet_row__isnull=False, reparacion=ReparacionState.BLOQUEADO
    ).order_by("tag")


def scanned(operacion: str, accion: str, worker: Worker, code: str) -> tuple[str, str]:
    """For a scanned code that is not in the list on screen: (the spool's TAG as the
    mirror spells it, the reason it cannot be chosen — "" when it can)."""
    spool = (
        Spool.objects.filter(tag=code, sheet_row__isnull=False).first()
        or Spool.objects.filter(tag__iexact=code, sheet_row__isnull=False).first()
    )
    if spool is None:
        return code, f"No existe el spool {code}."
    try:
        check(spool, transition_for(operacion, accion), worker)  # reads its unions if any
    except ActionError as exc:
        return spool.tag, exc.message
    return spool.tag, ""
