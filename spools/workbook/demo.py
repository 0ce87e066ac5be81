"""A realistic demo workbook: workers, roles, ≈300 spools over every lifecycle stage, their
unions, history.

The generator is pure (`build_demo` returns rows, nothing is written): each spool's history
is planned (who does which action when, and which unions each session finishes), then
*played* through the app's own transitions (spools.services.run_transition on an in-memory
Spool carrying its in-memory unions, no database), so its cells, its Estado_Detalle, its
counters, its unions and its Metadata rows are the ones the app would have written. Then
`write_demo_workbook` replaces the ZEUES sheets in two API calls, and `ensure_demo_users`
creates the demo accounts.

Unions (uniones.md): most spools have 2–12, a few none (the v3.0 path). All union work was
done in the last two weeks, in shift hours, so that Mi registro and the wall's PD today have
real numbers on a fresh demo.

Same seed, same workbook (relative to today: dates are laid out backwards from now).
"""

from __future__ import annotations

import functools
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from spools.lifecycle import (
    DN_CHOICES,
    OPENING_EVENTS,
    Accion,
    DerivedState,
    EventoTipo,
    MetrologiaState,
    Operacion,
    ReparacionState,
    Resultado,
    TipoUnion,
    WorkState,
    derive_states,
    max_ciclos,
)
from spools.models import (
    ROL_ARMADOR,
    ROL_AYUDANTE,
    ROL_METROLOGIA,
    ROL_SOLDADOR,
    Event,
    Note,
    OutboxEntry,
    Spool,
    Union,
    Worker,
)
from spools.rules import ActionError
from spools.services import (
    ACTIONS,
    Audit,
    Change,
    Snapshot,
    Step,
    TransitionContext,
    action_audit,
    run_transition,
)
from spools.workbook import gateway as sheets
from spools.workbook.columns import (
    METADATA,
    METADATA_COLUMNS,
    METADATA_N_UNION,
    OPERACIONES,
    OPERACIONES_COUNTER_COLUMNS,
    ROLES,
    ROLES_COLUMNS,
    TRABAJADORES,
    TRABAJADORES_COLUMNS,
    UNIONES,
    UNIONES_COLUMNS,
    Col,
    HeaderMap,
    column_letter,
)
from spools.workbook.outbox import metadata_row
from spools.workbook.pull import note_workbook_sheets
from spools.workbook.rows import counter_cells, new_union_row
from spools.workbook.sync import forget_workbook_positions
from spools.workbook.values import (
    cell_text,
    format_date,
    format_datetime,
    plant_tz,
    short_name,
)

DEFAULT_SPOOLS = 300
DEFAULT_SEED = 1923

# Office columns: the app must leave them alone; some sit between the app's columns, as in
# production, so that a position-based write would hit them.
OFFICE_COLUMNS = (
    "Cliente",
    "Linea",
    "Diametro_Pulg",
    "Material",
    "Peso_Kg",
    "Revestimiento",
    "Observaciones",
)
OPERACIONES_HEADER = (
    Col.TAG_SPOOL,
    "Cliente",
    Col.OT,
    Col.NV,
    "Linea",
    "Diametro_Pulg",
    "Material",
    Col.FECHA_MATERIALES,
    Col.ARMADOR,
    Col.FECHA_ARMADO,
    Col.SOLDADOR,
    Col.FECHA_SOLDADURA,
    "Peso_Kg",
    "Revestimiento",
    Col.FECHA_QC_METROLOGIA,
    "Observaciones",
    Col.OCUPADO_POR,
    Col.FECHA_OCUPACION,
    Col.VERSION,
    Col.ESTADO_DETALLE,
    # Added at the right when the plant started counting unions, as an office adds columns.
    *OPERACIONES_COUNTER_COLUMNS,
)
# The per-union Metadata rows name their union in this optional column too.
DEMO_METADATA_COLUMNS = (*METADATA_COLUMNS, METADATA_N_UNION)
ZEUES_SHEETS = (OPERACIONES, UNIONES, TRABAJADORES, ROLES, METADATA)

# Free rows and columns left in each sheet: the office adds spools and unions, the app
# appends Metadata, and writing past the grid edge fails.
SPARE_ROWS = {OPERACIONES: 1000, UNIONES: 3000, TRABAJADORES: 100, ROLES: 200, METADATA: 5000}
SPARE_COLS = 6

# Plant shift: sessions happen between these hours.
SHIFT_START = time(8, 0)
SHIFT_END = time(18, 30)


# --- stages ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    """A lifecycle stage the demo covers: the states derive_states must give back."""

    key: str
    label: str
    arm: str
    sold: str
    metrologia: str
    reparacion: str
    weight: int  # share of the spools (out of 300)
    ciclo: int | None = 0  # None: 1 or 2, at random
    materiales: bool = True
    occupied: bool = False

    @property
    def states(self) -> tuple[str, str, str, str]:
        return (self.arm, self.sold, self.metrologia, self.reparacion)


_P, _EP, _PA, _C = (
    WorkState.PENDIENTE,
    WorkState.EN_PROGRESO,
    WorkState.PAUSADO,
    WorkState.COMPLETADO,
)
_MP, _MA, _MR = MetrologiaState.PENDIENTE, MetrologiaState.APROBADO, MetrologiaState.RECHAZADO
_R = ReparacionState

# In order of progress; the weights add up to 300.
AT_LIMIT = -1  # the plant's repair limit (ZEUES_MAX_REPAIR_CYCLES) when the demo is built


def stage_ciclo(stage: Stage) -> int | None:
    """The rejection count a stage is built with (None: 1 or 2, at random)."""
    return max_ciclos() if stage.ciclo == AT_LIMIT else stage.ciclo


STAGES: tuple[Stage, ...] = (
    Stage("sin_materiales", "sin materiales", _P, _P, _MP, _R.NINGUNA, 20, materiales=False),
    Stage("arm_pendiente", "ARM pendiente", _P, _P, _MP, _R.NINGUNA, 42),
    Stage("arm_en_progreso", "ARM en progreso", _EP, _P, _MP, _R.NINGUNA, 14, occupied=True),
    Stage("arm_pausado", "ARM pausado", _PA, _P, _MP, _R.NINGUNA, 12),
    Stage("sold_pendiente", "ARM completado, SOLD pendiente", _C, _P, _MP, _R.NINGUNA, 32),
    Stage("sold_en_progreso", "SOLD en progreso", _C, _EP, _MP, _R.NINGUNA, 14, occupied=True),
    Stage("sold_pausado", "SOLD pausado", _C, _PA, _MP, _R.NINGUNA, 12),
    Stage("metrologia_pendiente", "metrología pendiente", _C, _C, _MP, _R.NINGUNA, 36),
    Stage("aprobado", "aprobado", _C, _C, _MA, _R.NINGUNA, 70),
    Stage("rechazado_1", "RECHAZADO ciclo 1", _C, _C, _MR, _R.RECHAZADO, 12, ciclo=1),
    Stage("rechazado_2", "RECHAZADO ciclo 2", _C, _C, _MR, _R.RECHAZADO, 6, ciclo=2),
    Stage("en_reparacion", "en reparación", _C, _C, _MR, _R.EN_REPARACION, 8, None, occupied=True),
    Stage("reparacion_pausada", "reparación pausada", _C, _C, _MR, _R.REPARACION_PAUSADA, 6, None),
    Stage(
        "reparado", "reparado, pendiente metrología", _C, _C, _MP, _R.PENDIENTE_METROLOGIA, 8, None
    ),
    Stage("bloqueado", "BLOQUEADO", _C, _C, _MR, _R.BLOQUEADO, 8, ciclo=AT_LIMIT),
)
STAGE_BY_KEY = {s.key: s for s in STAGES}
# Work finished long ago: from "aprobado" on.
_OLD_STAGES = frozenset(s.key for s in STAGES[[s.key for s in STAGES].index("aprobado") :])


def stage_counts(total: int) -> dict[str, int]:
    """How many spools of each stage for `total` spools: proportional, each stage at least
    once when there are enough spools (largest remainder)."""
    weights = {s.key: s.weight for s in STAGES}
    wsum = sum(weights.values())
    floor = 1 if total >= len(STAGES) else 0
    counts = {k: max(floor, total * w // wsum) for k, w in weights.items()}
    # Hand out what is left (or take back an excess) by the largest fractional share.
    by_share = sorted(weights, key=lambda k: (total * weights[k] % wsum, weights[k]), reverse=True)
    i = 0
    while sum(counts.values()) < total:
        counts[by_share[i % len(by_share)]] += 1
        i += 1
    for k in sorted(weights, key=lambda k: counts[k], reverse=True):
        while sum(counts.values()) > total and counts[k] > floor:
            counts[k] -= 1
    return counts


# --- workers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoWorker:
    id: int
    nombre: str
    apellido: str
    roles: tuple[str, ...] = ()
    inactive_roles: tuple[str, ...] = ()
    activo: bool = True

    @property
    def short(self) -> str:
        return short_name(self.id, self.nombre, self.apellido)

    def has_role(self, *roles: str) -> bool:
        return self.activo and bool(set(self.roles) & set(roles))


_ARM, _SOLD, _AYU, _MET = ROL_ARMADOR, ROL_SOLDADOR, ROL_AYUDANTE, ROL_METROLOGIA
DEMO_WORKERS: tuple[DemoWorker, ...] = (
    DemoWorker(93, "Mauricio", "Rojas", (_ARM,)),
    DemoWorker(94, "Carlos", "Muñoz", (_ARM,)),
    DemoWorker(95, "Juan", "Soto", (_ARM, _AYU)),
    DemoWorker(96, "Pedro", "Contreras", (_ARM,)),
    DemoWorker(97, "Luis", "Silva", (_ARM,)),
    DemoWorker(98, "Jorge", "Martínez", (_SOLD,)),
    DemoWorker(99, "Ricardo", "Sepúlveda", (_SOLD,)),
    DemoWorker(100, "Francisco", "Morales", (_SOLD,)),
    DemoWorker(101, "Cristián", "Rodríguez", (_SOLD, _ARM)),
    DemoWorker(102, "Patricio", "López", (_SOLD,)),
    DemoWorker(103, "Sergio", "Fuentes", (_SOLD,), activo=False),  # left the company
    DemoWorker(104, "Rodrigo", "Hernández", (_AYU,)),
    DemoWorker(105, "Felipe", "Torres", (_AYU,)),
    DemoWorker(106, "Matías", "Araya", (_AYU,)),
    DemoWorker(107, "Diego", "Flores", (_AYU,), inactive_roles=(_SOLD,)),
    DemoWorker(108, "Claudia", "Espinoza", (_MET,)),
    DemoWorker(109, "Andrea", "Valenzuela", (_MET,)),
    DemoWorker(110, "Héctor", "Castillo", (_MET,)),
    DemoWorker(111, "Manuel", "Tapia", ("Revestimiento",)),
    DemoWorker(112, "Víctor", "Reyes", ("Pintura",)),
    DemoWorker(113, "Marcelo", "Gutiérrez", ("Pintura", "Revestimiento")),
    DemoWorker(114, "Óscar", "Castro", ("Despacho",)),
    DemoWorker(115, "Raúl", "Pizarro", (_ARM,), activo=False),  # retired
    DemoWorker(116, "Camila", "Álvarez", (_MET,), inactive_roles=(_ARM,)),
    DemoWorker(117, "Gonzalo", "Vargas", ("Revestimiento", _AYU), inactive_roles=("Despacho",)),
)


@dataclass(frozen=True)
class Crew:
    """Who may do what, from the roles (domain.md "Workers and roles")."""

    arm: tuple[DemoWorker, ...]
    sold: tuple[DemoWorker, ...]
    metrologia: tuple[DemoWorker, ...]
    reparacion: tuple[DemoWorker, ...]
    # Former workers, who appear only in finished work long ago.
    retired_arm: tuple[DemoWorker, ...]
    retired_sold: tuple[DemoWorker, ...]

    @classmethod
    def from_workers(cls, workers: tuple[DemoWorker, ...]) -> Crew:
        def retired(rol: str) -> tuple[DemoWorker, ...]:
            return tuple(w for w in workers if not w.activo and rol in w.roles)

        return cls(
            arm=tuple(w for w in workers if w.has_role(_ARM, _AYU)),
            sold=tuple(w for w in workers if w.has_role(_SOLD, _AYU)),
            metrologia=tuple(w for w in workers if w.has_role(_MET)),
            # Any active worker may repair; in practice the floor's armadores/soldadores do.
            reparacion=tuple(w for w in workers if w.has_role(_ARM, _SOLD, _AYU)),
            retired_arm=retired(_ARM),
            retired_sold=retired(_SOLD),
        )


# --- projects and office data ----------------------------------------------------------


@dataclass(frozen=True)
class Project:
    nv: str
    area: str
    ots: tuple[str, ...]
    cliente: str
    materiales: tuple[str, ...]
    revestimientos: tuple[str, ...]
    weight: int


PROJECTS: tuple[Project, ...] = (
    Project(
        "1923",
        "TW",
        ("OT-4471", "OT-4472"),
        "Minera Escondida",
        ("A106 Gr.B", "A53 Gr.B"),
        ("Pintura epóxica", "Pintura epóxica", ""),
        4,
    ),
    Project(
        "2047",
        "CW",
        ("OT-4518",),
        "Codelco División El Teniente",
        ("A312 TP316L", "A106 Gr.B"),
        ("Galvanizado en caliente", ""),
        3,
    ),
    Project(
        "2110",
        "PW",
        ("OT-4603", "OT-4604"),
        "Anglo American Los Bronces",
        ("A53 Gr.B", "API 5L X52"),
        ("Revestimiento caucho", "Pintura epóxica", ""),
        3,
    ),
    Project(
        "2156",
        "FW",
        ("OT-4650",),
        "ENAP Refinería Aconcagua",
        ("A333 Gr.6", "A312 TP304"),
        ("", "Aislación térmica"),
        2,
    ),
)
DIAMETROS = (2, 3, 4, 6, 6, 8, 8, 10, 12, 14, 16, 20)
OBSERVACIONES = (
    "Prioridad alta",
    "Revisar plano rev. B",
    "Cambio de flange a ANSI 300",
    "Soporte incluido",
    "Despachar con isométrico",
    "Cliente pide inspección de tercero",
    "Ver NC-0412",
)
FALTA_MATERIAL = (
    'Falta brida 6" ANSI 150',
    "Falta codo 90° radio largo",
    "Cañería en tránsito desde Santiago",
    "Falta tee reducida",
    "",
)


@dataclass
class SpoolRow:
    """One Operaciones row of the demo, before formatting: office values and the stage."""

    tag: str
    stage: Stage
    office: dict[str, Any]
    ot: str
    nv: str


def _spool_rows(rng: random.Random, total: int) -> list[SpoolRow]:
    """`total` tags like MK-1923-TW-17422-004, grouped by project and isometric, with the
    office columns filled, and stages spread so that older spools tend to be further on."""
    rows: list[SpoolRow] = []
    used_isos: set[tuple[str, int]] = set()
    projects = [p for p in PROJECTS for _ in range(p.weight)]
    while len(rows) < total:
        p = rng.choice(projects)
        iso = rng.randint(17000, 19999)
        if (p.nv, iso) in used_isos:
            continue
        used_isos.add((p.nv, iso))
        diametro = rng.choice(DIAMETROS)
        material = rng.choice(p.materiales)
        ot = rng.choice(p.ots)
        for seq in range(1, rng.randint(2, 9) + 1):
            if len(rows) >= total:
                break
            office = {
                "Cliente": p.cliente,
                "Linea": f'{diametro}"-{p.area}-{iso}',
                "Diametro_Pulg": diametro,
                "Material": material,
                # Weight is sometimes still unknown to the office.
                "Peso_Kg": round(rng.uniform(8, 40) * diametro, 1) if rng.random() > 0.07 else "",
                "Revestimiento": rng.choice(p.revestimientos),
                "Observaciones": rng.choice(OBSERVACIONES) if rng.random() < 0.12 else "",
            }
            tag = f"MK-{p.nv}-{p.area}-{iso}-{seq:03d}"
            rows.append(SpoolRow(tag, STAGES[0], office, ot, p.nv))
    rows.sort(key=lambda r: r.tag)

    # Lower TAG numbers are older work: give them the later stages, with enough noise that
    # every part of the sheet has a mix.
    counts = stage_counts(total)
    rank = {s.key: i for i, s in enumerate(STAGES)}
    pool = [STAGE_BY_KEY[k] for k, n in counts.items() for _ in range(n)]
    pool.sort(key=lambda s: -(rank[s.key] + rng.uniform(0, 8)))
    for row, stage in zip(rows, pool, strict=True):
        row.stage = stage
        if not stage.materiales and rng.random() < 0.6:
            row.office["Observaciones"] = rng.choice(FALTA_MATERIAL)
    return rows


# --- unions ------------------------------------------------------------------------------

# How many unions a spool's drawing shows, and the share of each type (a few FW: welded at
# site, ARM only).
N_UNIONS = (2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12)
_T = TipoUnion
UNION_TYPES = (_T.BW,) * 60 + (_T.SO,) * 9 + (_T.FILL,) * 7 + (_T.BR,) * 8 + (_T.LET,) * 8
UNION_TYPES += (_T.MIT,) * 4 + (_T.FW,) * 4
# Olets and fillets are small-bore; the rest follow the line (a reducer now and then).
SMALL_BORE = (0.5, 0.75, 1, 1.5, 2)
# Spools without unions (v3.0): more often among old work, finished before unions were kept.
NO_UNIONS_OLD, NO_UNIONS_NEW = 0.15, 0.04


def _dn(rng: random.Random, tipo: str, line: float) -> Decimal:
    """A DN from the tablet's list (DN_CHOICES) for a union of this type on this line."""
    if tipo in (_T.LET, _T.FILL):
        dn = rng.choice(SMALL_BORE)
    else:
        smaller = [d for d in DN_CHOICES if 2 <= d < line] or [line]
        branch = tipo == _T.BR or rng.random() < 0.12  # a branch, or past a reducer
        dn = rng.choice(smaller) if branch else line
    return Decimal(str(dn))


def _demo_unions(rng: random.Random, spool_row: SpoolRow) -> list[Union]:
    """The unions of a spool's drawing (N 1…n), in memory; none for a few spools."""
    old = spool_row.stage.key in _OLD_STAGES
    if rng.random() < (NO_UNIONS_OLD if old else NO_UNIONS_NEW):
        return []
    line = float(spool_row.office["Diametro_Pulg"])
    tipos = [rng.choice(UNION_TYPES) for _ in range(rng.choice(N_UNIONS))]
    unions = [
        Union(
            tag=spool_row.tag, n_union=n, ot=spool_row.ot, dn_union=_dn(rng, t, line), tipo_union=t
        )
        for n, t in enumerate(tipos, start=1)
    ]
    if not any(u.needs_sold for u in unions):
        # A spool of field welds only has no SOLD: no stage past ARM could hold it.
        unions[0].tipo_union = _T.BW
        unions[0].dn_union = Decimal(str(line))
    return unions


# --- playing a spool's history ---------------------------------------------------------

# The account the demo's tablets were logged in as (their Metadata rows name it).
DEMO_STATION = "estacion"


@dataclass
class Act:
    """One action of a spool's history, planned: when, which step, by whom."""

    id: uuid.UUID  # its Metadata row's ID
    ts: datetime  # naive plant time
    step: Step
    worker: DemoWorker
    uniones: tuple[int, ...] = ()  # N_UNION finished, for a session end of ARM / SOLD


def _uuid4(rng: random.Random) -> uuid.UUID:
    """A UUID4 from the seeded generator, so the same seed gives the same workbook."""
    return uuid.UUID(int=rng.getrandbits(128), version=4)


@dataclass(frozen=True)
class Pace:
    """How long work sessions and the gaps between them take, in minutes (min, max)."""

    paused_session: tuple[float, float]
    between: tuple[float, float]
    last_session: tuple[float, float]
    after: tuple[float, float]


ARM_SOLD_PACE = Pace((30, 240), (20, 60 * 20), (45, 300), (30, 60 * 30))
REPAIR_PACE = Pace((30, 200), (20, 60 * 16), (40, 240), (60, 60 * 24))
# Paused sessions before the last one: more on spools with unions, where the work is shared
# (A fits some unions and pauses, B fits the rest).
PAUSES = (0, 0, 0, 1, 1, 2)
PAUSES_WITH_UNIONS = (0, 0, 1, 1, 1, 2)
# Of the sessions of a spool with unions: a pause that registers nothing ("liberar sin
# registrar"), a last session ended with FINALIZAR rather than COMPLETAR, a welder welding
# the fitted unions while ARM is still partial.
RELEASE_EMPTY, FINALIZAR_SHARE, WELD_WHILE_FITTING = 0.06, 0.4, 0.35
_ARM_OP, _SOLD_OP = Operacion.ARM, Operacion.SOLD


class SpoolHistory:
    """Plans the actions that bring one spool to its stage, on the plant's clock.

    Only when, by whom and which unions each session finishes (`acts`): `perform` then
    plays them through the app's own transitions, once `_calendar` has moved them to their
    final dates. The unions done so far are tracked here (`fitted`, `welded`) only to plan
    what a session may register; the played spool's own unions are the record.
    """

    def __init__(
        self,
        rng: random.Random,
        crew: Crew,
        tag: str,
        start: datetime,
        unions: list[Union] | None = None,
    ) -> None:
        self.rng = rng
        self.crew = crew
        self.tag = tag
        self.t = start
        self.materiales: date | None = None  # Fecha_Materiales (the office's)
        self.acts: list[Act] = []
        self.unions = unions or []
        self.numbers = [u.n_union for u in self.unions]
        self.to_weld = [u.n_union for u in self.unions if u.needs_sold]  # a setting: asked once
        self.fitted: set[int] = set()
        self.welded: set[int] = set()

    # time ---------------------------------------------------------------------------

    def wait(self, min_minutes: float, max_minutes: float) -> None:
        """Move the clock on, skipping the hours when the shop is closed."""
        self.t += timedelta(minutes=self.rng.uniform(min_minutes, max_minutes))
        if self.t.time() >= SHIFT_END:
            self.t = self._next_shift(self.t.date() + timedelta(days=1))
        elif self.t.time() < SHIFT_START:
            self.t = self._next_shift(self.t.date())

    def _next_shift(self, day: date) -> datetime:
        return datetime.combine(day, SHIFT_START) + timedelta(minutes=self.rng.uniform(0, 50))

    def act(
        self, operacion: str, accion: str, worker: DemoWorker, uniones: tuple[int, ...] = ()
    ) -> None:
        """`accion`: the acción, or METROLOGÍA's resultado (the ACTIONS key)."""
        self.t = self.t.replace(microsecond=0)
        step = ACTIONS[(operacion, accion)]
        self.acts.append(Act(_uuid4(self.rng), self.t, step, worker, uniones))

    # unions -------------------------------------------------------------------------

    def remaining(self, op: str) -> list[int]:
        """N_UNION of the unions that count for `op` and are not done yet."""
        if op == _ARM_OP:
            return [n for n in self.numbers if n not in self.fitted]
        return [n for n in self.to_weld if n not in self.welded]

    def selectable(self, op: str) -> list[int]:
        """What a session of `op` may register now (SOLD: only the fitted ones)."""
        left = self.remaining(op)
        return left if op == _ARM_OP else [n for n in left if n in self.fitted]

    def _register(self, op: str, numbers: list[int]) -> tuple[int, ...]:
        (self.fitted if op == _ARM_OP else self.welded).update(numbers)
        return tuple(numbers)

    def pick(self, op: str) -> tuple[int, ...]:
        """The unions a paused session finishes: some of the selectable ones, mostly in
        drawing order, never the last one that counts (registering it would complete)."""
        if not self.unions or op not in (_ARM_OP, _SOLD_OP):
            return ()
        selectable = self.selectable(op)
        most = min(len(selectable), len(self.remaining(op)) - 1)
        if most < 1 or self.rng.random() < RELEASE_EMPTY:
            return ()
        k = self.rng.randint(1, most)
        if self.rng.random() < 0.8:
            return self._register(op, selectable[:k])
        return self._register(op, sorted(self.rng.sample(selectable, k)))

    def finish(self, op: str) -> tuple[int, ...]:
        """The unions the completing session finishes: every one still to do."""
        if not self.unions or op not in (_ARM_OP, _SOLD_OP):
            return ()
        return self._register(op, self.selectable(op))

    def weld_fitted(self) -> None:
        """Now and then, between two ARM sessions, a welder welds some fitted unions: TOMAR
        SOLD needs one union ready to weld, not ARM complete (uniones.md)."""
        if not self.selectable(_SOLD_OP) or self.rng.random() >= WELD_WHILE_FITTING:
            return
        w = self.rng.choice(self.crew.sold)
        self.act(_SOLD_OP, Accion.TOMAR, w)
        self.wait(*ARM_SOLD_PACE.paused_session)
        self.act(_SOLD_OP, Accion.PAUSAR, w, self.pick(_SOLD_OP))
        self.wait(*ARM_SOLD_PACE.between)

    # ARM and SOLD -------------------------------------------------------------------

    def arrive(self) -> None:
        """The materials arrive (Fecha_Materiales)."""
        self.materiales = self.t.date()
        self.wait(60 * 16, 60 * 24 * 6)

    def work(self, op: str, outcome: str, *, retired_ok: bool = False, weld: bool = False) -> None:
        """Sessions of ARM or SOLD ending `completado`, `pausado` or `en_progreso`; `weld`:
        welders may weld fitted unions between the ARM sessions."""
        pool = self.crew.arm if op == Operacion.ARM else self.crew.sold
        retired = self.crew.retired_arm if op == Operacion.ARM else self.crew.retired_sold
        if retired_ok and retired and self.rng.random() < 0.2:
            pool = retired  # finished long ago by someone who has since left

        if self.rng.random() < 0.06:
            self.mistaken_take(op, pool)
            self.wait(20, 60 * 8)

        pauses = self.rng.choice(PAUSES_WITH_UNIONS if self.unions else PAUSES)
        pauses += 1 if outcome == "pausado" else 0
        if outcome == "en_progreso" and self.unions and not pauses and self.rng.random() < 0.8:
            pauses = 1  # an occupied spool with unions mostly shows partial progress
        self.sessions(op, pool, outcome, pauses, ARM_SOLD_PACE, weld=weld)

    def mistaken_take(self, op: str, pool: tuple[DemoWorker, ...]) -> None:
        """A TOMAR undone at once with CANCELAR: every app cell back as it was."""
        w = self.rng.choice(pool)
        self.act(op, Accion.TOMAR, w)
        self.wait(2, 15)
        self.act(op, Accion.CANCELAR, w)

    # metrología and repair ----------------------------------------------------------

    def metrologia(self, resultado: str) -> None:
        w = self.rng.choice(self.crew.metrologia)
        self.act(Operacion.METROLOGIA, resultado, w)
        self.wait(60, 60 * 30)

    def repair(self, outcome: str) -> None:
        """Repair sessions ending `completado`, `pausado` or `en_progreso`."""
        op = Operacion.REPARACION
        pool = self.crew.reparacion
        if self.rng.random() < 0.1:  # taken by mistake, cancelled: back to RECHAZADO
            w = self.rng.choice(pool)
            self.act(op, Accion.TOMAR, w)
            self.wait(2, 20)
            self.act(op, Accion.CANCELAR, w)
            self.wait(20, 60 * 6)
        pauses = self.rng.choice((0, 0, 1)) + (1 if outcome == "pausado" else 0)
        self.sessions(op, pool, outcome, pauses, REPAIR_PACE)

    def sessions(
        self,
        op: str,
        pool: tuple[DemoWorker, ...],
        outcome: str,
        pauses: int,
        pace: Pace,
        *,
        weld: bool = False,
    ) -> None:
        """`pauses` paused sessions, then one ending as `outcome`, each by anyone in `pool`
        (worker A starts, worker B may finish: collaboration after a pause). On a spool
        with unions each pause registers some, the last session the rest."""
        for i in range(pauses):
            w = self.rng.choice(pool)
            self.act(op, Accion.TOMAR, w)
            self.wait(*pace.paused_session)
            self.act(op, Accion.PAUSAR, w, self.pick(op))
            if i < pauses - 1 or outcome != "pausado":
                self.wait(*pace.between)
                if weld:
                    self.weld_fitted()
        if outcome == "pausado":
            return
        w = self.rng.choice(pool)
        self.act(op, Accion.TOMAR, w)
        if outcome == "en_progreso":
            return
        self.wait(*pace.last_session)
        uniones = self.finish(op)
        finalizar = uniones and self.rng.random() < FINALIZAR_SHARE
        self.act(op, Accion.FINALIZAR if finalizar else Accion.COMPLETAR, w, uniones)
        self.wait(*pace.after)

    def rejections(self, n: int) -> None:
        """n consecutive RECHAZADO, each but the last followed by a finished repair."""
        for i in range(n):
            self.metrologia(Resultado.RECHAZADO)
            if i < n - 1:
                self.repair("completado")

    # shifting to the calendar -------------------------------------------------------

    def last_moment(self) -> datetime | None:
        if self.acts:
            return self.acts[-1].ts
        if self.materiales is not None:
            return datetime.combine(self.materiales, SHIFT_START)
        return None

    def first_work(self) -> int | None:
        """Index of the first ARM / SOLD act: no union date is older than it."""
        ops = (_ARM_OP, _SOLD_OP)
        return next((i for i, a in enumerate(self.acts) if a.step.operacion in ops), None)

    def shift(self, delta: timedelta) -> None:
        for a in self.acts:
            a.ts += delta
        if self.materiales is not None:
            self.materiales += delta


def _play(h: SpoolHistory, stage: Stage) -> None:
    """The actions that bring a fresh spool to `stage`."""
    order = [s.key for s in STAGES]
    at = order.index(stage.key)
    if not stage.materiales:
        return
    h.arrive()
    if stage.key == "arm_pendiente":
        if h.rng.random() < 0.1:
            h.mistaken_take(Operacion.ARM, h.crew.arm)
        return
    # Former workers only in work finished before unions were kept.
    old = stage.key in _OLD_STAGES and not h.unions
    arm = {"arm_en_progreso": "en_progreso", "arm_pausado": "pausado"}.get(stage.key, "completado")
    # Welding fitted unions while ARM is partial leaves SOLD paused: only where SOLD goes on.
    weld = at >= order.index("sold_en_progreso")
    h.work(Operacion.ARM, arm, retired_ok=old, weld=weld)
    if at <= order.index("arm_pausado"):
        return
    if stage.key == "sold_pendiente":
        return
    sold = {"sold_en_progreso": "en_progreso", "sold_pausado": "pausado"}.get(
        stage.key, "completado"
    )
    h.work(Operacion.SOLD, sold, retired_ok=old)
    if at <= order.index("metrologia_pendiente"):
        return
    if stage.key == "aprobado":
        if h.rng.random() < 0.2:  # approved after a repair: the counter went back to 0
            h.rejections(h.rng.choice((1, 1, 2)))
            h.repair("completado")
        h.metrologia(Resultado.APROBADO)
        return
    ciclo = stage_ciclo(stage)
    if ciclo is None:
        ciclo = h.rng.choice((1, 1, 2))
    h.rejections(ciclo)
    repair = {
        "en_reparacion": "en_progreso",
        "reparacion_pausada": "pausado",
        "reparado": "completado",
    }.get(stage.key)
    if repair:
        h.repair(repair)


@functools.cache
def _as_worker(w: DemoWorker) -> Worker:
    """The demo worker as the transitions see a worker (never saved)."""
    return Worker(id=w.id, nombre=w.nombre, apellido=w.apellido, activo=w.activo)


def perform(h: SpoolHistory) -> tuple[Spool, list[Event]]:
    """Play the planned acts through the app's own transitions on an in-memory spool.

    The spool's cells, Estado_Detalle and counters, its unions (`h.unions`, registered in
    place) and the Metadata rows (unsaved Events) are exactly what the app would have
    written for those actions from the tablets.
    """
    spool = Spool(tag=h.tag, fecha_materiales=h.materiales)
    spool.unions = h.unions  # the transitions read and register these, as the mirror's
    spool.count_unions(spool.unions)
    spool.refresh_estado_detalle()
    events: list[Event] = []
    taken: Snapshot | None = None  # the cells before the last TOMAR: what CANCELAR restores
    tz = plant_tz()
    for act in h.acts:
        now = act.ts.replace(tzinfo=tz)
        ctx = TransitionContext(
            _as_worker(act.worker),
            now,
            act.ts.date(),
            account=DEMO_STATION,
            snapshot=taken,
            uniones=act.uniones,
        )
        try:
            change = run_transition(spool, act.step.transition, ctx)
        except ActionError as exc:  # a generator bug: the plan broke the plant's rules
            raise RuntimeError(f"demo {h.tag}: {act.step.transition}: {exc.message}") from exc
        if act.step.evento_tipo in OPENING_EVENTS:
            taken = Snapshot(change.before)
        audit = action_audit(act.step, change, ctx)
        events.append(_event(act.id, h.tag, audit, ctx))
        # Then one row per union registered, as apply_transition writes them.
        events += [_union_event(_uuid4(h.rng), change, u, audit, ctx) for u in change.unions]
    return spool, events


def _event(event_id: uuid.UUID, tag: str, audit: Audit, ctx: TransitionContext) -> Event:
    """A Metadata row (unsaved) as record_change writes it."""
    return Event(
        id=event_id,
        timestamp=ctx.now,
        evento_tipo=audit.evento_tipo,
        tag=tag,
        worker_id=audit.worker_id,
        worker_nombre=audit.worker_nombre,
        operacion=audit.operacion,
        accion=audit.accion,
        fecha_operacion=ctx.today,
        metadata_json=audit.meta,
        account=DEMO_STATION,
    )


def _union_event(
    event_id: uuid.UUID, change: Change, union: Union, row: Audit, ctx: TransitionContext
) -> Event:
    """A union's UNION_ARM_REGISTRADA / UNION_SOLD_REGISTRADA row, with the fields of
    spools.services._record_union (which writes it through the database)."""
    arm = row.operacion == Operacion.ARM
    meta: dict[str, Any] = {
        "n_union": union.n_union,
        "dn_union": float(union.dn_union) if union.dn_union is not None else None,
        "tipo_union": union.tipo_union,
        "inicio": format_datetime(union.arm_inicio if arm else union.sol_inicio),
        "fin": format_datetime(union.fin_for(row.operacion)),
        "cuenta": ctx.account,
    }
    evento = EventoTipo.UNION_ARM_REGISTRADA if arm else EventoTipo.UNION_SOLD_REGISTRADA
    audit = Audit(evento, row.operacion, row.accion, row.worker_id, row.worker_nombre, meta)
    return _event(event_id, change.spool.tag, audit, ctx)


# --- the workbook ----------------------------------------------------------------------


@dataclass
class DemoSpool:
    tag: str
    stage: Stage
    ciclo: int
    row: dict[str, Any]  # header → cell value, as written
    unions: list[Union] = field(default_factory=list)  # as played (in memory)


@dataclass
class DemoWorkbook:
    """The sheets as lists of rows (header first), ready to write with RAW input."""

    operaciones: list[list[Any]]
    trabajadores: list[list[Any]]
    roles: list[list[Any]]
    metadata: list[list[Any]]
    spools: list[DemoSpool]
    workers: tuple[DemoWorker, ...]
    # Header first; empty: a workbook without a Uniones sheet.
    uniones: list[list[Any]] = field(default_factory=list)

    def sheets(self) -> dict[str, list[list[Any]]]:
        """Title → rows, in the workbook's order."""
        uniones = {UNIONES: self.uniones} if self.uniones else {}
        return {
            OPERACIONES: self.operaciones,
            **uniones,
            TRABAJADORES: self.trabajadores,
            ROLES: self.roles,
            METADATA: self.metadata,
        }

    def stage_distribution(self) -> Counter[str]:
        return Counter(s.stage.key for s in self.spools)


@functools.lru_cache(maxsize=8)
def _header(names: tuple[str, ...]) -> HeaderMap:
    # Every demo row has the same header: found by name once, not once per spool.
    return HeaderMap.from_row(OPERACIONES, list(names))


def derive_row(row: dict[str, Any]) -> DerivedState:
    """derive_states of a finished row, read the way the pull reads it (by header)."""
    header = _header(tuple(row))
    values = list(row.values())

    def get(col: str) -> str:
        return cell_text(header.get(values, col))

    return derive_states(
        armador=get(Col.ARMADOR),
        fecha_armado=get(Col.FECHA_ARMADO),
        soldador=get(Col.SOLDADOR),
        fecha_soldadura=get(Col.FECHA_SOLDADURA),
        fecha_qc_metrologia=get(Col.FECHA_QC_METROLOGIA),
        ocupado_por=get(Col.OCUPADO_POR),
        estado_detalle=get(Col.ESTADO_DETALLE),
    )


def _finish_row(spool_row: SpoolRow, spool: Spool, rng: random.Random) -> DemoSpool:
    """The Operaciones row of a played spool; checks that it derives back to its stage."""
    stage = spool_row.stage
    app = {
        Col.TAG_SPOOL: spool_row.tag,
        Col.OT: spool_row.ot,
        Col.NV: spool_row.nv,
        Col.FECHA_MATERIALES: format_date(spool.fecha_materiales),
        **spool.app_cells(),
        Col.VERSION: str(_uuid4(rng)),
        **counter_cells(spool),  # numbers (0 without unions), equal to Uniones
    }
    office = spool_row.office
    row = {name: app[name] if name in app else office[name] for name in OPERACIONES_HEADER}

    derived = derive_row(row)
    got = (derived.arm, derived.sold, derived.metrologia, derived.reparacion)
    played = (spool.arm, spool.sold, spool.metrologia, spool.reparacion)
    ciclo_ok = stage.ciclo is None or derived.ciclo == stage_ciclo(stage)
    if got != stage.states or played != got or not ciclo_ok or derived.ciclo != spool.ciclo:
        # A generator bug, not bad input: never write a demo that contradicts itself.
        raise RuntimeError(
            f"demo {spool_row.tag}: se quería {stage.key} {stage.states} ciclo {spool.ciclo}, "
            f"la fila da {got} ciclo {derived.ciclo} ({spool.estado_detalle!r})"
        )
    return DemoSpool(spool_row.tag, stage, spool.ciclo, row, list(spool.union_list))


def _union_rows(unions: list[Union], rng: random.Random) -> list[list[Any]]:
    """The Uniones rows of a played spool, as the app creates them (ID `<TAG>+<N>`, numbers
    RAW), each with a version."""
    rows = []
    for union in unions:
        union.version = str(_uuid4(rng))
        cells = new_union_row(union)
        rows.append([cells.get(c, "") for c in UNIONES_COLUMNS])
    return rows


def _calendar(h: SpoolHistory, stage: Stage, rng: random.Random, now: datetime) -> None:
    """Shift a planned history (whole days, keeping clock times) so that it ends near now.

    Occupied spools were taken today, a few hours ago (some since yesterday or before: the
    stuck occupations the dashboard warns about); the rest ended in the past two weeks.
    On a spool with unions all the ARM / SOLD work falls in the last UNION_DAYS days.
    """
    last = h.last_moment()
    if last is None:
        return
    stuck = stage.occupied and rng.random() < 0.12
    if stage.occupied and not stuck:
        back = 0
    elif stuck:
        back = rng.randint(1, 3)
    else:
        back = rng.choice(UNION_BACK if h.unions else BACK)
    if h.unions:
        back = _fit_union_window(h, back, rng)
    target = now.date() - timedelta(days=back)
    h.shift(timedelta(days=(target - last.date()).days))
    while h.last_moment() > now:
        h.shift(timedelta(days=-1))
    if stage.occupied and not stuck:
        # The open TOMAR: a few minutes to a few hours ago, after the act before it.
        take = h.acts[-1]
        before = h.acts[-2].ts if len(h.acts) > 1 else take.ts - timedelta(days=1)
        # Within the last shift: during the shift, up to now; after it, before its end.
        day = now.date() if now.time() >= SHIFT_START else now.date() - timedelta(days=1)
        shift_start = datetime.combine(day, SHIFT_START)
        latest = min(now, datetime.combine(day, SHIFT_END))
        span = min(300.0, (latest - shift_start).total_seconds() / 60)
        when = latest - timedelta(minutes=rng.uniform(min(5.0, span / 2), span))
        if when <= before:
            when = before + (latest - before) / 2
        take.ts = when.replace(microsecond=0)


# Days from today back to a history's last day. With unions, weighted to today: union work
# comes before the end of a history, and a day is only as full as the histories that end
# on it or after it.
BACK = (0, 1, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14)
UNION_BACK = (0, 0, 0, 0, 1, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
# Union work (every *_FECHA_INICIO / *_FECHA_FIN) falls in today and the days before it.
UNION_DAYS = 14


def _fit_union_window(h: SpoolHistory, back: int, rng: random.Random) -> int:
    """`back` (days from today to the history's last day), made small enough that the first
    ARM / SOLD act falls within the last UNION_DAYS days; a history too long for that has
    whole days taken out of its longest waits first."""
    first = h.first_work()
    if first is None:
        return back
    # One day is kept spare: a last act later in the day than now moves to yesterday.
    most = UNION_DAYS - 2
    while (span := (h.acts[-1].ts.date() - h.acts[first].ts.date()).days) > most:
        _drop_a_day(h, first)
    # Drawn again, not capped: a cap would pile histories up on the window's first day.
    return back if back <= most - span else rng.randint(0, most - span)


def _drop_a_day(h: SpoolHistory, first: int) -> None:
    """Move every act after the longest wait (from act `first` on) one day earlier, clock
    times and order kept."""
    best, room = None, 0
    for i in range(first + 1, len(h.acts)):
        before, after = h.acts[i - 1].ts, h.acts[i].ts
        days = (after.date() - before.date()).days - (after.time() <= before.time())
        if days > room:
            best, room = i, days
    if best is None:  # a generator bug: no wait left to shorten
        raise RuntimeError(f"demo {h.tag}: el trabajo no cabe en {UNION_DAYS} días")
    for act in h.acts[best:]:
        act.ts -= timedelta(days=1)


def _metadata_rows(events: list[Event], old: int) -> list[list[Any]]:
    """Metadata rows in chronological order, as the app writes them; the `old` oldest
    without unions with ISO 8601 timestamps, as workbooks from before v3.0 hold them."""
    events = sorted(events, key=lambda e: e.timestamp)
    rows: list[list[Any]] = [list(DEMO_METADATA_COLUMNS)]
    for i, e in enumerate(events):
        row = metadata_row(e)
        if i < old and not ({"uniones", "n_union"} & e.metadata_json.keys()):
            row["Timestamp"] = e.timestamp.isoformat(timespec="seconds")
        rows.append([row[c] for c in DEMO_METADATA_COLUMNS])
    return rows


def build_demo(
    spools: int = DEFAULT_SPOOLS, seed: int = DEFAULT_SEED, now: datetime | None = None
) -> DemoWorkbook:
    """The demo workbook's rows: `spools` spools over every stage, with their history.

    `now` (plant time) anchors the calendar; the same seed gives the same workbook.
    """
    if spools < 1:
        raise ValueError("spools must be at least 1")
    rng = random.Random(seed)
    now = (now or timezone.localtime(timezone.now(), plant_tz())).replace(tzinfo=None)
    now = now.replace(microsecond=0)
    crew = Crew.from_workers(DEMO_WORKERS)

    demo_spools: list[DemoSpool] = []
    events: list[Event] = []
    uniones: list[list[Any]] = [list(UNIONES_COLUMNS)]
    origin = datetime.combine(date(2000, 1, 3), SHIFT_START)  # any day: shifted later
    for spool_row in _spool_rows(rng, spools):
        start = origin + timedelta(minutes=rng.uniform(0, 500))
        h = SpoolHistory(rng, crew, spool_row.tag, start, _demo_unions(rng, spool_row))
        _play(h, spool_row.stage)
        _calendar(h, spool_row.stage, rng, now)
        spool, played = perform(h)
        demo_spools.append(_finish_row(spool_row, spool, rng))
        uniones += _union_rows(h.unions, rng)
        events.extend(played)

    operaciones = [list(OPERACIONES_HEADER)] + [list(s.row.values()) for s in demo_spools]
    trabajadores = [list(TRABAJADORES_COLUMNS)] + [
        [w.id, w.nombre, w.apellido, w.activo] for w in DEMO_WORKERS
    ]
    roles: list[list[Any]] = [list(ROLES_COLUMNS)]
    for w in DEMO_WORKERS:
        roles += [[w.id, r, True] for r in w.roles]
        roles += [[w.id, r, False] for r in w.inactive_roles]
    spool_events = sum(1 for e in events if "n_union" not in e.metadata_json)
    return DemoWorkbook(
        operaciones=operaciones,
        trabajadores=trabajadores,
        roles=roles,
        metadata=_metadata_rows(events, old=spool_events // 8),
        spools=demo_spools,
        workers=DEMO_WORKERS,
        uniones=uniones,
    )


# --- the configured workbook -----------------------------------------------------------


@dataclass(frozen=True)
class WorkbookCheck:
    """What the workbook holds now, from one metadata read and one values read."""

    sheets: dict[str, int]  # title → sheetId
    spools: int  # rows of Operaciones with a TAG_SPOOL
    non_empty: frozenset[str]  # other sheets that hold something (kept)


# How much of another sheet is peeked at to tell an empty leftover from the office's data.
PEEK_ROWS, PEEK_COLS = 20, 26


def _peek_range(ws: Any) -> str | None:
    """The top-left of a sheet, within its grid: a range past the grid's edge is refused
    whole (400 "exceeds grid limits"), so a 5-column sheet is read as A1:E20. None for a
    sheet with no cells at all."""
    rows, cols = min(PEEK_ROWS, ws.row_count), min(PEEK_COLS, ws.col_count)
    if rows < 1 or cols < 1:
        return None
    return sheets.sheet_range(ws.title, f"A1:{column_letter(cols - 1)}{rows}")


def inspect_workbook(wb: Any) -> WorkbookCheck:
    """Sheets of `wb` (a gspread Spreadsheet), how many spools Operaciones holds, and which
    other sheets have data (those are the office's and are never deleted)."""
    worksheets = wb.worksheets()  # the metadata read: titles, ids and grid sizes
    titles = {ws.title: ws.id for ws in worksheets}
    peeks = {ws.title: _peek_range(ws) for ws in worksheets if ws.title not in ZEUES_SHEETS}
    others = [t for t, rng in peeks.items() if rng is not None]
    ranges = []
    if OPERACIONES in titles:
        ranges.append(sheets.sheet_range(OPERACIONES))
    # A peek at the top-left of the other sheets: the default empty sheet goes, the rest stay.
    ranges += [peeks[t] for t in others]
    values = sheets.read_ranges(ranges) if ranges else []
    count = 0
    if OPERACIONES in titles:
        header, rows = sheets.split_header(OPERACIONES, values.pop(0))
        tag_col = header.find(Col.TAG_SPOOL)
        if tag_col is not None:
            count = sum(1 for r in rows if tag_col < len(r) and cell_text(r[tag_col]))
    non_empty = frozenset(
        t for t, v in zip(others, values, strict=True) if any(cell_text(c) for r in v for c in r)
    )
    return WorkbookCheck(titles, count, non_empty)


def write_demo_workbook(wb: Any, demo: DemoWorkbook, check: WorkbookCheck) -> list[str]:
    """Replace the ZEUES sheets of `wb` with the demo in two API calls; the titles the
    workbook has then (for `note_workbook_sheets`).

    One spreadsheets.batchUpdate creates the demo's sheets with room to grow and deletes the
    old ZEUES sheets (Uniones too, when the demo has none) and empty leftovers (the default
    first sheet); one values.batchUpdate (RAW: text stays text, numbers stay numbers) fills
    them.
    """
    new = [
        sheets.NewSheet(
            title,
            rows=len(rows) + SPARE_ROWS[title],
            cols=len(rows[0]) + SPARE_COLS,
            index=index,
        )
        for index, (title, rows) in enumerate(demo.sheets().items())
    ]
    old = [sid for t, sid in check.sheets.items() if t in ZEUES_SHEETS or t not in check.non_empty]
    sheets.replace_sheets(
        wb, new, delete=old, existing=check.sheets, placeholder_prefix="zeues-demo-"
    )
    sheets.write_cells({sheets.sheet_range(t, "A1"): rows for t, rows in demo.sheets().items()})
    return [*demo.sheets(), *(t for t in check.sheets if t in check.non_empty)]


def forget_replaced_workbook(titles: list[str]) -> int:
    """The mirror follows the workbook just written: the spools, unions, history and notes
    of the replaced one go (the demo reuses its TAGs), and so do writes still pending for it
    (they would land in the new rows). `titles`: the sheets the workbook has now, so the
    next pull reads Uniones without asking. Returns how many pending writes were dropped."""
    with transaction.atomic():
        discarded, _ = OutboxEntry.objects.filter(flushed_at__isnull=True).delete()
        Note.objects.all().delete()
        Event.objects.all().delete()
        Spool.objects.all().delete()
        Union.objects.all().delete()
        forget_workbook_positions()
        note_workbook_sheets(titles)
    return discarded


# --- demo accounts ---------------------------------------------------------------------


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    group: str
    is_staff: bool = False


DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin(DEMO_STATION, "zeues-estacion", "Estación"),
    DemoLogin("pantalla", "zeues-pantalla", "Pantalla"),
    DemoLogin("supervisor", "zeues-supervisor", "Supervisor", is_staff=True),
)


class MissingGroupError(Exception):
    """The account groups come from a data migration; without it there is nothing to join."""


def ensure_demo_users(passwords: dict[str, str] | None = None) -> list[DemoLogin]:
    """Create or reset the demo accounts: one per group, nothing else; the README's fixed
    passwords unless `passwords` (by username) gives new ones (load_demo requires them with
    DEBUG off)."""
    User = get_user_model()
    for login in DEMO_LOGINS:
        try:
            group = Group.objects.get(name=login.group)
        except Group.DoesNotExist:
            raise MissingGroupError(
                f"Falta el grupo {login.group!r}: ejecute `python manage.py migrate`."
            ) from None
        user, _ = User.objects.get_or_create(username=login.username)
        user.set_password((passwords or {}).get(login.username, login.password))
        user.is_active = True
        user.is_staff = login.is_staff
        user.is_superuser = False
        user.save()
        # Exactly this group: a reset account has no rights left over from before.
        user.groups.set([group])
        user.user_permissions.clear()
    return list(DEMO_LOGINS)
