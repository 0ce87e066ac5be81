"""Action → dashboard: wall screens on /ws/dashboard/ while a tablet acts once a second.

The screens are WebSocket clients of one daphne process (as deployed: DEBUG off, the sync
loop inside it), each logged in as the wall TV's account (group Pantalla) with the Origin
a browser on that host sends. The tablet posts TOMAR and PAUSAR of the floor's spools at
a steady pace; for every action and every screen the delay is from the action's answer to
the first push that shows it: the TAG in the `occupied` fragment after a TOMAR, gone from
it after a PAUSAR. A push that arrives before the answer counts as 0 (it was sent on
commit, before the answer left): the delay from the request's send is printed too.
All clocks are this process's perf_counter().
"""

from __future__ import annotations

import asyncio
import html
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

import requests
from django.conf import settings
from django.contrib.auth import get_user_model

from bench import floor as floor_plan
from bench.figures import Goal, Report, Summary, ms, number
from bench.floor_run import BenchError
from bench.tablets import REQUEST_TIMEOUT, logged_in_session
from bench.web import WebServer
from dashboard.live import render_live_fragments
from spools.lifecycle import Accion, Operacion
from spools.workbook.local_sheet import LocalSheetStore

PUSH_P95 = Goal("p95 < 100 ms", lambda v: v < 100)
MEMORY = Goal("< 200 MB", lambda v: v < 200)
SCREEN_ACCOUNT = "pantalla"  # the demo's wall TV account (group Pantalla)
WORKERS = 10  # tablets' workers taking and pausing spools
CONNECT_AT_ONCE = 20  # handshakes in flight (daphne's listen backlog is 50)
TRAILING_SECONDS = 2.0  # after the last answer, for the pushes still on their way
OCCUPIED = '<div id="occupied"'
RENDERS = 20  # timed renders of the dashboard's fragments in the bench's own process


class DashboardBenchError(BenchError):
    """The dashboard could not be measured (no socket, a refused action)."""


@dataclass(frozen=True)
class DashboardPlan:
    screens: int
    actions: int
    every: float  # seconds between actions
    spools: int
    latency_ms: int
    seed: int


@dataclass(frozen=True)
class Step:
    worker: int
    accion: str  # TOMAR (the TAG appears) or PAUSAR (it goes away)
    tag: str


@dataclass
class Acted:
    step: Step
    sent: float
    answered: float
    status: int


@dataclass
class Screen:
    received: list[tuple[float, int]] = field(default_factory=list)  # (when, payload index)
    closed: str = ""


def plan_steps(workers: list[int], pools: list[list[str]], n: int, seed: int) -> list[Step]:
    """n actions of random workers: TOMAR of a spool nobody touched yet, or PAUSAR of the
    one the worker holds; every TOMAR is of a fresh spool, so the TAG cannot be on the
    dashboard before it."""
    rng = random.Random(seed)
    fresh = {w: list(pool) for w, pool in zip(workers, pools, strict=True)}
    holding: dict[int, str] = {}
    steps: list[Step] = []
    for _ in range(n):
        worker = rng.choice([w for w in workers if w in holding or fresh[w]])
        if worker in holding:
            steps.append(Step(worker, Accion.PAUSAR, holding.pop(worker)))
        else:
            tag = fresh[worker].pop()
            holding[worker] = tag
            steps.append(Step(worker, Accion.TOMAR, tag))
    return steps


def occupied_fragment(push: str) -> str | None:
    """The `occupied` fragment of a push (its root holds no other div), None without one."""
    start = push.find(OCCUPIED)
    if start < 0:
        return None
    end = push.find("<div id=", start + len(OCCUPIED))
    return push[start : end if end >= 0 else len(push)]


def shows(fragment: str, tag: str) -> bool:
    return f">{html.escape(tag)}</a>" in fragment


class Screens:
    """The WebSocket clients, on an asyncio loop of their own thread."""

    def __init__(self, ws_url: str, origin: str, cookie: str, count: int) -> None:
        self.ws_url, self.origin, self.cookie, self.count = ws_url, origin, cookie, count
        self.screens = [Screen() for _ in range(count)]
        self.payloads: dict[str, int] = {}  # each distinct push once: screens share them
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.sockets: list = []
        self.readers: list[asyncio.Task] = []

    def start(self, timeout: float = 120) -> float:
        """Connect every screen and wait for its first (whole) push; seconds it took."""
        self.thread.start()
        started = time.perf_counter()
        asyncio.run_coroutine_threadsafe(self._connect_all(), self.loop).result(timeout)
        return time.perf_counter() - started

    def stop(self) -> None:
        if self.thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._close_all(), self.loop).result(30)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)

    async def _connect_all(self) -> None:
        gate = asyncio.Semaphore(CONNECT_AT_ONCE)
        await asyncio.gather(*(self._connect(i, gate) for i in range(self.count)))

    async def _connect(self, i: int, gate: asyncio.Semaphore) -> None:
        from websockets.asyncio.client import connect

        async with gate:
            ws = await connect(
                self.ws_url,
                origin=self.origin,
                additional_headers={"Cookie": self.cookie},
                max_size=2**24,
                ping_interval=None,  # a browser sends no pings either
                open_timeout=60,
            )
            first = await asyncio.wait_for(ws.recv(), 60)
        if OCCUPIED not in first:
            raise DashboardBenchError("the dashboard's first push has no occupied fragment")
        self.sockets.append(ws)
        self.readers.append(asyncio.create_task(self._read(ws, self.screens[i])))

    async def _read(self, ws, screen: Screen) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for message in ws:
                now = time.perf_counter()
                screen.received.append((now, self.payloads.setdefault(message, len(self.payloads))))
        except ConnectionClosed as exc:
            screen.closed = str(exc)

    async def _close_all(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        await asyncio.gather(*self.readers, return_exceptions=True)

    def compressed(self) -> bool:
        return any(
            "permessage-deflate" in (ws.response.headers.get("Sec-WebSocket-Extensions") or "")
            for ws in self.sockets
        )


def act(web: WebServer, user, steps: list[Step], every: float) -> tuple[list[Acted], list[float]]:
    """The tablet: one POST /acciones/ every `every` seconds (not waiting for the pushes);
    halfway between two actions, a GET /healthz on its own connection (the baseline)."""
    http = logged_in_session(user)
    probe = requests.Session()
    health_url = f"{web.url}/healthz"
    for session in (http, probe):
        session.get(health_url, timeout=REQUEST_TIMEOUT)  # the connections, already open
    start = time.perf_counter() + 0.2
    acted: list[Acted] = []
    healthz: list[float] = []
    for i, step in enumerate(steps):
        if i:
            time.sleep(max(0.0, start + (i - 0.5) * every - time.perf_counter()))
            started = time.perf_counter()
            probe.get(health_url, timeout=REQUEST_TIMEOUT)
            healthz.append((time.perf_counter() - started) * 1000)
        time.sleep(max(0.0, start + i * every - time.perf_counter()))
        data = {
            "operacion": Operacion.ARM,
            "accion": step.accion,
            "worker": step.worker,
            "tags": [step.tag],
            "request_id": str(uuid.uuid4()),
        }
        sent = time.perf_counter()
        status = http.post(f"{web.url}/acciones/", data, timeout=REQUEST_TIMEOUT).status_code
        acted.append(Acted(step, sent, time.perf_counter(), status))
    return acted, healthz


@dataclass
class Delays:
    from_answer: list[float] = field(default_factory=list)
    from_send: list[float] = field(default_factory=list)
    before_answer: int = 0  # pushes that arrived before the action's answer
    missed: int = 0  # (action, screen) pairs with no push showing the action


def delays(acted: list[Acted], screens: list[Screen], payloads: dict[str, int]) -> Delays:
    fragments = {i: occupied_fragment(p) for p, i in payloads.items()}
    out = Delays()
    for a in acted:
        if a.status != 200:
            continue
        appears = a.step.accion == Accion.TOMAR
        for screen in screens:
            for at, i in screen.received:
                fragment = fragments[i]
                if at < a.sent or fragment is None or shows(fragment, a.step.tag) != appears:
                    continue
                out.from_send.append((at - a.sent) * 1000)
                out.from_answer.append(max(0.0, at - a.answered) * 1000)
                out.before_answer += at < a.answered
                break
            else:
                out.missed += 1
    return out


def fan_out_ms(screens: list[Screen], since: float) -> list[float]:
    """For each push after `since`: first screen to last screen receiving it."""
    seen: dict[int, list[float]] = {}
    for screen in screens:
        for at, i in screen.received:
            if at >= since:
                seen.setdefault(i, []).append(at)
    return [(max(t) - min(t)) * 1000 for t in seen.values() if len(t) > 1]


def run(
    report: Report,
    store: LocalSheetStore,
    plan: DashboardPlan,
    *,
    progress: Callable[[str], None],
) -> list[str]:
    """The dashboard section. Returns errors."""
    try:
        import websockets  # noqa: F401 - requirements-dev.txt; scripts/bench.sh installs it
    except ImportError:
        return [
            "dashboard: the `websockets` package is missing (pip install -r requirements-dev.txt)"
        ]
    progress(f"floor: {plan.spools} spools, {WORKERS} workers")
    book, floor = floor_plan.build(plan.spools, WORKERS, plan.seed)
    store.clear_faults()
    floor_plan.load(book)
    steps = plan_steps(floor.workers, floor.pools, plan.actions, plan.seed)
    station = floor_plan.station_user()
    screen_user = get_user_model().objects.get(username=SCREEN_ACCOUNT)
    cookie_name = settings.SESSION_COOKIE_NAME
    session = logged_in_session(screen_user).cookies.get(cookie_name)

    report.section(
        f"dashboard: {plan.screens} screens on /ws/dashboard/ (account {SCREEN_ACCOUNT!r}), one "
        f"daphne process; a tablet posting TOMAR/PAUSAR every {plan.every:g} s, {plan.actions} "
        f"actions, {plan.spools} spools, sheet latency {plan.latency_ms} ms"
    )
    errors: list[str] = []
    progress("starting daphne (DEBUG off, sync loop in the web process)")
    with WebServer(Path(settings.VAR_DIR) / "bench-dashboard.log") as web:
        store.set_latency(plan.latency_ms)
        rss_idle = web.rss_mb()
        screens = Screens(
            f"ws://127.0.0.1:{web.port}/ws/dashboard/",
            web.url,
            f"{cookie_name}={session}",
            plan.screens,
        )
        try:
            progress(f"connecting {plan.screens} screens")
            connect_s = screens.start()
            time.sleep(0.5)  # quiet before the first action
            rss_open = web.rss_mb()
            progress(f"{plan.actions} actions, one every {plan.every:g} s")
            acted, healthz = act(web, station, steps, plan.every)
            time.sleep(TRAILING_SECONDS)
            rss_after = web.rss_mb()
            web.check_alive()
        except Exception as exc:
            web.check_alive()
            raise DashboardBenchError(f"{type(exc).__name__}: {exc}{web.tail()}") from exc
        finally:
            screens.stop()
            store.clear_faults()

    ok = [a for a in acted if a.status == 200]
    if len(ok) != len(acted):
        errors.append(f"dashboard: {len(acted) - len(ok)} of {len(acted)} actions refused")
    first_sent = acted[0].sent if acted else 0.0
    d = delays(acted, screens.screens, screens.payloads)
    s = report.timing("action answered → push on each screen", d.from_answer, goal=PUSH_P95)
    report.summary_figures("dashboard_push", s)
    t = report.timing("action sent → push on each screen", d.from_send)
    report.summary_figures("dashboard_push_from_send", t)
    a = report.timing(
        "POST /acciones/ (the tablet's answer)", [(x.answered - x.sent) * 1000 for x in ok]
    )
    report.summary_figures("dashboard_action", a)
    b = report.timing("GET /healthz between actions (baseline)", healthz)
    report.summary_figures("dashboard_healthz", b)
    f = Summary.of(fan_out_ms(screens.screens, first_sent))
    report.line(
        "one push: first screen → last screen",
        f"p50 {ms(f.p50):>9}  p95 {ms(f.p95):>9}  max {ms(f.max):>9}  (n={f.n} pushes)",
    )
    report.figure("dashboard_fan_out_p95_ms", f.p95)
    renders = []
    for _ in range(RENDERS):
        started = time.perf_counter()
        push = render_live_fragments(oob=True)
        renders.append((time.perf_counter() - started) * 1000)
    r = report.timing("one render of the pushed fragments (bench's)", renders)
    report.summary_figures("dashboard_render", r)
    report.note(
        f"the same data and code in this process, after the run; a push is "
        f"{len(push.encode()) / 1024:,.0f} kB, sent as is to every screen"
    )
    pushes = [sum(at >= first_sent for at, _ in sc.received) for sc in screens.screens]
    report.line(
        "pushes per screen during the actions",
        f"median {number(median(pushes) if pushes else float('nan'), 0)}, min {min(pushes)}, "
        f"max {max(pushes)} for {len(ok)} actions ({len(screens.payloads)} distinct renders "
        "in the whole run)",
    )
    report.figure("dashboard_pushes_per_screen", median(pushes) if pushes else float("nan"))
    report.figure("dashboard_actions", len(ok))
    report.figure("dashboard_screens", plan.screens)
    if d.missed:
        report.line("screens that never showed an action", f"{d.missed} (screen × action pairs)")
        errors.append(f"dashboard: {d.missed} screen × action pairs never got their push")
    report.figure("dashboard_missed", d.missed)
    report.note(
        f"{d.before_answer} of {len(d.from_answer)} pushes arrived before the action's answer "
        f"(counted 0 ms); {plan.screens} screens connected in {connect_s:.1f} s, each sent the "
        f"whole dashboard on connect; permessage-deflate "
        f"{'on' if screens.compressed() else 'off'}"
    )
    closed = [sc.closed for sc in screens.screens if sc.closed]
    if closed:
        errors.append(f"dashboard: {len(closed)} sockets closed early ({closed[0]})")
    report.line(
        "web process memory (RSS)",
        f"{number(rss_idle, 0)} MB before the screens, {number(rss_open, 0)} MB with "
        f"{plan.screens} open, {number(rss_after, 0)} MB after the actions",
        goal=MEMORY,
        value=max(rss_open, rss_after),
    )
    report.figure("dashboard_rss_idle_mb", rss_idle)
    report.figure("dashboard_rss_open_mb", max(rss_open, rss_after))
    return errors
