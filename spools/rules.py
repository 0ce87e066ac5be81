"""The preconditions of the lifecycle transitions (domain.md "Actions").

Each rule is a django-fsm-2 condition (a callable on the spool) that also knows what the
worker is told when it fails: the HTTP status of product.md and a Spanish message. The
transitions on `Spool` list their rules in the order of the domain table, so the first
failing rule is the answer. Rules about the worker read `spool.actor`, the worker the
service is acting for. Everything else that needs to know what a transition declares
asks the functions at the end of this module: only they look inside django-fsm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from spools.lifecycle import Accion, MetrologiaState, Operacion, ReparacionState, WorkState

if TYPE_CHECKING:
    from spools.models import Spool, Union


class ActionError(Exception):
    """A refused action: status code of product.md and a message a worker understands."""

    def __init__(self, status: int, message: str, code: str = ""):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Rule:
    code: str
    status: int
    message: str  # may use {tag}, {occupant}, {actor}, {estado}, {quedan}
    check: Callable[[Spool], bool]

    def __call__(self, spool: Spool) -> bool:
        return self.check(spool)

    def error(self, spool: Spool) -> ActionError:
        actor = getattr(spool, "actor", None)
        # Counted only for the message that shows it (it reads the spool's unions).
        left = len(spool.unfinished_unions()) if "{quedan}" in self.message else 0
        return ActionError(
            self.status,
            self.message.format(
                tag=spool.tag,
                occupant=spool.ocupado_por or "nadie",
                actor=actor.short if actor else "",
                estado=spool.estado_detalle or "sin estado",
                quedan="queda 1 unión" if left == 1 else f"quedan {left} uniones",
            ),
            self.code,
        )


def _actor_id(spool: Spool) -> int | None:
    actor = getattr(spool, "actor", None)
    return actor.id if actor else None


NOT_BLOCKED = Rule(
    "bloqueado",
    403,
    "El spool {tag} está BLOQUEADO: contacte al supervisor.",
    lambda s: s.reparacion != ReparacionState.BLOQUEADO,
)
MATERIALES = Rule(
    "sin_materiales",
    400,
    "El spool {tag} aún no tiene materiales (Fecha_Materiales vacía).",
    lambda s: s.fecha_materiales is not None,
)
ARM_NOT_DONE = Rule(
    "arm_completado",
    400,
    "El armado del spool {tag} ya está completado.",
    lambda s: s.arm != WorkState.COMPLETADO,
)
ARM_DONE = Rule(
    "arm_pendiente",
    400,
    "El spool {tag} aún no tiene el armado completado.",
    lambda s: s.arm == WorkState.COMPLETADO,
)
# TOMAR SOLD on a spool with unions: welders weld the unions that are fitted, so ARM need
# not be complete; at least one union must be ready to weld (UNION_TO_WELD).
ARM_DONE_OR_UNIONS = Rule(
    "arm_pendiente",
    400,
    "El spool {tag} aún no tiene el armado completado.",
    lambda s: s.arm == WorkState.COMPLETADO or bool(s.union_list),
)
UNION_TO_WELD = Rule(
    "sin_union_para_soldar",
    400,
    "Spool {tag}: ninguna unión armada pendiente de soldar.",
    lambda s: not s.union_list or any(u.selectable_for(Operacion.SOLD) for u in s.union_list),
)
# METROLOGÍA: every union fitted, and welded where it needs SOLD. A spool whose unions
# need no SOLD at all (all FW) has no SOLD to complete: SOLD_DONE_OR_NONE lets it pass.
UNIONS_FINISHED = Rule(
    "uniones_pendientes",
    400,
    "Spool {tag}: {quedan} sin soldar.",
    lambda s: not s.unfinished_unions(),
)
SOLD_DONE_OR_NONE = Rule(
    "sold_pendiente",
    400,
    "El spool {tag} aún no tiene la soldadura completada.",
    lambda s: (
        s.sold == WorkState.COMPLETADO
        or (bool(s.union_list) and not any(u.needs_sold for u in s.union_list))
    ),
)
SOLD_NOT_DONE = Rule(
    "sold_completado",
    400,
    "La soldadura del spool {tag} ya está completada.",
    lambda s: s.sold != WorkState.COMPLETADO,
)
SOLD_DONE = Rule(
    "sold_pendiente",
    400,
    "El spool {tag} aún no tiene la soldadura completada.",
    lambda s: s.sold == WorkState.COMPLETADO,
)
FREE = Rule(
    "ocupado",
    409,
    "El spool {tag} está ocupado por {occupant}.",
    lambda s: not s.ocupado_por,
)
OCCUPIED = Rule(
    "no_ocupado",
    400,
    "El spool {tag} no está ocupado: no hay trabajo en curso.",
    lambda s: bool(s.ocupado_por),
)
BY_ACTOR = Rule(
    "ocupado_por_otro",
    403,
    "El spool {tag} está ocupado por {occupant}, no por {actor}.",
    lambda s: s.occupant_id is not None and s.occupant_id == _actor_id(s),
)
IN_ARM = Rule(
    "no_en_armado",
    400,
    "El spool {tag} no está en armado ({estado}).",
    lambda s: s.arm == WorkState.EN_PROGRESO,
)
IN_SOLD = Rule(
    "no_en_soldadura",
    400,
    "El spool {tag} no está en soldadura ({estado}).",
    lambda s: s.sold == WorkState.EN_PROGRESO,
)
NOT_APPROVED = Rule(
    "ya_aprobado",
    400,
    "El spool {tag} ya tiene la metrología aprobada.",
    lambda s: s.metrologia != MetrologiaState.APROBADO,
)
NOT_IN_REPAIR_LOOP = Rule(
    "en_reparacion",
    400,
    "El spool {tag} no espera metrología ({estado}).",
    lambda s: s.reparacion in (ReparacionState.NINGUNA, ReparacionState.PENDIENTE_METROLOGIA),
)
# In repair by someone else passes here on purpose: FREE then answers 409 naming them,
# as TOMAR of an occupied spool does in every operation.
REPAIR_READY = Rule(
    "no_rechazado",
    400,
    "El spool {tag} no está pendiente de reparación ({estado}).",
    lambda s: (
        s.reparacion
        in (
            ReparacionState.RECHAZADO,
            ReparacionState.REPARACION_PAUSADA,
            ReparacionState.EN_REPARACION,
        )
    ),
)
IN_REPAIR = Rule(
    "no_en_reparacion",
    400,
    "El spool {tag} no está en reparación ({estado}).",
    lambda s: s.reparacion == ReparacionState.EN_REPARACION,
)
IS_BLOCKED = Rule(
    "no_bloqueado",
    400,
    "El spool {tag} no está BLOQUEADO.",
    lambda s: s.reparacion == ReparacionState.BLOQUEADO,
)


def first_failure(spool: Spool, rules: list) -> ActionError | None:
    """The error of the first rule that does not hold, in the order listed."""
    for rule in rules:
        if isinstance(rule, Rule) and not rule(spool):
            return rule.error(spool)
    return None


# --- the unions a session end registers (uniones.md "Rules") ----------------------------


def _not_selectable(union: Union, operacion: str) -> str:
    """Why a union cannot be registered in this operation, in the worker's words."""
    if operacion == Operacion.ARM:
        return f"La unión {union.n_union} ya está armada ({union.arm_worker or 'sin nombre'})."
    if not union.arm_done:
        return f"La unión {union.n_union} aún no está armada: no se puede soldar."
    if not union.needs_sold:
        return f"La unión {union.n_union} es {union.tipo_union}: no lleva soldadura."
    return f"La unión {union.n_union} ya está soldada ({union.sol_worker or 'sin nombre'})."


def check_union_selection(spool: Spool, method_name: str, selected: tuple[int, ...]) -> None:
    """Raise a 400 when the unions selected for this transition cannot be registered.

    Selectable: ARM, unions not yet fitted; SOLD, fitted unions that need SOLD and are not
    welded. COMPLETAR also needs every union that counts done with them ("faltan uniones
    4, 7"); FINALIZAR at least one. Only a session end (PAUSAR, COMPLETAR, FINALIZAR of
    ARM / SOLD) takes unions.
    """
    operacion, accion = session_end(type(spool), method_name)
    if not operacion:
        if selected:
            raise ActionError(
                400, "Las uniones se registran al pausar, completar o finalizar.", "uniones"
            )
        return
    unions = {u.n_union: u for u in spool.union_list}
    if selected and not unions:
        raise ActionError(400, f"El spool {spool.tag} no tiene uniones.", "sin_uniones")
    for n in selected:
        if n not in unions:
            raise ActionError(400, f"La unión {n} no existe en el spool {spool.tag}.", "union")
        if not unions[n].selectable_for(operacion):
            raise ActionError(400, _not_selectable(unions[n], operacion), "union")
    if not unions:
        return
    if accion == Accion.FINALIZAR and not selected:
        raise ActionError(400, f"Spool {spool.tag}: elija al menos una unión.", "sin_seleccion")
    left = spool.unions_left(operacion, selected)
    if accion == Accion.COMPLETAR and left:
        missing = ", ".join(str(n) for n in left)
        raise ActionError(
            400, f"Spool {spool.tag}: no se puede completar, faltan uniones {missing}.", "faltan"
        )


def check_failed_unions(spool: Spool, method_name: str, failed: tuple[int, ...]) -> None:
    """Raise a 400 unless the unions named as failed go with a METROLOGÍA rejection and
    are unions of this spool (N_UNION). They are only recorded: nothing changes on them."""
    if not failed:
        return
    if not _transition(type(spool), method_name).custom.get("names_failed_unions"):
        raise ActionError(
            400, "Las uniones con falla se indican solo al rechazar en METROLOGÍA.", "uniones"
        )
    numbers = {u.n_union for u in spool.union_list}
    if not numbers:
        raise ActionError(400, f"El spool {spool.tag} no tiene uniones.", "sin_uniones")
    for n in failed:
        if n not in numbers:
            raise ActionError(400, f"La unión {n} no existe en el spool {spool.tag}.", "union")


# --- reading the transitions (the only place that looks inside django-fsm) --------------


def _meta(model: type[Spool], name: str):
    return getattr(model, name)._django_fsm


def _transition(model: type[Spool], name: str):
    """The transition's declaration (every source state of one method shares it)."""
    return next(iter(_meta(model, name).transitions.values()))


def field_of(model: type[Spool], name: str) -> str:
    """The lifecycle field a transition moves (`arm`, `sold`, `metrologia`, `reparacion`)."""
    field = _meta(model, name).field
    return field.name if hasattr(field, "name") else field


def source_states(model: type[Spool], name: str) -> list[str]:
    """The states a transition starts from (wildcards left out)."""
    return [s for s in _meta(model, name).transitions if s not in ("*", "+")]


def requires(model: type[Spool], name: str, rule: Rule) -> bool:
    """Whether the transition lists this rule among its conditions."""
    return rule in (_transition(model, name).conditions or [])


def undoes_tomar(model: type[Spool], name: str) -> str:
    """The Operacion whose TOMAR the transition undoes (a CANCELAR restoring the cells
    from before it), "" for any other transition."""
    return _transition(model, name).custom.get("undoes_tomar", "")


def session_end(model: type[Spool], name: str) -> tuple[str, str]:
    """(Operacion, Accion) of a transition that ends an ARM / SOLD session (it registers
    the selected unions), ("", "") for any other transition."""
    return _transition(model, name).custom.get("ends_session", ("", ""))


def check_transition(spool: Spool, method_name: str) -> None:
    """Raise the ActionError of the first rule of a transition that fails, or a 400 if the
    spool's state has no such transition."""
    error = first_failure(spool, _transition(type(spool), method_name).conditions or [])
    if error:
        raise error
    state = getattr(spool, field_of(type(spool), method_name))
    if not _meta(type(spool), method_name).has_transition(state):
        raise ActionError(
            400,
            f"El spool {spool.tag} no permite esta acción en su estado actual "
            f"({spool.estado_detalle}).",
            "estado",
        )
