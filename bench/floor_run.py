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
from bench.tablets import LoadRun, Sample, Tablet, run_burst, run_load, run_race
from bench.web import WebServer
from spools.lifecycle import Accion, Operacion
from spools.models import OutboxEntry, Spool
from spools.workbook.local_sheet import LocalSheetStore

ACTION_P95 = Goal("p95 < 100 ms", lambda v: v < 100)
BURST_MAX = Goal("every one < 1 s", lambda v: v < 1000)
DELAY_P95 = Goal("p95 < 2 s", lambda v: v < 2000)
WRITES_PER_MINUTE = Goal("≤ 60", lambda v: v <= 60)
READS_PER_MINUTE_IDLE = Goal("≤ 12", lambda v: v <= 12)
READS_PER_MINUTE_QUOTA = Goal("≤ 60 (Google's quota per user)", lambda v: v <= 60)
ALONE_ACTIONS = 20  # sequential actions of one tablet at a time: the service time
RACERS = 10  # tablets taking one spool in the same instant
RACE_ROUNDS = 20
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


def refusals(section: str, samples: list[Sample]) -> list[str]:
    """Each tablet acts on its own spools only: any answer but 200 means the floor was not
    what the run assumes (e.g. unions left by an earlier section), not a slow server."""
    if all(s.status == 200 for s in samples):
        return []
    return [f"{section}: answers {statuses(samples)}, where the floor expects 200 only"]


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


@dataclass(frozen=True)
class FloorRun:
    """What every section of a run works with."""

    report: Report
    store: LocalSheetStore
    plan: FloorPlan
    tablets: list[Tablet]
    web: WebServer
    progress: Callable[[str], None]


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
            ctx = FloorRun(report, store, plan, tablets, web, progress)
            if actions:
                errors += _actions(ctx)
            if burst:
                errors += _burst(ctx) + _race(ctx)
            if actions:
                errors += _steady_state(ctx)
            web.check_alive()
        finally:
            store.clear_faults()
    return errors


def _actions(ctx: FloorRun) -> list[str]:
    plan = ctx.plan
    ctx.report.section(
        f"actions: {plan.spools} spools, {plan.tablets} tablets acting every {plan.every:g} s "
        f"on average (random arrivals), {plan.duration:g} s, sheet latency {plan.latency_ms} ms; "
        "one daphne process flushing after each action"
    )
    before = last_outbox_id()
    ctx.store.reset_counters()
    ctx.progress(f"{ctx.plan.tablets} tablets acting for {ctx.plan.duration:g} s")
    run: LoadRun = run_load(
        ctx.tablets,
        ctx.web.url,
        duration=ctx.plan.duration,
        every=ctx.plan.every,
        probe_every=HEALTHZ_PROBE_EVERY,
    )
    during = ctx.store.status()
    ctx.progress("waiting for the outbox to empty")
    drained = wait_for_outbox(ctx.web)
    after = ctx.store.status()
    up_to = last_outbox_id()

    acted = run.of("action")
    ok = [s for s in acted if s.status == 200]
    minutes = ctx.plan.duration / 60
    s = ctx.report.timing("POST /acciones/ (every answer)", [a.ms for a in acted], goal=ACTION_P95)
    ctx.report.summary_figures("action", s)
    b = ctx.report.timing("GET /healthz, same time (baseline)", [h.ms for h in run.of("healthz")])
    ctx.report.summary_figures("healthz", b)
    ctx.report.line(
        "actions per second",
        f"{len(ok) / ctx.plan.duration:.1f}  (answers: {statuses(acted)}"
        + (f"; {run.idle_turns} turns with nothing left" if run.idle_turns else "")
        + ")",
    )
    ctx.report.figure("actions_per_second", len(ok) / ctx.plan.duration)
    ctx.report.figure("actions_ok", len(ok))
    ctx.report.figure("actions_not_ok", len(acted) - len(ok))

    writes_per_minute = during["writes"] / minutes
    ctx.report.line(
        "Sheets write requests per minute (run)",
        f"{writes_per_minute:.1f}  ({during['writes']} in {ctx.plan.duration:g} s)",
        goal=WRITES_PER_MINUTE,
        value=writes_per_minute,
    )
    per_action = after["writes"] / len(ok) if ok else float("nan")
    ctx.report.line(
        "Sheets write requests per action",
        f"{number(per_action, 3)}  ({after['writes']} writes with the final flush, "
        f"{len(ok)} actions)",
    )
    reads_per_minute = during["reads"] / minutes
    ctx.report.line(
        "Sheets read requests per minute (run)",
        f"{reads_per_minute:.1f}  ({during['reads']} in {ctx.plan.duration:g} s)",
        goal=READS_PER_MINUTE_QUOTA,
        value=reads_per_minute,
    )
    ctx.report.figure("sheet_writes_per_minute", writes_per_minute)
    ctx.report.figure("sheet_writes_per_action", per_action)
    ctx.report.figure("sheet_reads_per_minute", reads_per_minute)
    if during.get("failed"):
        ctx.report.note(f"failed Sheets requests during the run: {during['failures']}")

    delays = delays_ms(before, up_to)
    d = ctx.report.timing("action → workbook (flushed_at − created_at)", delays, goal=DELAY_P95)
    ctx.report.summary_figures("action_to_workbook", d)
    ctx.report.note(f"the outbox was empty {drained:.1f} s after the last action")
    ctx.report.note(
        "flushed_at is stamped as the flush starts, before its write request: against "
        "Google a change lands up to that request's latency later"
    )

    errors = [f"tablet thread: {e}" for e in run.errors]
    if not ok:
        errors.append("no action succeeded")
    return errors + refusals("actions", acted)


def _burst(ctx: FloorRun) -> list[str]:
    ctx.report.section(
        f"burst: {len(ctx.tablets)} tablets confirming in the same instant, "
        f"{ctx.plan.bursts} rounds, sheet latency {ctx.plan.latency_ms} ms"
    )
    wait_for_outbox(ctx.web)
    ctx.progress(f"{ALONE_ACTIONS} actions one at a time (service time)")
    alone = [
        sample
        for i in range(ALONE_ACTIONS)
        if (sample := ctx.tablets[i % len(ctx.tablets)].act()) is not None
    ]
    a = ctx.report.timing("POST /acciones/, one at a time (baseline)", [x.ms for x in alone])
    ctx.report.summary_figures("action_alone", a)
    wait_for_outbox(ctx.web)
    before = last_outbox_id()
    rounds: list[LoadRun] = []
    for i in range(ctx.plan.bursts):
        ctx.progress(f"burst {i + 1}/{ctx.plan.bursts}")
        rounds.append(run_burst(ctx.tablets))
        wait_for_outbox(ctx.web)  # each round starts from a quiet server
        time.sleep(0.5)
    up_to = last_outbox_id()
    samples = [s for r in rounds for s in r.samples]
    ctx.report.line(
        "slowest answer of each round", ", ".join(ms(max(x.ms for x in r.samples)) for r in rounds)
    )
    s = ctx.report.timing(
        "POST /acciones/, every round", [x.ms for x in samples], goal=BURST_MAX, on="max"
    )
    ctx.report.summary_figures("burst", s)
    ctx.report.line("answers", statuses(samples))
    d = ctx.report.timing(
        "burst → workbook (flushed_at − created_at)", delays_ms(before, up_to), goal=DELAY_P95
    )
    ctx.report.summary_figures("burst_to_workbook", d)
    return [f"burst thread: {e}" for r in rounds for e in r.errors] + refusals("burst", samples)


def _race(ctx: FloorRun) -> list[str]:
    """The same spool taken by RACERS tablets at once: one 200, the rest 409 saying who has
    it; a loser refused under the lock rolls back (it writes and syncs nothing)."""
    ctx.report.section(
        f"race: {RACERS} tablets TOMAR one spool in the same instant, {RACE_ROUNDS} rounds, "
        "sheet latency 0 ms"
    )
    wait_for_outbox(ctx.web)
    ctx.store.set_latency(0)
    rounds: list[LoadRun] = []
    try:
        for i in range(RACE_ROUNDS):
            ctx.progress(f"race {i + 1}/{RACE_ROUNDS}")
            racers = [ctx.tablets[(i * RACERS + k) % len(ctx.tablets)] for k in range(RACERS)]
            tag = _free_spool(racers[0])
            if tag is None:
                continue
            rounds.append(run_race(racers, tag))
            _release(racers, tag)
            wait_for_outbox(ctx.web)
    finally:
        ctx.store.set_latency(ctx.plan.latency_ms)
    samples = [s for r in rounds for s in r.samples]
    won = [s.ms for s in samples if s.status == 200]
    lost = [s.ms for s in samples if s.status != 200]
    ctx.report.line(
        "slowest answer of each round", ", ".join(ms(max(x.ms for x in r.samples)) for r in rounds)
    )
    ctx.report.summary_figures(
        "race", ctx.report.timing("POST /acciones/, every answer", [x.ms for x in samples])
    )
    ctx.report.summary_figures("race_winner", ctx.report.timing("the winner's answer", won))
    ctx.report.summary_figures("race_loser", ctx.report.timing("the losers' answers", lost))
    ctx.report.line("answers", statuses(samples))
    ctx.report.note(
        "issue 14 found 129 ms here (slowest of 10) and 45 ms for the previous generation"
    )
    errors = [f"race thread: {e}" for r in rounds for e in r.errors]
    if len(won) != len(rounds):
        errors.append(f"{len(won)} winners in {len(rounds)} rounds")
    return errors


def _free_spool(tablet: Tablet) -> str | None:
    """A spool of `tablet` nobody holds and whose ARM is not started."""
    tablet.refresh()
    free = [
        tag for tag, op in tablet.next_op.items() if op == Operacion.ARM and tag != tablet.holding
    ]
    return free[0] if free else None


def _release(racers: list[Tablet], tag: str) -> None:
    """The winner undoes its TOMAR (CANCELAR): the spool is as it was before the race."""
    occupant = Spool.objects.filter(tag=tag).values_list("occupant_id", flat=True).first()
    for racer in racers:
        if racer.worker_id == occupant:
            racer.post(Operacion.ARM, Accion.CANCELAR, tag)
        racer.stale = True


def _steady_state(ctx: FloorRun) -> list[str]:
    ctx.report.section(f"steady state: the web process with nothing to do for {ctx.plan.idle:g} s")
    wait_for_outbox(ctx.web)
    ctx.store.reset_counters()
    ctx.progress(f"idle for {ctx.plan.idle:g} s")
    time.sleep(ctx.plan.idle)
    idle = ctx.store.status()
    reads_per_minute = idle["reads"] * 60 / ctx.plan.idle
    ctx.report.line(
        "Sheets read requests per minute (idle)",
        f"{reads_per_minute:.1f}  "
        f"({idle['reads']} in {ctx.plan.idle:g} s, writes {idle['writes']})",
        goal=READS_PER_MINUTE_IDLE,
        value=reads_per_minute,
    )
    ctx.report.figure("sheet_reads_per_minute_idle", reads_per_minute)
    rss = ctx.web.rss_mb()
    ctx.report.line("web process memory (RSS) after the run", f"{number(rss, 0)} MB")
    ctx.report.figure("web_rss_mb", rss)
    return []
