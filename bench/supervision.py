"""The /supervision/ pages and their CSV / XLSX exports with 10,000 spools, 100,000 unions
and two years of events (~500,000) in the mirror.

The workbook of the pull section is reused when it ran (else `load_demo` and the bench's
unions make one); the events are added straight to the mirror with bulk inserts (the
Metadata rows a pull would have stored: each spool's sessions, its unions registered, its
verdicts with a rejection now and then, with reasons; pauses with reasons). One daphne
process as deployed, its pull not due; the supervisor's session asks for every page and
export in turns with /healthz (the baseline), after a warm-up; the local backend's counters
are zeroed before and read after: looking at reports must cost no Sheets request.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from bench import unions as union_bench
from bench.figures import Goal, Report
from bench.floor_run import BenchError
from bench.lists import NO_PULL, NO_SHEET_CALLS, WARM_UP
from bench.tablets import logged_in_session
from bench.web import Page, WebServer, measure_in_turns
from spools.lifecycle import EventoTipo as E
from spools.models import Event, Note, Spool, Union
from spools.workbook.local_sheet import LocalSheetStore

GOAL = Goal("p95 < 300 ms", lambda v: v < 300)
PAGES = ("productividad", "calidad", "flujo", "pausas")
FORMATS = ("", "csv", "xlsx")
UNIONS_PER_SPOOL = 10
DAYS = 730  # two years of events
BATCH = 5_000
REJECT_RATE = 0.06
SUPERVISOR = "bench-supervisor"


class SupervisionBenchError(BenchError):
    """A page could not be measured (an answer other than 200)."""


class EventMaker:
    """A spool's life as Metadata rows, from a start instant: ARM and SOLD sessions (a
    pause in some, with its reason), each union registered, the verdicts, repairs."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.pause_codes = list(settings.ZEUES_MOTIVOS_PAUSA)
        self.reject_codes = list(settings.ZEUES_MOTIVOS_RECHAZO)

    def row(self, tag: str, tipo: str, at: datetime, op: str = "", **meta: object) -> Event:
        return Event(
            id=uuid.uuid4(),
            tag=tag,
            evento_tipo=tipo,
            timestamp=at,
            operacion=op,
            worker_id=self.rng.randint(1, 60),
            worker_nombre="XX(1)",
            fecha_operacion=at.date(),
            metadata_json=meta,
            from_sheet=True,
        )

    def session(self, tag: str, op: str, at: datetime, unions: list[int]) -> list[Event]:
        """The operation in 3 to 8 sessions: TOMAR, unions registered, PAUSAR (with a reason
        most times) or, the last one, COMPLETAR."""
        k = self.rng.randint(3, 8)
        chunks = [unions[i::k] for i in range(k)]
        registered = E.UNION_ARM_REGISTRADA if op == "ARM" else E.UNION_SOLD_REGISTRADA
        rows = []
        for i, chunk in enumerate(chunks):
            rows.append(self.row(tag, E.TOMAR_SPOOL, at, op))
            for n in chunk:
                at += timedelta(minutes=self.rng.randint(10, 60))
                rows.append(self.row(tag, registered, at, op, n_union=n))
            if i == k - 1:
                done = E.COMPLETAR_ARM if op == "ARM" else E.COMPLETAR_SOLD
                rows.append(self.row(tag, done, at, op, uniones=chunk))
                break
            at += timedelta(minutes=self.rng.randint(5, 30))
            meta = {"uniones": chunk}
            if self.rng.random() < 0.7:
                meta["motivo"] = self.rng.choice(self.pause_codes)
            rows.append(self.row(tag, E.PAUSAR_SPOOL, at, op, **meta))
            at += timedelta(hours=self.rng.uniform(1, 30))
        return rows

    def life(self, tag: str, start: datetime) -> list[Event]:
        unions = list(range(1, UNIONS_PER_SPOOL + 1))
        rows = self.session(tag, "ARM", start, unions)
        at = rows[-1].timestamp + timedelta(hours=self.rng.uniform(2, 72))
        rows += self.session(tag, "SOLD", at, unions)
        at = rows[-1].timestamp + timedelta(hours=self.rng.uniform(1, 48))
        for ciclo in range(1, 4):
            if self.rng.random() >= REJECT_RATE:
                rows.append(self.row(tag, E.COMPLETAR_METROLOGIA, at, "METROLOGIA",
                                     resultado="APROBADO", ciclo=0))  # fmt: skip
                break
            named = self.rng.sample(unions, self.rng.randint(0, 2))
            rows.append(self.row(tag, E.COMPLETAR_METROLOGIA, at, "METROLOGIA",
                                 resultado="RECHAZADO", ciclo=ciclo, uniones=named,
                                 motivo=self.rng.choice(self.reject_codes)))  # fmt: skip
            at += timedelta(hours=self.rng.uniform(2, 24))
            rows.append(self.row(tag, E.TOMAR_REPARACION, at, "REPARACION"))
            at += timedelta(hours=self.rng.uniform(1, 8))
            rows.append(self.row(tag, E.COMPLETAR_REPARACION, at, "REPARACION"))
            at += timedelta(hours=self.rng.uniform(1, 24))
        return rows


def add_events(seed: int, progress: Callable[[str], None]) -> int:
    """Two years of events for every spool of the mirror, bulk inserted. Returns the count."""
    rng = random.Random(seed)
    maker = EventMaker(rng)
    now = timezone.now()
    tags = list(Spool.objects.order_by("tag").values_list("tag", flat=True))
    pending: list[Event] = []
    total = 0
    with transaction.atomic():
        for i, tag in enumerate(tags):
            start = now - timedelta(days=rng.uniform(1, DAYS), hours=rng.uniform(0, 12))
            pending += [e for e in maker.life(tag, start) if e.timestamp < now]
            if len(pending) >= BATCH or i == len(tags) - 1:
                Event.objects.bulk_create(pending, batch_size=BATCH)
                total += len(pending)
                pending = []
                if i % 2000 == 0:
                    progress(f"events: {total:,} for {i + 1:,} spools")
    return total


def supervisor_user():
    user, _ = get_user_model().objects.get_or_create(username=SUPERVISOR)
    user.groups.add(Group.objects.get(name="Supervisor"))
    return user


def _targets(base: str) -> list[Page]:
    targets = [Page("healthz", "GET /healthz, same time (baseline)", f"{base}/healthz")]
    for page in PAGES:
        for formato in FORMATS:
            query = f"?formato={formato}" if formato else ""
            key = f"{page}_{formato or 'html'}"
            label = f"GET /supervision/{page}/{query or ' (page)'}"
            targets.append(Page(key, label, f"{base}/supervision/{page}/{query}"))
    year = f"desde={(timezone.localdate() - timedelta(days=364)).isoformat()}"
    for page in PAGES:  # a whole year, for information (the goal is on the defaults)
        targets.append(
            Page(
                f"{page}_year",
                f"GET /supervision/{page}/ (a year)",
                f"{base}/supervision/{page}/?{year}",
            )
        )
    return targets


def _prepare(spools: int, loaded: bool, seed: int, progress: Callable[[str], None]) -> int:
    if not loaded:
        progress(
            f"load_demo --spools {spools} --force, then {spools * UNIONS_PER_SPOOL:,} unions …"
        )
        call_command("load_demo", spools=spools, force=True, stdout=StringIO())
        union_bench.add(UNIONS_PER_SPOOL, seed)
    Note.objects.all().delete()
    Event.objects.all().delete()
    progress("two years of events, bulk inserted …")
    return add_events(seed, progress)


def run(
    report: Report,
    store: LocalSheetStore,
    *,
    spools: int,
    loaded: bool,
    requests_each: int,
    seed: int,
    progress: Callable[[str], None],
) -> list[str]:
    """The supervision section. `loaded`: the pull section's workbook is in the mirror."""
    started = time.monotonic()
    n_events = _prepare(spools, loaded, seed, progress)
    built = time.monotonic() - started
    store.clear_faults()
    progress("starting daphne (pull not due)")
    try:
        with WebServer(Path(settings.VAR_DIR) / "bench-supervision.log", env=NO_PULL) as web:
            targets = _targets(web.url)
            http = logged_in_session(supervisor_user())
            progress(f"warm-up, then {requests_each} × {len(targets)} requests in turns")
            measure_in_turns(
                web,
                http,
                targets,
                warm_up=WARM_UP,
                rounds=requests_each,
                error=SupervisionBenchError,
                before_rounds=store.reset_counters,  # the Sheets calls of the measured rounds
            )
            sheet = store.status()
    except SupervisionBenchError as exc:
        return [f"supervision: {exc}"]
    _report(report, requests_each, targets, n_events, built, sheet)
    return []


def _report(report, requests_each, targets, n_events, built, sheet) -> None:
    report.section(
        f"supervision: the four report pages and their exports with {Spool.objects.count():,} "
        f"spools, {Union.objects.count():,} unions and {n_events:,} events in the mirror, one "
        f"daphne process, a supervisor's session; {requests_each} requests of each after "
        f"{WARM_UP} of warm-up, in turns with /healthz (default period: the last 14 days)"
    )
    worst = 0.0
    for target in targets:
        goal = None if target.key in ("healthz",) or target.key.endswith("_year") else GOAL
        s = report.timing(target.label, target.times, goal=goal)
        report.summary_figures(f"supervision_{target.key}", s)
        if goal is not None:
            worst = max(worst, s.p95)
    calls = sheet["reads"] + sheet["writes"]
    report.line(
        "Sheets requests while viewing reports",
        f"{calls}  ({sheet['reads']} reads, {sheet['writes']} writes)",
        goal=NO_SHEET_CALLS,
        value=calls,
    )
    sizes = ", ".join(f"{t.key} {t.size / 1024:,.0f} kB" for t in targets if t.key != "healthz")
    report.note(f"answer sizes: {sizes}")
    report.note(f"events built and inserted in {built:.0f} s")
    report.figure("supervision_events", n_events)
    report.figure("supervision_p95_worst_ms", worst)
    report.figure("supervision_sheet_requests", calls)
