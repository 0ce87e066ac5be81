"""What the wall dashboard shows, read from the mirror in a handful of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from spools.lifecycle import STAGES, Operacion, stage_of
from spools.models import Event, Spool, Union
from spools.selectors import TRADES, day_bounds
from supervision import quality
from supervision.filters import Filters
from supervision.pauses import open_pauses


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


# A wall TV shows what fits, the rest counted: at 10,000 spools the demo has 1,201 occupied,
# and listing them all took 470 ms per publish and 785 kB to every screen.
OCCUPIED_SHOWN = 24  # two columns of 12: what the occupied panel of a 1920×1080 TV holds
ALERTS_SHOWN = 6  # spools listed under each alert


@dataclass(frozen=True)
class Listed:
    """The first rows of a list the wall shows, and how many there are in all."""

    rows: list
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.rows)

    def __bool__(self) -> bool:
        return self.total > 0

    @classmethod
    def first(cls, items: list, n: int = ALERTS_SHOWN) -> Listed:
        return cls(items[:n], len(items))


def occupied_spools(now: datetime) -> tuple[Listed, Listed]:
    """Occupied now, oldest first (the ones to look at); and those occupied too long."""
    occupied = (
        Spool.objects.filter(sheet_row__isnull=False)
        .exclude(ocupado_por="")
        .order_by("fecha_ocupacion", "tag")
    )
    limit = now - long_occupation_after()
    rows = list(occupied[:OCCUPIED_SHOWN])
    for s in rows:
        s.too_long = bool(s.fecha_ocupacion and s.fecha_ocupacion < limit)
    too_long = occupied.filter(fecha_ocupacion__lt=limit)
    return (
        Listed(rows, occupied.count()),
        # Oldest first: the first rows are the longest occupied.
        Listed([s for s in rows if s.too_long][:ALERTS_SHOWN], too_long.count()),
    )


def stuck_spools(now: datetime) -> list:
    """Spools paused for longer than a long occupation, longest first: why (the pause's
    motivo) and since when (supervision.pauses.open_pauses)."""
    return open_pauses(before=now - long_occupation_after())


@dataclass
class QualityPanel:
    """The wall's quality panel: today's rejections, and the welders over the repair-rate
    line this week (Monday to today)."""

    rejections: list
    over_line: list
    line: float


# The week's repair rates move slowly and were most of a publish at 10,000 spools (150 of
# 210 ms): each process works them out at most once a minute. Today's rejections stay live.
REPAIR_RATES_SECONDS = 60


def quality_panel(now: datetime) -> QualityPanel:
    today = timezone.localdate(now)
    return QualityPanel(
        rejections=quality.rejections_between(*day_bounds(today)),
        over_line=cache.get_or_set(
            f"dashboard:over-line:{today.isoformat()}",
            lambda: welders_over_line(today),
            REPAIR_RATES_SECONDS,
        ),
        line=quality.repair_line_percent(),
    )


def welders_over_line(today: date) -> list[quality.WelderRate]:
    """The welders over the repair-rate line this week (Monday to today)."""
    week = Filters(today - timedelta(days=today.weekday()), today)
    return [w for w in quality.repair_rates(week) if w.over_line]


def latest_events(n: int = 12) -> list[Event]:
    return list(Event.objects.order_by("-timestamp")[:n])


@dataclass
class WorkerPd:
    worker: str  # as in the cells: MR(93)
    pd: Decimal
    unions: int
    percent: float = 0.0  # of the day's best worker, either trade (the bar's length)


@dataclass
class PdToday:
    """Today's pulgadas-diámetro on the floor: the total, and per worker for ARM and SOLD."""

    arm: list[WorkerPd] = field(default_factory=list)
    sold: list[WorkerPd] = field(default_factory=list)

    @property
    def arm_pd(self) -> Decimal:
        return sum((w.pd for w in self.arm), Decimal(0))

    @property
    def sold_pd(self) -> Decimal:
        return sum((w.pd for w in self.sold), Decimal(0))

    @property
    def total(self) -> Decimal:
        return self.arm_pd + self.sold_pd

    @property
    def trades(self) -> list[tuple[str, str, list[WorkerPd]]]:
        """(heading, colour family, workers) of each trade, in the floor's order."""
        return [("Armado", "arm", self.arm), ("Soldadura", "sold", self.sold)]


def pd_today() -> PdToday:
    """Two aggregate queries (one per trade) over the unions finished today, plant time."""
    start, end = day_bounds(timezone.localdate())
    per_trade: dict[str, list[WorkerPd]] = {}
    for trade in TRADES:
        fin, worker_id = trade.column("fin"), trade.column("worker_id")
        rows = (
            Union.objects.filter(**{f"{fin}__gte": start, f"{fin}__lt": end})
            .values(worker_id)
            .annotate(label=Max(trade.column("worker")), pd=Sum("dn_union"), n=Count("id"))
            .order_by()
        )
        workers = [
            WorkerPd(r["label"] or "sin nombre", r["pd"] or Decimal(0), r["n"]) for r in rows
        ]
        per_trade[trade.operacion] = sorted(workers, key=lambda w: (-w.pd, w.worker))
    result = PdToday(per_trade[Operacion.ARM], per_trade[Operacion.SOLD])
    best = max((w.pd for w in result.arm + result.sold), default=Decimal(0)) or Decimal(1)
    for w in result.arm + result.sold:
        w.percent = float(100 * w.pd / best)
    return result


def dashboard_context() -> dict:
    now = timezone.now()
    occupied, long_occupied = occupied_spools(now)
    return {
        "pd_today": pd_today(),
        "occupied": occupied,
        "long_occupied": long_occupied,
        "long_hours": settings.ZEUES_LONG_OCCUPATION_HOURS,
        "blocked": Listed.first(quality.blocked_now()),
        "stuck": Listed.first(stuck_spools(now)),
        "quality": quality_panel(now),
        "stages": stage_counts(),
        "events": latest_events(),
        "now": now,
    }
