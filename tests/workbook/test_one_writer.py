"""One writer to the workbook: commands that need it up to date ask the lease holder for a
cycle instead of flushing beside it, and a stale write of ours read back heals.

Real processes: a daphne web process with its sync loop (as deployed), the commands as
`manage.py` children, tablets posting over HTTP; the local backend slowed on purpose so that
two flushers would overlap.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from spools.models import Event, OutboxEntry, Spool, SyncRequest
from spools.sheets import open_workbook
from spools.workbook.columns import APP_OWNED_COLUMNS, OPERACIONES, column_letter
from spools.workbook.outbox import pending_count
from spools.workbook.sync import acquire_lease, flush_until_empty, run_cycle
from tests import ROOT
from tests.browser import Server, database_url, http_session
from tests.floor import (
    FLOOR_WORKERS,
    assert_every_metadata_row_once_in_spool_order,
    assert_workbook_equals_mirror,
    build_floor,
    do,
    operaciones_by_tag,
    wait_until,
)
from tests.plant import station_user

OVERRIDE = "SUPERVISOR_OVERRIDE"


def manage(*args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """A management command in its own process, on the test's database and workbook."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "zeues.settings",
        "DATABASE_URL": database_url(),
        "ZEUES_LOCAL_SHEET": str(settings.ZEUES_LOCAL_SHEET),
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def post_action(http, url: str, accion: str, worker_id: int, tag: str):
    return http.post(
        f"{url}/acciones/",
        data={
            "operacion": "ARM",
            "accion": accion,
            "worker": worker_id,
            "tags": [tag],
            "request_id": str(uuid.uuid4()),
        },
        timeout=60,
    )


def put_cells(tag: str, cells: dict[str, str]) -> None:
    """Cells of one Operaciones row set by hand (or by a late write), RAW."""
    ws = open_workbook().worksheet(OPERACIONES)
    values = ws.get_all_values()
    header = values[0]
    row = next(n for n, r in enumerate(values, start=1) if r[header.index("TAG_SPOOL")] == tag)
    ws.batch_update(
        [
            {"range": f"{column_letter(header.index(c))}{row}", "values": [[v]]}
            for c, v in cells.items()
        ],
        value_input_option="RAW",
    )


# --- a command flushing while the web process flushes ------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_exports_while_the_web_process_flushes_leave_every_row_at_its_latest_state(
    sheet_store, tmp_path
):
    workers = FLOOR_WORKERS[:4]
    tags = build_floor(40, workers)
    user = station_user()
    # As deployed: each process writes at most once a second, and the sheet answers in
    # 100 ms. A flusher that wrote a moment ago waits its turn to write what it read; a
    # second flusher would read later, write sooner, and be overwritten by older cells.
    paced = {"ZEUES_SHEET_MIN_WRITE_INTERVAL": "1"}
    sheet_store.set_latency(100)
    server = Server(paced).start()
    exports: list[subprocess.CompletedProcess] = []
    try:
        statuses: list[int] = []

        # Logged in here: a thread of the test process would leave a database connection open.
        sessions = [http_session(user) for _ in workers]

        def tablet(i: int) -> None:  # each worker takes and finishes 10 spools, one by one
            http = sessions[i]
            wid = workers[i].id
            for tag in tags[i::4]:
                for accion in ("TOMAR", "COMPLETAR"):
                    statuses.append(post_action(http, server.url, accion, wid, tag).status_code)
                    time.sleep(0.15)

        tablets = [threading.Thread(target=tablet, args=(i,)) for i in range(len(workers))]
        for t in tablets:
            t.start()
        while any(t.is_alive() for t in tablets):  # the office exports, again and again
            libro = tmp_path / f"libro-{len(exports)}.xlsx"
            exports.append(manage("export_workbook", str(libro), **paced))
        for t in tablets:
            t.join(60)
        wait_until(lambda: pending_count() == 0, 30, "the web process to flush everything")
    finally:
        server.stop()
        sheet_store.clear_faults()

    assert statuses == [200] * 80
    assert exports and all(e.returncode == 0 for e in exports), [e.stderr for e in exports]
    for s in Spool.objects.all():
        assert s.fecha_armado is not None and not s.is_occupied, s.tag
    assert_workbook_equals_mirror()  # no row left with an older write over a newer one
    assert_every_metadata_row_once_in_spool_order()  # tablets commit concurrently
    assert not Event.objects.filter(evento_tipo=OVERRIDE).exists()
    assert not SyncRequest.objects.exists()  # every command cleaned up after itself


# --- a stale write read back heals ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_stale_write_of_ours_read_back_is_written_again_not_taken_for_an_office_edit(
    sheet_store,
):
    [tag, _] = build_floor(2, FLOOR_WORKERS[:1])
    wid = FLOOR_WORKERS[0].id
    assert do("TOMAR", wid, tag).status == 200
    flush_until_empty()
    tomar_cells = {c: operaciones_by_tag()[tag][c] for c in APP_OWNED_COLUMNS}
    assert do("COMPLETAR", wid, tag).status == 200
    flush_until_empty()
    done = Spool.objects.get(tag=tag)
    metadata_rows = OutboxEntry.objects.exclude(metadata_row={}).count()

    put_cells(tag, tomar_cells)  # the TOMAR's cells land late, over the COMPLETAR's
    first = run_cycle(pull_now=True)

    assert first.pulled.healed == [tag]
    assert not Event.objects.filter(evento_tipo=OVERRIDE).exists()
    assert Spool.objects.get(tag=tag).app_cells() == done.app_cells()  # the mirror holds
    assert operaciones_by_tag()[tag]["Ocupado_Por"] == tomar_cells["Ocupado_Por"]

    second = run_cycle()  # the next cycle writes the current cells again

    assert second.entries_flushed == 1 and second.metadata_written == 0
    assert operaciones_by_tag()[tag]["Ocupado_Por"] == ""
    assert_workbook_equals_mirror()
    assert OutboxEntry.objects.exclude(metadata_row={}).count() == metadata_rows
    assert run_cycle(pull_now=True).pulled.healed == []  # healed for good


@pytest.mark.django_db(transaction=True)
def test_an_office_edit_still_counts_whatever_the_version_cell_says(sheet_store):
    a, b = build_floor(2, FLOOR_WORKERS[:1])
    wid = FLOOR_WORKERS[0].id
    for tag in (a, b):
        assert do("TOMAR", wid, tag).status == 200
    flush_until_empty()
    # The office releases a by hand with a version of its own, b without touching version.
    put_cells(a, {"Ocupado_Por": "", "Fecha_Ocupacion": "", "version": "typed-by-the-office"})
    put_cells(b, {"Ocupado_Por": "", "Fecha_Ocupacion": ""})

    result = run_cycle(pull_now=True)

    assert result.pulled.healed == []
    assert not Spool.objects.get(tag=a).is_occupied
    assert not Spool.objects.get(tag=b).is_occupied
    overrides = Event.objects.filter(evento_tipo=OVERRIDE)
    assert sorted(e.tag for e in overrides) == [a, b]
    assert {e.metadata_json["tipo"] for e in overrides} == {"EDICION_EXTERNA"}


# --- sync_sheets --once --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_sync_sheets_once_beside_a_web_process_makes_an_office_edit_count_at_the_next_action(
    sheet_store,
):
    [tag, other] = build_floor(2, FLOOR_WORKERS[:1])
    wid = FLOOR_WORKERS[0].id
    put_cells(tag, {"Fecha_Materiales": ""})
    run_cycle(pull_now=True)
    user = station_user()
    server = Server().start()  # pulls every hour: only the command can bring the edit now
    try:
        http = http_session(user)
        assert post_action(http, server.url, "TOMAR", wid, other).status_code == 200
        put_cells(tag, {"Fecha_Materiales": "20-05-2026"})  # the office: materials arrived
        assert post_action(http, server.url, "TOMAR", wid, tag).status_code == 400

        once = manage("sync_sheets", "--once")

        assert once.returncode == 0, once.stdout + once.stderr
        assert post_action(http, server.url, "TOMAR", wid, tag).status_code == 200
    finally:
        server.stop()
    assert operaciones_by_tag()[other]["Ocupado_Por"] != ""  # its TOMAR was flushed too


@pytest.mark.django_db(transaction=True)
def test_sync_sheets_once_fails_when_nobody_syncs_in_time(sheet_store):
    build_floor(1, FLOOR_WORKERS[:1])
    assert acquire_lease("un-proceso-colgado", seconds=60)  # holds the lease, runs no cycle

    with pytest.raises(CommandError, match="en 0.5 s.*un-proceso-colgado"):
        call_command("sync_sheets", "--once", "--timeout", "0.5", stdout=StringIO())

    assert not SyncRequest.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_sync_sheets_once_fails_with_the_reason_when_the_workbook_is_down(sheet_store):
    [tag] = build_floor(1, FLOOR_WORKERS[:1])
    assert do("TOMAR", FLOOR_WORKERS[0].id, tag).status == 200
    sheet_store.set_outage(True)

    with pytest.raises(CommandError):
        call_command("sync_sheets", "--once", stdout=StringIO())
    with pytest.raises(CommandError, match="No se pudieron escribir"):
        call_command("export_workbook", "libro.xlsx", stdout=StringIO())

    sheet_store.set_outage(False)
    out = StringIO()
    call_command("sync_sheets", "--once", stdout=out)
    assert "Escritos 1 cambios" in out.getvalue()
    assert pending_count() == 0
