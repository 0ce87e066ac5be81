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
from spools.lifecycle import (
    IN_PROGRESS,
    Accion,
    Operacion,
    ReparacionState,
    Resultado,
    motivos_pausa,
    motivos_rechazo,
)
from spools.models import ALLOWED_ROLES, Spool, Union, Worker
from spools.rules import ActionError
from spools.services import ACTIONS, attach_unions, check, union_choice

LIST_LIMIT = 200  # longer lists ask for a search (a 10,000-row list helps nobody)
ACCIONES = [Accion.TOMAR, Accion.PAUSAR, Accion.COMPLETAR, Accion.CANCELAR]


def step_of(operacion: str, accion: str) -> str:
    """The ACTIONS key: METROLOGÍA's choice is made later (APROBADO/RECHAZADO)."""
    return Resultado.APROBADO if operacion == Operacion.METROLOGIA else accion


def transition_for(operacion: str, accion: str) -> str:
    return ACTIONS[(operacion, step_of(operacion, accion))].transition


# Where the tablet offers "Definir uniones" on a spool without unions: fitting, where the
# unions get worked first. A welded or inspected spool given unions late would wait for a
# fitting that its ARM, already complete, can no longer record.
DEFINE_UNIONS_IN = {Operacion.ARM}


def offers_union_definition(user, operacion: str, accion: str) -> bool:
    """Whether a list or confirmation of this step offers "Definir uniones" to `user`."""
    return (
        operacion in DEFINE_UNIONS_IN
        and accion != Accion.CANCELAR
        and user.has_perm("spools.change_union")
    )


def has_action(operacion: str, accion: str) -> bool:
    """Whether the operation has this acción at all (FINALIZAR: only ARM and SOLD)."""
    return (operacion, step_of(operacion, accion)) in ACTIONS


def acciones_for(operacion: str) -> list[Accion]:
    """The action step's choices: TERMINAR (FINALIZAR) beside PAUSAR where it exists."""
    if not has_action(operacion, Accion.FINALIZAR):
        return ACCIONES
    return [Accion.TOMAR, Accion.PAUSAR, Accion.FINALIZAR, Accion.COMPLETAR, Accion.CANCELAR]


def takes_unions(operacion: str, accion: str) -> bool:
    """Whether the action ends an ARM / SOLD session: the ones that register unions."""
    if not has_action(operacion, accion):
        return False
    return bool(rules.session_end(Spool, transition_for(operacion, accion))[0])


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


# --- the union step (uniones.md "Dashboard and tablet") -------------------------------------


@dataclass(frozen=True)
class UnionRow:
    """One union of the step: tickable, already done (struck through), or waiting for the
    other trade (SOLD: not fitted yet)."""

    union: Union
    selectable: bool
    done: bool
    checked: bool  # pre-selected
    by: str = ""  # who did it, when done

    @property
    def cents(self) -> int:
        """DN in hundredths of an inch: the page sums PD in whole numbers."""
        return round((self.union.dn_union or 0) * 100)


@dataclass(frozen=True)
class UnionStep:
    """What a worker ending a session on one spool with unions chooses from."""

    spool: Spool
    operacion: str
    accion: str
    rows: list[UnionRow]  # the unions that count for the operation, in N_UNION order
    remaining: list[int]  # N_UNION still to do (done nowhere yet)

    @property
    def selectable(self) -> list[UnionRow]:
        return [r for r in self.rows if r.selectable]

    @property
    def checked(self) -> list[UnionRow]:
        return [r for r in self.rows if r.checked]

    @property
    def checked_pd(self) -> float:
        return sum(r.cents for r in self.checked) / 100

    @property
    def missing(self) -> list[int]:
        """Still to do but not selectable now (SOLD: not fitted): COMPLETAR cannot be."""
        selectable = {r.union.n_union for r in self.selectable}
        return [n for n in self.remaining if n not in selectable]


def preselected(accion: str, selectable: list[Union]) -> set[int]:
    """COMPLETAR: every union left. FINALIZAR: the only one there is (it needs one). PAUSAR:
    none (a worker may pause having finished nothing)."""
    if accion == Accion.COMPLETAR or (accion == Accion.FINALIZAR and len(selectable) == 1):
        return {u.n_union for u in selectable}
    return set()


def union_step(operacion: str, accion: str, worker: Worker, tag: str) -> UnionStep | None:
    """The union step of one spool, or None when the action is no longer possible on it
    (another tablet acted, or it is not this worker's)."""
    found = eligible(operacion, accion, worker, tags=[tag])
    if not found:
        return None
    spool = found[0]
    choice = union_choice(spool, operacion)
    chosen = preselected(accion, choice.selectable)
    selectable = {u.n_union for u in choice.selectable}
    rows = [
        UnionRow(
            union=u,
            selectable=u.n_union in selectable,
            done=u.done_for(operacion),
            checked=u.n_union in chosen,
            by=u.worker_for(operacion),
        )
        for u in choice.counting
    ]
    return UnionStep(spool, operacion, accion, rows, choice.remaining)


def split_batch(operacion: str, accion: str, spools: list[Spool]) -> tuple[list, list]:
    """A confirmation of several spools: (the spools sent together, the spools with unions
    whose unions are registered one spool at a time). PAUSAR may release spools with
    unions without registering any; COMPLETAR and TERMINAR of them need their unions."""
    if not takes_unions(operacion, accion):
        return spools, []
    # Unions that count for this operation (the union step's rows; a SOLD session on a spool
    # of field welds only has none), read from the list eligible() attached.
    with_unions = [s for s in spools if s.counting_unions(operacion)]
    if accion == Accion.PAUSAR:
        return spools, with_unions
    return [s for s in spools if s not in with_unions], with_unions


# --- reasons (why a spool was rejected, why work stopped) -----------------------------------


def pause_reasons(accion: str) -> list[tuple[str, str]]:
    """The optional reason chips of a PAUSAR (code, label), in the plant's order; none for
    any other acción."""
    return list(motivos_pausa().items()) if accion == Accion.PAUSAR else []


def rejection_reasons() -> list[tuple[str, str]]:
    """The reason chips of a METROLOGÍA rejection (code, label), in the plant's order."""
    return list(motivos_rechazo().items())


def rejectable_unions(spool: Spool | None) -> list[Union]:
    """The unions an inspector may name as failed on a rejection: all the spool's, in
    N_UNION order (none for a spool without unions)."""
    if spool is None or not spool.has_unions:
        return []
    return list(Union.objects.filter(tag=spool.tag).order_by("n_union"))
