"""The uniones section: the actions section's floor under the same load, every third
tablet on spools of 10 unions that it ends with FINALIZAR and the unions done in the
session (after loading the union step, as the tablet does), ARM then SOLD.

The web process runs as in the actions section (DEBUG off, sync loop inside, flushing after
each action, sheet latency set), except that its timed pull is not due during the run: so
every Sheets request belongs to a flush cycle, and requests per cycle are counted exactly
(cycles: the distinct `flushed_at` stamps of the run's outbox entries). The pull's own one
read is measured by the pull section.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from bench import floor as floor_plan
from bench import unions as union_bench
from bench.figures import Goal, Report, number
from bench.floor_run import (
    ACTION_P95,
    DELAY_P95,
    HEALTHZ_PROBE_EVERY,
    WRITES_PER_MINUTE,
    FloorPlan,
    delays_ms,
    last_outbox_id,
    statuses,
    wait_for_outbox,
)
from bench.tablets import LoadRun, Tablet, UnionTablet, run_load
from bench.web import WebServer
from spools.lifecycle import Accion, EventoTipo
from spools.models import Event, OutboxEntry
from spools.workbook.local_sheet import LocalSheetStore

UNION_TABLET_EVERY = 3  # every third tablet works on spools with unions
UNIONS_PER_SPOOL = 10
ONE_PER_CYCLE = Goal("≤ 1", lambda v: v <= 1)
NO_TIMED_PULL = {"ZEUES_PULL_INTERVAL": "3600", "ZEUES_WORKERS_PULL_INTERVAL": "3600"}


def _flush_cycles(after_id: int, up_to_id: int) -> int:
    """Flush cycles that wrote the entries in (after_id, up_to_id]: one stamp each."""
    return (
        OutboxEntry.objects.filter(id__gt=after_id, id__lte=up_to_id, flushed_at__isnull=False)
        .values("flushed_at")
        .distinct()
        .count()
    )


def run(
    report: Report,
    store: LocalSheetStore,
    plan: FloorPlan,
    *,
    progress: Callable[[str], None],
) -> list[str]:
    """Build the floor with unions, start the web process, run the load. Returns errors."""
    progress(f"floor: {plan.spools} spools, {plan.tablets} workers, unions on every third")
    book, floor = floor_plan.build(plan.spools, plan.tablets, plan.seed)
    store.clear_faults()
    floor_plan.load(book)
    with_unions = {
        tag for i, pool in enumerate(floor.pools) if i % UNION_TABLET_EVERY == 0 for tag in pool
    }
    union_bench.add(UNIONS_PER_SPOOL, plan.seed, tags=with_unions)
    user = floor_plan.station_user()
    progress("starting daphne (DEBUG off, sync loop in the web process, pull not due)")
    with WebServer(Path(settings.VAR_DIR) / "bench-uniones.log", env=NO_TIMED_PULL) as web:
        tablets = [
            (UnionTablet if i % UNION_TABLET_EVERY == 0 else Tablet)(
                web.url, user, worker, pool, plan.seed + i
            )
            for i, (worker, pool) in enumerate(zip(floor.workers, floor.pools, strict=True))
        ]
        for t in tablets:
            t.warm_up()
        store.set_latency(plan.latency_ms)
        try:
            errors = _measure(report, store, plan, tablets, web, len(with_unions), progress)
            web.check_alive()
        finally:
            store.clear_faults()
    return errors


def _measure(
    report: Report,
    store: LocalSheetStore,
    plan: FloorPlan,
    tablets: list[Tablet],
    web: WebServer,
    union_spools: int,
    progress: Callable[[str], None],
) -> list[str]:
    union_tablets = [t for t in tablets if isinstance(t, UnionTablet)]
    report.section(
        f"uniones: the actions floor ({plan.spools} spools, {plan.tablets} tablets acting every "
        f"{plan.every:g} s on average, {plan.duration:g} s, sheet latency {plan.latency_ms} ms); "
        f"{len(union_tablets)} tablets on {union_spools} spools of {UNIONS_PER_SPOOL} unions "
        "ending each session with FINALIZAR + uniones"
    )
    before = last_outbox_id()
    events_before = set(Event.objects.values_list("id", flat=True))
    store.reset_counters()
    progress(f"{plan.tablets} tablets acting for {plan.duration:g} s (FINALIZAR on unions)")
    run: LoadRun = run_load(
        tablets, web.url, duration=plan.duration, every=plan.every, probe_every=HEALTHZ_PROBE_EVERY
    )
    during = store.status()
    progress("waiting for the outbox to empty")
    wait_for_outbox(web)
    after = store.status()
    up_to = last_outbox_id()

    acted = run.of("action")
    finalizar = [s for s in acted if s.accion == Accion.FINALIZAR]
    s = report.timing("POST /acciones/ (every answer)", [a.ms for a in acted], goal=ACTION_P95)
    report.summary_figures("uniones_action", s)
    f = report.timing(
        "  of which FINALIZAR + uniones",
        [a.ms for a in finalizar],
        goal=ACTION_P95,
    )
    report.summary_figures("uniones_finalizar", f)
    steps = [x for t in union_tablets for x in t.union_steps]
    if steps:
        u = report.timing("GET union step (before each FINALIZAR)", [x.ms for x in steps])
        report.summary_figures("uniones_step_under_load", u)
    else:
        report.note("the tablet's union step URL is not there yet: not loaded before FINALIZAR")
    b = report.timing("GET /healthz, same time (baseline)", [h.ms for h in run.of("healthz")])
    report.summary_figures("uniones_healthz", b)
    registered = Event.objects.filter(
        evento_tipo__in=[EventoTipo.UNION_ARM_REGISTRADA, EventoTipo.UNION_SOLD_REGISTRADA]
    ).exclude(id__in=events_before)
    report.line(
        "answers",
        f"{statuses(acted)}; FINALIZAR {statuses(finalizar)}; "
        f"{registered.count()} unions registered",
    )
    report.figure("uniones_finalizar_ok", sum(1 for x in finalizar if x.status == 200))
    report.figure("uniones_registered", registered.count())
    _sheet_figures(report, plan, during, after, _flush_cycles(before, up_to))
    d = report.timing(
        "action → workbook (flushed_at − created_at)", delays_ms(before, up_to), goal=DELAY_P95
    )
    report.summary_figures("uniones_action_to_workbook", d)
    errors = [f"tablet thread: {e}" for e in run.errors]
    if not any(x.status == 200 for x in finalizar):
        errors.append("no FINALIZAR succeeded")
    return errors


def _sheet_figures(report: Report, plan: FloorPlan, during: dict, after: dict, cycles: int):
    minutes = plan.duration / 60
    writes_per_minute = during["writes"] / minutes
    report.line(
        "Sheets write requests per minute (run)",
        f"{writes_per_minute:.1f}  ({during['writes']} in {plan.duration:g} s)",
        goal=WRITES_PER_MINUTE,
        value=writes_per_minute,
    )
    report.figure("uniones_sheet_writes_per_minute", writes_per_minute)
    reads_per_cycle = after["reads"] / cycles if cycles else float("nan")
    writes_per_cycle = after["writes"] / cycles if cycles else float("nan")
    report.line(
        "Sheets read requests per flush cycle",
        f"{number(reads_per_cycle, 2)}  ({after['reads']} reads, {cycles} cycles)",
        goal=ONE_PER_CYCLE,
        value=reads_per_cycle,
    )
    report.line(
        "Sheets write requests per flush cycle",
        f"{number(writes_per_cycle, 2)}  ({after['writes']} writes, {cycles} cycles)",
        goal=ONE_PER_CYCLE,
        value=writes_per_cycle,
    )
    report.note(f"requests by kind, run and final flush: {after['by_kind']}")
    report.figure("uniones_flush_cycles", cycles)
    report.figure("uniones_reads_per_cycle", reads_per_cycle)
    report.figure("uniones_writes_per_cycle", writes_per_cycle)
