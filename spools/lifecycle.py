"""The plant's vocabulary, the lifecycle states derived from a row's columns, and
Estado_Detalle written and read back.

The workbook holds no state column: the states follow from Armador / Fecha_Armado /
Soldador / Fecha_Soldadura / Fecha_QC_Metrologia / Ocupado_Por, and the repair loop and its
rejection counter from Estado_Detalle (domain.md). This module is the single translation
between those columns and the mirror's lifecycle fields; the django-fsm-2 transitions on
`Spool` change the fields, and `render_estado_detalle` writes the text back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.db import models


def max_ciclos() -> int:
    """The consecutive RECHAZADO that blocks a spool (ZEUES_MAX_REPAIR_CYCLES, default 3);
    0: rejections never block. Read at call time: the plant may change it."""
    return max(0, int(settings.ZEUES_MAX_REPAIR_CYCLES))


def blocks(ciclo: int) -> bool:
    """Whether a spool rejected `ciclo` times in a row is BLOQUEADO."""
    limit = max_ciclos()
    return bool(limit) and ciclo >= limit


def ciclo_text(ciclo: int) -> str:
    """`Ciclo 2/3` with a limit, `Ciclo 2` when rejections never block (Estado_Detalle,
    the spool page, the tablet)."""
    limit = max_ciclos()
    return f"Ciclo {ciclo}/{limit}" if limit else f"Ciclo {ciclo}"


def motivos_rechazo() -> dict[str, str]:
    """Why METROLOGÍA rejected a spool: code → Spanish label (ZEUES_MOTIVOS_RECHAZO)."""
    return dict(settings.ZEUES_MOTIVOS_RECHAZO)


def motivos_pausa() -> dict[str, str]:
    """Why work stopped at a PAUSAR: code → Spanish label (ZEUES_MOTIVOS_PAUSA)."""
    return dict(settings.ZEUES_MOTIVOS_PAUSA)


def motivo_label(code: str) -> str:
    """The Spanish label of a rejection or pause reason code; a code no longer in the
    plant's lists (an old event) reads as itself."""
    code = str(code or "")
    return motivos_rechazo().get(code) or motivos_pausa().get(code) or code


class Operacion(models.TextChoices):
    ARM = "ARM", "ARMADO"
    SOLD = "SOLD", "SOLDADURA"
    METROLOGIA = "METROLOGIA", "METROLOGÍA"
    REPARACION = "REPARACION", "REPARACIÓN"


class Accion(models.TextChoices):
    TOMAR = "TOMAR", "TOMAR"
    PAUSAR = "PAUSAR", "PAUSAR"
    COMPLETAR = "COMPLETAR", "COMPLETAR"
    CANCELAR = "CANCELAR", "CANCELAR"
    # Ends an ARM / SOLD session on a spool with unions: COMPLETAR when the selected unions
    # finish every union that counts, else PAUSAR (uniones.md). Without unions: COMPLETAR.
    FINALIZAR = "FINALIZAR", "FINALIZAR"


# The acciones that end an ARM / SOLD session: the ones that register unions.
SESSION_ENDS = frozenset({Accion.PAUSAR, Accion.COMPLETAR, Accion.FINALIZAR})


class Resultado(models.TextChoices):
    """A METROLOGÍA verdict (sent with acción COMPLETAR)."""

    APROBADO = "APROBADO", "APROBADO"
    RECHAZADO = "RECHAZADO", "RECHAZADO"


class EventoTipo(models.TextChoices):
    """Metadata's Evento_Tipo values (domain.md "Metadata events")."""

    TOMAR_SPOOL = "TOMAR_SPOOL"
    PAUSAR_SPOOL = "PAUSAR_SPOOL"
    COMPLETAR_ARM = "COMPLETAR_ARM"
    COMPLETAR_SOLD = "COMPLETAR_SOLD"
    CANCELAR_ARM = "CANCELAR_ARM"
    CANCELAR_SOLD = "CANCELAR_SOLD"
    COMPLETAR_METROLOGIA = "COMPLETAR_METROLOGIA"
    TOMAR_REPARACION = "TOMAR_REPARACION"
    PAUSAR_REPARACION = "PAUSAR_REPARACION"
    COMPLETAR_REPARACION = "COMPLETAR_REPARACION"
    CANCELAR_REPARACION = "CANCELAR_REPARACION"
    SUPERVISOR_OVERRIDE = "SUPERVISOR_OVERRIDE"
    UNION_ARM_REGISTRADA = "UNION_ARM_REGISTRADA"
    UNION_SOLD_REGISTRADA = "UNION_SOLD_REGISTRADA"
    UNIONES_EDITADAS = "UNIONES_EDITADAS"
    # A note added to a spool (its line goes to the Operaciones Notas cell).
    NOTA_AGREGADA = "NOTA_AGREGADA"


# Metadata's Accion of a supervisor event (the workers' are the Accion values).
ACCION_OVERRIDE = "OVERRIDE"


class OverrideTipo(models.TextChoices):
    """Metadata_JSON `tipo` of a SUPERVISOR_OVERRIDE."""

    DESBLOQUEAR = "DESBLOQUEAR", "Desbloquear"
    LIBERAR = "LIBERAR", "Liberar ocupación"
    EDICION_EXTERNA = "EDICION_EXTERNA", "Edición en la hoja"


# The events that open a work session (history) and whose snapshot CANCELAR restores.
OPENING_EVENTS = frozenset({EventoTipo.TOMAR_SPOOL, EventoTipo.TOMAR_REPARACION})


class TipoUnion(models.TextChoices):
    """TIPO_UNION (uniones.md). Which need SOLD is a setting (ZEUES_ARM_ONLY_UNION_TYPES)."""

    BW = "BW", "BW (a tope)"
    SO = "SO", "SO (slip-on)"
    FILL = "FILL", "FILL (filete)"
    BR = "BR", "BR (ramal)"
    LET = "LET", "LET (olet)"
    MIT = "MIT", "MIT (inglete)"
    FW = "FW", "FW (en terreno)"


# DN_UNION in inches: what the tablet offers (any value > 0 and <= 72 is accepted).
DN_CHOICES = (0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 8, 10, 12, 14, 16, 18, 20)
DN_CHOICES += tuple(range(22, 50, 2))
DN_MAX = 72


class WorkState(models.TextChoices):
    """ARM and SOLD."""

    PENDIENTE = "PENDIENTE", "pendiente"
    EN_PROGRESO = "EN_PROGRESO", "en progreso"
    PAUSADO = "PAUSADO", "pausado"
    COMPLETADO = "COMPLETADO", "completado"


class MetrologiaState(models.TextChoices):
    PENDIENTE = "PENDIENTE", "pendiente"
    APROBADO = "APROBADO", "aprobado"
    RECHAZADO = "RECHAZADO", "rechazado"


class ReparacionState(models.TextChoices):
    NINGUNA = "NINGUNA", "sin reparación"
    RECHAZADO = "RECHAZADO", "rechazado, pendiente reparación"
    EN_REPARACION = "EN_REPARACION", "en reparación"
    REPARACION_PAUSADA = "REPARACION_PAUSADA", "reparación pausada"
    PENDIENTE_METROLOGIA = "PENDIENTE_METROLOGIA", "reparado, pendiente metrología"
    BLOQUEADO = "BLOQUEADO", "bloqueado"


# The lifecycle field of each occupying operation → its state while someone works on it.
IN_PROGRESS = {
    "arm": WorkState.EN_PROGRESO,
    "sold": WorkState.EN_PROGRESO,
    "reparacion": ReparacionState.EN_REPARACION,
}

# The floor's stages, in the order a spool goes through them, with the colour family.
STAGES = [
    ("sin_materiales", "Sin materiales", "idle"),
    ("arm_pendiente", "ARM pendiente", "arm"),
    ("arm_en_progreso", "ARM en progreso", "arm"),
    ("arm_pausado", "ARM pausado", "arm"),
    ("sold_pendiente", "SOLD pendiente", "sold"),
    ("sold_en_progreso", "SOLD en progreso", "sold"),
    ("sold_pausado", "SOLD pausado", "sold"),
    ("metrologia_pendiente", "Metrología pendiente", "metrologia"),
    ("rechazado", "Rechazado", "reparacion"),
    ("en_reparacion", "En reparación", "reparacion"),
    ("reparacion_pausada", "Reparación pausada", "reparacion"),
    ("reparado", "Reparado, re-inspección", "metrologia"),
    ("bloqueado", "BLOQUEADO", "danger"),
    ("aprobado", "Aprobado", "ok"),
]
_REPAIR_STAGE = {
    ReparacionState.RECHAZADO: "rechazado",
    ReparacionState.EN_REPARACION: "en_reparacion",
    ReparacionState.REPARACION_PAUSADA: "reparacion_pausada",
    ReparacionState.PENDIENTE_METROLOGIA: "reparado",
    ReparacionState.BLOQUEADO: "bloqueado",
}
_WORK_STAGE = {
    WorkState.PENDIENTE: "pendiente",
    WorkState.EN_PROGRESO: "en_progreso",
    WorkState.PAUSADO: "pausado",
}


def stage_of(has_materials: bool, arm: str, sold: str, metrologia: str, reparacion: str) -> str:
    """The key in STAGES of a spool in these states."""
    if reparacion in _REPAIR_STAGE:
        return _REPAIR_STAGE[reparacion]
    if metrologia == MetrologiaState.APROBADO:
        return "aprobado"
    if arm != WorkState.COMPLETADO and sold == WorkState.EN_PROGRESO:
        return "sold_en_progreso"  # welding the fitted unions while ARM is partial
    if arm != WorkState.COMPLETADO:
        if arm == WorkState.PENDIENTE and not has_materials:
            return "sin_materiales"
        return "arm_" + _WORK_STAGE[arm]
    if sold != WorkState.COMPLETADO:
        return "sold_" + _WORK_STAGE[sold]
    return "metrologia_pendiente"


@dataclass(frozen=True)
class RepairInfo:
    """What Estado_Detalle says about the repair loop."""

    state: str  # a ReparacionState value
    ciclo: int


# `(Ciclo 2/3)`, or `(Ciclo 2)` written while rejections never block: both read back.
_CICLO = r"\(\s*Ciclo\s*(\d+)\s*(?:/\s*\d+\s*)?\)"
_REPAIR_PATTERNS = [
    (re.compile(r"^\s*BLOQUEADO\b", re.I), ReparacionState.BLOQUEADO),
    (re.compile(r"^\s*EN[_ ]REPARACI[OÓ]N\b", re.I), ReparacionState.EN_REPARACION),
    (re.compile(r"^\s*REPARACI[OÓ]N[_ ]PAUSADA\b", re.I), ReparacionState.REPARACION_PAUSADA),
    (re.compile(r"^\s*PENDIENTE[_ ]METROLOG[IÍ]A\b", re.I), ReparacionState.PENDIENTE_METROLOGIA),
    (re.compile(r"^\s*RECHAZADO\b", re.I), ReparacionState.RECHAZADO),
]


def parse_estado_detalle(text: str | None) -> RepairInfo | None:
    """The repair state and cycle in an Estado_Detalle text, or None if it names none.

    `RECHAZADO` typed by hand without a cycle means cycle 0 (a supervisor's unblock). A
    cycle past the plant's limit is read as the limit (the next rejection blocks).
    """
    s = (text or "").strip()
    limit = max_ciclos()
    for pattern, state in _REPAIR_PATTERNS:
        if pattern.match(s):
            if state == ReparacionState.BLOQUEADO:
                return RepairInfo(state, limit)
            m = re.search(_CICLO, s, re.I)
            ciclo = int(m[1]) if m else 0
            return RepairInfo(state, min(ciclo, limit) if limit else ciclo)
    return None


@dataclass(frozen=True)
class DerivedState:
    arm: str
    sold: str
    metrologia: str
    reparacion: str
    ciclo: int
    # The operation the occupant is doing, "" when free.
    occupied_operation: str


def _inspection_states(
    fecha_qc_metrologia: object, estado_detalle: str, occupied: bool
) -> tuple[str, str, int]:
    """(metrologia, reparacion, ciclo) from Fecha_QC_Metrologia and Estado_Detalle."""
    if fecha_qc_metrologia:
        return MetrologiaState.APROBADO, ReparacionState.NINGUNA, 0
    repair = parse_estado_detalle(estado_detalle)
    if repair is None:
        return MetrologiaState.PENDIENTE, ReparacionState.NINGUNA, 0
    reparacion = repair.state
    # An occupied spool whose text says paused/rejected is in repair now, and a free one
    # whose text says "in repair" is paused: the occupation column is the truth.
    if occupied and reparacion in (ReparacionState.RECHAZADO, ReparacionState.REPARACION_PAUSADA):
        reparacion = ReparacionState.EN_REPARACION
    elif not occupied and reparacion == ReparacionState.EN_REPARACION:
        reparacion = ReparacionState.REPARACION_PAUSADA
    if reparacion == ReparacionState.PENDIENTE_METROLOGIA:
        return MetrologiaState.PENDIENTE, reparacion, repair.ciclo
    return MetrologiaState.RECHAZADO, reparacion, repair.ciclo


# Which operation the occupant is doing, as Estado_Detalle names it ("MR(93) trabajando SOLD
# (…)"): on a spool with unions a welder may weld while ARM is partial (uniones.md).
_WORKING = re.compile(r"\btrabajando\s+(ARM|SOLD)\b", re.I)


def _occupied_operation(
    occupied: bool, in_repair: bool, arm_done: bool, sold_done: bool, estado_detalle: str
) -> str:
    if in_repair:
        return Operacion.REPARACION
    if not occupied:
        return ""
    working = _WORKING.search(estado_detalle or "")
    if working and working[1].upper() == Operacion.SOLD and not sold_done:
        return Operacion.SOLD
    if not arm_done:
        return Operacion.ARM
    if not sold_done:
        return Operacion.SOLD
    return ""


def derive_states(
    *,
    armador: str,
    fecha_armado: object,
    soldador: str,
    fecha_soldadura: object,
    fecha_qc_metrologia: object,
    ocupado_por: str,
    estado_detalle: str,
) -> DerivedState:
    """The lifecycle states that a row's columns imply (domain.md "Lifecycles"); the text
    of Estado_Detalle tells the repair loop, and SOLD occupying a spool whose ARM is partial."""
    occupied = bool(ocupado_por)
    metrologia, reparacion, ciclo = _inspection_states(
        fecha_qc_metrologia, estado_detalle, occupied
    )
    arm_done = bool(fecha_armado)
    sold_done = bool(fecha_soldadura)
    occupied_operation = _occupied_operation(
        occupied, reparacion == ReparacionState.EN_REPARACION, arm_done, sold_done, estado_detalle
    )

    def work(worker: str, done: bool, op: str) -> str:
        if done:
            return WorkState.COMPLETADO
        if occupied_operation == op:
            return WorkState.EN_PROGRESO
        return WorkState.PAUSADO if worker else WorkState.PENDIENTE

    return DerivedState(
        arm=work(armador, arm_done, Operacion.ARM),
        sold=work(soldador, sold_done, Operacion.SOLD),
        metrologia=metrologia,
        reparacion=reparacion,
        ciclo=ciclo,
        occupied_operation=occupied_operation,
    )


def _word(state: str, progress: tuple[int, int] | None = None) -> str:
    """`completado`, `pausado`…, or on a spool with unions part-way done `parcial 3/7`."""
    if progress and state != WorkState.COMPLETADO and 0 < progress[0] < progress[1]:
        return f"parcial {progress[0]}/{progress[1]}"
    return WorkState(state).label


def render_estado_detalle(
    *,
    arm: str,
    sold: str,
    metrologia: str,
    reparacion: str,
    ciclo: int,
    ocupado_por: str,
    arm_uniones: tuple[int, int] | None = None,
    sold_uniones: tuple[int, int] | None = None,
) -> str:
    """Estado_Detalle in the exact texts of domain.md. `arm_uniones` / `sold_uniones`: (done,
    counting) unions of a spool that has them (`ARM parcial 3/7`, uniones.md)."""
    c = f"({ciclo_text(ciclo)})"
    if reparacion == ReparacionState.BLOQUEADO:
        return "BLOQUEADO - Contactar supervisor"
    if reparacion == ReparacionState.RECHAZADO:
        return f"RECHAZADO {c} - Pendiente reparación"
    if reparacion == ReparacionState.EN_REPARACION:
        return f"EN_REPARACION {c} - Ocupado: {ocupado_por}"
    if reparacion == ReparacionState.REPARACION_PAUSADA:
        return f"REPARACION_PAUSADA {c}"
    if reparacion == ReparacionState.PENDIENTE_METROLOGIA:
        return f"PENDIENTE_METROLOGIA {c}"
    stages = f"ARM {_word(arm, arm_uniones)}, SOLD {_word(sold, sold_uniones)}"
    if ocupado_por:
        op = Operacion.ARM if arm == WorkState.EN_PROGRESO else Operacion.SOLD
        return f"{ocupado_por} trabajando {op} ({stages})"
    if metrologia == MetrologiaState.APROBADO:
        return f"Disponible - {stages}, METROLOGIA APROBADO ✓"
    if arm == WorkState.COMPLETADO and sold == WorkState.COMPLETADO:
        return f"Disponible - {stages}, Metrología pendiente"
    return f"Disponible - {stages}"
