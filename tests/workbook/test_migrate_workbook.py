"""migrate_workbook: a v2.1 workbook becomes v3.0, with backup, verification and rollback.

Everything runs against the local Sheets backend through the real gspread client; the
backend's call counters prove when nothing was written.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from spools.workbook.columns import (
    METADATA,
    METADATA_COLUMNS,
    METADATA_N_UNION,
    OPERACIONES,
    OPERACIONES_COUNTER_COLUMNS,
    ROLES,
    TRABAJADORES,
    UNIONES,
    UNIONES_COLUMNS,
    V21_COLUMNS,
    V30_NEW_COLUMNS,
    HeaderMap,
)
from spools.workbook.gateway import SheetUnavailableError, open_workbook
from spools.workbook.migration import (
    BACKUP_PREFIX,
    BACKUP_PREFIX_V30,
    VerificationFailed,
    WorkbookIO,
    add_columns,
    change_structure,
    fill_rows,
    plan_migration,
    plan_run,
    read_workbook,
    take_backup,
    verify_migration,
    verify_run,
    widen_grid,
    write_headers,
)
from spools.workbook.sync import acquire_lease
from tests.builders import build_workbook, spool, worker

MAT = "01-05-2026"
WORKERS = [
    worker(93, "Mario", "Rojas", roles=["Armador"]),
    worker(94, "Juan", "Pérez", roles=["Soldador"]),
    worker(95, "Ana", "Soto", roles=["Metrologia"]),
]

# One row per lifecycle stage a v2.1 workbook can express, with the Estado_Detalle the
# migration must give it and the states the pull must then read. Dates come in the forms
# real sheets hold: DD-MM-YYYY text, DD/MM/YYYY text and serial numbers.
STAGES = [
    (
        spool("MK-001", OT="OT-1", NV="NV-1"),
        "Disponible - ARM pendiente, SOLD pendiente",
        ("PENDIENTE", "PENDIENTE", "PENDIENTE"),
    ),
    (
        spool("MK-002", OT="OT-1", Fecha_Materiales=MAT),
        "Disponible - ARM pendiente, SOLD pendiente",
        ("PENDIENTE", "PENDIENTE", "PENDIENTE"),
    ),
    (
        spool("MK-003", Fecha_Materiales=MAT, Armador="MR(93)"),
        "Disponible - ARM pausado, SOLD pendiente",
        ("PAUSADO", "PENDIENTE", "PENDIENTE"),
    ),
    (
        spool("MK-004", Fecha_Materiales=46143, Armador="MR(93)", Fecha_Armado="02/05/2026"),
        "Disponible - ARM completado, SOLD pendiente",
        ("COMPLETADO", "PENDIENTE", "PENDIENTE"),
    ),
    (
        spool(
            "MK-005", Fecha_Materiales=MAT, Armador="MR(93)", Fecha_Armado=46144, Soldador="JP(94)"
        ),
        "Disponible - ARM completado, SOLD pausado",
        ("COMPLETADO", "PAUSADO", "PENDIENTE"),
    ),
    (
        spool(
            "MK-006",
            Fecha_Materiales=MAT,
            Armador="MR(93)",
            Fecha_Armado="02-05-2026",
            Soldador="JP(94)",
            Fecha_Soldadura="03-05-2026",
        ),
        "Disponible - ARM completado, SOLD completado, Metrología pendiente",
        ("COMPLETADO", "COMPLETADO", "PENDIENTE"),
    ),
    (
        spool(
            "MK-007",
            Fecha_Materiales=MAT,
            Armador="MR(93)",
            Fecha_Armado="02-05-2026",
            Soldador="JP(94)",
            Fecha_Soldadura="03-05-2026",
            Fecha_QC_Metrologia=46146,
            Observaciones="=no es fórmula",
        ),
        "Disponible - ARM completado, SOLD completado, METROLOGIA APROBADO ✓",
        ("COMPLETADO", "COMPLETADO", "APROBADO"),
    ),
]
# A blank row and a row with stray text but no TAG: kept, never filled.
ODD_ROWS = [spool(""), spool("", Observaciones="nota suelta")]


def v21_workbook(
    spools: list[dict] | None = None, *, narrow: bool = True, metadata: list[list] = ()
):
    """A v2.1 workbook; `narrow`: the Operaciones grid exactly as wide as its header."""
    rows = (
        spools
        if spools is not None
        else [s for s, _, _ in STAGES[:4]] + ODD_ROWS + [s for s, _, _ in STAGES[4:]]
    )
    wb = build_workbook(rows, WORKERS, metadata, v21=True)
    if narrow:
        ws = wb.worksheet(OPERACIONES)
        ws.resize(cols=len(ws.row_values(1)))
    return wb


# The command keeps the mirror's sync state in step with the workbook it reshapes, and holds
# the sync lease from a thread that renews it: transactions of their own, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> str:
    out = StringIO()
    call_command("migrate_workbook", *args, stdout=out)
    return out.getvalue()


def workbook_state() -> dict[str, tuple[int, int, list[list]]]:
    """Every sheet but the backups: grid size and unformatted values, read with gspread."""
    wb = open_workbook()
    sheets = [ws for ws in wb.worksheets() if not ws.title.startswith(BACKUP_PREFIX)]
    reply = wb.values_batch_get(
        [f"'{ws.title}'" for ws in sheets],
        params={"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"},
    )
    return {
        ws.title: (ws.row_count, ws.col_count, vr.get("values", []))
        for ws, vr in zip(sheets, reply["valueRanges"], strict=True)
    }


def backup_titles() -> list[str]:
    return [ws.title for ws in open_workbook().worksheets() if ws.title.startswith(BACKUP_PREFIX)]


def operaciones() -> tuple[HeaderMap, list[list]]:
    _, _, rows = workbook_state()[OPERACIONES]
    return HeaderMap.from_row(OPERACIONES, rows[0]), rows


def by_tag(header: HeaderMap, rows: list[list]) -> dict[str, list]:
    return {r[0]: r for r in rows[1:] if r and r[0]}


def padded(rows: list[list], width: int) -> list[list]:
    return [list(r) + [""] * (width - len(r)) for r in rows]


# --- the real run ------------------------------------------------------------------------


def test_v21_workbook_as_wide_as_its_data_is_widened_and_migrated(sheet_store):
    v21_workbook()
    before = workbook_state()
    _, old_cols, old_rows = before[OPERACIONES]
    assert old_cols == len(old_rows[0]) == 12  # no room for a single new column

    out = run()

    after = workbook_state()
    rows_, cols, rows = after[OPERACIONES]
    assert cols == 21  # the same run's step 2 appends the five union counters
    # The four v3.0 columns at the end of the header, in order (then step 2's counters).
    assert rows[0] == old_rows[0] + list(V30_NEW_COLUMNS) + list(OPERACIONES_COUNTER_COLUMNS)
    assert "M1 = Ocupado_Por" in out and "P1 = Estado_Detalle" in out
    # Every pre-existing cell unchanged (values and types: serials stay numbers).
    assert padded([r[:12] for r in rows], 12) == padded(old_rows, 12)
    assert len(rows) == len(old_rows)
    # Other sheets untouched (Metadata gains step 2's N_UNION header cell only).
    for title in before:
        if title not in (OPERACIONES, METADATA):
            assert after[title] == before[title]
    meta_rows, meta_cols, meta = after[METADATA]
    assert (meta_rows, meta_cols) == before[METADATA][:2]
    assert meta == [before[METADATA][2][0] + [METADATA_N_UNION], *before[METADATA][2][1:]]
    header = HeaderMap.from_row(OPERACIONES, rows[0])
    tagged = by_tag(header, rows)
    assert set(tagged) == {s["TAG_SPOOL"] for s, _, _ in STAGES}
    versions = [header.get(r, "version") for r in tagged.values()]
    assert all(uuid.UUID(v).version == 4 for v in versions)
    assert len(set(versions)) == len(versions)
    for r in tagged.values():
        assert header.get(r, "Ocupado_Por") in (None, "")
        assert header.get(r, "Fecha_Ocupacion") in (None, "")
    # Tagless rows are not filled.
    for r in rows[1:]:
        if not r or not r[0]:
            assert all(v == "" for v in r[12:])
    assert "[6/6] Verificando" in out and "OK:" in out
    assert len(backup_titles()) == len(before)


def test_rows_in_every_stage_get_the_estado_detalle_their_columns_imply(sheet_store):
    v21_workbook()
    run()
    header, rows = operaciones()
    tagged = by_tag(header, rows)
    for s, estado, _ in STAGES:
        assert header.get(tagged[s["TAG_SPOOL"]], "Estado_Detalle") == estado, s["TAG_SPOOL"]


def test_new_columns_go_after_unlabelled_data_never_over_it(sheet_store):
    wb = v21_workbook([s for s, _, _ in STAGES[:2]], narrow=False)
    wb.worksheet(OPERACIONES).update_cell(3, 13, "dato sin encabezado")  # column M

    out = run()

    header, rows = operaciones()
    assert rows[2][12] == "dato sin encabezado"
    assert header.find("Ocupado_Por") == 13  # N
    assert "N1 = Ocupado_Por" in out
    assert "no hace falta ampliarla" in out  # the default 26-column grid has room


def test_unreadable_cell_is_reported_with_tag_and_column(sheet_store):
    v21_workbook([spool("MK-900", Fecha_Materiales=MAT, Armador="MR(93)", Fecha_Armado="ayer")])
    out = run()
    assert re.search(r"MK-900 Fecha_Armado: fecha no reconocida", out)
    header, rows = operaciones()
    assert header.get(rows[1], "Estado_Detalle") == "Disponible - ARM pausado, SOLD pendiente"


@pytest.mark.django_db
def test_migrated_workbook_works_with_the_app_pull_tomar_export(sheet_store, tmp_path):
    from openpyxl import load_workbook

    from spools.models import Spool, SyncState
    from spools.workbook.pull import pull

    v21_workbook()
    run()

    result = pull(workers=True)

    assert result.warnings == []
    assert SyncState.get().structure_error == ""
    assert Spool.objects.count() == len(STAGES)
    for s, estado, (arm, sold, metrologia) in STAGES:
        got = Spool.objects.get(tag=s["TAG_SPOOL"])
        assert (got.arm, got.sold, got.metrologia) == (arm, sold, metrologia)
        assert got.reparacion == "NINGUNA"
        assert got.estado_detalle == estado
        assert got.problems == []
        assert uuid.UUID(got.version)

    # TOMAR lands in the new columns.
    from occupation.services import ActionCommand, perform_action
    from spools.workbook.sync import flush_until_empty

    migrated_version = Spool.objects.get(tag="MK-002").version
    outcome = perform_action(ActionCommand("ARM", "TOMAR", 93, ["MK-002"]))
    assert [r.status for r in outcome.results] == [200]
    flush_until_empty()
    header, rows = operaciones()
    row = by_tag(header, rows)["MK-002"]
    assert header.get(row, "Ocupado_Por") == "MR(93)"
    assert (
        header.get(row, "Estado_Detalle")
        == "MR(93) trabajando ARM (ARM en progreso, SOLD pendiente)"
    )
    assert header.get(row, "version") not in ("", migrated_version)

    # The migrated workbook exports like any other.
    call_command("export_workbook", str(tmp_path / "libro.xlsx"), stdout=StringIO())
    header = [c.value for c in load_workbook(tmp_path / "libro.xlsx")[OPERACIONES][1]]
    assert header[-9:] == list(V30_NEW_COLUMNS) + list(OPERACIONES_COUNTER_COLUMNS)


# --- dry run, idempotence, interruption -----------------------------------------------------


def test_dry_run_says_what_would_change_and_writes_nothing(sheet_store):
    v21_workbook()
    before = workbook_state()
    sheet_store.reset_counters()

    out = run("--dry-run")

    assert sheet_store.status()["writes"] == 0
    assert workbook_state() == before
    assert backup_titles() == []
    for line in (
        "M1 = Ocupado_Por",
        "N1 = Fecha_Ocupacion",
        "O1 = version",
        "P1 = Estado_Detalle",
        "se amplía de 12 a 16 columnas",
        "version (columna O): se completan 7 de 7 filas con TAG_SPOOL — filas 2–5, 8–10",
        "Estado_Detalle (columna P): se completan 7 de 7 filas",
        "2 × Disponible - ARM pendiente, SOLD pendiente",
        "no se escribió nada",
    ):
        assert line in out, line


def test_a_run_is_refused_while_a_sync_process_holds_the_lease(sheet_store):
    v21_workbook()
    before = workbook_state()
    sheet_store.reset_counters()
    assert acquire_lease("planta:4242:web", seconds=60)  # a web process's sync loop

    with pytest.raises(CommandError, match="La sincronización con el libro está activa"):
        run("--wait", "1")

    assert sheet_store.status()["writes"] == 0
    assert workbook_state() == before
    assert "no se escribió nada" in run("--dry-run", "--wait", "0")  # only reads: allowed


def test_the_lease_of_a_stopped_process_is_waited_out_then_held_until_the_end(sheet_store):
    v21_workbook()
    assert acquire_lease("planta:4242:web", seconds=2)  # stopped: nobody renews it
    sheet_store.set_latency(50)  # each Sheets call a little slow: the run takes a while
    seen: list[bool] = []
    done = threading.Event()

    def web_tries_to_sync() -> None:
        try:
            while not done.is_set():
                seen.append(acquire_lease("planta:4343:web"))
                time.sleep(0.1)
        finally:
            connection.close()

    web = threading.Thread(target=web_tries_to_sync)
    web.start()
    try:
        out = run("--wait", "15")
    finally:
        done.set()
        web.join()
        sheet_store.set_latency(0)

    assert "Esperando el turno de sincronización (lo tiene planta:4242:web)" in out
    assert "Listo." in out
    assert seen and not any(seen)  # no other sync took the workbook while it was migrated
    assert acquire_lease("planta:4343:web")  # released at the end


def test_second_run_finds_nothing_to_do_and_writes_nothing(sheet_store):
    v21_workbook()
    run()
    migrated = workbook_state()
    sheet_store.reset_counters()

    out = run()

    assert "Nada que hacer" in out
    assert sheet_store.status()["writes"] == 0
    assert workbook_state() == migrated
    assert "0 escrituras" in out


def test_run_killed_after_adding_columns_completes_on_rerun(sheet_store):
    v21_workbook()
    before = workbook_state()
    quiet = lambda _: None  # noqa: E731
    io = WorkbookIO(open_workbook())
    snapshot = read_workbook(io)
    plan = plan_migration(snapshot)
    take_backup(io, snapshot, quiet)
    widen_grid(io, plan)
    add_columns(io, plan)
    # The sheet goes away when the rows are being filled: the run dies there, and a
    # command started meanwhile says how to go on.
    sheet_store.set_outage(True)
    with pytest.raises(SheetUnavailableError):
        fill_rows(io, plan)
    with pytest.raises(CommandError, match="continúa donde quedó"):
        run()
    sheet_store.set_outage(False)
    header, rows = operaciones()
    assert not header.missing(V30_NEW_COLUMNS)
    assert all(header.get(r, "version") in (None, "") for r in rows[1:])

    out = run()

    assert "se reutiliza la copia" in out  # the workbook did not change: no second backup
    assert len(backup_titles()) == len(before)
    assert "se completan 7 de 7 filas" in out
    header, rows = operaciones()
    tagged = by_tag(header, rows)
    for s, estado, _ in STAGES:
        row = tagged[s["TAG_SPOOL"]]
        assert header.get(row, "Estado_Detalle") == estado
        assert uuid.UUID(header.get(row, "version"))
    sheet_store.reset_counters()
    assert "Nada que hacer" in run()
    assert sheet_store.status()["writes"] == 0


def test_rerun_fills_only_the_rows_still_empty(sheet_store):
    v21_workbook()
    run()
    header, rows = operaciones()
    mk3 = next(i for i, r in enumerate(rows) if r[0] == "MK-003") + 1
    kept_version = header.get(rows[mk3 - 1], "version")
    ws = open_workbook().worksheet(OPERACIONES)
    ws.update_cell(mk3, header.col("Estado_Detalle") + 1, "")
    # The office adds a spool below the others (column A's table: with the whole sheet as
    # the range, Google appends after the rightmost table of the last row, in column O).
    ws.append_row(["MK-100", "OT-9"], value_input_option="RAW", table_range="A:A")

    out = run()

    assert "version (columna O): se completan 1 de 8 filas con TAG_SPOOL — filas 11" in out
    assert "Estado_Detalle (columna P): se completan 2 de 8 filas" in out
    header, rows = operaciones()
    tagged = by_tag(header, rows)
    assert header.get(tagged["MK-003"], "version") == kept_version
    assert (
        header.get(tagged["MK-003"], "Estado_Detalle") == "Disponible - ARM pausado, SOLD pendiente"
    )
    assert uuid.UUID(header.get(tagged["MK-100"], "version"))


# --- refusals and loud failures ------------------------------------------------------------


def test_workbook_without_tag_spool_is_refused_naming_the_column(sheet_store):
    columns = tuple(c for c in V21_COLUMNS if c != "TAG_SPOOL")
    build_workbook([spool("MK-1", OT="1")], WORKERS, columns=columns)
    before = workbook_state()
    sheet_store.reset_counters()

    with pytest.raises(CommandError, match="columna requerida TAG_SPOOL"):
        run()

    assert sheet_store.status()["writes"] == 0
    assert workbook_state() == before
    assert backup_titles() == []


def test_verification_fails_loudly_when_a_cell_changed_under_the_migration(sheet_store):
    v21_workbook()
    io = WorkbookIO(open_workbook())
    snapshot = read_workbook(io)
    plan = plan_migration(snapshot)
    take_backup(io, snapshot, lambda _: None)
    widen_grid(io, plan)
    add_columns(io, plan)
    fill_rows(io, plan)
    open_workbook().worksheet(OPERACIONES).update_cell(2, 2, "OT-cambiada")  # B2, mid-run

    with pytest.raises(VerificationFailed) as failure:
        verify_migration(io, plan)

    assert "Operaciones!B2: se esperaba 'OT-1', hay 'OT-cambiada'" in str(failure.value)
    assert "--rollback" in str(failure.value)


# --- rollback --------------------------------------------------------------------------------


@pytest.mark.parametrize("narrow", [True, False], ids=["grid-widened", "grid-had-room"])
def test_rollback_restores_the_exact_v21_workbook(sheet_store, narrow):
    v21_workbook(narrow=narrow)
    before = workbook_state()
    run()
    assert workbook_state() != before

    out = run("--rollback")

    assert workbook_state() == before  # grid sizes, every value and its type
    assert "[4/4] Verificando celda por celda" in out
    assert "idéntico a la copia" in out
    # The backup stays (hidden) for another rollback.
    wb = open_workbook()
    backups = [ws for ws in wb.worksheets() if ws.title.startswith(BACKUP_PREFIX)]
    assert backups and all(ws.isSheetHidden for ws in backups)


def test_backups_are_never_overwritten_and_rollback_uses_the_latest(sheet_store):
    v21_workbook()
    run()
    first = set(backup_titles())
    run("--rollback")
    assert "se reutiliza" in run("--dry-run")  # unchanged since the backup
    open_workbook().worksheet(OPERACIONES).update_cell(2, 2, "OT-nueva")
    edited = workbook_state()

    run()

    second = set(backup_titles())
    assert first < second and len(second) == 2 * len(first)
    run("--rollback")
    assert workbook_state() == edited


def test_rollback_without_backup_is_refused(sheet_store):
    v21_workbook()
    sheet_store.reset_counters()
    with pytest.raises(CommandError, match="No hay ninguna copia de seguridad"):
        run("--rollback")
    assert sheet_store.status()["writes"] == 0


# --- what it costs ---------------------------------------------------------------------------


def test_migrating_2000_rows_stays_within_the_write_quota(sheet_store):
    stages = [s for s, _, _ in STAGES]
    spools = [{**stages[i % len(stages)], "TAG_SPOOL": f"MK-{i:05d}"} for i in range(2000)]
    v21_workbook(spools)
    sheet_store.reset_counters()

    out = run()

    status = sheet_store.status()
    print(
        f"\nmigrate_workbook, 2,000 rows: {status['reads']} read requests, "
        f"{status['writes']} write requests, by kind {status['by_kind']}; "
        f"the command says: {out.strip().splitlines()[-2]}"
    )
    # Google allows 60 write (and 60 read) requests per minute per user.
    assert status["writes"] <= 60
    assert status["reads"] <= 60
    header, rows = operaciones()
    assert sum(1 for r in rows[1:] if header.get(r, "Estado_Detalle")) == 2000


# --- step 2: Uniones, the union counters, Metadata's N_UNION ---------------------------------
# A v3.0 workbook (Operaciones with the v3.0 columns and an office column, Cliente, between
# the app's) gets the unions step alone; a v2.1 workbook goes through both steps in one run.

BACKUP_PREFIXES = (BACKUP_PREFIX, BACKUP_PREFIX_V30)
V30_SPOOLS = [
    spool(
        "MK-001",
        OT="OT-1",
        Cliente="Minera Sur",
        Fecha_Materiales=MAT,
        version="3b8c5c0e-0d1b-4f5e-9a43-2d7c1f0e8a11",
        Estado_Detalle="Disponible - ARM pendiente, SOLD pendiente",
    ),
    spool(
        "MK-002",
        OT="OT-1",
        Cliente="=no es fórmula",
        Fecha_Materiales=46143,
        Armador="MR(93)",
        Fecha_Armado=46144,
        version="9f0e6a52-51b6-4c38-8f0a-3c1e5b7d2e44",
        Estado_Detalle="Disponible - ARM completado, SOLD pendiente",
        Observaciones="revisar",
    ),
]
# Events the app and the office wrote: timestamps as text and as serials, JSON, a formula-
# looking text. Step 2 must leave every one of them as it is.
METADATA_ROWS = [
    [
        "e1",
        "01-05-2026 08:00:00",
        "TOMAR_SPOOL",
        "MK-002",
        93,
        "MR(93)",
        "ARM",
        "TOMAR",
        "01-05-2026",
        '{"lote": 1}',
    ],
    ["e2", 46144.375, "COMPLETAR_ARM", "MK-002", 93, "MR(93)", "ARM", "COMPLETAR", 46144, ""],
    ["e3", "02-05-2026 09:00:00", "NOTA", "MK-001", "", "=oficina", "", "", "", ""],
]


def v30_workbook(spools: list[dict] | None = None, *, narrow: bool = True, **kwargs):
    """A v3.0 workbook with Metadata events; `narrow`: Operaciones and Metadata grids exactly
    as wide as their headers, so that every new column needs a wider grid."""
    wb = build_workbook(V30_SPOOLS if spools is None else spools, WORKERS, METADATA_ROWS, **kwargs)
    if narrow:
        for title in (OPERACIONES, METADATA):
            ws = wb.worksheet(title)
            ws.resize(cols=len(ws.row_values(1)))
    return wb


def trimmed(rows: list[list]) -> list[list]:
    """Rows as a read gives them back: without their trailing empty cells."""
    out = []
    for row in rows:
        row = list(row)
        while row and row[-1] == "":
            row.pop()
        out.append(row)
    return out


def sheets_state() -> dict[str, tuple[int, int, list[list]]]:
    """Like workbook_state, leaving out the backups of both kinds."""
    return {t: v for t, v in workbook_state().items() if not t.startswith(BACKUP_PREFIXES)}


def backup_kinds() -> dict[str, int]:
    """Backup sheets by prefix."""
    titles = [ws.title for ws in open_workbook().worksheets()]
    return {p: sum(1 for t in titles if t.startswith(p)) for p in BACKUP_PREFIXES}


def sheet_order() -> list[str]:
    return [ws.title for ws in open_workbook().worksheets() if not ws.title.startswith("_")]


def test_v30_dry_run_says_what_the_unions_step_would_do_and_writes_nothing(sheet_store):
    v30_workbook()
    before = sheets_state()
    assert UNIONES not in before
    sheet_store.reset_counters()

    out = run("--dry-run")

    assert sheet_store.status()["writes"] == 0
    assert sheets_state() == before
    assert backup_kinds() == {BACKUP_PREFIX: 0, BACKUP_PREFIX_V30: 0}
    for line in (
        "Paso 1, v2.1 → v3.0:\n    nada que hacer",
        "Se crea la hoja Uniones después de Operaciones (1000×26), encabezado en la fila 1: "
        + ", ".join(UNIONES_COLUMNS),
        "Operaciones: se agregan 5 columnas al final del encabezado (después de P): "
        "Q1 = Total_Uniones, R1 = Uniones_ARM_Completadas, S1 = Uniones_SOLD_Completadas, "
        "T1 = Pulgadas_ARM, U1 = Pulgadas_SOLD",
        "La grilla de Operaciones se amplía de 16 a 21 columnas (hasta U).",
        "Metadata: se agrega 1 columna al final del encabezado (después de J): K1 = N_UNION",
        "La grilla de Metadata se amplía de 10 a 11 columnas (hasta K).",
        "Los contadores quedan vacíos en todas las filas",
        f"hojas ocultas {BACKUP_PREFIX_V30}<fecha>_<n>",
        "no se escribió nada",
    ):
        assert line in out, line


def test_v30_workbook_gets_uniones_and_the_union_columns_every_other_cell_untouched(
    sheet_store,
):
    v30_workbook()
    before = sheets_state()
    _, old_cols, old_ops = before[OPERACIONES]

    out = run()

    after = sheets_state()
    # Uniones: its header and nothing else, right after Operaciones.
    assert after[UNIONES] == (1000, 26, [list(UNIONES_COLUMNS)])
    assert sheet_order().index(UNIONES) == sheet_order().index(OPERACIONES) + 1
    # Operaciones: the counters appended after the last column (office ones included), the
    # narrow grid widened, every row as it was and its counters left empty.
    ops_rows, ops_cols, ops = after[OPERACIONES]
    assert (ops_rows, ops_cols) == (before[OPERACIONES][0], old_cols + 5)
    assert ops[0] == old_ops[0] + list(OPERACIONES_COUNTER_COLUMNS)
    assert padded(ops[1:], old_cols) == padded(old_ops[1:], old_cols)
    assert all(len(row) <= old_cols for row in ops[1:])
    header = HeaderMap.from_row(OPERACIONES, ops[0])
    assert header.get(by_tag(header, ops)["MK-002"], "Cliente") == "=no es fórmula"
    # Metadata: N_UNION in the header, the events untouched (values and their types).
    meta_rows, meta_cols, meta = after[METADATA]
    assert (meta_rows, meta_cols) == (before[METADATA][0], 11)
    assert meta[0] == list(METADATA_COLUMNS) + [METADATA_N_UNION]
    assert meta[1:] == before[METADATA][2][1:] == trimmed(METADATA_ROWS)
    for title in (TRABAJADORES, ROLES):
        assert after[title] == before[title]
    # One backup, named for the v3.0 workbook it holds, hidden.
    assert backup_kinds() == {BACKUP_PREFIX: 0, BACKUP_PREFIX_V30: len(before)}
    assert f"Copia de seguridad: {BACKUP_PREFIX_V30}" in out
    assert "Uniones: creada (1000×26)" in out and "[6/6] Verificando" in out and "OK:" in out


def test_v30_rerun_changes_nothing(sheet_store):
    v30_workbook()
    run()
    migrated = workbook_state()
    sheet_store.reset_counters()

    out = run()

    assert "Nada que hacer" in out and "la hoja Uniones y las columnas de uniones" in out
    assert sheet_store.status()["writes"] == 0
    assert workbook_state() == migrated


def test_v30_rollback_deletes_uniones_and_restores_every_cell_and_grid(sheet_store):
    v30_workbook()
    before = sheets_state()
    run()

    out = run("--rollback")

    assert sheets_state() == before  # no Uniones, grids 16 and 10 columns wide again
    assert "Uniones: se elimina la hoja (la creó la migración después de la copia)." in out
    assert "idéntico a la copia" in out
    assert "Nada que hacer" not in run("--dry-run")  # the unions step is to do again


def test_v21_workbook_goes_through_both_steps_in_one_run(sheet_store):
    v21_workbook(metadata=METADATA_ROWS)
    before = sheets_state()
    _, _, old_ops = before[OPERACIONES]
    sheet_store.reset_counters()

    dry = run("--dry-run")

    assert sheet_store.status()["writes"] == 0
    assert sheets_state() == before
    assert dry.index("Paso 1, v2.1 → v3.0:") < dry.index("Paso 2, uniones")
    assert "La grilla de Operaciones se amplía de 12 a 16 columnas (hasta P)." in dry
    assert "Q1 = Total_Uniones" in dry
    assert "La grilla de Operaciones se amplía de 16 a 21 columnas (hasta U)." in dry
    assert "Se crea la hoja Uniones" in dry

    out = run()

    after = sheets_state()
    assert after[OPERACIONES][2][0] == (
        old_ops[0] + list(V30_NEW_COLUMNS) + list(OPERACIONES_COUNTER_COLUMNS)
    )
    assert after[UNIONES][2] == [list(UNIONES_COLUMNS)]
    assert after[METADATA][2] == [
        list(METADATA_COLUMNS) + [METADATA_N_UNION],
        *trimmed(METADATA_ROWS),
    ]
    header = HeaderMap.from_row(OPERACIONES, after[OPERACIONES][2][0])
    for s, estado, _ in STAGES:
        row = by_tag(header, after[OPERACIONES][2])[s["TAG_SPOOL"]]
        assert header.get(row, "Estado_Detalle") == estado
        assert all(header.get(row, c) in (None, "") for c in OPERACIONES_COUNTER_COLUMNS)
    # One backup for the run, taken before step 1: the v2.1 workbook.
    assert backup_kinds() == {BACKUP_PREFIX: len(before), BACKUP_PREFIX_V30: 0}
    assert "[6/6] Verificando" in out and "OK:" in out

    sheet_store.reset_counters()
    assert "Nada que hacer" in run()
    assert sheet_store.status()["writes"] == 0

    run("--rollback")

    assert sheets_state() == before  # the v2.1 workbook, without Uniones


def test_union_columns_go_after_unlabelled_office_data(sheet_store):
    wb = v30_workbook(narrow=False)
    wb.worksheet(OPERACIONES).update_cell(3, 17, "dato sin encabezado")  # Q, past the header
    before = sheets_state()

    out = run()

    _, _, ops = sheets_state()[OPERACIONES]
    assert ops[2][16] == "dato sin encabezado"
    assert HeaderMap.from_row(OPERACIONES, ops[0]).find("Total_Uniones") == 17  # R
    assert "R1 = Total_Uniones" in out
    assert "Operaciones: no hace falta ampliarla" in out  # the 26-column grid has room
    run("--rollback")
    assert sheets_state() == before


def test_office_counter_values_are_kept_and_said(sheet_store):
    v30_workbook(extra_columns=("Cliente", "Total_Uniones"))
    ws = open_workbook().worksheet(OPERACIONES)
    header = HeaderMap.from_row(OPERACIONES, ws.row_values(1))
    ws.update_cell(3, header.col("Total_Uniones") + 1, 12)  # the office's own count
    before = sheets_state()

    out = run("--dry-run")
    assert "Total_Uniones ya existe (columna O) con 1 valor de la oficina: no se tocan" in out
    assert "se agregan 4 columnas" in out
    run()

    _, _, ops = sheets_state()[OPERACIONES]
    header = HeaderMap.from_row(OPERACIONES, ops[0])
    assert header.get(by_tag(header, ops)["MK-002"], "Total_Uniones") == 12
    assert ops[0] == before[OPERACIONES][2][0] + list(OPERACIONES_COUNTER_COLUMNS[1:])


def _office_uniones(header: list[str], rows: list[list]) -> None:
    ws = open_workbook().add_worksheet(UNIONES, rows=50, cols=len(header))
    ws.update([header, *rows], "A1", value_input_option="RAW")


def test_an_office_uniones_sheet_is_completed_never_replaced(sheet_store):
    v30_workbook()
    office = ["ID", "OT", "TAG_SPOOL", "N_UNION", "DN_UNION", "TIPO_UNION", "Comentario"]
    unions = [
        ["OT-1+1", "OT-1", "MK-001", 1, 2.5, "BW", "=nota"],
        ["OT-1+2", "OT-1", "MK-001", 2, "1 1/2", "SO", ""],
    ]
    _office_uniones(office, unions)
    before = sheets_state()

    out = run()

    rows_, cols, values = sheets_state()[UNIONES]
    added = [c for c in UNIONES_COLUMNS if c not in office]
    assert values[0] == office + added  # appended after Comentario, nothing moved
    assert padded(values[1:], len(office)) == padded(unions, len(office))
    assert (rows_, cols) == (50, len(office) + len(added))  # the narrow grid widened
    assert "Uniones ya tiene 2 filas" in out
    assert backup_kinds()[BACKUP_PREFIX_V30] == len(before)  # Uniones is in the backup

    out = run("--rollback")

    assert "se elimina" not in out
    assert sheets_state() == before  # the office's sheet as it was, not deleted


def test_uniones_with_rows_but_no_tag_spool_is_refused_naming_the_column(sheet_store):
    v30_workbook()
    _office_uniones(["N_UNION", "DN_UNION", "TIPO_UNION"], [[1, 2, "BW"]])
    before = sheets_state()
    sheet_store.reset_counters()

    with pytest.raises(CommandError, match="Uniones tiene filas pero no la columna requerida"):
        run()

    assert sheet_store.status()["writes"] == 0
    assert sheets_state() == before


def test_run_stopped_after_adding_uniones_completes_and_rolls_back(sheet_store):
    v21_workbook()
    before = sheets_state()
    io = WorkbookIO(open_workbook())
    snapshot = read_workbook(io)
    plan = plan_run(snapshot)
    take_backup(io, snapshot, lambda _: None)
    change_structure(io, plan)  # Uniones added (still empty), grids widened
    sheet_store.set_outage(True)
    with pytest.raises(SheetUnavailableError):
        write_headers(io, plan)
    sheet_store.set_outage(False)
    assert sheets_state()[UNIONES][2] == []

    out = run()

    assert "se reutiliza la copia" in out  # only what the migration adds changed
    assert backup_kinds() == {BACKUP_PREFIX: len(before), BACKUP_PREFIX_V30: 0}
    assert "Uniones: se agregan 17 columnas al final del encabezado (desde A)" in out
    assert "La grilla de Operaciones (21 columnas) alcanza" in out
    assert sheets_state()[UNIONES][2] == [list(UNIONES_COLUMNS)]
    run("--rollback")
    assert sheets_state() == before


def test_verification_names_a_union_typed_during_the_run(sheet_store):
    v30_workbook()
    io = WorkbookIO(open_workbook())
    snapshot = read_workbook(io)
    plan = plan_run(snapshot)
    take_backup(io, snapshot, lambda _: None)
    change_structure(io, plan)
    write_headers(io, plan)
    open_workbook().worksheet(UNIONES).update_cell(2, 3, "MK-001")  # C2, mid-run

    with pytest.raises(VerificationFailed) as failure:
        verify_run(io, plan)

    assert "Uniones: 2 filas, antes 1" in str(failure.value)
    assert "Uniones!C2: se esperaba '', hay 'MK-001'" in str(failure.value)


def test_a_backup_of_the_v30_only_migration_is_not_reused_for_the_unions_step(sheet_store):
    v21_workbook()
    run()
    run("--rollback")
    assert "se reutiliza" in run("--dry-run")
    # A backup taken before the unions step existed has no target in its manifests.
    wb = open_workbook()
    for ws in wb.worksheets():
        if ws.title.startswith(BACKUP_PREFIX):
            manifest = json.loads(ws.acell("B1").value)
            del manifest["target"], manifest["created_sheets"]
            ws.update_acell("B1", json.dumps(manifest))

    assert "se toma una nueva" in run("--dry-run")


def test_after_the_unions_step_the_next_pull_reads_the_new_uniones_sheet(sheet_store):
    from spools.models import SyncState
    from spools.workbook.pull import pull

    v30_workbook()
    state = SyncState.get()
    state.uniones_sheet = False  # the sync had learned this workbook has no Uniones
    state.save()

    run()

    assert SyncState.get().uniones_sheet is None  # to be asked again
    pull(workers=True)
    assert SyncState.get().uniones_sheet is True
