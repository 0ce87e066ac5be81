"""The workbook misbehaving while the plant keeps working: nothing lost, nothing doubled.

Real parts only: the database, the flusher and its lease, and the local Sheets backend
reached through the real gspread client, failing on purpose (outage, 429 storm, latency past
the request timeout) or losing its flusher to SIGKILL in the middle of a flush.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from spools.models import SyncLease, Worker
from spools.sheets import open_workbook
from spools.workbook.columns import METADATA
from spools.workbook.outbox import pending_count
from spools.workbook.sync import (
    LEASE_NAME,
    acquire_lease,
    flush_until_empty,
    release_lease,
    run_cycle,
    sync_loop,
)
from tests import ROOT
from tests.floor import (
    FLOOR_WORKERS,
    assert_every_metadata_row_once_in_order,
    assert_workbook_equals_mirror,
    build_floor,
    child_database_url,
    committed_event_ids,
    do,
    metadata_ids,
    operaciones_by_tag,
    tag_of,
    wait_until,
)

ARMADORES = FLOOR_WORKERS


@contextmanager
def running_sync_loops(count: int = 1, on_cycle=None):
    """`count` sync loops in threads, as web processes run them; stopped on exit."""
    stop = threading.Event()

    def run() -> None:
        try:
            sync_loop(stop, on_cycle=on_cycle)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, name=f"sync-{i}") for i in range(count)]
    for t in threads:
        t.start()
    try:
        yield stop
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        assert not any(t.is_alive() for t in threads)


def in_threads(n: int, work: Callable[[int], object]) -> list:
    """Run work(i) in n threads released together; their results in order."""
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller's assertion
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return results


# --- an outage while 20 workers keep acting ---------------------------------------------------


def worker_day(i: int) -> list[tuple[str, str]]:
    """Worker i's 10 actions on its own 3 spools: take, pause, take again, complete (twice),
    and a third spool left paused."""
    a, b, c = (tag_of(3 * i + k) for k in (1, 2, 3))
    return [
        ("TOMAR", a),
        ("PAUSAR", a),
        ("TOMAR", a),
        ("COMPLETAR", a),
        ("TOMAR", b),
        ("PAUSAR", b),
        ("TOMAR", b),
        ("COMPLETAR", b),
        ("TOMAR", c),
        ("PAUSAR", c),
    ]


@pytest.mark.django_db(transaction=True)
def test_an_outage_during_200_actions_loses_nothing_and_doubles_nothing(sheet_store):
    build_floor(60)
    sheet_store.reset_counters()
    sheet_store.set_outage(True)

    with running_sync_loops(1):  # the web process keeps trying, and failing

        def work(i: int) -> list[int]:
            wid = ARMADORES[i].id
            return [do(accion, wid, tag).status for accion, tag in worker_day(i)]

        statuses = in_threads(20, work)
        assert sheet_store.status()["writes"] == 0
        assert sheet_store.status()["failures"].get("outage", 0) > 0

    assert [s for per_worker in statuses for s in per_worker] == [200] * 200
    assert pending_count() == 200
    sheet_store.clear_faults()

    assert flush_until_empty() == 200

    assert pending_count() == 0
    assert_workbook_equals_mirror()
    assert_every_metadata_row_once_in_order()
    assert len(metadata_ids()) == 200
    rows = operaciones_by_tag()
    for i, w in enumerate(ARMADORES):
        short = Worker.objects.get(pk=w.id).short
        for n, completed in ((1, True), (2, True), (3, False)):
            row = rows[tag_of(3 * i + n)]
            assert (row["Armador"], row["Ocupado_Por"]) == (short, "")
            assert bool(row["Fecha_Armado"]) is completed


# --- the flusher killed in the middle of a flush --------------------------------------------


def flusher_command() -> list[str]:
    """The sync worker's one-shot flush (`sync_sheets --once`), or run_cycle() if absent."""
    from django.core.management import get_commands

    if "sync_sheets" in get_commands():
        return [sys.executable, "manage.py", "sync_sheets", "--once"]
    return [
        sys.executable,
        "-c",
        "import django; django.setup(); from spools.workbook.sync import run_cycle; print(run_cycle())",
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("moment", ["after_its_read", "after_its_write_landed"])
def test_a_flusher_killed_mid_flush_then_restarted_writes_each_metadata_row_once(
    sheet_store, tmp_path, moment
):
    tags = build_floor(8, ARMADORES[:4])
    for n, tag in enumerate(tags):
        wid = ARMADORES[n % 4].id
        assert do("TOMAR", wid, tag).status == 200
        assert do("PAUSAR", wid, tag).status == 200
    assert pending_count() == 16
    url, after_child = child_database_url(tmp_path)
    log = tmp_path / "flusher.log"
    sheet_store.reset_counters()
    # Every call lands, then its answer takes 2 s: the child is caught asleep right after a
    # call has been applied.
    sheet_store.set_latency(2000)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "zeues.settings",
        "DATABASE_URL": url,
        "ZEUES_LOCAL_SHEET": str(django_settings.ZEUES_LOCAL_SHEET),
        "ZEUES_SHEET_MIN_WRITE_INTERVAL": "0",
    }
    with open(log, "wb") as out:
        child = subprocess.Popen(
            flusher_command(), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:

        def reached() -> bool:
            if child.poll() is not None:
                pytest.fail(f"the flusher ended before it was killed:\n{log.read_text()}")
            status = sheet_store.status()
            done = status["writes"] if moment == "after_its_write_landed" else status["reads"]
            return done >= 1

        wait_until(reached, 60, f"the flusher {moment.replace('_', ' ')}")
        child.send_signal(signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    after_child()
    sheet_store.clear_faults()

    status = sheet_store.status()
    assert status["writes"] == (1 if moment == "after_its_write_landed" else 0)
    assert pending_count() == 16  # the child never got to mark anything written
    landed = metadata_ids()
    assert landed == (committed_event_ids() if moment == "after_its_write_landed" else [])

    # The dead flusher still holds the lease until it runs out (LEASE_SECONDS): the restart
    # comes after that.
    SyncLease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert flush_until_empty() == 16  # the restart

    assert pending_count() == 0
    assert_every_metadata_row_once_in_order()
    assert_workbook_equals_mirror()


@pytest.mark.django_db(transaction=True)
def test_a_write_that_lands_but_times_out_is_not_written_again(sheet_store, settings):
    """More Metadata rows than the flusher re-reads past its last known row (50)."""
    tags = build_floor(32, ARMADORES[:2])
    wid = ARMADORES[0].id
    assert do("TOMAR", wid, tags[0]).status == 200
    flush_until_empty()
    for tag in tags[1:]:
        assert do("TOMAR", wid, tag).status == 200
        assert do("PAUSAR", wid, tag).status == 200
    assert pending_count() == 62

    settings.ZEUES_SHEET_TIMEOUT = 0.3
    settings.ZEUES_SHEET_RETRIES = 1  # the retry lands a second time, at the same place
    # Writes are paced one a second: the flush's write waits ~1 s after its read, long
    # enough to make the sheet slow (past the timeout) between the two.
    settings.ZEUES_SHEET_MIN_WRITE_INTERVAL = 1.0
    open_workbook().worksheet(METADATA).update_acell("A1", "ID")  # a write (of nothing) now
    sheet_store.reset_counters()
    results = []

    def flush() -> None:
        try:
            results.append(run_cycle())
        finally:
            connection.close()

    flusher = threading.Thread(target=flush)
    flusher.start()
    wait_until(lambda: sheet_store.status()["reads"] >= 1, 10, "the flush's read")
    sheet_store.set_latency(1000)
    flusher.join(30)
    sheet_store.clear_faults()

    [result] = results
    assert "Timeout" in result.error
    status = sheet_store.status()
    assert status["writes"] == 2 and status["failures"] == {"timeout": 2}
    assert metadata_ids() == committed_event_ids()  # landed, twice, at the same rows
    assert pending_count() == 62  # but the flusher could not know

    assert flush_until_empty() == 62

    assert_every_metadata_row_once_in_order()
    assert_workbook_equals_mirror()


# --- a 429 storm with the real write pacing ------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_429_storm_backs_off_loses_nothing_and_keeps_writes_at_one_a_second(
    sheet_store, settings
):
    tags = build_floor(10, ARMADORES[:2])
    settings.ZEUES_SHEET_MIN_WRITE_INTERVAL = 1.0  # the production pace
    wid = ARMADORES[0].id
    sheet_store.reset_counters()
    samples: list[tuple[float, dict]] = []
    acting = threading.Event()
    acting.set()
    statuses: list[int] = []

    def tablets() -> None:
        try:
            n = 0
            while acting.is_set():
                tag = tags[(n // 2) % len(tags)]
                statuses.append(do("TOMAR" if n % 2 == 0 else "PAUSAR", wid, tag).status)
                n += 1
                time.sleep(0.15)
        finally:
            connection.close()

    def sample_for(seconds: float) -> None:
        end = time.monotonic() + seconds
        while True:
            samples.append((time.monotonic(), sheet_store.status()))
            if time.monotonic() >= end:
                return
            time.sleep(0.05)

    acts = threading.Thread(target=tablets)
    sample_for(0)
    with running_sync_loops(1):
        acts.start()
        sample_for(1)  # healthy: flushes about once a second
        sheet_store.set_errors(1.0, status=429)  # every call refused
        storm_started = time.monotonic()
        sample_for(5)
        reads_in_full_storm = samples[-1][1]["reads"] - next(
            s["reads"] for t, s in samples if t >= storm_started
        )
        sheet_store.set_errors(0.5, status=429)  # half refused: writes are tried, and fail
        sample_for(5)
        sheet_store.clear_faults()
        acting.clear()
        acts.join(30)
        end = time.monotonic() + 40
        while pending_count() and time.monotonic() < end:
            sample_for(0.5)
        sample_for(0.2)

    assert statuses and set(statuses) == {200}
    assert pending_count() == 0
    assert_every_metadata_row_once_in_order()
    assert_workbook_equals_mirror()

    final = samples[-1][1]
    assert final["failures"].get("429", 0) > 0
    # Backoff: each failing cycle tries its read 1 + ZEUES_SHEET_RETRIES times, and the loop
    # waits 1, 2, 4… s between cycles (without it: a cycle every 0.25 s, 20 in 5 s).
    assert reads_in_full_storm <= 4 * (settings.ZEUES_SHEET_RETRIES + 1)
    # Writes, attempts included (`failed` too), never more than one a second: at most
    # window + 1 in any window of `window` seconds.
    window = 10.0
    worst = max(
        s2["writes"] - s1["writes"]
        for i, (t1, s1) in enumerate(samples)
        for t2, s2 in samples[i:]
        if t2 - t1 <= window
    )
    assert worst <= window + 1
    elapsed = samples[-1][0] - samples[0][0]
    assert final["writes"] <= elapsed + 1


# --- the lease: one flusher at a time ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_of_eight_processes_claiming_the_lease_at_once_exactly_one_gets_it():
    got = in_threads(8, lambda i: acquire_lease(f"proceso-{i}"))
    assert got.count(True) == 1
    winner = got.index(True)
    assert acquire_lease(f"proceso-{winner}")  # the holder renews it
    assert not any(acquire_lease(f"proceso-{i}") for i in range(8) if i != winner)
    assert SyncLease.objects.get(name=LEASE_NAME).holder == f"proceso-{winner}"


@pytest.mark.django_db
def test_an_expired_lease_is_taken_over_and_its_old_holder_has_lost_it():
    assert acquire_lease("web-1")
    assert not acquire_lease("worker-1")
    SyncLease.objects.filter(name=LEASE_NAME).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert acquire_lease("worker-1")
    assert not acquire_lease("web-1")
    release_lease("web-1")  # a late release by the old holder changes nothing
    assert not acquire_lease("web-2")
    release_lease("worker-1")
    assert acquire_lease("web-2")


@pytest.mark.django_db(transaction=True)
def test_two_sync_loops_never_both_flush_and_a_dead_holders_lease_is_taken_over(sheet_store):
    tags = build_floor(6, ARMADORES[:1])
    wid = ARMADORES[0].id
    assert acquire_lease("proceso-muerto", seconds=2)  # a flusher that died holding it
    assert do("TOMAR", wid, tags[0]).status == 200
    cycles: list[str] = []

    def on_cycle(result) -> None:
        cycles.append(threading.current_thread().name)

    with running_sync_loops(2, on_cycle=on_cycle):
        time.sleep(1)
        assert pending_count() == 1  # the lease is still the dead process's
        wait_until(lambda: pending_count() == 0, 10, "a loop to take the lease over")
        for n, tag in enumerate(tags[1:]):
            assert do("TOMAR", wid, tag).status == 200
            if n % 2:
                time.sleep(0.3)
        wait_until(lambda: pending_count() == 0, 10, "the loops to flush")

    assert len(cycles) >= 2
    assert len(set(cycles)) == 1  # one loop did every cycle; the other waited
    assert_every_metadata_row_once_in_order()
    assert_workbook_equals_mirror()
