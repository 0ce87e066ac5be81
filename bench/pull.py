"""The pull of a large workbook (N spools, 10 unions each): the first (creates every mirror
row), the first of a new process (every row read again), steady, after edits.

Each run is timed alone (wall and CPU of this process) and counts the backend's requests,
so "one pull, one read" is checked on every run, not assumed. The local backend runs in
this process, so the CPU figures include its serving the read; the read alone is timed
too, to tell the app's share.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from io import StringIO

from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from gspread.urls import SPREADSHEET_VALUES_BATCH_URL

from bench import unions as union_bench
from bench.figures import Goal, Report, ms, percentile
from spools.models import Spool, Union
from spools.workbook import gateway as sheets
from spools.workbook.columns import OPERACIONES, UNIONES, Col, HeaderMap, UCol, column_letter
from spools.workbook.local_sheet import LocalSheetStore
from spools.workbook.pull import RECHECK_SLICES, PullResult, next_pull_full, pull

CHANGED_ROWS = 100
UNIONS_PER_SPOOL = 10
ONE_READ = Goal("= 1 read", lambda v: v == 1)
STEADY_CPU = Goal("< 1 s", lambda v: v < 1000)


@dataclass
class Runs:
    times_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    reads: list[int] = field(default_factory=list)
    writes: list[int] = field(default_factory=list)


def _timed_pull(store: LocalSheetStore, runs: Runs) -> PullResult:
    store.reset_counters()
    cpu, started = time.process_time(), time.perf_counter()
    result = pull(workers=False)
    runs.times_ms.append((time.perf_counter() - started) * 1000)
    runs.cpu_ms.append((time.process_time() - cpu) * 1000)
    status = store.status()
    runs.reads.append(status["reads"])
    runs.writes.append(status["writes"])
    return result


def _read_costs(tries: int = 3) -> tuple[float, float]:
    """CPU (ms) of the pull's read by itself: all of it (the local backend serving it in
    this process, and its JSON decoded), and the decoding alone (which the web process
    does against Google too). Medians of `tries`."""
    http = sheets.get_client().http_client
    url = SPREADSHEET_VALUES_BATCH_URL % sheets.spreadsheet_id()
    params = {
        "ranges": [sheets.sheet_range(OPERACIONES), sheets.sheet_range(UNIONES)],
        "valueRenderOption": "UNFORMATTED_VALUE",
        "dateTimeRenderOption": "SERIAL_NUMBER",
        "majorDimension": "ROWS",
    }
    whole, decode = [], []
    for _ in range(tries):
        started = time.process_time()
        response = http.request("get", url, params=params)
        served = time.process_time()
        json.loads(response.content)
        done = time.process_time()
        whole.append((done - started) * 1000)
        decode.append((done - served) * 1000)
    return percentile(whole, 50), percentile(decode, 50)


def _letter(title: str, column: str) -> str:
    (header_rows,) = sheets.read_ranges([sheets.sheet_range(title, "1:1")])
    return column_letter(HeaderMap.from_row(title, header_rows[0]).col(column))


def _change_rows(rng: random.Random, run: int) -> None:
    """Office edits in one write: OT retyped on CHANGED_ROWS random spool rows, and
    NDT_STATUS typed on CHANGED_ROWS random union rows."""
    ot = _letter(OPERACIONES, Col.OT)
    ndt = _letter(UNIONES, UCol.NDT_STATUS)
    rows = list(Spool.objects.filter(sheet_row__isnull=False).values_list("sheet_row", flat=True))
    union_rows = list(Union.objects.values_list("sheet_row", flat=True))
    updates = {
        sheets.sheet_range(OPERACIONES, f"{ot}{row}"): f"OT-BENCH-{run}-{i:03d}"
        for i, row in enumerate(rng.sample(rows, CHANGED_ROWS))
    }
    updates.update(
        {
            sheets.sheet_range(UNIONES, f"{ndt}{row}"): f"NDT-BENCH-{run}-{i:03d}"
            for i, row in enumerate(rng.sample(union_rows, CHANGED_ROWS))
        }
    )
    sheets.write_cells(updates)


def _empty_mirror() -> None:
    with transaction.atomic():
        Union.objects.all().delete()
        Spool.objects.all().delete()


def run(
    report: Report,
    store: LocalSheetStore,
    *,
    spools: int,
    runs: int,
    first_runs: int,
    seed: int,
    progress: Callable[[str], None],
) -> list[str]:
    """The pull section. Returns errors (a pull that did not do what it should)."""
    errors: list[str] = []
    n_unions = spools * UNIONS_PER_SPOOL
    report.section(
        f"pull: a workbook of {spools:,} spools and {n_unions:,} unions, latency 0 "
        "(the app's own work)"
    )
    progress(f"load_demo --spools {spools} --force, then {n_unions:,} unions …")
    started = time.perf_counter()
    call_command("load_demo", spools=spools, force=True, stdout=StringIO())
    union_bench.add(UNIONS_PER_SPOOL, seed)
    report.note(
        f"load_demo --spools {spools} and the Uniones sheet took "
        f"{time.perf_counter() - started:.1f} s"
    )
    store.clear_faults()

    first, full, steady, changed = Runs(), Runs(), Runs(), Runs()
    for i in range(first_runs):
        progress(f"first pull {i + 1}/{first_runs} (empty mirror)")
        _empty_mirror()
        next_pull_full()
        result = _timed_pull(store, first)
        if len(result.created) != spools or result.unions_created != n_unions:
            errors.append(
                f"first pull created {len(result.created)} spools and "
                f"{result.unions_created} unions, not {spools} and {n_unions}"
            )
    for i in range(runs):
        progress(f"first pull of a new process {i + 1}/{runs} (every row read)")
        next_pull_full()
        result = _timed_pull(store, full)
        if result.changed_tags:
            errors.append(f"a pull of every row changed {len(result.changed_tags)} spools")
    for i in range(runs):
        progress(f"steady pull {i + 1}/{runs}")
        result = _timed_pull(store, steady)
        if result.changed_tags or result.unions_updated:
            errors.append(f"a steady pull changed {len(result.changed_tags)} spools")
    rng = random.Random(seed)
    for i in range(runs):
        progress(f"pull after {CHANGED_ROWS} spool and {CHANGED_ROWS} union rows changed")
        _change_rows(rng, i)
        result = _timed_pull(store, changed)
        if len(result.updated) != CHANGED_ROWS or result.unions_updated != CHANGED_ROWS:
            errors.append(
                f"a pull after {CHANGED_ROWS} + {CHANGED_ROWS} edits updated "
                f"{len(result.updated)} spools and {result.unions_updated} unions"
            )
    _report(report, spools, n_unions, first, full, steady, changed, _read_costs())
    return errors


def _report(
    report: Report,
    spools: int,
    n_unions: int,
    first: Runs,
    full: Runs,
    steady: Runs,
    changed: Runs,
    read_costs: tuple[float, float],
) -> None:
    for key, label, data in (
        ("first", f"first pull (creates {spools:,} + {n_unions:,} rows)", first),
        ("full", "first pull of a process (every row read)", full),
        ("steady", "steady pull (unchanged rows skipped)", steady),
        ("changed", f"pull after {CHANGED_ROWS} + {CHANGED_ROWS} rows changed", changed),
    ):
        s = report.timing(label, data.times_ms)
        report.summary_figures(f"pull_{key}", s)
    _report_cpu(report, full, steady, changed, read_costs)
    reads = first.reads + full.reads + steady.reads + changed.reads
    writes = first.writes + full.writes + steady.writes + changed.writes
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
    report.figure("pull_unions", n_unions)
    report.figure("pull_runs", len(steady.times_ms))
    report.figure("pull_reads_per_pull_max", max(reads))
    report.figure("pull_writes_per_pull_max", max(writes))
    report.note(
        f"the web process pulls every {settings.ZEUES_PULL_INTERVAL:g} s (ZEUES_PULL_INTERVAL): "
        f"at this size that is {ms(percentile(steady.times_ms, 50))} of work each time; every "
        "row is read again by each process's first pull, and each pull reads 1/"
        f"{RECHECK_SLICES} of the rows whatever their digests"
    )


def _report_cpu(
    report: Report, full: Runs, steady: Runs, changed: Runs, read_costs: tuple[float, float]
) -> None:
    """CPU per pull; the goal is on the web process's share against Google: this process's
    CPU less the local backend's serving (the read's JSON decoding stays in)."""
    read, decode = read_costs
    serving = max(0.0, read - decode)
    report.write(
        f"  CPU per pull: this process (the local backend's serving included), and without "
        f"that serving ({ms(serving)}: what Google does)"
    )
    for key, label, data in (
        ("full", "every row read (what each pull cost before)", full),
        ("steady", "steady pull", steady),
        ("changed", f"after {CHANGED_ROWS} + {CHANGED_ROWS} rows changed", changed),
    ):
        s = report.timing(f"  {label}", data.cpu_ms)
        report.figure(f"pull_{key}_cpu_p50_ms", s.p50)
        report.figure(f"pull_{key}_cpu_p95_ms", s.p95)
        app = report.timing(
            "    without the backend's serving",
            [max(0.0, c - serving) for c in data.cpu_ms],
            goal=STEADY_CPU if key == "steady" else None,
        )
        report.figure(f"pull_{key}_app_cpu_p95_ms", app.p95)
    report.note(
        f"the read by itself: {ms(read)} of CPU here, of which {ms(decode)} decoding its JSON "
        "(the web process's own work against Google too)"
    )
    report.figure("pull_read_alone_cpu_ms", read)
    report.figure("pull_read_decode_cpu_ms", decode)
