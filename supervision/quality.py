"""Calidad: the repair rate per welder, rejection reasons, repair cycles, BLOQUEADO now.

Repair rate of a welder = unions of theirs rejected / unions of theirs inspected, over the
METROLOGÍA verdicts of the period. Every verdict inspects every welded union of the spool
(a re-inspection after a repair inspects them again). A rejection that names its unions
counts each of them for its welder; one that names none counts as one rejected union shared
by the spool's welders in proportion to the unions each welded. A spool without unions
counts as one union of its Soldador.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Count, IntegerField, Max, OuterRef, QuerySet, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from spools.lifecycle import EventoTipo, ReparacionState, Resultado
from spools.models import Event, Spool, Union
from spools.workbook.values import CellValueError, parse_worker_cell
from supervision import charts
from supervision.filters import Filters
from supervision.tables import Chart, Column, Report, Table

SIN_MOTIVO = "Sin motivo"


def motivo_rechazo(code: str | None) -> str:
    """A rejection reason's Spanish label (an unknown code as it is)."""
    return settings.ZEUES_MOTIVOS_RECHAZO.get(code, code) if code else SIN_MOTIVO


def repair_line_percent() -> float:
    return 100 * settings.ZEUES_REPAIR_RATE_LINE


def verdicts(f: Filters) -> QuerySet[Event]:
    """The METROLOGÍA verdicts of the period, of the chosen spools."""
    return f.events().filter(evento_tipo=EventoTipo.COMPLETAR_METROLOGIA)


def rejections(f: Filters) -> QuerySet[Event]:
    return verdicts(f).filter(metadata_json__resultado=Resultado.RECHAZADO)


@dataclass
class WelderRate:
    worker_id: int | None
    worker: str
    inspected: int = 0
    rejected: float = 0.0

    @property
    def rate(self) -> float:
        """Percent of the inspected unions rejected."""
        return 100 * self.rejected / self.inspected if self.inspected else 0.0

    @property
    def over_line(self) -> bool:
        return self.rate > repair_line_percent()


def _worker_ref(cell: str) -> tuple[int | None, str]:
    try:
        ref = parse_worker_cell(cell)
    except CellValueError:
        return None, cell
    return (ref.id, ref.short) if ref else (None, cell)


class _Tally:
    """Inspected and rejected unions, per welder."""

    def __init__(self) -> None:
        self.welders: dict[int | str, WelderRate] = {}

    def of(self, worker_id: int | None, label: str) -> WelderRate:
        key = worker_id if worker_id is not None else label
        if key not in self.welders:
            self.welders[key] = WelderRate(worker_id, label)
        return self.welders[key]


def _welded(tags: QuerySet) -> dict[str, dict[int | None, tuple[str, int]]]:
    """tag → welder id → (short name, unions of the spool that welder welded)."""
    rows = (
        Union.objects.filter(tag__in=tags, sol_worker_id__isnull=False)
        .values("tag", "sol_worker_id")
        .annotate(label=Max("sol_worker"), n=Count("id"))
        .order_by()
    )
    found: dict[str, dict] = defaultdict(dict)
    for r in rows:
        found[r["tag"]][r["sol_worker_id"]] = (r["label"], r["n"])
    # A spool without unions: one union of its Soldador.
    for tag, soldador in (
        Spool.objects.filter(tag__in=tags, uniones_total=0)
        .exclude(soldador="")
        .values_list("tag", "soldador")
    ):
        wid, label = _worker_ref(soldador)
        found[tag][wid] = (label, 1)
    return found


def _rejected_unions(f: Filters) -> dict[tuple[str, int], tuple[int, str]]:
    """(tag, N_UNION) → (welder id, name) of the welded unions of the rejected spools."""
    rows = Union.objects.filter(
        tag__in=rejections(f).values("tag"), sol_worker_id__isnull=False
    ).values_list("tag", "n_union", "sol_worker_id", "sol_worker")
    return {(tag, n): (wid, who) for tag, n, wid, who in rows}


def _named(meta: dict) -> list[int]:
    named = meta.get("uniones") if isinstance(meta, dict) else None
    if not isinstance(named, list):
        return []
    return [int(n) for n in named if isinstance(n, int | str) and str(n).isdigit()]


def _share(tally: _Tally, welders: dict[int | None, tuple[str, int]]) -> None:
    """One rejected union the spool's welders share, by the unions each welded."""
    total = sum(n for _, n in welders.values())
    for wid, (label, n) in welders.items():
        tally.of(wid, label).rejected += n / total


def repair_rates(f: Filters) -> list[WelderRate]:
    """Every welder inspected in the period, highest rate first (of the chosen worker)."""
    tally = _Tally()
    per_tag = verdicts(f).values("tag").annotate(n=Count("id")).order_by()
    inspections = dict(per_tag.values_list("tag", "n"))
    welded = _welded(verdicts(f).values("tag"))
    for tag, n in inspections.items():
        for wid, (label, unions) in welded.get(tag, {}).items():
            tally.of(wid, label).inspected += n * unions
    unions = _rejected_unions(f)
    for tag, meta in rejections(f).values_list("tag", "metadata_json"):
        named = [unions[(tag, n)] for n in _named(meta) if (tag, n) in unions]
        for wid, label in named:
            tally.of(wid, label).rejected += 1
        if not named and welded.get(tag):
            _share(tally, welded[tag])
    rates = [w for w in tally.welders.values() if f.worker is None or w.worker_id == f.worker]
    return sorted(rates, key=lambda w: (-w.rate, -w.inspected, w.worker))


def reasons(f: Filters) -> list[tuple[str, int]]:
    """(reason label, rejections) of the period, most frequent first."""
    rows = (
        rejections(f)
        .annotate(code=KT("metadata_json__motivo"))
        .values("code")
        .annotate(n=Count("id"))
        .order_by("-n", "code")
    )
    counted: Counter[str] = Counter()
    for r in rows:
        counted[motivo_rechazo(r["code"])] += r["n"]
    return sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))


def spools_by_cycle(f: Filters) -> list[tuple[int, int]]:
    """(repair cycle reached, spools) for the spools rejected in the period: the highest
    Ciclo their rejections reached (the number of rejections when the event has none)."""
    rows = (
        rejections(f)
        .values("tag")
        .annotate(ciclo=Max(Cast(KT("metadata_json__ciclo"), IntegerField())), n=Count("id"))
        .order_by()
    )
    counted = Counter(r["ciclo"] or r["n"] for r in rows)
    return sorted(counted.items())


@dataclass(frozen=True)
class Blocked:
    tag: str
    ot: str
    nv: str
    since: datetime | None  # the rejection that blocked it
    motivo: str


def _last_rejection(field: str) -> Subquery:
    return Subquery(
        Event.objects.filter(
            tag=OuterRef("tag"),
            evento_tipo=EventoTipo.COMPLETAR_METROLOGIA,
            metadata_json__resultado=Resultado.RECHAZADO,
        )
        .order_by("-timestamp")
        .values(field)[:1]
    )


def blocked_now(f: Filters | None = None) -> list[Blocked]:
    """BLOQUEADO spools now, with the reason and time of the rejection that blocked them."""
    qs = Spool.objects.filter(sheet_row__isnull=False, reparacion=ReparacionState.BLOQUEADO)
    qs = f.spools(qs) if f else qs
    rows = qs.annotate(
        since=_last_rejection("timestamp"), code=_last_rejection("metadata_json__motivo")
    ).values("tag", "ot", "nv", "since", "code")
    return [
        Blocked(r["tag"], r["ot"], r["nv"], r["since"], motivo_rechazo(r["code"]))
        for r in rows.order_by("since", "tag")
    ]


@dataclass(frozen=True)
class Rejection:
    tag: str
    at: datetime
    motivo: str
    uniones: list[int]
    inspector: str


def rejections_between(start: datetime, end: datetime) -> list[Rejection]:
    """The rejections in [start, end), latest first (the wall's quality panel: today's)."""
    rows = (
        Event.objects.filter(
            timestamp__gte=start,
            timestamp__lt=end,
            evento_tipo=EventoTipo.COMPLETAR_METROLOGIA,
            metadata_json__resultado=Resultado.RECHAZADO,
        )
        .order_by("-timestamp")
        .values_list("tag", "timestamp", "metadata_json", "worker_nombre")
    )
    return [
        Rejection(tag, at, motivo_rechazo((meta or {}).get("motivo")), _named(meta), who)
        for tag, at, meta, who in rows
    ]


def _charts(rates: list[WelderRate], ranked: list[tuple[str, int]], cycles: list) -> list[Chart]:
    line = repair_line_percent()
    shown = rates[:20]
    rate_chart = charts.bars(
        [w.worker for w in shown],
        [("Tasa de reparación", [round(w.rate, 1) for w in shown])],
        [charts.REPAIR],
        line=line,
        percent=True,
    )
    reasons_chart = charts.ranking(
        [label for label, _ in ranked], [n for _, n in ranked], charts.DANGER, name="Rechazos"
    )
    cycles_chart = charts.bars(
        [f"Ciclo {c}" for c, _ in cycles],
        [("Spools", [n for _, n in cycles])],
        [charts.REPAIR],
        decimals=0,
    )
    return [
        Chart(
            "tasa",
            "Tasa de reparación por soldador",
            rate_chart,
            f"La línea roja: {line:g} % (sobre ella, conversar con el soldador).",
        ),
        Chart("motivos", "Motivos de rechazo", reasons_chart),
        Chart("ciclos", "Spools rechazados por ciclo alcanzado", cycles_chart),
    ]


def report(f: Filters) -> Report:
    rates = repair_rates(f)
    ranked = reasons(f)
    cycles = spools_by_cycle(f)
    blocked = blocked_now(f)
    line = repair_line_percent()
    tables = [
        Table(
            "tasa",
            "Tasa de reparación por soldador",
            [Column("Soldador"), Column("Uniones inspeccionadas", True)]
            + [Column("Uniones rechazadas", True), Column("Tasa (%)", True)]
            + [Column(f"Sobre {line:g} %")],
            [
                [w.worker, w.inspected, round(w.rejected, 2), round(w.rate, 1)]
                + ["sí" if w.over_line else "no"]
                for w in rates
            ],
            note="Un rechazo sin uniones indicadas se reparte entre los soldadores del spool.",
        ),
        Table(
            "motivos",
            "Motivos de rechazo",
            [Column("Motivo"), Column("Rechazos", True)],
            [[label, n] for label, n in ranked],
        ),
        Table(
            "ciclos",
            "Spools por ciclo de reparación",
            [Column("Ciclo alcanzado"), Column("Spools", True)],
            [[c, n] for c, n in cycles],
        ),
        Table(
            "bloqueados",
            "BLOQUEADOS ahora",
            [Column("TAG_SPOOL"), Column("OT"), Column("NV")]
            + [Column("Bloqueado desde"), Column("Motivo del último rechazo")],
            [[b.tag, b.ot, b.nv, b.since, b.motivo] for b in blocked],
            empty="Ningún spool bloqueado.",
        ),
    ]
    return Report("calidad", "Calidad", _charts(rates, ranked, cycles), tables)
