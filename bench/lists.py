"""The tablet's spool lists over HTTP, and the Sheets requests that viewing pages causes.

For each size of the demo workbook (300 spools, and the pull section's 10,000 when it ran:
reused, not loaded again) one daphne process runs as deployed but with its sync loop not
due to pull (ZEUES_PULL_INTERVAL of an hour). A station session asks, in turns, for
/healthz (the baseline), the TOMAR ARM spool list page and its search-as-you-type fragment,
after a warm-up. Then one action is posted (so that the result step has something to show)
and flushed, the local backend's counters are zeroed, every page a person can look at is
viewed a few times, and the counters are read: looking must cost no Sheets request.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import requests
from django.conf import settings
from django.core.management import call_command

from bench import floor as floor_plan
from bench.figures import Goal, Report
from bench.floor_run import BenchError, wait_for_outbox
from bench.tablets import REQUEST_TIMEOUT, logged_in_session
from bench.web import WebServer
from occupation import selectors
from spools.lifecycle import Accion, Operacion
from spools.models import Spool
from spools.workbook.local_sheet import LocalSheetStore

SMALL = 300  # the size of the small goal; larger workbooks get the 10k goal
SMALL_GOAL = Goal("p95 < 50 ms", lambda v: v < 50)
LARGE_GOAL = Goal("p95 < 150 ms", lambda v: v < 150)
NO_SHEET_CALLS = Goal("= 0", lambda v: v == 0)
WARM_UP = 5  # requests of each URL before timing: connections, caches, lazy imports
NO_PULL = {"ZEUES_PULL_INTERVAL": "3600", "ZEUES_WORKERS_PULL_INTERVAL": "3600"}
OPERACIONES = [Operacion.ARM, Operacion.SOLD, Operacion.METROLOGIA, Operacion.REPARACION]
ACCIONES = [Accion.TOMAR, Accion.PAUSAR, Accion.COMPLETAR, Accion.CANCELAR]


class ListBenchError(BenchError):
    """The lists could not be measured (a page did not answer 200, no worker, no spool)."""


@dataclass
class SizeResult:
    spools: int
    query: str
    times: dict[str, list[float]] = field(default_factory=dict)  # healthz, page, fragment
    sizes: dict[str, int] = field(default_factory=dict)  # bytes of the last answer
    listed: int = 0  # rows the page shows (at most selectors.LIST_LIMIT)
    eligible: int = 0  # spools TOMAR ARM can take now
    matched: int = 0  # of those, matching the search
    pages: list[str] = field(default_factory=list)  # viewed for the Sheets count
    views: int = 0
    sheet: dict = field(default_factory=dict)  # LocalSheetStore.status() after the views


def goal_for(spools: int) -> Goal:
    return SMALL_GOAL if spools <= SMALL else LARGE_GOAL


def search_text(tag: str) -> str:
    """What a worker types to find a spool: the longest part of its TAG (the line number of
    the demo's `MK-1923-TW-17019-001`), which matches a handful of spools."""
    return max(tag.split("-"), key=len) if "-" in tag else tag[-4:]


def _get(http: requests.Session, url: str) -> tuple[float, requests.Response]:
    started = time.perf_counter()
    response = http.get(url, timeout=REQUEST_TIMEOUT)
    return (time.perf_counter() - started) * 1000, response


def _check(response: requests.Response, url: str) -> None:
    if response.status_code != 200:
        raise ListBenchError(f"GET {url} answered {response.status_code}")


def _worker_for(operacion: str):
    worker = selectors.workers_for(operacion).first()
    if worker is None:
        raise ListBenchError(f"the demo workbook has no worker for {operacion}")
    return worker


def _page_urls(base: str, tag: str, query: str, request_id: str) -> list[str]:
    """Every page of the tablet's flow (each operation, each action), its fragments, the
    result of an action, the dashboard and a spool's page."""
    tag, query = quote(tag, safe=""), quote(query, safe="")
    urls = [f"{base}/"]
    for op in OPERACIONES:
        worker = _worker_for(op)
        urls.append(f"{base}/t/{op}/")
        if op != Operacion.METROLOGIA:
            urls.append(f"{base}/t/{op}/{worker.id}/")
        for accion in [Accion.COMPLETAR] if op == Operacion.METROLOGIA else ACCIONES:
            step = f"{base}/t/{op}/{worker.id}/{accion}/"
            urls.append(step)
            if op == Operacion.ARM and accion == Accion.TOMAR:
                urls += [
                    f"{step}lista/?q={query}",
                    f"{step}escaneo/?tag={tag}",
                    f"{step}confirmar/?tags={tag}",
                ]
    urls += [
        f"{base}/t/resultado/{request_id}/",
        f"{base}/dashboard/",
        f"{base}/spools/{tag}/",
    ]
    return urls


def measure(
    web: WebServer,
    store: LocalSheetStore,
    spools: int,
    *,
    requests_each: int,
    views: int,
    seed: int,
    progress: Callable[[str], None],
) -> SizeResult:
    """One size, against the daphne process `web` (already up)."""
    http = logged_in_session(floor_plan.station_user())
    worker = _worker_for(Operacion.ARM)
    eligible = selectors.eligible(Operacion.ARM, Accion.TOMAR, worker)
    if not eligible:
        raise ListBenchError(f"no spool of the {spools}-spool demo can be taken for ARM")
    pick = random.Random(seed).choice(eligible).tag
    query = search_text(pick)
    step = f"{web.url}/t/{Operacion.ARM}/{worker.id}/{Accion.TOMAR}/"
    urls = {
        "healthz": f"{web.url}/healthz",
        "page": step,
        "fragment": f"{step}lista/?q={quote(query, safe='')}",
    }
    result = SizeResult(spools, query)
    result.eligible = len(eligible)
    result.matched = sum(query.lower() in s.tag.lower() for s in eligible)
    result.listed = min(result.eligible, selectors.LIST_LIMIT)

    progress(f"{spools:,} spools: warm-up, then {requests_each} × {len(urls)} requests in turns")
    for _ in range(WARM_UP):
        for url in urls.values():
            _check(_get(http, url)[1], url)
    result.times = {kind: [] for kind in urls}
    for _ in range(requests_each):
        for kind, url in urls.items():
            elapsed, response = _get(http, url)
            _check(response, url)
            result.times[kind].append(elapsed)
            result.sizes[kind] = len(response.content)
        web.check_alive()

    # One action, so that the result step exists; its flush must be over before counting.
    request_id = str(uuid.uuid4())
    answer = http.post(
        f"{web.url}/acciones/",
        {
            "operacion": Operacion.ARM,
            "accion": Accion.TOMAR,
            "worker": worker.id,
            "tags": [pick],
            "request_id": request_id,
        },
        timeout=REQUEST_TIMEOUT,
    )
    if answer.status_code != 200:
        raise ListBenchError(f"TOMAR {pick} answered {answer.status_code}")
    wait_for_outbox(web)
    time.sleep(0.5)  # the sync cycle that flushed it has finished its bookkeeping
    result.pages = _page_urls(web.url, pick, query, request_id)
    progress(f"{spools:,} spools: {len(result.pages)} pages × {views} views, counting Sheets calls")
    store.reset_counters()
    for _ in range(views):
        for url in result.pages:
            _check(_get(http, url)[1], url)
            result.views += 1
    result.sheet = store.status()
    return result


def run(
    report: Report,
    store: LocalSheetStore,
    *,
    sizes: list[int],
    loaded: int | None,
    requests_each: int,
    views: int,
    seed: int,
    progress: Callable[[str], None],
) -> list[str]:
    """The lists section. `loaded`: the demo size already in the workbook and the mirror
    (the pull section's), measured first and not loaded again. Returns errors."""
    results: list[SizeResult] = []
    errors: list[str] = []
    for spools in sorted(sizes, key=lambda n: (n != loaded, n)):
        if spools != loaded:
            progress(f"load_demo --spools {spools} --force …")
            call_command("load_demo", spools=spools, force=True, stdout=StringIO())
        store.clear_faults()
        if not Spool.objects.filter(sheet_row__isnull=False).exists():
            errors.append(f"lists: the mirror holds no spool of the {spools}-spool workbook")
            continue
        progress("starting daphne (sync loop in it, pull not due)")
        try:
            with WebServer(Path(settings.VAR_DIR) / "bench-lists.log", env=NO_PULL) as web:
                results.append(
                    measure(
                        web,
                        store,
                        spools,
                        requests_each=requests_each,
                        views=views,
                        seed=seed,
                        progress=progress,
                    )
                )
                web.check_alive()
        except ListBenchError as exc:
            errors.append(f"lists at {spools:,} spools: {exc}")

    report.section(
        "lists: the tablet's spool list (TOMAR ARM) over HTTP, one daphne process, a station "
        f"session; {requests_each} requests of each after {WARM_UP} of warm-up, in turns with "
        "/healthz; demo workbooks"
    )
    for r in sorted(results, key=lambda r: r.spools):
        report.write(f"  {r.spools:,} spools")
        h = report.timing("GET /healthz, same time (baseline)", r.times["healthz"])
        goal = goal_for(r.spools)
        p = report.timing("GET /t/ARM/<worker>/TOMAR/ (list page)", r.times["page"], goal=goal)
        f = report.timing(f"GET …/lista/?q={r.query} (search)", r.times["fragment"], goal=goal)
        report.note(
            f"the page lists {r.listed:,} of the {r.eligible:,} spools TOMAR ARM can take "
            f"({r.sizes['page'] / 1024:,.0f} kB; longer lists ask for a search); the search "
            f"matches {r.matched} ({r.sizes['fragment'] / 1024:,.0f} kB)"
        )
        for kind, s in (("healthz", h), ("page", p), ("search", f)):
            report.summary_figures(f"lists_{r.spools}_{kind}", s)
    if results:
        reads = sum(r.sheet["reads"] for r in results)
        writes = sum(r.sheet["writes"] for r in results)
        views_total = sum(r.views for r in results)
        pages = len(results[0].pages)
        report.line(
            "Sheets API requests caused by viewing pages",
            f"{reads + writes}  ({reads} reads, {writes} writes in {views_total} page views)",
            goal=NO_SHEET_CALLS,
            value=reads + writes,
        )
        report.note(
            f"each of {pages} pages viewed {views} times per size (every tablet step of every "
            "operation and action, the search, scan and confirmation fragments, an action's "
            "result, the dashboard, a spool's page); counters of the local backend, zeroed "
            "after the run's one action was flushed; the web process's pull was not due"
        )
        for r in results:
            if r.sheet["reads"] + r.sheet["writes"]:
                report.note(f"at {r.spools:,} spools: {r.sheet['by_kind']}")
        report.figure("lists_sheet_requests_per_page_views", reads + writes)
        report.figure("lists_page_views", views_total)
    return errors
