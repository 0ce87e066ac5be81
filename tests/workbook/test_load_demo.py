"""load_demo: a realistic demo workbook, pulled into the mirror, with demo accounts."""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from io import StringIO
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Q
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.selectors import pd_today
from spools.lifecycle import (
    DN_CHOICES,
    MetrologiaState,
    Operacion,
    ReparacionState,
    TipoUnion,
    WorkState,
    render_estado_detalle,
)
from spools.models import Event, Note, OutboxEntry, Spool, SyncState, Union, Worker
from spools.notes import add_note
from spools.selectors import day_bounds, worker_registro
from spools.services import ACTIONS, TransitionContext, apply_action
from spools.workbook import demo
from spools.workbook.columns import (
    METADATA,
    METADATA_COLUMNS,
    METADATA_N_UNION,
    OPERACIONES,
    OPERACIONES_COLUMNS,
    OPERACIONES_COUNTER_COLUMNS,
    ROLES,
    TRABAJADORES,
    UNIONES,
    UNIONES_COLUMNS,
)
from spools.workbook.gateway import open_workbook, read_ranges, sheet_range
from spools.workbook.local_sheet import LocalSheetStore
from spools.workbook.outbox import metadata_row
from spools.workbook.pull import pull
from spools.workbook.values import parse_datetime, parse_worker_cell, plant_tz
from tests.builders import build_workbook, spool, worker

pytestmark = pytest.mark.django_db

P, EP, PA, C = (
    WorkState.PENDIENTE,
    WorkState.EN_PROGRESO,
    WorkState.PAUSADO,
    WorkState.COMPLETADO,
)
MP, MA, MR = MetrologiaState.PENDIENTE, MetrologiaState.APROBADO, MetrologiaState.RECHAZADO
R = ReparacionState

# Every stage the demo promises, as (arm, sold, metrologia, reparacion), and ciclo where it
# matters. Written out here rather than taken from spools.workbook.demo, so the demo is checked
# against the plant's stages, not against itself.
REQUIRED_STAGES = {
    "ARM pendiente": ((P, P, MP, R.NINGUNA), None),
    "ARM en progreso": ((EP, P, MP, R.NINGUNA), None),
    "ARM pausado": ((PA, P, MP, R.NINGUNA), None),
    "ARM completado, SOLD pendiente": ((C, P, MP, R.NINGUNA), None),
    "SOLD en progreso": ((C, EP, MP, R.NINGUNA), None),
    "SOLD pausado": ((C, PA, MP, R.NINGUNA), None),
    "metrología pendiente": ((C, C, MP, R.NINGUNA), None),
    "aprobado": ((C, C, MA, R.NINGUNA), None),
    "RECHAZADO ciclo 1": ((C, C, MR, R.RECHAZADO), 1),
    "RECHAZADO ciclo 2": ((C, C, MR, R.RECHAZADO), 2),
    "en reparación": ((C, C, MR, R.EN_REPARACION), None),
    "reparación pausada": ((C, C, MR, R.REPARACION_PAUSADA), None),
    "reparado, esperando metrología": ((C, C, MP, R.PENDIENTE_METROLOGIA), None),
    "BLOQUEADO": ((C, C, MR, R.BLOQUEADO), 3),
}


FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def load_demo(*args: str) -> str:
    out = StringIO()
    with override_settings(DEBUG=True):  # a developer's demo; DEBUG off needs new passwords
        call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def all_values() -> dict[str, list[list[str]]]:
    wb = open_workbook()
    return {ws.title: ws.get_all_values() for ws in wb.worksheets()}


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # The demo accounts' passwords are hashed on every load; the default hasher is slow
    # on purpose, which only costs time here.
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    """The default demo (300 spools) loaded once into an empty local workbook.

    Loaded inside a transaction that stays open for the module and is rolled back at its
    end (as Django's setUpTestData does): each test still runs in its own rolled-back
    savepoint, and nothing is left for other modules.
    """
    store = LocalSheetStore(settings.ZEUES_LOCAL_SHEET)
    atomic = transaction.atomic()
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        atomic.__enter__()
        store.reset()
        store.clear_faults()
        store.reset_counters()
        before = store.status()
        output = load_demo()
        after = store.status()
        raw = dict(
            zip(
                demo.ZEUES_SHEETS,
                read_ranges(sheet_range(t) for t in demo.ZEUES_SHEETS),
                strict=True,
            )
        )
    yield {"output": output, "before": before, "after": after, "raw": raw}
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)
    store.reset()


@pytest.fixture
def scratch_workbook(loaded, sheet_store):
    """An empty local workbook for one test; the module's demo workbook is put back after
    (the mirror needs nothing: the test's own transaction is rolled back)."""
    yield sheet_store
    raw = loaded["raw"]
    book = demo.DemoWorkbook(
        operaciones=raw[OPERACIONES],
        trabajadores=raw[TRABAJADORES],
        roles=raw[ROLES],
        metadata=raw[METADATA],
        spools=[],
        workers=(),
        uniones=raw[UNIONES],
    )
    wb = open_workbook()
    demo.write_demo_workbook(wb, book, demo.inspect_workbook(wb))


def mirror_stage(s: Spool) -> tuple[str, str, str, str]:
    return (s.arm, s.sold, s.metrologia, s.reparacion)


# --- the stages ------------------------------------------------------------------------


def test_demo_covers_every_lifecycle_stage_in_the_mirror(loaded):
    spools = list(Spool.objects.all())
    assert len(spools) == 300
    stages = Counter(mirror_stage(s) for s in spools)
    for name, (states, ciclo) in REQUIRED_STAGES.items():
        matching = [s for s in spools if mirror_stage(s) == states]
        if ciclo is not None:
            matching = [s for s in matching if s.ciclo == ciclo]
        assert matching, f"no spool in stage {name}: {stages}"
    # Materials missing: nothing can start yet.
    assert any(
        s.fecha_materiales is None and mirror_stage(s) == (P, P, MP, R.NINGUNA) for s in spools
    )
    assert any(s.fecha_materiales is not None and s.arm == P for s in spools)
    # Occupied spools: by an ARM or SOLD worker, or in repair.
    occupied = [s for s in spools if s.ocupado_por]
    assert {s.arm for s in occupied} >= {EP, C}
    assert all(s.fecha_ocupacion is not None for s in occupied)


def test_every_estado_detalle_parses_back_to_the_intended_stage(loaded):
    intended = {s.tag: s for s in demo.build_demo().spools}
    for s in Spool.objects.all():
        want = intended[s.tag]
        assert s.problems == [], s.tag
        assert mirror_stage(s) == want.stage.states, s.tag
        assert s.ciclo == want.ciclo, s.tag
        # The text is exactly what the app would write for those states.
        assert s.estado_detalle == render_estado_detalle(
            arm=s.arm,
            sold=s.sold,
            metrologia=s.metrologia,
            reparacion=s.reparacion,
            ciclo=s.ciclo,
            ocupado_por=s.ocupado_por,
            # uniones.md: partial union progress is part of the text (`ARM parcial 3/7`).
            arm_uniones=(s.uniones_arm, s.uniones_total) if s.uniones_total else None,
            sold_uniones=(s.uniones_sold, s.uniones_sold_total) if s.uniones_total else None,
        )
    assert SyncState.get().pull_warnings == []


@pytest.mark.parametrize("hour", [3, 8, 12, 19, 23])
@pytest.mark.parametrize(("spools", "seed"), [(300, demo.DEFAULT_SEED), (40, 7), (15, 99)])
def test_generated_rows_derive_back_to_the_stage_they_were_built_for(spools, seed, hour):
    now = datetime(2026, 5, 13, hour, 17, 0)
    book = demo.build_demo(spools=spools, seed=seed, now=now)
    assert len(book.spools) == spools
    assert set(book.stage_distribution()) == {s.key for s in demo.STAGES}
    for s in book.spools:
        derived = demo.derive_row(s.row)
        assert (derived.arm, derived.sold, derived.metrologia, derived.reparacion) == s.stage.states
        assert derived.ciclo == s.ciclo
        # Nothing happens in the future.
        occupied_since = parse_datetime(s.row["Fecha_Ocupacion"])
        assert occupied_since is None or occupied_since <= now.replace(tzinfo=plant_tz())


def test_same_seed_gives_the_same_workbook():
    now = datetime(2026, 5, 13, 11, 0, 0)
    first = demo.build_demo(spools=60, seed=5, now=now)
    again = demo.build_demo(spools=60, seed=5, now=now)
    other = demo.build_demo(spools=60, seed=6, now=now)
    assert first.sheets() == again.sheets()
    assert first.operaciones != other.operaciones


# --- the workbook ----------------------------------------------------------------------


def test_workbook_has_the_four_sheets_with_room_to_grow(loaded):
    wb = open_workbook()
    sheets = {ws.title: ws for ws in wb.worksheets()}
    # default sheet gone; Uniones since the unions issue
    assert set(sheets) == {OPERACIONES, UNIONES, TRABAJADORES, ROLES, METADATA}
    values = all_values()
    for title, ws in sheets.items():
        assert ws.row_count > len(values[title]) + 50
    header = values[OPERACIONES][0]
    assert set(OPERACIONES_COLUMNS) <= set(header)
    assert values[METADATA][0] == [*METADATA_COLUMNS, METADATA_N_UNION]


def test_office_columns_are_present_and_untouched_by_a_pull(loaded):
    before = all_values()
    header = before[OPERACIONES][0]
    positions = {name: header.index(name) for name in header}
    for name in demo.OFFICE_COLUMNS:
        assert name in positions
        column = [
            row[positions[name]] if len(row) > positions[name] else ""
            for row in before[OPERACIONES][1:]
        ]
        assert any(column), f"{name} is all empty"
    # Some office columns sit between the app's, as in production.
    assert positions["Cliente"] < positions["OT"]
    assert positions["Armador"] < positions["Peso_Kg"] < positions["Fecha_QC_Metrologia"]
    assert positions["Fecha_QC_Metrologia"] < positions["Observaciones"] < positions["Ocupado_Por"]
    # Plausible values, some still empty.
    observaciones = [
        r[positions["Observaciones"]] if len(r) > positions["Observaciones"] else ""
        for r in before[OPERACIONES][1:]
    ]
    assert "" in observaciones

    pull(workers=True)
    assert all_values() == before


def test_worker_cells_name_existing_workers(loaded):
    workers = {w.id: w for w in Worker.objects.all()}
    assert 20 <= len(workers) <= 30
    assert any(not w.activo for w in workers.values())
    for s in Spool.objects.all():
        for cell in (s.armador, s.soldador, s.ocupado_por):
            ref = parse_worker_cell(cell)
            if ref is not None:
                assert ref.id in workers, (s.tag, cell)
                assert workers[ref.id].short == cell, (s.tag, cell)
        if s.ocupado_por:
            # An occupant is someone who may do that operation right now.
            w = workers[s.occupant_id]
            if s.reparacion == R.EN_REPARACION:
                op = Operacion.REPARACION
            elif s.arm == EP:
                op = Operacion.ARM
            else:
                op = Operacion.SOLD
            assert w.can_work_on(op), (s.tag, w.short, op)
    for e in Event.objects.all():
        assert e.worker_id in workers
        assert e.worker_nombre == workers[e.worker_id].short


def test_roles_include_ignored_ones_and_inactive_rows(loaded):
    rows = all_values()[ROLES][1:]
    roles = {r[1] for r in rows}
    assert {"Armador", "Soldador", "Ayudante", "Metrologia"} <= roles
    assert {"Revestimiento", "Pintura", "Despacho"} <= roles
    assert Worker.objects.filter(roles__activo=False).exists()
    assert Worker.objects.filter(activo=False).count() >= 2


def test_history_is_chronological_and_consistent_with_the_spools(loaded):
    rows = all_values()[METADATA][1:]
    assert len(rows) >= 300
    ids = [uuid.UUID(r[0]) for r in rows]
    assert len(set(ids)) == len(ids) and all(i.version == 4 for i in ids)
    stamps = [parse_datetime(r[1]) for r in rows]
    assert stamps == sorted(stamps)
    now = timezone.now()
    assert all(now - timedelta(days=60) <= t <= now for t in stamps), "in the past weeks"
    assert any("T" in r[1] for r in rows), "some older rows have ISO 8601 timestamps"
    assert any("T" not in r[1] for r in rows)
    kinds = Counter(r[2] for r in rows)
    for kind in (
        "TOMAR_SPOOL",
        "PAUSAR_SPOOL",
        "COMPLETAR_ARM",
        "COMPLETAR_SOLD",
        "COMPLETAR_METROLOGIA",
        "TOMAR_REPARACION",
        "PAUSAR_REPARACION",
        "COMPLETAR_REPARACION",
    ):
        assert kinds[kind], kind
    for r in rows:
        if r[2] == "COMPLETAR_METROLOGIA":
            meta = json.loads(r[9])
            assert meta["resultado"] in ("APROBADO", "RECHAZADO") and "ciclo" in meta
    assert Event.objects.count() == len(rows)

    # An occupied spool's last event is the TOMAR of its occupant at Fecha_Ocupacion.
    for s in Spool.objects.exclude(ocupado_por=""):
        last = Event.objects.filter(tag=s.tag).order_by("timestamp").last()
        assert last.accion == "TOMAR" and last.worker_id == s.occupant_id, s.tag
        assert last.timestamp == s.fecha_ocupacion, s.tag
    # Work that was done has its history.
    for s in Spool.objects.filter(arm=C):
        assert Event.objects.filter(tag=s.tag, evento_tipo="COMPLETAR_ARM").exists(), s.tag


# --- unions ----------------------------------------------------------------------------


def union_sheet(loaded) -> list[dict]:
    """The Uniones rows as written (RAW: numbers stay numbers), by column name."""
    header, *rows = loaded["raw"][UNIONES]
    return [dict(zip(header, row + [""] * (len(header) - len(row)), strict=True)) for row in rows]


def unions_by_tag() -> dict[str, list[Union]]:
    by_tag: dict[str, list[Union]] = defaultdict(list)
    for u in Union.objects.order_by("tag", "n_union"):
        by_tag[u.tag].append(u)
    return by_tag


def test_most_spools_have_2_to_12_unions_with_valid_dn_and_types(loaded):
    header = loaded["raw"][UNIONES][0]
    assert header == list(UNIONES_COLUMNS)
    rows = union_sheet(loaded)
    tags = {s.tag for s in Spool.objects.all()}
    per_spool = Counter(r["TAG_SPOOL"] for r in rows)
    assert set(per_spool) <= tags
    assert all(2 <= n <= 12 for n in per_spool.values())
    # Most spools have unions; a few have none, so the v3.0 path stays visible.
    assert 0.8 * len(tags) <= len(per_spool) < len(tags)
    for r in rows:
        assert r["ID"] == f"{r['TAG_SPOOL']}+{r['N_UNION']}"
        # Numbers RAW, never text (a `4` once became `03-01-1900`).
        assert isinstance(r["N_UNION"], int) and isinstance(r["DN_UNION"], int | float)
        assert r["DN_UNION"] in DN_CHOICES, r
        assert r["TIPO_UNION"] in TipoUnion.values, r
        assert r["version"]
    numbers = defaultdict(list)
    for r in rows:
        numbers[r["TAG_SPOOL"]].append(r["N_UNION"])
    assert all(sorted(ns) == list(range(1, len(ns) + 1)) for ns in numbers.values())
    dns = [r["DN_UNION"] for r in rows]
    assert sum(1 for d in dns if 2 <= d <= 12) > len(dns) / 2, "mostly 2–12 in"
    tipos = Counter(r["TIPO_UNION"] for r in rows)
    assert set(tipos) == set(TipoUnion.values)
    assert tipos["BW"] > len(rows) / 2
    assert 0 < tipos["FW"] < len(rows) / 10, "a few field welds"
    # The mirror holds every one of them after the pull.
    assert Union.objects.count() == len(rows)
    assert SyncState.get().uniones_sheet is True


def test_operaciones_counters_equal_what_uniones_holds(loaded):
    ops_header, *ops = loaded["raw"][OPERACIONES]
    counters = [ops_header.index(c) for c in OPERACIONES_COUNTER_COLUMNS]
    expected: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0.0, 0.0])
    for r in union_sheet(loaded):
        e = expected[r["TAG_SPOOL"]]
        e[0] += 1
        if r["ARM_FECHA_FIN"]:
            e[1] += 1
            e[3] += r["DN_UNION"]
        if r["SOL_FECHA_FIN"]:
            e[2] += 1
            e[4] += r["DN_UNION"]
    for row in ops:
        tag = row[ops_header.index("TAG_SPOOL")]
        cells = [row[i] for i in counters]
        assert all(isinstance(c, int | float) for c in cells), (tag, cells)
        want = expected[tag]
        assert cells[:3] == want[:3], tag
        assert cells[3:] == pytest.approx(want[3:]), tag
    for s in Spool.objects.all():
        assert s.uniones_total == expected[s.tag][0]
        assert float(s.pulgadas_arm) == pytest.approx(expected[s.tag][3])
    # The pull found nothing to correct.
    assert not OutboxEntry.objects.filter(flushed_at__isnull=True).exists()


def test_union_progress_agrees_with_each_spool_stage(loaded):
    by_tag = unions_by_tag()
    partial = Counter()
    in_progress = Counter()
    welded_while_fitting = 0
    for s in Spool.objects.filter(tag__in=by_tag):
        unions = by_tag[s.tag]
        sold_unions = [u for u in unions if u.needs_sold]
        assert sold_unions, s.tag
        for op, state, counting, fin, by, fecha, who in (
            ("ARM", s.arm, unions, "arm_fin", "arm_worker", s.fecha_armado, s.armador),
            ("SOLD", s.sold, sold_unions, "sol_fin", "sol_worker", s.fecha_soldadura, s.soldador),
        ):
            done = [u for u in counting if getattr(u, fin)]
            if state == C:
                assert len(done) == len(counting), (s.tag, op)
                latest = max(done, key=lambda u: getattr(u, fin))
                assert who == getattr(latest, by), (s.tag, op)
                assert fecha == timezone.localtime(getattr(latest, fin)).date(), (s.tag, op)
            elif state == P:
                assert not done, (s.tag, op)
            else:  # EN_PROGRESO, PAUSADO
                assert len(done) < len(counting), (s.tag, op)
                in_progress[op] += 1
                partial[op] += bool(done)
        for u in unions:
            if u.sol_fin:
                # Welded once fitted, in a later session.
                assert u.arm_fin is not None and u.arm_fin <= u.sol_inicio, (s.tag, u.n_union)
        last_fit = max((u.arm_fin for u in unions if u.arm_fin), default=None)
        welded_while_fitting += any(u.sol_fin and u.sol_fin < last_fit for u in unions)
    # In-progress stages have partial unions, and say so.
    for op in ("ARM", "SOLD"):
        assert in_progress[op] >= 10 and partial[op] >= 0.6 * in_progress[op], (op, partial)
    assert Spool.objects.filter(estado_detalle__contains="ARM parcial").count() >= 5
    assert Spool.objects.filter(estado_detalle__contains="SOLD parcial").count() >= 5
    # Welders weld fitted unions while ARM is partial.
    assert welded_while_fitting >= 5


def test_several_workers_share_the_unions_of_some_spools(loaded):
    by_tag = unions_by_tag()
    workers = {w.id: w for w in Worker.objects.prefetch_related("roles")}
    fitters = Counter(len({u.arm_worker for u in us if u.arm_worker}) > 1 for us in by_tag.values())
    welders = Counter(len({u.sol_worker for u in us if u.sol_worker}) > 1 for us in by_tag.values())
    assert fitters[True] >= 30 and welders[True] >= 30
    for unions in by_tag.values():
        for u in unions:
            for worker_id, short, op in (
                (u.arm_worker_id, u.arm_worker, Operacion.ARM),
                (u.sol_worker_id, u.sol_worker, Operacion.SOLD),
            ):
                if short:
                    # The credited worker exists, is named as in the cells and may do it.
                    assert workers[worker_id].short == short
                    assert workers[worker_id].can_work_on(op), (u, short, op)


def test_union_dates_fall_in_the_last_two_weeks_in_shift_hours(loaded):
    now = timezone.now()
    dates = [
        d
        for u in Union.objects.all()
        for d in (u.arm_inicio, u.arm_fin, u.sol_inicio, u.sol_fin)
        if d is not None
    ]
    assert len(dates) > 2000
    for d in dates:
        assert now - timedelta(days=14) <= d <= now, d
        assert time(8, 0) <= timezone.localtime(d).time() <= time(18, 30), d
    for u in Union.objects.exclude(arm_fin=None):
        assert u.arm_inicio <= u.arm_fin
    days = {timezone.localtime(d).date() for d in dates}
    assert len(days) >= 10, "spread over the two weeks"


def test_each_union_finished_has_its_metadata_rows(loaded):
    header, *rows = loaded["raw"][METADATA]
    assert header[: len(METADATA_COLUMNS)] == list(METADATA_COLUMNS)
    assert "N_UNION" in header
    col = {name: i for i, name in enumerate(header)}
    pad = [r + [""] * (len(header) - len(r)) for r in rows]
    per_union = Counter()
    for r in pad:
        if r[col["Evento_Tipo"]] in ("UNION_ARM_REGISTRADA", "UNION_SOLD_REGISTRADA"):
            meta = json.loads(r[col["Metadata_JSON"]])
            assert r[col["N_UNION"]] == meta["n_union"]
            per_union[(r[col["TAG_SPOOL"]], meta["n_union"], r[col["Operacion"]])] += 1
    done = Counter()
    for u in Union.objects.all():
        if u.arm_fin:
            done[(u.tag, u.n_union, "ARM")] += 1
        if u.sol_fin:
            done[(u.tag, u.n_union, "SOLD")] += 1
    assert per_union == done, "exactly one row per union and operation"

    # Each session end of a spool with unions says what it registered, and its PD.
    dn = {(u.tag, u.n_union): float(u.dn_union) for u in Union.objects.all()}
    ends = Counter()
    for r in pad:
        meta = json.loads(r[col["Metadata_JSON"]])
        if "uniones" in meta:
            tag = r[col["TAG_SPOOL"]]
            assert meta["pulgadas"] == pytest.approx(sum(dn[(tag, n)] for n in meta["uniones"]))
            ends[(r[col["Evento_Tipo"]], bool(meta["uniones"]), meta.get("accion_solicitada"))] += 1
    assert ends[("PAUSAR_SPOOL", True, None)] >= 20, "pauses that register unions"
    assert ends[("COMPLETAR_ARM", True, "FINALIZAR")] and ends[("COMPLETAR_SOLD", True, None)]
    assert ends[("PAUSAR_SPOOL", False, None)], "a release without registering"


def test_demo_union_rows_are_the_ones_the_app_writes():
    """The same session played by the demo (in memory) and by the app (in the mirror)."""
    w = demo.DEMO_WORKERS[0]
    specs = ((1, "2", "BW"), (2, "0.5", "LET"), (3, "2", "FW"))

    def unions() -> list[Union]:
        return [
            Union(tag="MK-D", n_union=n, ot="OT-1", dn_union=Decimal(dn), tipo_union=t)
            for n, dn, t in specs
        ]

    start, end = datetime(2026, 5, 12, 9, 0), datetime(2026, 5, 12, 11, 30)
    h = demo.SpoolHistory(
        random.Random(1), demo.Crew.from_workers(demo.DEMO_WORKERS), "MK-D", start, unions()
    )
    h.materiales = start.date()
    h.t = start
    h.act("ARM", "TOMAR", w)
    h.t = end
    h.act("ARM", "PAUSAR", w, (1, 2))
    _, played = demo.perform(h)

    Worker.objects.get_or_create(id=w.id, defaults={"nombre": w.nombre, "apellido": w.apellido})
    Spool.objects.create(tag="MK-D", fecha_materiales=start.date(), sheet_row=2)
    Union.objects.bulk_create(unions())
    tz = plant_tz()
    worker_row = Worker.objects.get(id=w.id)
    for at, accion, uniones in ((start, "TOMAR", ()), (end, "PAUSAR", (1, 2))):
        ctx = TransitionContext.at(
            worker_row, at.replace(tzinfo=tz), account=demo.DEMO_STATION, uniones=uniones
        )
        apply_action(ACTIONS[("ARM", accion)], "MK-D", ctx)

    def rows(events) -> list[dict]:
        out = [metadata_row(e) for e in events if e.accion != "TOMAR"]
        return sorted(({k: v for k, v in r.items() if k != "ID"} for r in out), key=str)

    app = list(Event.objects.filter(tag="MK-D"))
    assert len(rows(played)) == 3
    assert rows(played) == rows(app)


@pytest.mark.parametrize("hour", [3, 8, 12, 19])
@pytest.mark.parametrize(("spools", "seed"), [(300, demo.DEFAULT_SEED), (40, 7)])
def test_generated_unions_stay_in_the_window_and_in_shift_hours(spools, seed, hour):
    now = datetime(2026, 5, 13, hour, 17, 0, tzinfo=plant_tz())
    book = demo.build_demo(spools=spools, seed=seed, now=now.replace(tzinfo=None))
    unions = [u for s in book.spools for u in s.unions]
    assert len(unions) >= 4 * spools
    for u in unions:
        for d in (u.arm_inicio, u.arm_fin, u.sol_inicio, u.sol_fin):
            if d is not None:
                assert now - timedelta(days=14) <= d <= now, (u, d)
                assert time(8, 0) <= d.astimezone(plant_tz()).time() <= time(18, 30), (u, d)
    assert len(book.uniones) == len(unions) + 1


def test_same_seed_gives_the_same_unions():
    now = datetime(2026, 5, 13, 11, 0, 0)
    first = demo.build_demo(spools=60, seed=5, now=now)
    again = demo.build_demo(spools=60, seed=5, now=now)
    assert len(first.uniones) > 100
    assert first.uniones == again.uniones and first.metadata == again.metadata


def test_mi_registro_and_the_wall_show_pd_today(scratch_workbook):
    # An afternoon of today in plant time, for the demo and for the pages alike.
    afternoon = datetime.combine(timezone.localdate(), time(15, 0), tzinfo=plant_tz())
    with mock.patch("django.utils.timezone.now", return_value=afternoon.astimezone(UTC)):
        load_demo()
        today = timezone.localdate()
        start, end = day_bounds(today)
        finished_today = Union.objects.filter(
            Q(arm_fin__gte=start, arm_fin__lt=end) | Q(sol_fin__gte=start, sol_fin__lt=end)
        )
        assert finished_today.count() >= 20
        registros = [worker_registro(w, today) for w in Worker.objects.all()]
        busy = [r for r in registros if r.pd > 0]
        assert len(busy) >= 5, [r.worker.short for r in busy]
        # This week too: most of the busy workers have PD on several of the last 7 days.
        assert sum(1 for r in busy if sum(1 for bar in r.week if bar.pd) >= 3) >= 5
        wall = pd_today()
        assert wall.total > 0 and wall.arm and wall.sold
        assert wall.total == sum(r.pd for r in registros)


# --- options ---------------------------------------------------------------------------


def test_if_empty_leaves_an_existing_workbook_alone(scratch_workbook):
    build_workbook(
        spools=[spool("MK-1", Fecha_Materiales="01-05-2026")],
        workers=[worker(93, "Mario", "Rojas", roles=["Armador"])],
    )
    get_user_model().objects.all().delete()
    before = all_values()
    output = load_demo("--if-empty")
    assert all_values() == before
    assert "no se toca" in output
    # The accounts are still there, and their logins printed.
    assert "zeues-estacion" in output
    assert get_user_model().objects.filter(username="estacion").exists()


def test_if_empty_loads_the_demo_into_an_empty_workbook(scratch_workbook):
    load_demo("--if-empty", "--spools", "40")
    assert Spool.objects.count() == 40


def test_refuses_to_replace_a_workbook_with_spools_without_force(scratch_workbook):
    build_workbook(spools=[spool("MK-1", Fecha_Materiales="01-05-2026")])
    before = all_values()
    with pytest.raises(CommandError, match="--force"):
        load_demo()
    assert all_values() == before

    load_demo("--force", "--spools", "30")
    tags = [r[0] for r in all_values()[OPERACIONES][1:]]
    assert len(tags) == 30 and "MK-1" not in tags
    assert set(Spool.objects.values_list("tag", flat=True)) == set(tags)


def test_replacing_the_workbook_discards_writes_pending_for_the_old_one(scratch_workbook):
    build_workbook(spools=[spool("MK-1", Fecha_Materiales="01-05-2026")])
    OutboxEntry.objects.create(tag="MK-1", cells={"Armador": "MR(93)"})
    output = load_demo("--force", "--spools", "20")
    assert not OutboxEntry.objects.filter(flushed_at__isnull=True).exists()
    assert "descartadas 1 escrituras pendientes" in output


def test_replacing_the_workbook_wipes_the_old_history_and_notes_in_one_statement(
    scratch_workbook,
):
    load_demo("--force", "--spools", "20")
    tag = Spool.objects.order_by("tag").values_list("tag", flat=True).first()
    note = add_note(tag, "Falta una brida", worker_id=None, account="supervisor")
    assert Event.objects.filter(pk=note.event_id).exists()
    with CaptureQueriesContext(connection) as queries:
        load_demo("--force", "--spools", "20")
    # The demo reuses its TAGs: a note of the old plant would show on the new spool.
    assert not Note.objects.exists()
    wipes = [q["sql"] for q in queries.captured_queries if '"spools_event"' in q["sql"]]
    # One DELETE whatever the history's size (listing every id failed at 428,619 events).
    assert [w for w in wipes if w.startswith(("DELETE", "UPDATE"))] == [
        'DELETE FROM "spools_event"'
    ]


def test_spools_option_still_covers_every_stage(scratch_workbook):
    load_demo("--spools", "40", "--seed", "11")
    spools = list(Spool.objects.all())
    assert len(spools) == 40
    present = {mirror_stage(s) for s in spools}
    assert {states for states, _ in REQUIRED_STAGES.values()} <= present


def test_google_backend_needs_yes(scratch_workbook):
    with (
        override_settings(ZEUES_SHEET_ID="a-google-spreadsheet-id"),
        pytest.raises(CommandError, match="--yes"),
    ):
        load_demo()
    assert scratch_workbook.status()["reads"] == 0


def test_progress_is_shown_a_line_per_step(loaded):
    output = loaded["output"]
    for step in ("Abriendo el libro", "Generando 300 spools", "Escribiendo el libro", "pull"):
        assert step in output


# --- accounts --------------------------------------------------------------------------


def test_demo_users_exist_in_their_groups_and_can_log_in(loaded, client):
    User = get_user_model()
    for username, group in (
        ("estacion", "Estación"),
        ("pantalla", "Pantalla"),
        ("supervisor", "Supervisor"),
    ):
        user = User.objects.get(username=username)
        assert list(user.groups.values_list("name", flat=True)) == [group]
        assert not user.is_superuser
        assert client.login(username=username, password=f"zeues-{username}")
        assert f"zeues-{username}" in loaded["output"]
        client.logout()
    assert User.objects.get(username="estacion").has_perm("spools.perform_actions")
    assert not User.objects.get(username="pantalla").has_perm("spools.perform_actions")
    assert User.objects.get(username="supervisor").is_staff
    assert not User.objects.get(username="estacion").is_staff


def test_demo_users_are_reset_on_every_run(loaded, client):
    user = get_user_model().objects.get(username="pantalla")
    user.set_password("changed")
    user.is_superuser = True
    user.save()
    load_demo("--if-empty")
    assert client.login(username="pantalla", password="zeues-pantalla")
    user.refresh_from_db()
    assert not user.is_superuser
    assert get_user_model().objects.filter(username="pantalla").count() == 1


# --- cost ------------------------------------------------------------------------------


def test_whole_load_costs_few_api_calls(loaded):
    writes = loaded["after"]["writes"] - loaded["before"]["writes"]
    reads = loaded["after"]["reads"] - loaded["before"]["reads"]
    assert writes <= 15
    assert reads <= 10


def test_unions_cost_no_api_call_more(loaded):
    # The Uniones sheet goes in the same two writes (one structure batchUpdate, one
    # values.batchUpdate), and the pull reads it in its one batchGet without asking
    # for the sheet titles first.
    before, after = loaded["before"]["by_kind"], loaded["after"]["by_kind"]
    calls = {kind: n - before.get(kind, 0) for kind, n in after.items()}
    assert calls["spreadsheets.batchUpdate"] == 1 and calls["values.batchUpdate"] == 1
    assert loaded["after"]["writes"] - loaded["before"]["writes"] == 2
    # Opening and inspecting the workbook; no third look for the Uniones sheet.
    assert calls["spreadsheets.get"] <= 2
    # The inspection's peek, Trabajadores/Roles/Metadata, Operaciones with Uniones.
    assert calls["values.batchGet"] == 3


def test_every_active_fitter_has_fitted_unions_in_the_demo():
    """Mi registro shows real numbers whichever armador or ayudante a tablet picks."""
    from spools.models import ROL_ARMADOR, ROL_AYUDANTE

    book = demo.build_demo()
    rows = book.sheets()[UNIONES]
    fitted = {r[rows[0].index("ARM_WORKER")] for r in rows[1:]} - {""}
    fitters = {w.short for w in demo.DEMO_WORKERS if w.has_role(ROL_ARMADOR, ROL_AYUDANTE)}
    assert fitters <= fitted
