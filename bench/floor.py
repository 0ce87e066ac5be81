"""The floor the tablets act on: the demo's spools with materials and nothing started, one
worker per tablet (Armador and Soldador), each tablet with its own spools.

Built from the demo generator (same TAGs, OT, NV and office columns), with the app-owned
cells cleared so that every spool can be taken, and written with the demo's own writer.
Each tablet only touches its own spools: the figures measure the happy path, not conflicts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from spools.lifecycle import MetrologiaState, ReparacionState, WorkState, render_estado_detalle
from spools.models import ROL_ARMADOR, ROL_SOLDADOR, OutboxEntry
from spools.workbook import demo
from spools.workbook.columns import APP_OWNED_COLUMNS, METADATA_COLUMNS, Col
from spools.workbook.gateway import open_workbook
from spools.workbook.pull import pull
from spools.workbook.values import format_date

FIRST_WORKER_ID = 500
NOMBRES = ("Ana", "Bruno", "Carla", "Daniel", "Elena", "Fabián", "Gloria", "Hugo", "Inés", "José")
APELLIDOS = ("Aguirre", "Bravo", "Cortés", "Díaz", "Espinoza", "Fuentes", "González", "Herrera")
STATION_ACCOUNT = demo.DEMO_STATION  # the demo's tablet account (group Estación)


@dataclass(frozen=True)
class Floor:
    workers: list[int]  # one per tablet
    pools: list[list[str]]  # the TAGs each tablet works on
    spools: int


def _fresh_row(row: dict, fecha_materiales: str) -> dict:
    """The demo row with materials arrived and nothing started."""
    row = {**row, **{c: "" for c in APP_OWNED_COLUMNS}}
    row[Col.FECHA_MATERIALES] = row[Col.FECHA_MATERIALES] or fecha_materiales
    row[Col.ESTADO_DETALLE] = render_estado_detalle(
        arm=WorkState.PENDIENTE,
        sold=WorkState.PENDIENTE,
        metrologia=MetrologiaState.PENDIENTE,
        reparacion=ReparacionState.NINGUNA,
        ciclo=0,
        ocupado_por="",
    )
    return row


def build(spools: int, tablets: int, seed: int) -> tuple[demo.DemoWorkbook, Floor]:
    """The workbook (not written yet) and who works on what."""
    book = demo.build_demo(spools=spools, seed=seed)
    fecha = format_date(timezone.localdate() - timedelta(days=3))
    rows = [_fresh_row(s.row, fecha) for s in book.spools]
    workers = [FIRST_WORKER_ID + i for i in range(tablets)]
    trabajadores = list(book.trabajadores)
    roles = list(book.roles)
    for i, wid in enumerate(workers):
        nombre = NOMBRES[i % len(NOMBRES)]
        apellido = APELLIDOS[(i // len(NOMBRES)) % len(APELLIDOS)]
        trabajadores.append([wid, nombre, apellido, True])
        roles += [[wid, ROL_ARMADOR, True], [wid, ROL_SOLDADOR, True]]
    bench_book = demo.DemoWorkbook(
        operaciones=[list(demo.OPERACIONES_HEADER)] + [list(r.values()) for r in rows],
        trabajadores=trabajadores,
        roles=roles,
        metadata=[list(METADATA_COLUMNS)],  # a fresh log: every row in it is the run's
        spools=book.spools,
        workers=book.workers,
    )
    tags = [r[Col.TAG_SPOOL] for r in rows]
    random.Random(seed).shuffle(tags)
    pools = [tags[i::tablets] for i in range(tablets)]
    return bench_book, Floor(workers, pools, spools)


def load(book: demo.DemoWorkbook) -> None:
    """Replace the workbook and the mirror with `book` (as load_demo does), demo accounts too."""
    wb = open_workbook()
    titles = demo.write_demo_workbook(wb, book, demo.inspect_workbook(wb))
    demo.forget_replaced_workbook(titles)
    OutboxEntry.objects.all().delete()  # the flushed ones too: the run's delays start empty
    pull(workers=True)
    demo.ensure_demo_users()


def station_user():
    """The tablets' account: every tablet is logged in as the plant's station account."""
    return get_user_model().objects.get(username=STATION_ACCOUNT)
