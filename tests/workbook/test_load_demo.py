"""load_demo: a realistic demo workbook, pulled into the mirror, with demo accounts."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from spools.lifecycle import (
    MetrologiaState,
    Operacion,
    ReparacionState,
    WorkState,
    render_estado_detalle,
)
from spools.models import Event, OutboxEntry, Spool, SyncState, Worker
from spools.workbook import demo
from spools.workbook.columns import (
    METADATA,
    METADATA_COLUMNS,
    OPERACIONES,
    OPERACIONES_COLUMNS,
    ROLES,
    TRABAJADORES,
)
from spools.workbook.gateway import open_workbook, read_ranges, sheet_range
from spools.workbook.local_sheet import LocalSheetStore
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
    assert set(sheets) == {OPERACIONES, TRABAJADORES, ROLES, METADATA}  # default sheet gone
    values = all_values()
    for title, ws in sheets.items():
        assert ws.row_count > len(values[title]) + 50
    header = values[OPERACIONES][0]
    assert set(OPERACIONES_COLUMNS) <= set(header)
    assert values[METADATA][0] == list(METADATA_COLUMNS)


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
