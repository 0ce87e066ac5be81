"""Reading the record: a spool's history as a supervisor reads it, its union list, and a
worker's day of unions (Mi registro).

History (domain.md "History"): work sessions and instants.

Built from the event log alone — the app's own events and the Metadata rows pulled from the
sheet, which may predate the app — so an imported row reads exactly like one written here.
A session opens at TOMAR_SPOOL / TOMAR_REPARACION and closes at the next PAUSAR / COMPLETAR /
CANCELAR of that spool for that operation, or at a supervisor's LIBERAR. Metrología results
and overrides are instants.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import groupby

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from spools.lifecycle import (
    DN_CHOICES,
    OPENING_EVENTS,
    EventoTipo,
    Operacion,
    OverrideTipo,
    Resultado,
    TipoUnion,
    blocks,
    ciclo_text,
    motivo_label,
)
from spools.models import Event, Spool, Union, Worker
from spools.unions import has_work
from spools.workbook.values import plant_tz

# Evento_Tipo that ends a session → how it ended.
CLOSES = {
    EventoTipo.PAUSAR_SPOOL: "pausada",
    EventoTipo.PAUSAR_REPARACION: "pausada",
    EventoTipo.COMPLETAR_ARM: "completada",
    EventoTipo.COMPLETAR_SOLD: "completada",
    EventoTipo.COMPLETAR_REPARACION: "completada",
    EventoTipo.CANCELAR_ARM: "cancelada",
    EventoTipo.CANCELAR_SOLD: "cancelada",
    EventoTipo.CANCELAR_REPARACION: "cancelada",
}
EN_CURSO = "en curso"


def format_duration(delta: timedelta) -> str:
    """`2h 15m`, `45m`; from two days on `3d 4h` (whole minutes; never negative)."""
    minutes = max(0, int(delta.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    if hours >= 48:
        return f"{hours // 24}d {hours % 24}h"
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def operacion_label(value: str) -> str:
    """ARM → ARMADO; unknown text (old sheet rows) as it is."""
    try:
        return Operacion(value).label
    except ValueError:
        return value


@dataclass
class Session:
    """Someone occupying the spool for one operation, from a TOMAR to what ended it."""

    operacion: str
    worker: str  # as in the cells: MR(93)
    worker_name: str
    start: datetime
    ciclo: int | None = None  # repair cycle (REPARACION)
    end: datetime | None = None
    ended_as: str = ""  # pausada / completada / cancelada / liberada / sin cierre registrado
    ended_by: str = ""  # who closed it, when not the worker (ADMIN:ana, SYSTEM, MR(93))
    motivo: str = ""  # why it was paused (the reason's label), when the worker said

    kind = "session"

    @property
    def ciclo_label(self) -> str:
        return ciclo_text(self.ciclo) if self.ciclo is not None else ""

    @property
    def when(self) -> datetime:
        return self.start

    @property
    def open(self) -> bool:
        return self.end is None and not self.ended_as

    @property
    def duration(self) -> str:
        if self.end is not None:
            return format_duration(self.end - self.start)
        return EN_CURSO if self.open else "—"

    @property
    def operacion_label(self) -> str:
        return operacion_label(self.operacion)


@dataclass
class Instant:
    """Something that happened at one moment: a metrología result, an override, an edit."""

    when: datetime
    category: str  # metrologia / override / otro
    title: str
    who: str = ""  # as in Worker_Nombre: AD(95), ADMIN:ana, SYSTEM
    detail: str = ""
    tone: str = ""  # ok / danger / "" (how to colour it)
    who_name: str = ""
    motivo: str = ""  # a rejection's reason (its label)
    uniones: list[int] = field(default_factory=list)  # the unions a rejection names

    kind = "instant"


Entry = Session | Instant


def build_history(events: Iterable[Event], names: dict[int, str] | None = None) -> list[Entry]:
    """Sessions and instants, oldest first, from a spool's events in timestamp order."""
    history = _History(names or {})
    for event in _plausible_order(events):
        history.add(event)
    return sorted(history.entries, key=lambda e: e.when)


class _History:
    """The entries read so far and the sessions still open, one per operación."""

    def __init__(self, names: dict[int, str]) -> None:
        self.names = names
        self.entries: list[Entry] = []
        self.open_sessions: dict[str, Session] = {}

    def add(self, event: Event) -> None:
        tipo = event.evento_tipo
        meta = _meta(event)
        if tipo in OPENING_EVENTS:
            self._open(event, meta)
        elif tipo in CLOSES:
            self._close(event, CLOSES[tipo], meta)
        elif tipo == EventoTipo.COMPLETAR_METROLOGIA:
            self.entries.append(_metrologia(event, meta, self._name_of(event)))
        elif tipo == EventoTipo.SUPERVISOR_OVERRIDE:
            if meta.get("tipo") == OverrideTipo.LIBERAR:
                self._close(event, "liberada")
            self.entries.append(_override(event, meta))
        elif tipo == EventoTipo.NOTA_AGREGADA:
            texto = str(meta.get("texto", ""))
            self.entries.append(
                Instant(event.timestamp, "otro", "Nota", event.worker_nombre, texto)
            )
        else:
            who = event.worker_nombre
            self.entries.append(Instant(event.timestamp, "otro", tipo or "Evento", who=who))

    def _name_of(self, event: Event) -> str:
        return self.names.get(event.worker_id, "") if event.worker_id else ""

    def _open(self, event: Event, meta: dict) -> None:
        operacion = event.operacion or (
            Operacion.REPARACION if event.evento_tipo == EventoTipo.TOMAR_REPARACION else ""
        )
        previous = self.open_sessions.pop(operacion, None)
        if previous is not None:
            previous.ended_as = "sin cierre registrado"
        session = Session(
            operacion=operacion,
            worker=event.worker_nombre,
            worker_name=self._name_of(event),
            start=event.timestamp,
            ciclo=_int(meta.get("ciclo")) if operacion == Operacion.REPARACION else None,
        )
        self.open_sessions[operacion] = session
        self.entries.append(session)

    def _close(self, event: Event, ended_as: str, meta: dict | None = None) -> None:
        operacion = event.operacion
        sessions = self.open_sessions
        session = sessions.pop(operacion, None)
        if session is None and (not operacion or "" in sessions):
            # Old rows may lack Operacion: close whichever session is open.
            key = "" if "" in sessions else next(reversed(sessions), None)
            session = sessions.pop(key, None) if key is not None else None
        if session is None:
            return  # a close without its TOMAR (history that starts mid-way)
        session.end = event.timestamp
        session.ended_as = ended_as
        if meta and meta.get("motivo"):
            session.motivo = motivo_label(meta["motivo"])
        if event.worker_nombre != session.worker:
            session.ended_by = event.worker_nombre


def _meta(event: Event) -> dict:
    """Metadata_JSON as a dict ({} when a sheet row holds something else)."""
    return event.metadata_json if isinstance(event.metadata_json, dict) else {}


def _override_tipo(event: Event) -> str:
    if event.evento_tipo != EventoTipo.SUPERVISOR_OVERRIDE:
        return ""
    return str(_meta(event).get("tipo", ""))


def _closes(event: Event) -> bool:
    return event.evento_tipo in CLOSES or _override_tipo(event) == OverrideTipo.LIBERAR


def _plausible_order(events: Iterable[Event]) -> list[Event]:
    """Events in timestamp order. Those sharing a timestamp (the sheet keeps whole seconds)
    keep the log's order unless the lifecycle forbids it: a spool is released before it is
    taken again, taken before it is paused, rejected before its repair is taken."""
    ordered: list[Event] = []
    occupied = False  # one occupant at a time, whatever the operation
    rejected = False  # a repair may be taken

    def plausible(event: Event) -> bool:
        tipo = event.evento_tipo
        if _closes(event):
            return occupied
        if tipo == EventoTipo.TOMAR_REPARACION:
            return not occupied and rejected
        if (
            tipo in OPENING_EVENTS
            or tipo == EventoTipo.COMPLETAR_METROLOGIA
            or _override_tipo(event) == OverrideTipo.DESBLOQUEAR
        ):
            return not occupied
        return True

    for _, group in groupby(events, key=lambda e: e.timestamp):
        pending = list(group)
        while pending:
            event = pending.pop(next((i for i, e in enumerate(pending) if plausible(e)), 0))
            tipo = event.evento_tipo
            if tipo in OPENING_EVENTS:
                occupied = True
            elif _closes(event):
                occupied = False
            if tipo == EventoTipo.COMPLETAR_METROLOGIA:
                meta = _meta(event)
                ciclo = _int(meta.get("ciclo")) or 0
                rejected = str(meta.get("resultado", "")).upper() == Resultado.RECHAZADO and (
                    not blocks(ciclo)  # the blocking rejection: no repair until unblocked
                )
            elif tipo == EventoTipo.COMPLETAR_REPARACION:
                rejected = False
            elif _override_tipo(event) == OverrideTipo.DESBLOQUEAR:
                rejected = True
            ordered.append(event)
    return ordered


def spool_page(spool: Spool) -> dict:
    """The context of the spool page's fragment (the page and any live push alike)."""
    return {
        "spool": spool,
        "occupied_label": operacion_label(spool.occupied_operation),
        "history": spool_history(spool.tag),
        **union_list(spool),
    }


def union_list(spool: Spool) -> dict:
    """The context of the spool's union list fragment (the spool page and the answer to a
    union definition change alike): its unions, which may still change, the choices."""
    unions = list(Union.objects.filter(tag=spool.tag).order_by("n_union"))
    for union in unions:
        union.locked = has_work(union)
    return {
        "spool": spool,
        "unions": unions,
        "next_n_union": max((u.n_union for u in unions), default=0) + 1,
        "dn_choices": [Decimal(str(dn)) for dn in DN_CHOICES],
        "tipo_choices": TipoUnion.choices,
    }


def spool_history(tag: str) -> list[Entry]:
    """The history of one spool: one query for its events, one for its workers' names."""
    events = list(Event.objects.filter(tag=tag).order_by("timestamp"))
    ids = {e.worker_id for e in events if e.worker_id}
    names = {w.id: w.full_name for w in Worker.objects.filter(id__in=ids)} if ids else {}
    return build_history(events, names)


def _int(value: object) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _ints(value: object) -> list[int]:
    """A list of N_UNION from Metadata_JSON (anything else, as a sheet row may hold: [])."""
    if not isinstance(value, list):
        return []
    return [n for n in (_int(v) for v in value) if n is not None]


def _metrologia(event: Event, meta: dict, name: str) -> Instant:
    resultado = str(meta.get("resultado", "")).upper()
    ciclo = _int(meta.get("ciclo"))
    who = {"who": event.worker_nombre, "who_name": name}
    if resultado == Resultado.APROBADO:
        return Instant(event.timestamp, "metrologia", "Metrología APROBADA", tone="ok", **who)
    if resultado == Resultado.RECHAZADO:
        detail = ciclo_text(ciclo) if ciclo is not None else ""
        if ciclo is not None and blocks(ciclo):
            detail += " — BLOQUEADO"
        return Instant(
            event.timestamp,
            "metrologia",
            "Metrología RECHAZADA",
            detail=detail,
            tone="danger",
            motivo=motivo_label(meta["motivo"]) if meta.get("motivo") else "",
            uniones=_ints(meta.get("uniones")),
            **who,
        )
    return Instant(event.timestamp, "metrologia", "Metrología", detail=resultado, **who)


def _override(event: Event, meta: dict) -> Instant:
    tipo = meta.get("tipo", "")
    despues = meta.get("despues") if isinstance(meta.get("despues"), dict) else {}
    if tipo == OverrideTipo.DESBLOQUEAR:
        estado = despues.get("Estado_Detalle", "")
        return Instant(event.timestamp, "override", "Desbloqueado", event.worker_nombre, estado)
    if tipo == OverrideTipo.LIBERAR:
        ocupante = meta.get("ocupante", "")
        detail = f"{ocupante} ya no ocupa el spool" if ocupante else ""
        return Instant(
            event.timestamp, "override", "Ocupación liberada", event.worker_nombre, detail
        )
    if tipo == OverrideTipo.EDICION_EXTERNA:
        columns = ", ".join(sorted(c for c in despues if c != "version"))
        detail = f"Cambió: {columns}" if columns else ""
        return Instant(
            event.timestamp, "override", "Editado en la hoja", event.worker_nombre, detail
        )
    return Instant(event.timestamp, "override", f"Intervención {tipo}".strip(), event.worker_nombre)


# --- Mi registro: a worker's unions and PD for a day (uniones.md "Mi registro") -----------

REGISTRO_DAYS = 7  # the bar picture: the day shown and the six before it


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The plant day as [first instant, next day's first instant): a union belongs to the
    day of its *_FECHA_FIN in plant time, so 23:30 is still that day."""
    tz = plant_tz()
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)


@dataclass(frozen=True)
class Trade:
    """One operation's columns of Uniones (ARM_* / SOL_*), and the other trade's."""

    operacion: str
    own: str  # the field prefix: arm / sol
    other: str
    other_label: str  # who did the other trade's work on these unions

    def column(self, name: str) -> str:
        return f"{self.own}_{name}"


TRADES = (
    Trade(Operacion.ARM, "arm", "sol", "Soldador"),
    Trade(Operacion.SOLD, "sol", "arm", "Armador"),
)
PENDIENTE = "pendiente"
SIN_SOLDADURA = "no requiere"


@dataclass
class RegistroGroup:
    """The unions of one spool a worker finished in one operation on the day."""

    tag: str
    operacion: str
    other_label: str
    numbers: list[int] = field(default_factory=list)
    pd: Decimal = Decimal(0)
    start: datetime | None = None
    end: datetime | None = None
    # The other trade's worker → which of these unions (PENDIENTE: not done yet).
    others: dict[str, list[int]] = field(default_factory=dict)

    def add(self, union: Union, trade: Trade) -> None:
        insort(self.numbers, union.n_union)
        self.pd += union.dn_union or Decimal(0)
        fin = getattr(union, trade.column("fin"))
        inicio = getattr(union, trade.column("inicio")) or fin
        self.start = min(self.start or inicio, inicio)
        self.end = max(self.end or fin, fin)
        insort(self.others.setdefault(_other_worker(union, trade), []), union.n_union)


def _other_worker(union: Union, trade: Trade) -> str:
    if trade.operacion == Operacion.ARM and not union.needs_sold:
        return SIN_SOLDADURA  # welded at site (FW)
    done = getattr(union, f"{trade.other}_fin") is not None
    return (getattr(union, f"{trade.other}_worker") or "sin nombre") if done else PENDIENTE


@dataclass(frozen=True)
class DayBar:
    day: date
    pd: Decimal
    percent: float  # of the week's best day (the bar's height)
    current: bool


@dataclass
class Registro:
    worker: Worker
    day: date
    today: date
    groups: list[RegistroGroup]
    week: list[DayBar]

    @property
    def pd(self) -> Decimal:
        return sum((g.pd for g in self.groups), Decimal(0))

    @property
    def n_unions(self) -> int:
        """Union × operation: a union fitted and welded by the same worker counts twice."""
        return sum(len(g.numbers) for g in self.groups)

    @property
    def n_spools(self) -> int:
        return len({g.tag for g in self.groups})

    @property
    def previous_day(self) -> date:
        return self.day - timedelta(days=1)

    @property
    def next_day(self) -> date | None:
        return self.day + timedelta(days=1) if self.day < self.today else None


def worker_registro(worker: Worker, day: date) -> Registro:
    """Mi registro: four indexed queries (the day's unions and the week's PD per day, for
    ARM and for SOLD), each on the (worker, *_FECHA_FIN) index."""
    start, end = day_bounds(day)
    groups: dict[tuple[str, str], RegistroGroup] = {}
    for trade in TRADES:
        for union in _finished(trade, worker.id, start, end).order_by(trade.column("fin")):
            key = (union.tag, trade.operacion)
            if key not in groups:
                groups[key] = RegistroGroup(union.tag, trade.operacion, trade.other_label)
            groups[key].add(union, trade)
    ordered = sorted(groups.values(), key=lambda g: (g.end, g.tag, g.operacion))
    return Registro(worker, day, timezone.localdate(), ordered, _week(worker.id, day))


def _finished(trade: Trade, worker_id: int, start: datetime, end: datetime) -> QuerySet[Union]:
    """The unions `worker_id` finished in `trade` within [start, end): the index's range."""
    return Union.objects.filter(
        **{
            trade.column("worker_id"): worker_id,
            f"{trade.column('fin')}__gte": start,
            f"{trade.column('fin')}__lt": end,
        }
    )


def _week(worker_id: int, day: date) -> list[DayBar]:
    """The PD of the REGISTRO_DAYS days ending on `day`, summed per plant day by the database."""
    first = day - timedelta(days=REGISTRO_DAYS - 1)
    start, end = day_bounds(first)[0], day_bounds(day)[1]
    totals: dict[date, Decimal] = {}
    for trade in TRADES:
        rows = (
            _finished(trade, worker_id, start, end)
            .annotate(day=TruncDate(trade.column("fin"), tzinfo=plant_tz()))
            .values("day")
            .annotate(pd=Sum("dn_union"))
            .order_by()
        )
        for row in rows:
            totals[row["day"]] = totals.get(row["day"], Decimal(0)) + (row["pd"] or Decimal(0))
    best = max(totals.values(), default=Decimal(0)) or Decimal(1)
    days = [first + timedelta(days=i) for i in range(REGISTRO_DAYS)]
    return [
        DayBar(d, totals.get(d, Decimal(0)), float(100 * totals.get(d, 0) / best), d == day)
        for d in days
    ]
