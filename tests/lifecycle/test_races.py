"""Simultaneous actions on one spool: exactly one wins, the others learn who has it.

Threads race on SQLite (a real file, as in production), and — with CI's PostgreSQL — two
daphne server processes share the database and receive 50 TOMAR each.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings
from django.db import connection

from occupation.services import ActionCommand, perform_action
from spools.models import Spool
from tests import ROOT
from tests.browser import http_session
from tests.builders import build_workbook, spool, worker
from tests.plant import exported, station_user

TAG = "MK-2047-TW-20001-001"
ARMADORES = [worker(200 + i, f"Nombre{i}", f"Apellido{i}", roles=["Armador"]) for i in range(12)]


def build_race_plant() -> None:
    from spools.workbook.pull import pull

    build_workbook(spools=[spool(TAG, Fecha_Materiales="02-05-2026")], workers=ARMADORES)
    pull(workers=True)


def race(n: int, action) -> list:
    """Run `action(i)` in n threads released at the same instant."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = action(i)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.django_db(transaction=True)
def test_ten_simultaneous_tomar_one_wins_the_rest_get_409_with_the_occupant(sheet_store, tmp_path):
    build_race_plant()

    def tomar(i: int):
        return perform_action(ActionCommand("ARM", "TOMAR", 200 + i, [TAG]))

    outcomes = race(10, tomar)
    statuses = sorted(o.status for o in outcomes)
    assert statuses == [200] + [409] * 9
    winner = next(o for o in outcomes if o.status == 200)
    for loser in (o for o in outcomes if o.status == 409):
        assert f"ocupado por {winner.worker_short}" in loser.results[0].message
    book = exported(tmp_path)
    [row] = [r for r in book["Operaciones"] if r["TAG_SPOOL"] == TAG]
    assert row["Ocupado_Por"] == winner.worker_short
    assert [r["Evento_Tipo"] for r in book["Metadata"] if r["TAG_SPOOL"] == TAG] == ["TOMAR_SPOOL"]


def hold_spool_row(ready: threading.Event, release: threading.Event) -> None:
    """Keep the spool's row (the whole database on SQLite) write-locked until released,
    so that every request of a race arrives while the first is still being written."""
    from django.db import transaction

    try:
        with transaction.atomic():
            Spool.objects.select_for_update().filter(tag=TAG).update(nv="NV-RACE")
            ready.set()
            release.wait(10)
    finally:
        connection.close()


def race_while_held(n: int, action, release_after: float) -> list:
    """`race(n, action)` while the spool's row is write-locked, released `release_after`
    seconds after the race starts."""
    ready, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_spool_row, args=(ready, release))
    holder.start()
    ready.wait(10)
    threading.Timer(release_after, release.set).start()
    try:
        return race(n, action)
    finally:
        holder.join(10)


@pytest.mark.django_db(transaction=True)
def test_five_workers_pause_one_spool_at_once_only_the_occupant_may(sheet_store):
    build_race_plant()
    assert perform_action(ActionCommand("ARM", "TOMAR", 200, [TAG])).status == 200

    def pausar(i: int):
        return perform_action(ActionCommand("ARM", "PAUSAR", 200 + i, [TAG]))

    outcomes = race_while_held(5, pausar, release_after=0.3)  # the others have answered
    assert sorted(o.status for o in outcomes) == [200, 403, 403, 403, 403]
    assert outcomes[0].status == 200  # worker 200 is the occupant
    assert not Spool.objects.get(tag=TAG).is_occupied


@pytest.mark.django_db(transaction=True)
def test_the_losers_of_a_race_under_the_lock_store_nothing(sheet_store):
    """Ten TOMAR that all find the spool free, then queue for its lock: the nine refused
    there answer who has it and leave nothing behind (no remembered outcome, no write)."""
    import uuid

    from occupation.models import ActionRequest

    build_race_plant()

    def tomar(i: int):
        return perform_action(
            ActionCommand("ARM", "TOMAR", 200 + i, [TAG], request_id=uuid.uuid4())
        )

    outcomes = race_while_held(10, tomar, release_after=0.5)  # every one passed precheck
    assert sorted(o.status for o in outcomes) == [200] + [409] * 9
    winner = next(o for o in outcomes if o.status == 200)
    assert all(
        f"ocupado por {winner.worker_short}" in o.results[0].message
        for o in outcomes
        if o.status == 409
    )
    assert [a.status for a in ActionRequest.objects.all()] == [200]


@pytest.mark.django_db(transaction=True)
def test_a_double_tap_with_one_request_id_applies_once(sheet_store):
    import uuid

    build_race_plant()
    rid = uuid.uuid4()

    def tomar(i: int):
        return perform_action(ActionCommand("ARM", "TOMAR", 200, [TAG], request_id=rid))

    outcomes = race(4, tomar)
    assert [o.status for o in outcomes] == [200] * 4
    from spools.models import Event

    assert Event.objects.filter(tag=TAG, evento_tipo="TOMAR_SPOOL").count() == 1


# --- two server processes on PostgreSQL ----------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "zeues.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_until_up(port: int, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server on {port} died: {proc.stderr.read().decode()[-2000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError(f"server on {port} did not start")


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_server_processes_fifty_tomar_each_exactly_one_wins(sheet_store, tmp_path):
    build_race_plant()
    user = station_user()
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "DJANGO_DEBUG": "0",
        "ZEUES_SYNC_IN_WEB": "0",  # the test flushes itself, once, at the end
        "ZEUES_LOCAL_SHEET": settings.ZEUES_LOCAL_SHEET,
    }
    ports = [free_port(), free_port()]
    servers = [start_server(p, env) for p in ports]
    try:
        for port, proc in zip(ports, servers, strict=True):
            wait_until_up(port, proc)
        sessions = [http_session(user) for _ in range(20)]

        def post(i: int) -> requests.Response:
            port = ports[i % 2]
            return sessions[i % 20].post(
                f"http://127.0.0.1:{port}/acciones/",
                data={"operacion": "ARM", "accion": "TOMAR", "worker": 200 + i % 12, "tags": [TAG]},
                timeout=60,
            )

        with ThreadPoolExecutor(max_workers=20) as pool:
            responses = list(pool.map(post, range(100)))
    finally:
        for proc in servers:
            proc.terminate()
        for proc in servers:
            proc.wait(10)
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 1, statuses
    assert statuses.count(409) == 99, statuses
    book = exported(tmp_path)
    [row] = [r for r in book["Operaciones"] if r["TAG_SPOOL"] == TAG]
    winner = responses[statuses.index(200)]
    assert row["Ocupado_Por"] in winner.text
    assert [r["Evento_Tipo"] for r in book["Metadata"] if r["TAG_SPOOL"] == TAG] == ["TOMAR_SPOOL"]


@pytest.mark.django_db(transaction=True)
def test_two_batches_over_the_same_spools_in_opposite_orders_both_finish(sheet_store):
    from spools.workbook.pull import pull

    tags = [f"MK-2047-TW-21000-{i:03d}" for i in range(20)]
    build_workbook(
        spools=[spool(t, Fecha_Materiales="02-05-2026") for t in tags], workers=ARMADORES
    )
    pull(workers=True)

    def batch(i: int):
        order = tags if i == 0 else list(reversed(tags))
        return perform_action(ActionCommand("ARM", "TOMAR", 200 + i, order))

    first, second = race(2, batch)  # no deadlock (PostgreSQL), no 500
    won = [r for o in (first, second) for r in o.results if r.status == 200]
    assert len(won) == 20  # every spool taken exactly once
    assert sorted(r.tag for r in won) == tags
