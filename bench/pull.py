"""The pull of a large workbook: the first (creates every mirror row), steady, after edits.

Each run is timed alone and counts the backend's requests, so "one pull, one read" is
checked on every run, not assumed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from io import StringIO

from django.conf import settings
from django.core.management import call_command

from bench.figures import Goal, Report, ms, percentile
from spools.models import Spool
from spools.workbook import gateway as sheets
from spools.workbook.columns import OPERACIONES, Col, HeaderMap, column_letter
from spools.workbook.local_sheet import LocalSheetStore
from spools.workbook.pull import PullResult, pull

CHANGED_ROWS = 100
ONE_READ = Goal("= 1 read", lambda v: v == 1)


@dataclass
class Runs:
    times_ms: list[float] = field(default_factory=list)
    reads: list[int] = field(default_factory=list)
    writes: list[int] = field(default_factory=list)


def _timed_pull(store: LocalSheetStore, runs: Runs) -> PullResult:
    store.reset_counters()
    started = time.perf_counter()
    result = pull(workers=False)
    runs.times_ms.append((time.perf_counter() - started) * 1000)
    status = store.status()
    runs.reads.append(status["reads"])
    runs.writes.append(status["writes"])
    return result


def _change_rows(rng: random.Random, run: int) -> None:
    """An office edit: OT retyped on CHANGED_ROWS random rows, in one write."""
    (header_rows,) = sheets.read_ranges([sheets.sheet_range(OPERACIONES, "1:1")])
    letter = column_letter(HeaderMap.from_row(OPERACIONES, header_rows[0]).col(Col.OT))
    rows = list(Spool.objects.filter(sheet_row__isnull=False).values_list("sheet_row", flat=True))
    updates = {
        sheets.sheet_range(OPERACIONES, f"{letter}{row}"): f"OT-BENCH-{run}-{i:03d}"
        for i, row in enumerate(rng.sample(rows, CHANGED_ROWS))
    }
    sheets.write_cells(updates)


def run(
    report: Report,
    store: LocalSheetStore,
    *,
    spools: int,
    runs: int,
    seed: int,
    progress: Callable[[str], None],
) -> list[str]:
    """The pull section. Returns errors (a pull that did not do what it should)."""
    errors: list[str] = []
    report.section(f"pull: a workbook of {spools:,} spools, latency 0 (the app's own work)")
    progress(f"load_demo --spools {spools} --force …")
    started = time.perf_counter()
    call_command("load_demo", spools=spools, force=True, stdout=StringIO())
    report.note(f"load_demo --spools {spools} took {time.perf_counter() - started:.1f} s")
    store.clear_faults()

    first, steady, changed = Runs(), Runs(), Runs()
    for i in range(runs):
        progress(f"first pull {i + 1}/{runs} (empty mirror)")
        Spool.objects.all().delete()
        result = _timed_pull(store, first)
        if len(result.created) != spools:
            errors.append(f"first pull created {len(result.created)} spools, not {spools}")
    for i in range(runs):
        progress(f"steady pull {i + 1}/{runs}")
        result = _timed_pull(store, steady)
        if result.changed_tags:
            errors.append(f"a steady pull changed {len(result.changed_tags)} spools")
    rng = random.Random(seed)
    for i in range(runs):
        progress(f"pull after {CHANGED_ROWS} rows changed {i + 1}/{runs}")
        _change_rows(rng, i)
        result = _timed_pull(store, changed)
        if len(result.updated) != CHANGED_ROWS:
            errors.append(f"a pull after {CHANGED_ROWS} edits updated {len(result.updated)} spools")

    for key, label, data in (
        ("first", f"first pull (creates {spools:,} mirror rows)", first),
        ("steady", "steady pull (nothing changed)", steady),
        ("changed", f"pull after {CHANGED_ROWS} rows changed in the sheet", changed),
    ):
        s = report.timing(label, data.times_ms)
        report.summary_figures(f"pull_{key}", s)
    reads = first.reads + steady.reads + changed.reads
    writes = first.writes + steady.writes + changed.writes
    report.line(
        "Sheets read requests per pull",
        (
            f"{reads[0]} in each of {len(reads)} pulls"
            if min(reads) == max(reads)
            else f"{min(reads)} to {max(reads)} over {len(reads)} pulls"
        )
        + f" (writes: {max(writes)})",
        goal=ONE_READ,
        value=max(reads),
    )
    report.figure("pull_spools", spools)
    report.figure("pull_runs", runs)
    report.figure("pull_reads_per_pull_max", max(reads))
    report.figure("pull_writes_per_pull_max", max(writes))
    report.note(
        f"the web process pulls every {settings.ZEUES_PULL_INTERVAL:g} s (ZEUES_PULL_INTERVAL): "
        f"at this size that is {ms(percentile(steady.times_ms, 50))} of work each time"
    )
    return errors
