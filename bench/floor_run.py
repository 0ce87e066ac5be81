"""The actions, burst and steady-state sections: tablets against one web process.

The web process runs as deployed (DEBUG off, sync loop inside, flushing after each
action) against the local sheet with its latency set, on the same database as the bench.
The Sheets figures come from the local backend's counters; the action → workbook delay
from the outbox entries of the run (flushed_at − created_at).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import Max

from bench import floor as floor_plan
from bench.figures import Goal, Report, ms, number
from bench.tablets import LoadRun, Sample, Tablet, run_burst, run_load
from bench.web import WebServer
from spools.models import OutboxEntry
from spools.workbook.local_sheet import LocalSheetStore

ACTION_P95 = Goal("p95 < 100 ms", lambda v: v < 100)
BURST_MAX = Goal("every one < 1 s", lambda v: v < 1000)
DELAY_P95 = Goal("p95 < 2 s", lambda v: v < 2000)
WRITES_PER_MINUTE = Goal("≤ 60", lambda v: v <= 60)
READS_PER_MINUTE_IDLE = Goal("≤ 12", lambda v: v <= 12)
READS_PER_MINUTE_QUOTA = Goal("≤ 60 (Google's quota per user)", lambda v: v <= 60)
ALONE_ACTIONS = 20  # sequential actions of one tablet at a time: the service time
DRAIN_TIMEOUT = 180.0
HEALTHZ_PROBE_EVERY = 0.5  # seconds between baseline probes, on average


class BenchError(Exception):
    """The measurement could not be made (not a missed goal)."""


@dataclass(frozen=True)
class FloorPlan:
    spools: int
    tablets: int
    every: float  # seconds between one tablet's actions, on average
    duration: float
    latency_ms: int
    bursts: int
    idle: float  # seconds of the steady-state window
    seed: int


def statuses(samples: list[Sample]) -> str:
    """How many answers of each HTTP status: `200×712, 409×1`."""
    counts = Counter(s.status for s in samples)
    return ", ".join(f"{code or 'no answer'}×{n}" for code, n in sorted(counts.items()))


def last_outbox_id() -> int:
    """The newest outbox entry: entries after it belong to what runs next."""
    return OutboxEntry.objects.aggregate(last=Max("id"))["last"] or 0


def wait_for_outbox(web: WebServer, timeout: float = DRAIN_TIMEOUT) -> float:
    """Seconds until every outbox entry is flushed (the web process's sync loop does it)."""
    started = time.perf_counter()
    while OutboxEntry.objects.filter(flushed_at__isnull=True).exists():
        web.check_alive()
        if time.perf_counter() - started > timeout:
            raise BenchError(f"the outbox did not empty within {timeout:.0f} s")
        time.sleep(0.2)
    return time.perf_counter() - started


def delays_ms(after_id: int, up_to_id: int) -> list[float]:
    """flushed_at − created_at of the outbox entries in (after_id, up_to_id]."""
    entries = OutboxEntry.objects.filter(
        id__gt=after_id, id__lte=up_to_id, flushed_at__isnull=False
    ).values_list("created_at", "flushed_at")
    return [(flushed - created).total_seconds() * 1000 for created, flushed in entries]


def run(
    report: Report,
    store: LocalSheetStore,
    plan: FloorPlan,
    *,
    actions: bool,
    burst: bool,
    progress: Callable[[str], None],
) -> list[str]:
    """Build the floor, start the web process, run the selected sections. Returns errors."""
    progress(f"floor: {plan.spools} spools, {plan.tablets} workers")
    book, floor = floor_plan.build(plan.spools, plan.tablets, plan.seed)
    store.clear_faults()
    floor_plan.load(book)
    user = floor_plan.station_user()
    progress("starting daphne (DEBUG off, sync loop in the web process)")
    errors: list[str] = []
    with WebServer(Path(settings.VAR_DIR) / "bench-web.log") as web:
        tablets = [
            Tablet(web.url, user, worker, pool, plan.seed + i)
            for i, (worker, pool) in enumerate(zip(floor.workers, floor.pools, strict=True))
        ]
        for t in tablets:
            t.warm_up()
        store.set_latency(plan.latency_ms)
        try:
            if actions:
                errors += _actions(report, store, plan, tablets, web, progress)
            if burst:
                errors += _burst(report, plan, tablets, web, progress)
            if actions:
                errors += _steady_state(report, store, plan, web, progress)
            web.check_alive()
        finally:
            store.clear_faults()
    return errors


def _actions(
    report: Report,
    store: LocalSheetStore,
    plan: FloorPlan,
    tablets: list[Tablet],
    web: WebServer,
    progress: Callable[[str], None],
) -> list[str]:
    report.section(
        f"actions: {plan.spools} spools, {plan.tablets} tablets acting every {plan.every:g} s "
        f"on average (random arrivals), {plan.duration:g} s, sheet latency {plan.latency_ms} ms; "
        "one daphne process flushing after each action"
    )
    before = last_outbox_id()
    store.reset_counters()
    progress(f"{plan.tablets} tablets acting for {plan.duration:g} s")
    run: LoadRun = run_load(
        tablets, web.url, duration=plan.duration, every=plan.every, probe_every=HEALTHZ_PROBE_EVERY
    )
    during = store.status()
    progress("waiting for the outbox to empty")
    drained = wait_for_outbox(web)
    after = store.status()
    up_to = last_outbox_id()

    acted = run.of("action")
    ok = [s for s in acted if s.status == 200]
    minutes = plan.duration / 60
    s = report.timing("POST /acciones/ (every answer)", [a.ms for a in acted], goal=ACTION_P95)
    report.summary_figures("action", s)
    b = report.timing("GET /healthz, same time (baseline)", [h.ms for h in run.of("healthz")])
    report.summary_figures("healthz", b)
    report.line(
        "actions per second",
        f"{len(ok) / plan.duration:.1f}  (answers: {statuses(acted)}"
        + (f"; {run.idle_turns} turns with nothing left" if run.idle_turns else "")
        + ")",
    )
    report.figure("actions_per_second", len(ok) / plan.duration)
    report.figure("actions_ok", len(ok))
    report.figure("actions_not_ok", len(acted) - len(ok))

    writes_per_minute = during["writes"] / minutes
    report.line(
        "Sheets write requests per minute (run)",
        f"{writes_per_minute:.1f}  ({during['writes']} in {plan.duration:g} s)",
        goal=WRITES_PER_MINUTE,
        value=writes_per_minute,
    )
    per_action = after["writes"] / len(ok) if ok else float("nan")
    report.line(
        "Sheets write requests per action",
        f"{number(per_action, 3)}  ({after['writes']} writes with the final flush, "
        f"{len(ok)} actions)",
    )
    reads_per_minute = during["reads"] / minutes
    report.line(
        "Sheets read requests per minute (run)",
        f"{reads_per_minute:.1f}  ({during['reads']} in {plan.duration:g} s)",
        goal=READS_PER_MINUTE_QUOTA,
        value=reads_per_minute,
    )
    report.figure("sheet_writes_per_minute", writes_per_minute)
    report.figure("sheet_writes_per_action", per_action)
    report.figure("sheet_reads_per_minute", reads_per_minute)
    if during.get("failed"):
        report.note(f"failed Sheets requests during the run: {during['failures']}")

    delays = delays_ms(before, up_to)
    d = report.timing("action → workbook (flushed_at − created_at)", delays, goal=DELAY_P95)
    report.summary_figures("action_to_workbook", d)
    report.note(f"the outbox was empty {drained:.1f} s after the last action")
    report.note(
        "flushed_at is stamped as the flush starts, before its write request: against "
        "Google a change lands up to that request's latency later"
    )

    errors = [f"tablet thread: {e}" for e in run.errors]
    if not ok:
        errors.append("no action succeeded")
    return errors


def _burst(
    report: Report,
    plan: FloorPlan,
    tablets: list[Tablet],
    web: WebServer,
    progress: Callable[[str], None],
) -> list[str]:
    report.section(
        f"burst: {len(tablets)} tablets confirming in the same instant, {plan.bursts} rounds, "
        f"sheet latency {plan.latency_ms} ms"
    )
    wait_for_outbox(web)
    progress(f"{ALONE_ACTIONS} actions one at a time (service time)")
    alone = [
        sample
        for i in range(ALONE_ACTIONS)
        if (sample := tablets[i % len(tablets)].act()) is not None
    ]
    a = report.timing("POST /acciones/, one at a time (baseline)", [x.ms for x in alone])
    report.summary_figures("action_alone", a)
    wait_for_outbox(web)
    before = last_outbox_id()
    rounds: list[LoadRun] = []
    for i in range(plan.bursts):
        progress(f"burst {i + 1}/{plan.bursts}")
        rounds.append(run_burst(tablets))
        wait_for_outbox(web)  # each round starts from a quiet server
        time.sleep(0.5)
    up_to = last_outbox_id()
    samples = [s for r in rounds for s in r.samples]
    report.line(
        "slowest answer of each round", ", ".join(ms(max(x.ms for x in r.samples)) for r in rounds)
    )
    s = report.timing(
        "POST /acciones/, every round", [x.ms for x in samples], goal=BURST_MAX, on="max"
    )
    report.summary_figures("burst", s)
    report.line("answers", statuses(samples))
    d = report.timing(
        "burst → workbook (flushed_at − created_at)", delays_ms(before, up_to), goal=DELAY_P95
    )
    report.summary_figures("burst_to_workbook", d)
    return [f"burst thread: {e}" for r in rounds for e in r.errors]


def _steady_state(
    report: Report,
    store: LocalSheetStore,
    plan: FloorPlan,
    web: WebServer,
    progress: Callable[[str], None],
) -> list[str]:
    report.section(f"steady state: the web process with nothing to do for {plan.idle:g} s")
    wait_for_outbox(web)
    store.reset_counters()
    progress(f"idle for {plan.idle:g} s")
    time.sleep(plan.idle)
    idle = store.status()
    reads_per_minute = idle["reads"] * 60 / plan.idle
    report.line(
        "Sheets read requests per minute (idle)",
        f"{reads_per_minute:.1f}  ({idle['reads']} in {plan.idle:g} s, writes {idle['writes']})",
        goal=READS_PER_MINUTE_IDLE,
        value=reads_per_minute,
    )
    report.figure("sheet_reads_per_minute_idle", reads_per_minute)
    rss = web.rss_mb()
    report.line("web process memory (RSS) after the run", f"{number(rss, 0)} MB")
    report.figure("web_rss_mb", rss)
    return []
