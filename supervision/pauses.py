"""Pausas: the spools paused now (why, by whom, since when) and the reasons of the period.

A paused spool's reason is its last PAUSAR event's `motivo` (Metadata_JSON): found by one
subquery per paused spool (the tag index), then those events in one query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.fields.json import KT
from django.utils import timezone

from spools.lifecycle import EventoTipo, Operacion, ReparacionState, WorkState
from spools.models import Event, Spool
from spools.selectors import format_duration, operacion_label
from supervision import charts
from supervision.filters import Filters
from supervision.tables import Chart, Column, Report, Table

PAUSES = (EventoTipo.PAUSAR_SPOOL, EventoTipo.PAUSAR_REPARACION)
SIN_MOTIVO = "Sin motivo"
SHOWN = 300  # the longest open pauses listed (a floor has dozens; the bench, thousands)


def motivo_pausa(code: str | None) -> str:
    """A pause reason's Spanish label (an unknown code as it is)."""
    return settings.ZEUES_MOTIVOS_PAUSA.get(code, code) if code else SIN_MOTIVO


@dataclass(frozen=True)
class OpenPause:
    tag: str
    ot: str
    operacion: str  # what was paused: ARMADO, SOLDADURA, REPARACIÓN
    motivo: str
    worker: str
    worker_id: int | None
    since: datetime | None  # None: paused in the sheet, no PAUSAR event in the mirror

    def duration(self, now: datetime) -> str:
        return format_duration(now - self.since) if self.since else ""


def _paused_operation(arm: str, sold: str, reparacion: str) -> str:
    if reparacion == ReparacionState.REPARACION_PAUSADA:
        return Operacion.REPARACION
    return Operacion.SOLD if sold == WorkState.PAUSADO else Operacion.ARM


def open_pauses(f: Filters | None = None, *, before: datetime | None = None) -> list[OpenPause]:
    """Spools paused now, nobody on them, longest paused first (paused before `before`
    only, when given: the wall's stuck spools)."""
    last_pause = Event.objects.filter(tag=OuterRef("tag"), evento_tipo__in=PAUSES).order_by(
        "-timestamp"
    )
    paused = Q(arm=WorkState.PAUSADO) | Q(sold=WorkState.PAUSADO)
    paused |= Q(reparacion=ReparacionState.REPARACION_PAUSADA)
    qs = Spool.objects.filter(paused, sheet_row__isnull=False, ocupado_por="")
    qs = (f.spools(qs) if f else qs).annotate(
        pause_id=Subquery(last_pause.values("id")[:1]),
        since=Subquery(last_pause.values("timestamp")[:1]),
    )
    if before is not None:
        qs = qs.filter(since__lt=before)
    rows = list(qs.values("tag", "ot", "arm", "sold", "reparacion", "pause_id"))
    events = Event.objects.in_bulk([r["pause_id"] for r in rows if r["pause_id"]])
    found = []
    for r in rows:
        e = events.get(r["pause_id"])
        meta = e.metadata_json if e and isinstance(e.metadata_json, dict) else {}
        found.append(
            OpenPause(
                r["tag"],
                r["ot"],
                operacion_label(_paused_operation(r["arm"], r["sold"], r["reparacion"])),
                motivo_pausa(meta.get("motivo")) if e else "",
                e.worker_nombre if e else "",
                e.worker_id if e else None,
                e.timestamp if e else None,
            )
        )
    if f is not None and f.worker is not None:
        found = [p for p in found if p.worker_id == f.worker]
    far_future = timezone.now()
    return sorted(found, key=lambda p: (p.since is None, p.since or far_future, p.tag))


def reasons(f: Filters) -> list[tuple[str, int]]:
    """(reason label, pauses) of the period, most frequent first."""
    rows = (
        f.events(by_worker=True)
        .filter(evento_tipo__in=PAUSES)
        .annotate(code=KT("metadata_json__motivo"))
        .values("code")
        .annotate(n=Count("id"))
        .order_by()
    )
    counted: dict[str, int] = {}
    for r in rows:
        label = motivo_pausa(r["code"])
        counted[label] = counted.get(label, 0) + r["n"]
    return sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))


def report(f: Filters) -> Report:
    now = timezone.now()
    pauses = open_pauses(f)
    ranked = reasons(f)
    open_by_reason: dict[str, int] = {}
    for p in pauses:
        open_by_reason[p.motivo or SIN_MOTIVO] = open_by_reason.get(p.motivo or SIN_MOTIVO, 0) + 1
    now_ranked = sorted(open_by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = pauses[:SHOWN]
    open_table = Table(
        "abiertas",
        "Pausas abiertas ahora",
        [Column("TAG_SPOOL"), Column("OT"), Column("Operación"), Column("Motivo")]
        + [Column("Pausado por"), Column("Desde"), Column("Duración"), Column("Horas", True)],
        [
            [p.tag, p.ot, p.operacion, p.motivo, p.worker, p.since, p.duration(now)]
            + [round((now - p.since).total_seconds() / 3600, 1) if p.since else None]
            for p in shown
        ],
        note=(f"Las {SHOWN} más largas de {len(pauses)}." if len(pauses) > SHOWN else ""),
        empty="Ningún spool pausado.",
    )
    ranked_table = Table(
        "motivos",
        "Motivos de pausa en el período",
        [Column("Motivo"), Column("Pausas", True)],
        [[label, n] for label, n in ranked],
    )
    pictures = [
        Chart(
            "abiertas",
            "Pausas abiertas por motivo",
            charts.ranking(
                [k for k, _ in now_ranked], [n for _, n in now_ranked], charts.SOLD, name="Spools"
            ),
        ),
        Chart(
            "motivos",
            "Motivos de pausa en el período",
            charts.ranking(
                [k for k, _ in ranked], [n for _, n in ranked], charts.NEUTRAL, name="Pausas"
            ),
        ),
    ]
    return Report("pausas", "Pausas", pictures, [open_table, ranked_table])
