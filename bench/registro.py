"""Mi registro, the tablet's union step and its session-end list with N spools and 10 unions
each in the mirror (the pull section's workbook when it ran: reused, not loaded again).

One daphne process as deployed, its pull not due; a station session asks, in turns with
/healthz (the baseline), after a warm-up, for:
- Mi registro of the busiest worker-day of the workbook (most unions, ARM and SOLD), and of
  a typical one (the median worker-day);
- the union step of FINALIZAR ARM for a spool its worker occupies (unions to tick, done
  ones struck through), when the app has the step;
- that worker's FINALIZAR ARM spool list (the spools they hold, with union progress chips).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from io import StringIO
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.core.management import call_command
from django.db.models import Count, F
from django.db.models.functions import TruncDate

from bench import floor as floor_plan
from bench import unions as union_bench
from bench.figures import Goal, Report, percentile
from bench.floor_run import BenchError
from bench.lists import NO_PULL, WARM_UP
from bench.tablets import logged_in_session, union_step_url
from bench.web import Page, WebServer, measure_in_turns
from spools.lifecycle import Accion, Operacion, WorkState
from spools.models import Spool, Union
from spools.workbook.local_sheet import LocalSheetStore
from spools.workbook.values import plant_tz

GOAL = Goal("p95 < 50 ms", lambda v: v < 50)
UNIONS_PER_SPOOL = 10


class RegistroBenchError(BenchError):
    """A page could not be measured (no answer 200, no worker-day, no occupied spool)."""


def worker_days() -> list[tuple[int, date, int]]:
    """(worker, plant day, unions finished) of every worker-day, ARM and SOLD together,
    counted by the database."""
    days: dict[tuple[int, date], int] = {}
    for trade in ("arm", "sol"):
        rows = (
            Union.objects.filter(**{f"{trade}_worker_id__isnull": False})
            .annotate(day=TruncDate(f"{trade}_fin", tzinfo=plant_tz()))
            .values(f"{trade}_worker_id", "day")
            .annotate(n=Count("id"))
            .order_by()
        )
        for r in rows:
            key = (r[f"{trade}_worker_id"], r["day"])
            days[key] = days.get(key, 0) + r["n"]
    return sorted(((w, d, n) for (w, d), n in days.items()), key=lambda x: (x[2], x[0], x[1]))


def _pages(base: str) -> list[Page]:
    days = worker_days()
    if not days:
        raise RegistroBenchError("no union of the workbook is finished: no Mi registro to show")
    busiest, typical = days[-1], days[len(days) // 2]
    pages = [
        Page(
            key,
            f"GET /registro/ ({what}, {n} unions)",
            f"{base}/registro/{w}/?fecha={d.isoformat()}",
        )
        for key, what, (w, d, n) in (
            ("busiest", "busiest day", busiest),
            ("typical", "median day", typical),
        )
    ]
    held = (
        Spool.objects.filter(
            arm=WorkState.EN_PROGRESO, occupant_id__isnull=False, uniones_total__gt=0
        )
        .exclude(uniones_arm__gte=F("uniones_total"))
        .order_by("tag")
        .first()
    )
    if held is None:
        raise RegistroBenchError("no spool with unions left is occupied in ARM")
    step = union_step_url(base, Operacion.ARM, held.occupant_id, Accion.FINALIZAR, held.tag)
    if step:
        pages.append(
            Page(
                "union_step",
                f"GET union step ({held.uniones_total} unions, {held.uniones_arm} fitted)",
                step,
            )
        )
    pages.append(
        Page(
            "session_list",
            "GET /t/ARM/<w>/FINALIZAR/ (spools held)",
            f"{base}/t/{Operacion.ARM}/{held.occupant_id}/{Accion.FINALIZAR}/",
        )
    )
    pages.append(
        Page(
            "spool_page",
            "GET /spools/<TAG>/ (its unions)",
            f"{base}/spools/{quote(held.tag, safe='')}/",
        )
    )
    return pages


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
    """The registro section. `loaded`: the pull section's workbook (N spools, 10 unions
    each) is in the workbook and the mirror. Returns errors."""
    if not loaded:
        progress(
            f"load_demo --spools {spools} --force, then {spools * UNIONS_PER_SPOOL:,} unions …"
        )
        call_command("load_demo", spools=spools, force=True, stdout=StringIO())
        union_bench.add(UNIONS_PER_SPOOL, seed)
    store.clear_faults()
    n_unions = Union.objects.count()
    progress("starting daphne (pull not due)")
    try:
        with WebServer(Path(settings.VAR_DIR) / "bench-registro.log", env=NO_PULL) as web:
            pages = [Page("healthz", "GET /healthz, same time (baseline)", f"{web.url}/healthz")]
            pages += _pages(web.url)
            http = logged_in_session(floor_plan.station_user())
            progress(f"warm-up, then {requests_each} × {len(pages)} requests in turns")
            measure_in_turns(
                web, http, pages, warm_up=WARM_UP, rounds=requests_each, error=RegistroBenchError
            )
    except RegistroBenchError as exc:
        return [f"registro: {exc}"]
    _report(report, spools, n_unions, requests_each, pages)
    return []


def _report(report: Report, spools: int, n_unions: int, requests_each: int, pages: list[Page]):
    report.section(
        f"registro: Mi registro and the union step with {spools:,} spools and {n_unions:,} "
        f"unions in the mirror, one daphne process, a station session; {requests_each} "
        f"requests of each after {WARM_UP} of warm-up, in turns with /healthz"
    )
    for page in pages:
        goal = None if page.key == "healthz" else GOAL
        s = report.timing(page.label, page.times, goal=goal)
        report.summary_figures(f"registro_{page.key}", s)
    if not any(p.key == "union_step" for p in pages):
        report.note("the tablet's union step URL is not there yet: left to measure")
    sizes = ", ".join(f"{p.key} {p.size / 1024:,.0f} kB" for p in pages if p.key != "healthz")
    report.note(f"answer sizes: {sizes}")
    report.figure("registro_unions", n_unions)
    report.figure("registro_p95_worst_ms", max(percentile(p.times, 95) for p in pages[1:]))
