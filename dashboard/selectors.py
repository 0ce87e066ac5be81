"""What the wall dashboard shows, read from the mirror in a handful of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from spools.lifecycle import STAGES, ReparacionState, stage_of
from spools.models import Event, Spool


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
        key = stage_of(not r["no_materials"], r["arm"], r["sold"], r["metrologia"], r["reparacion"])
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
        Spool.objects.filter(
            sheet_row__isnull=False, reparacion=ReparacionState.BLOQUEADO
        ).order_by("tag")
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
