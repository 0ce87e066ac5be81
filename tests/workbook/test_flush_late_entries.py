"""A change committed while the flush's read is on its way joins that flush's write when the
read covers it: with the sheet at 500 ms a call, a change no longer waits a whole extra read
and write (up to 2 s) to reach the workbook."""

from __future__ import annotations

import threading
import time

import pytest

from spools.models import Event, OutboxEntry
from spools.workbook.sync import CycleResult, run_cycle
from tests.floor import build_floor, do, metadata_ids, operaciones_by_tag

pytestmark = pytest.mark.django_db(transaction=True)

WORKER = 300  # tests.floor.FLOOR_WORKERS[0], an Armador
LATENCY_MS = 400


def cycle_in_background() -> tuple[threading.Thread, list[CycleResult]]:
    results: list[CycleResult] = []

    def body() -> None:
        from django.db import connection

        try:
            results.append(run_cycle())
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=body)
    thread.start()
    return thread, results


def test_a_change_committed_during_the_read_lands_in_the_same_write(sheet_store):
    first, second = build_floor(2)
    assert do("TOMAR", WORKER, first).status == 200
    sheet_store.set_latency(LATENCY_MS)
    sheet_store.reset_counters()

    thread, results = cycle_in_background()
    time.sleep(LATENCY_MS / 1000 / 3)  # the cycle is reading the sheet now
    assert do("TOMAR", WORKER, second).status == 200
    thread.join(30)
    sheet_store.clear_faults()

    (result,) = results
    assert result.error == "" and result.entries_flushed == 2
    assert sheet_store.status()["writes"] == 1  # one write for both changes
    assert not OutboxEntry.objects.filter(flushed_at__isnull=True).exists()
    rows = operaciones_by_tag()
    assert rows[first]["Ocupado_Por"] and rows[second]["Ocupado_Por"]
    landed = metadata_ids()
    assert [str(e.id) for e in Event.objects.order_by("timestamp")] == landed[-2:]


def test_a_change_the_read_does_not_cover_waits_for_the_next_cycle(sheet_store):
    """Metadata rows alone planned no TAG_SPOOL read: a change of cells cannot be located
    from this read, so it is left for the next one (never written blind)."""
    first, second = build_floor(2)
    assert do("TOMAR", WORKER, first).status == 200
    # A Metadata-only entry first: its read has no TAG_SPOOL column.
    OutboxEntry.objects.filter(flushed_at__isnull=True).update(cells={})
    sheet_store.set_latency(LATENCY_MS)

    thread, results = cycle_in_background()
    time.sleep(LATENCY_MS / 1000 / 3)
    assert do("TOMAR", WORKER, second).status == 200
    thread.join(30)
    sheet_store.clear_faults()

    (result,) = results
    assert result.entries_flushed == 1
    assert OutboxEntry.objects.filter(flushed_at__isnull=True, tag=second).count() == 1
    assert run_cycle().entries_flushed == 1
    assert operaciones_by_tag()[second]["Ocupado_Por"]
