"""A Uniones sheet for a workbook already in the mirror: N unions per spool, worked as the
spool's states say, plus the Operaciones counter columns with the values they must hold.

The demo generator has no unions (yet): the bench adds them to whatever `load_demo` (or the
floor) wrote, so the pull, the lists and Mi registro are measured at the issue's size
(10,000 spools, 100,000 unions). A spool whose ARM is complete has every union fitted by
its Armador, one in progress some of them, by one of the crew's fitters; SOLD likewise.
The days are a person's (15 to 40 unions each, going back from today as far as the work
needs), not the demo's calendar, which packs 10,000 spools into a few weeks.
Written with two requests (one structure change, one values write), then pulled.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from spools.lifecycle import WorkState
from spools.models import ROL_ARMADOR, ROL_SOLDADOR, Role, Spool, Union
from spools.workbook import gateway as sheets
from spools.workbook.columns import (
    OPERACIONES,
    OPERACIONES_COUNTER_COLUMNS,
    UNIONES,
    UNIONES_COLUMNS,
    column_letter,
)
from spools.workbook.gateway import open_workbook
from spools.workbook.pull import pull
from spools.workbook.rows import counter_cells, new_union_row
from spools.workbook.sync import forget_workbook_positions
from spools.workbook.values import parse_worker_cell, plant_tz

DNS = ("0.5", "0.75", "1", "1.5", "2", "2.5", "3", "4", "6", "8", "10", "12")
TIPOS = ("BW", "BW", "BW", "BW", "SO", "FILL", "BR", "LET", "MIT", "FW")
DAY_MIN, DAY_MAX = 15, 40  # unions one worker finishes in a day
SPARE_ROWS = 1000


class UnionBenchError(Exception):
    """The unions could not be laid out (no fitter or welder in the workbook)."""


@dataclass(frozen=True)
class UnionBook:
    unions: list[Union]  # unsaved, in sheet order
    counters: dict[str, dict[str, object]]  # TAG → its Operaciones counter cells

    def worker_days(self) -> Counter[tuple[int, date]]:
        """Unions finished (ARM and SOLD) per (worker id, plant day): Mi registro's sizes."""
        days: Counter[tuple[int, date]] = Counter()
        for u in self.unions:
            for trade in ("arm", "sol"):
                fin, wid = getattr(u, f"{trade}_fin"), getattr(u, f"{trade}_worker_id")
                if fin is not None and wid is not None:
                    days[(wid, fin.astimezone(plant_tz()).date())] += 1
        return days


def _crew(rol: str) -> list[tuple[int, str]]:
    """(id, short name) of the active workers with `rol`."""
    crew = [
        (r.worker_id, r.worker.short)
        for r in Role.objects.filter(rol=rol, activo=True, worker__activo=True).select_related(
            "worker"
        )
    ]
    if not crew:
        raise UnionBenchError(f"the workbook has no active {rol}")
    return sorted(crew)


class Calendar:
    """When each worker finished their unions: a day holds what one person does in a shift
    (DAY_MIN to DAY_MAX unions), filled backwards from today, so that Mi registro shows
    plant-sized days however many unions the workbook holds."""

    def __init__(self, rng: random.Random, today: date) -> None:
        self.rng = rng
        self.today = today
        self.days: dict[int, tuple[int, int, int]] = {}  # worker → (days back, done, room)

    def next(self, worker_id: int) -> datetime:
        back, done, room = self.days.get(worker_id, (0, 0, self.rng.randint(DAY_MIN, DAY_MAX)))
        if done >= room:
            back, done, room = back + 1, 0, self.rng.randint(DAY_MIN, DAY_MAX)
        self.days[worker_id] = (back, done + 1, room)
        at = time(8 + 9 * done // room, self.rng.randrange(60), self.rng.randrange(60))
        return datetime.combine(self.today - timedelta(days=back), at, tzinfo=plant_tz())


def _done(rng: random.Random, state: str, n: int) -> int:
    """How many of n unions a spool in `state` has done."""
    if state == WorkState.COMPLETADO:
        return n
    if state in (WorkState.EN_PROGRESO, WorkState.PAUSADO):
        return rng.randrange(1, n) if n > 1 else 0
    return 0


def _who(cell: str, crew: list[tuple[int, str]], rng: random.Random) -> tuple[int, str]:
    ref = parse_worker_cell(cell) if cell else None
    return (ref.id, ref.short) if ref else rng.choice(crew)


def _spool_unions(
    spool: Spool,
    per_spool: int,
    rng: random.Random,
    crews: dict[str, list[tuple[int, str]]],
    calendar: Calendar,
) -> list[Union]:
    unions = [
        Union(
            tag=spool.tag,
            n_union=n,
            ot=spool.ot,
            dn_union=Decimal(rng.choice(DNS)),
            tipo_union=rng.choice(TIPOS),
            version="",
        )
        for n in range(1, per_spool + 1)
    ]
    arm_id, arm_short = _who(spool.armador, crews["arm"], rng)
    for u in unions[: _done(rng, spool.arm, per_spool)]:
        u.arm_fin = calendar.next(arm_id)
        u.arm_inicio = u.arm_fin - timedelta(minutes=rng.randrange(20, 120))
        u.arm_worker_id, u.arm_worker = arm_id, arm_short
    sol_id, sol_short = _who(spool.soldador, crews["sol"], rng)
    weldable = [u for u in unions if u.arm_fin is not None and u.needs_sold]
    for u in weldable[: _done(rng, spool.sold, len(weldable))]:
        u.sol_fin = max(calendar.next(sol_id), u.arm_fin + timedelta(minutes=30))
        u.sol_inicio = u.sol_fin - timedelta(minutes=rng.randrange(20, 120))
        u.sol_worker_id, u.sol_worker = sol_id, sol_short
    return unions


def build(per_spool: int, seed: int, tags: set[str] | None = None) -> UnionBook:
    """`per_spool` unions for every spool of the mirror that has a sheet row (only those of
    `tags` when given; the others have none)."""
    rng = random.Random(seed)
    crews = {"arm": _crew(ROL_ARMADOR), "sol": _crew(ROL_SOLDADOR)}
    calendar = Calendar(rng, timezone.localdate())
    unions: list[Union] = []
    counters: dict[str, dict[str, object]] = {}
    for spool in Spool.objects.filter(sheet_row__isnull=False).order_by("sheet_row"):
        if tags is not None and spool.tag not in tags:
            continue
        mine = _spool_unions(spool, per_spool, rng, crews, calendar)
        spool.count_unions(mine)
        counters[spool.tag] = counter_cells(spool)
        unions += mine
    return UnionBook(unions, counters)


def _counter_block(book: UnionBook, header: list) -> tuple[str, list[list]]:
    """The counter columns of Operaciones (header and one row per sheet row) as one range;
    appended after the last column when the header has none of them."""
    names = [str(h) for h in header]
    start = OPERACIONES_COUNTER_COLUMNS[0]
    first = names.index(start) if start in names else len(names)
    rows_by_sheet_row = dict(
        Spool.objects.filter(sheet_row__isnull=False).values_list("sheet_row", "tag")
    )
    last = max(rows_by_sheet_row, default=1)
    block = [list(OPERACIONES_COUNTER_COLUMNS)]
    for r in range(2, last + 1):
        tag = rows_by_sheet_row.get(r)
        cells = book.counters.get(tag) if tag else None
        block.append([cells[c] for c in OPERACIONES_COUNTER_COLUMNS] if cells else [""] * 5)
    return sheets.sheet_range(OPERACIONES, f"{column_letter(first)}1"), block


def write(book: UnionBook) -> None:
    """Replace the Uniones sheet (if any) with the book's and set the counter columns, then
    bring both into the mirror (the Union table is emptied first: the mirror follows the
    new sheet, as after load_demo)."""
    wb = open_workbook()
    titles = {ws.title: ws.id for ws in wb.worksheets()}
    width = len(UNIONES_COLUMNS)
    batch = sheets.StructureBatch()
    if UNIONES in titles:
        batch.delete_sheet(titles[UNIONES])
    batch.add_sheet(sheets.NewSheet(UNIONES, rows=len(book.unions) + SPARE_ROWS, cols=width + 4))
    ops = wb.worksheet(OPERACIONES)
    (header,) = sheets.read_ranges([sheets.sheet_range(OPERACIONES, "1:1")])
    needed = len(header[0]) + len(OPERACIONES_COUNTER_COLUMNS)
    if ops.col_count < needed:
        batch.grow(ops.id, "COLUMNS", needed - ops.col_count)
    batch.send(wb)
    rows = [list(UNIONES_COLUMNS)]
    for u in book.unions:
        cells = new_union_row(u)
        rows.append([cells.get(c, "") for c in UNIONES_COLUMNS])
    counters_at, block = _counter_block(book, header[0])
    sheets.write_cells({sheets.sheet_range(UNIONES, "A1"): rows, counters_at: block})
    with transaction.atomic():
        Union.objects.all().delete()
        forget_workbook_positions()
    result = pull(workers=False)
    if result.unions_seen != len(book.unions):
        raise UnionBenchError(
            f"the pull read {result.unions_seen} unions of the {len(book.unions)} written"
        )
    if result.counters_queued:  # the counters written are not the ones the unions give
        raise UnionBenchError(f"{len(result.counters_queued)} spools' counters were queued")


def add(per_spool: int, seed: int, tags: set[str] | None = None) -> UnionBook:
    """Lay out and write `per_spool` unions per spool of the workbook in the mirror (of the
    spools of `tags` when given)."""
    book = build(per_spool, seed, tags)
    write(book)
    return book
