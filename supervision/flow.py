"""Flujo: how long spools take in each stage and wait between them, where they wait now and
for how long, and how many are finished per day.

Stage times come from the events, one aggregate row per spool (its first TOMAR of ARM, its
COMPLETAR_ARM, …), for the spools whose stage ended in the period; the median and p90 are
taken over those per-spool durations (a few hundred numbers, never the events).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import (
    Case,
    CharField,
    Count,
    Max,
    Min,
    Q,
    Value,
    When,
)
from django.utils import timezone

from spools.lifecycle import STAGES, EventoTipo, MetrologiaState, Operacion, Resultado, stage_of
from spools.models import Event, Spool
from supervision import charts
from supervision.filters import Filters
from supervision.tables import Chart, Column, Report, Table

E = EventoTipo
# The events that end (or start) a measured stage in the period.
MARKS = (E.TOMAR_SPOOL, E.COMPLETAR_ARM, E.COMPLETAR_SOLD, E.COMPLETAR_METROLOGIA)
MARKS += (E.COMPLETAR_REPARACION,)
AGE_BUCKETS = [("d0", "< 1 día", 1), ("d1", "1–3 días", 3), ("d3", "3–7 días", 7)]
AGE_BUCKETS += [("d7", "> 7 días", None)]


@dataclass(frozen=True)
class StageSpan:
    """A stage measured from one mark of a spool to another: (key, label, start, end)."""

    key: str
    label: str
    start: str
    end: str
    clamp: bool = False  # a wait may be negative (SOLD began on fitted unions): 0


SPANS = [
    StageSpan("arm", "ARM (de TOMAR a COMPLETAR)", "arm_start", "arm_end"),
    StageSpan("espera_sold", "Espera de SOLD", "arm_end", "sold_start", clamp=True),
    StageSpan("sold", "SOLD (de TOMAR a COMPLETAR)", "sold_start", "sold_end"),
    StageSpan("espera_metrologia", "Espera de metrología", "sold_end", "inspected"),
    StageSpan("reparacion", "Reparación (del rechazo a reparado)", "rejected", "repaired"),
]


def _marks(f: Filters) -> list[dict]:
    """One row per spool with a mark in the period: the instants of its stages."""
    ended = f.events().filter(evento_tipo__in=MARKS).values("tag")
    return list(
        Event.objects.filter(tag__in=ended, evento_tipo__in=MARKS)
        .values("tag")
        .annotate(
            arm_start=Min(
                "timestamp", filter=Q(evento_tipo=E.TOMAR_SPOOL, operacion=Operacion.ARM)
            ),
            arm_end=Max("timestamp", filter=Q(evento_tipo=E.COMPLETAR_ARM)),
            sold_start=Min(
                "timestamp", filter=Q(evento_tipo=E.TOMAR_SPOOL, operacion=Operacion.SOLD)
            ),
            sold_end=Max("timestamp", filter=Q(evento_tipo=E.COMPLETAR_SOLD)),
            inspected=Min("timestamp", filter=Q(evento_tipo=E.COMPLETAR_METROLOGIA)),
            rejected=Min(
                "timestamp",
                filter=Q(
                    evento_tipo=E.COMPLETAR_METROLOGIA,
                    metadata_json__resultado=Resultado.RECHAZADO,
                ),
            ),
            repaired=Max("timestamp", filter=Q(evento_tipo=E.COMPLETAR_REPARACION)),
        )
        .order_by()
    )


def percentile(values: list[float], p: float) -> float | None:
    """The p-th percentile (nearest rank): the value p% of the spools took at most."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class StageTime:
    key: str
    label: str
    hours: list[float] = field(default_factory=list)

    @property
    def median(self) -> float | None:
        return percentile(self.hours, 50)

    @property
    def p90(self) -> float | None:
        return percentile(self.hours, 90)


def stage_times(f: Filters) -> list[StageTime]:
    """Per stage, the hours of every spool whose stage ended in the period."""
    times = [StageTime(s.key, s.label) for s in SPANS]
    for row in _marks(f):
        for span, time in zip(SPANS, times, strict=True):
            start, end = row[span.start], row[span.end]
            if start is None or end is None or not f.start <= end < f.end:
                continue
            hours = (end - start).total_seconds() / 3600
            if hours >= 0 or span.clamp:
                time.hours.append(max(0.0, hours))
    return times


@dataclass
class StageAges:
    key: str
    label: str
    family: str
    ages: dict[str, int] = field(default_factory=dict)  # bucket key → spools

    @property
    def total(self) -> int:
        return sum(self.ages.values())


def _age_bucket(now: datetime) -> Case:
    """How long since the spool's last event, as a bucket: "moved in the last day" is "some
    event of it in the last day", a set the database builds once from the timestamp index
    (not a last-event lookup per spool)."""
    whens = [
        When(
            tag__in=Event.objects.filter(timestamp__gt=now - timedelta(days=days)).values("tag"),
            then=Value(key),
        )
        for key, _, days in AGE_BUCKETS
        if days is not None
    ]
    return Case(*whens, default=Value(AGE_BUCKETS[-1][0]), output_field=CharField())


def wip(f: Filters, now: datetime | None = None) -> list[StageAges]:
    """Spools not approved, by stage and by the time since their last event (how long
    they have sat where they are; none at all counts as > 7 days), counted in the database."""
    now = now or timezone.now()
    rows = (
        f.spools(Spool.objects.filter(sheet_row__isnull=False))
        .exclude(metrologia=MetrologiaState.APROBADO)
        .annotate(no_materials=Q(fecha_materiales__isnull=True), age=_age_bucket(now))
        .values("arm", "sold", "metrologia", "reparacion", "no_materials", "age")
        .annotate(n=Count("id"))
        .order_by()
    )
    stages = {key: StageAges(key, label, family) for key, label, family in STAGES}
    for r in rows:
        key = stage_of(not r["no_materials"], r["arm"], r["sold"], r["metrologia"], r["reparacion"])
        ages = stages[key].ages
        ages[r["age"]] = ages.get(r["age"], 0) + r["n"]
    return [s for s in stages.values() if s.key != "aprobado"]


def finished_per_day(f: Filters) -> list[tuple[date, int]]:
    """Spools approved per plant day (Fecha_QC_Metrologia), every day of the period."""
    rows = (
        f.spools()
        .filter(fecha_qc_metrologia__gte=f.desde, fecha_qc_metrologia__lte=f.hasta)
        .values("fecha_qc_metrologia")
        .annotate(n=Count("id"))
        .order_by()
    )
    counted = {r["fecha_qc_metrologia"]: r["n"] for r in rows}
    return [(d, counted.get(d, 0)) for d in f.days]


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _charts(times: list[StageTime], stages: list[StageAges], done: list) -> list[Chart]:
    spans = charts.bars(
        [t.label.split(" (")[0] for t in times],
        [
            ("Mediana (h)", [_hours(t.median) for t in times]),
            ("p90 (h)", [_hours(t.p90) for t in times]),
        ],
        [charts.NEUTRAL, charts.DANGER],
    )
    waiting = [s for s in stages if s.total]
    ages = charts.stacked_bars(
        [s.label for s in waiting],
        [(label, [s.ages.get(key, 0) for s in waiting]) for key, label, _ in AGE_BUCKETS],
        charts.AGES,
        decimals=0,
        horizontal=True,
    )
    finished = charts.bars(
        [f"{d:%d-%m}" for d, _ in done],
        [("Spools aprobados", [n for _, n in done])],
        [charts.OK],
        decimals=0,
    )
    return [
        Chart("tiempos", "Tiempo en cada etapa (horas)", spans, "Mediana y p90 por spool."),
        Chart("wip", "Spools en proceso por etapa y antigüedad", ages),
        Chart("terminados", "Spools terminados por día", finished),
    ]


def report(f: Filters) -> Report:
    times = stage_times(f)
    stages = wip(f)
    done = finished_per_day(f)
    age_columns = [Column(label, True) for _, label, _ in AGE_BUCKETS]
    tables = [
        Table(
            "tiempos",
            "Tiempo en cada etapa",
            [Column("Etapa"), Column("Spools", True), Column("Mediana (h)", True)]
            + [Column("p90 (h)", True)],
            [[t.label, len(t.hours), _hours(t.median), _hours(t.p90)] for t in times],
            note="Spools cuya etapa terminó en el período; horas corridas, pausas incluidas.",
        ),
        Table(
            "wip",
            "En proceso ahora, por antigüedad",
            [Column("Etapa"), *age_columns, Column("Total", True)],
            [
                [s.label, *(s.ages.get(key, 0) for key, _, _ in AGE_BUCKETS), s.total]
                for s in stages
            ],
            note="Antigüedad: tiempo desde el último movimiento del spool.",
        ),
        Table(
            "terminados",
            "Spools terminados por día",
            [Column("Fecha"), Column("Spools aprobados", True)],
            [[d, n] for d, n in done],
        ),
    ]
    notes = ["El filtro por trabajador no aplica a esta página."] if f.worker else []
    return Report("flujo", "Flujo", _charts(times, stages, done), tables, notes)
