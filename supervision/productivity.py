"""Productividad: pulgadas-diámetro (PD) per worker per day, ARM and SOLD, and the plant's.

A union counts on the plant day of its *_FECHA_FIN for the worker who finished it
(uniones.md): one aggregate query per trade, grouped by day and worker in the database.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Max, Sum
from django.db.models.functions import TruncDate

from spools.lifecycle import Operacion
from spools.selectors import TRADES
from spools.workbook.values import plant_tz
from supervision import charts
from supervision.filters import Filters
from supervision.tables import Chart, Column, Report, Table


@dataclass(frozen=True)
class WorkerDay:
    day: date
    operacion: str  # ARM / SOLD
    worker_id: int | None
    worker: str  # as in the cells: MR(93)
    unions: int
    pd: Decimal


def worker_days(f: Filters) -> list[WorkerDay]:
    """Every (day, trade, worker) of the period with the unions finished and their PD."""
    found = []
    for trade in TRADES:
        fin, wid = trade.column("fin"), trade.column("worker_id")
        rows = (
            f.unions()
            .filter(**{f"{fin}__gte": f.start, f"{fin}__lt": f.end})
            .filter(f.worker_q(wid))
            .annotate(day=TruncDate(fin, tzinfo=plant_tz()))
            .values("day", wid)
            .annotate(label=Max(trade.column("worker")), pd=Sum("dn_union"), n=Count("id"))
            .order_by()
        )
        found += [
            WorkerDay(
                r["day"],
                trade.operacion,
                r[wid],
                r["label"] or "sin nombre",
                r["n"],
                r["pd"] or Decimal(0),
            )
            for r in rows
        ]
    return sorted(found, key=lambda w: (w.day, w.operacion, -w.pd, w.worker))


@dataclass
class PlantDay:
    day: date
    arm_unions: int = 0
    arm_pd: Decimal = Decimal(0)
    sold_unions: int = 0
    sold_pd: Decimal = Decimal(0)

    @property
    def pd(self) -> Decimal:
        return self.arm_pd + self.sold_pd

    def add(self, w: WorkerDay) -> None:
        if w.operacion == Operacion.ARM:
            self.arm_unions += w.unions
            self.arm_pd += w.pd
        else:
            self.sold_unions += w.unions
            self.sold_pd += w.pd


def plant_days(f: Filters, rows: list[WorkerDay]) -> list[PlantDay]:
    """Every day of the period (empty ones too: a picture must show the gaps)."""
    days = {d: PlantDay(d) for d in f.days}
    for w in rows:
        days[w.day].add(w)
    return list(days.values())


def _worker_totals(rows: list[WorkerDay]) -> list[tuple[str, Decimal, Decimal]]:
    """(worker, ARM PD, SOLD PD) over the period, most PD first."""
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for w in rows:
        totals[w.worker][0 if w.operacion == Operacion.ARM else 1] += w.pd
    return sorted(((k, a, s) for k, (a, s) in totals.items()), key=lambda t: (-(t[1] + t[2]), t[0]))


def _charts(days: list[PlantDay], rows: list[WorkerDay]) -> list[Chart]:
    labels = [f"{d.day:%d-%m}" for d in days]
    per_day = charts.stacked_bars(
        labels,
        [("ARM", [float(d.arm_pd) for d in days]), ("SOLD", [float(d.sold_pd) for d in days])],
        [charts.ARM, charts.SOLD],
        unit=" PD",
    )
    unions = charts.stacked_bars(
        labels,
        [("ARM", [d.arm_unions for d in days]), ("SOLD", [d.sold_unions for d in days])],
        [charts.ARM, charts.SOLD],
        decimals=0,
    )
    totals = _worker_totals(rows)[:20]
    workers = charts.bars(
        [t[0] for t in totals],
        [("ARM", [float(t[1]) for t in totals]), ("SOLD", [float(t[2]) for t in totals])],
        [charts.ARM, charts.SOLD],
    )
    return [
        Chart("pd-dia", "PD de la planta por día", per_day),
        Chart("uniones-dia", "Uniones por día", unions),
        Chart("pd-trabajador", "PD por trabajador en el período", workers, "Los 20 con más PD."),
    ]


def report(f: Filters) -> Report:
    rows = worker_days(f)
    days = plant_days(f, rows)
    plant = Table(
        "planta",
        "Planta por día",
        [
            Column("Fecha"),
            Column("Uniones ARM", True),
            Column("PD ARM", True),
            Column("Uniones SOLD", True),
            Column("PD SOLD", True),
            Column("PD total", True),
        ],
        [[d.day, d.arm_unions, d.arm_pd, d.sold_unions, d.sold_pd, d.pd] for d in days],
    )
    total = PlantDay(f.hasta)
    for w in rows:
        total.add(w)
    plant.footer = [
        ["Total", total.arm_unions, total.arm_pd, total.sold_unions, total.sold_pd, total.pd]
    ]
    per_worker = Table(
        "trabajadores",
        "PD por trabajador y día",
        [
            Column("Fecha"),
            Column("Operación"),
            Column("Trabajador"),
            Column("Uniones", True),
            Column("PD", True),
        ],
        [[w.day, w.operacion, w.worker, w.unions, w.pd] for w in rows],
    )
    return Report("productividad", "Productividad", _charts(days, rows), [plant, per_worker])
