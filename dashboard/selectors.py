"""What the wall dashboard shows, read from the mirror in a handful of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from spools.lifecycle import MetrologiaState as M
from spools.lifecycle import ReparacionState as R
from spools.lifecycle import WorkState as W
from spools.models import Event, Spool

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
REPAIR_STAGE = {
    R.RECHAZADO: "rechazado",
    R.EN_REPARACION: "en_reparacion",
    R.REPARACION_PAUSADA: "reparacion_pausada",
    R.PENDIENTE_METROLOGIA: "reparado",
    R.BLOQUEADO: "bloqueado",
}
WORK_STAGE = {W.PENDIENTE: "pendiente", W.EN_PROGRESO: "en_progreso", W.PAUSADO: "pausado"}


def stage_key(has_materials: bool, arm: str, sold: str, metrologia: str, reparacion: str) -> str:
    if reparacion in REPAIR_STAGE:
        return REPAIR_STAGE[reparacion]
    if metrologia == M.APROBADO:
        return "aprobado"
    if arm != W.COMPLETADO:
        if arm == W.PENDIENTE and not has_materials:
            return "sin_materiales"
        return "arm_" + WORK_STAGE[arm]
    if sold != W.COMPLETADO:
        return "sold_" + WORK_STAGE[sold]
    return "metrologia_pendiente"


@dataclass
class StageCount:
    key: str
    label: str
    family: str
    count: int
    percent: float


def stage_counts() -> list[StageCount]:
    rows = (
        Spool.objects.filter(sheet_row__isnull=False)
        .annotate(no_materials=Q(fecha_materiales__isnull=True))
        .values("arm", "sold", "metrologia", "reparacion", "no_materials")
        .annotate(n=Count("id"))
    )
    counts: dict[str, int] = {}
    for r in rows:
        key = stage_key(
            not r["no_materials"], r["arm"], r["sold"], r["metrologia"], r["reparacion"]
        )
        counts[key] = counts.get(key, 0) + r["n"]
    biggest = max(counts.values(), default=0) or 1
    return [
        StageCount(key, label, family, counts.get(key, 0), 100 * counts.get(key, 0) / biggest)
        for key, label, family in STAGES
    ]


def long_occupation_after() -> timedelta:
    return timedelta(hours=settings.ZEUES_LONG_OCCUPATION_HOURS)


def occupied_spools() -> list[Spool]:
    """Occupied now, oldest first (the ones to look at)."""
    spools = list(
        Spool.objects.filter(sheet_row__isnull=False)
        .exclude(ocupado_por="")
        .order_by("fecha_ocupacion", "tag")
    )
    limit = timezone.now() - long_occupation_after()
    for s in spools:
        s.too_long = bool(s.fecha_ocupacion and s.fecha_ocupacion < limit)
    return spools


def blocked_spools() -> list[Spool]:
    return list(
        Spool.objects.filter(sheet_row__isnull=False, reparacion=R.BLOQUEADO).order_by("tag")
    )


def latest_events(n: int = 12) -> list[Event]:
    return list(Event.objects.order_by("-timestamp")[:n])


def dashboard_context() -> dict:
    occupied = occupied_spools()
    return {
        "occupied": occupied,
        "long_occupied": [s for s in occupied if s.too_long],
        "long_hours": settings.ZEUES_LONG_OCCUPATION_HOURS,
        "blocked": blocked_spools(),
        "stages": stage_counts(),
        "events": latest_events(),
        "now": timezone.now(),
    }
