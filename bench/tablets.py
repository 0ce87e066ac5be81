"""Tablets playing the floor against the web process: logged-in sessions, real POSTs.

Each tablet is one worker at one station with its own spools. It takes one (TOMAR), and at
its next turn pauses it or completes it (ARM, then SOLD), like a person at the plant. Turns
come at random (exponential gaps: arrivals do not wait for answers, as on the floor).
Every request is timed from send to full answer on loopback, which is server time.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.urls import NoReverseMatch, reverse

from spools.lifecycle import Accion, Operacion, WorkState
from spools.models import Spool, Union

COMPLETE_SHARE = 0.3  # of the turns that end a piece of work; the rest are PAUSAR
REQUEST_TIMEOUT = 30


@dataclass(frozen=True)
class Sample:
    kind: str  # "action", "healthz" or "union_step"
    at: float  # perf_counter() when sent
    ms: float
    status: int  # HTTP status; 0 when no answer came
    accion: str = ""  # of an action


def session_key_for(user) -> str:
    """A logged-in session of `user` in the database, made without the login form."""
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def logged_in_session(user) -> requests.Session:
    """A browser-like session of `user`, made without the login form: session + CSRF."""
    session_key = session_key_for(user)
    token = secrets.token_hex(16)  # a 32-character CSRF secret: cookie and header match
    http = requests.Session()
    http.cookies.set(settings.SESSION_COOKIE_NAME, session_key)
    http.cookies.set(settings.CSRF_COOKIE_NAME, token)
    http.headers["X-CSRFToken"] = token
    http.headers["HX-Request"] = "true"  # the tablet's pages post through htmx
    return http


def _timed(kind: str, call: Callable[[], requests.Response], accion: str = "") -> Sample:
    started = time.perf_counter()
    try:
        status = call().status_code
    except requests.RequestException:
        status = 0
    return Sample(kind, started, (time.perf_counter() - started) * 1000, status, accion)


class Tablet:
    """One station: a worker, their spools, and what they are holding."""

    def __init__(self, base_url: str, user, worker_id: int, pool: list[str], seed: int) -> None:
        self.base_url = base_url
        self.url = f"{base_url}/acciones/"
        self.health_url = f"{base_url}/healthz"
        self.http = logged_in_session(user)
        self.worker_id = worker_id
        self.rng = random.Random(seed)
        # The operation each spool waits for (None: done here), and the one held now.
        self.next_op: dict[str, str | None] = dict.fromkeys(pool, Operacion.ARM)
        self.holding: str | None = None
        self.stale = False

    def warm_up(self) -> None:
        """Open the connection, as a tablet on the floor already has."""
        self.http.get(self.health_url, timeout=REQUEST_TIMEOUT)

    def refresh(self) -> None:
        """Where this tablet's spools really are, after an answer it did not expect."""
        self.holding = None
        for s in Spool.objects.filter(tag__in=list(self.next_op)):
            if s.arm != WorkState.COMPLETADO:
                self.next_op[s.tag] = Operacion.ARM
            elif s.sold != WorkState.COMPLETADO:
                self.next_op[s.tag] = Operacion.SOLD
            else:
                self.next_op[s.tag] = None
            if s.ocupado_por and s.occupant_id != self.worker_id:
                self.next_op[s.tag] = None  # someone else's now: leave it alone
            if s.occupant_id == self.worker_id:
                self.holding = s.tag
        self.stale = False

    def next_step(self) -> tuple[str, str, str] | None:
        """(operación, acción, TAG) of this turn, or None when every spool is done."""
        if self.holding:
            accion = Accion.COMPLETAR if self.rng.random() < COMPLETE_SHARE else Accion.PAUSAR
            return self.next_op[self.holding], accion, self.holding
        free = [tag for tag, op in self.next_op.items() if op]
        if not free:
            return None
        tag = self.rng.choice(free)
        return self.next_op[tag], Accion.TOMAR, tag

    def act(self) -> Sample | None:
        """One turn: one POST /acciones/ for one spool."""
        if self.stale:
            self.refresh()
        step = self.next_step()
        if step is None:
            return None
        op, accion, tag = step
        sample = self.post(op, accion, tag)
        if sample.status != 200:
            self.stale = True
        elif accion == Accion.TOMAR:
            self.holding = tag
        else:
            self.holding = None
            self.ended(op, accion, tag)
        return sample

    def post(self, op: str, accion: str, tag: str, **extra: object) -> Sample:
        data = {
            "operacion": op,
            "accion": accion,
            "worker": self.worker_id,
            "tags": [tag],
            "request_id": str(uuid.uuid4()),
            **extra,
        }
        return _timed(
            "action", lambda: self.http.post(self.url, data, timeout=REQUEST_TIMEOUT), accion
        )

    def ended(self, op: str, accion: str, tag: str) -> None:
        """A session ended (answered 200): what the spool waits for now."""
        if accion == Accion.COMPLETAR:
            self.next_op[tag] = Operacion.SOLD if op == Operacion.ARM else None


FINISH_ALL_SHARE = 0.4  # of the FINALIZAR turns that register every union left


class UnionTablet(Tablet):
    """A station whose spools have unions: it takes one, and at its next turn loads the
    union step (as the tablet does) and ends the session with FINALIZAR and the unions done
    in it, some or every one left (the server then completes the operation). ARM to the
    end, then SOLD."""

    def __init__(self, base_url: str, user, worker_id: int, pool: list[str], seed: int) -> None:
        super().__init__(base_url, user, worker_id, pool, seed)
        self.left: dict[str, dict[str, set[int]]] = {}
        self.union_steps: list[Sample] = []  # GET of the union step before each FINALIZAR
        self.chosen: list[int] = []  # the unions of the FINALIZAR in flight
        self.load_unions()

    def load_unions(self) -> None:
        """Which unions each spool still needs, per operation, as the mirror says."""
        self.left = {tag: {Operacion.ARM: set(), Operacion.SOLD: set()} for tag in self.next_op}
        for u in Union.objects.filter(tag__in=list(self.next_op)):
            if not u.arm_done:
                self.left[u.tag][Operacion.ARM].add(u.n_union)
                if u.needs_sold:
                    self.left[u.tag][Operacion.SOLD].add(u.n_union)
            elif u.needs_sold and not u.sold_done:
                self.left[u.tag][Operacion.SOLD].add(u.n_union)

    def refresh(self) -> None:
        super().refresh()
        self.load_unions()
        for tag, op in self.next_op.items():
            if op and not self.left[tag][op]:
                self.next_op[tag] = None  # nothing of it to register (all field welds)

    def next_step(self) -> tuple[str, str, str] | None:
        step = super().next_step()
        if step and self.holding:
            return step[0], Accion.FINALIZAR, step[2]
        return step

    def post(self, op: str, accion: str, tag: str, **extra: object) -> Sample:
        if accion != Accion.FINALIZAR:
            return super().post(op, accion, tag, **extra)
        step_url = union_step_url(self.base_url, op, self.worker_id, accion, tag)
        if step_url:
            self.union_steps.append(
                _timed("union_step", lambda: self.http.get(step_url, timeout=REQUEST_TIMEOUT))
            )
        ready = sorted(self.ready(tag, op))
        if self.rng.random() < FINISH_ALL_SHARE:
            self.chosen = ready
        else:
            self.chosen = sorted(self.rng.sample(ready, self.rng.randint(1, len(ready))))
        return super().post(op, accion, tag, uniones=self.chosen, **extra)

    def ready(self, tag: str, op: str) -> set[int]:
        """The unions this session may register: SOLD only those already fitted."""
        left = self.left[tag][op]
        return left - self.left[tag][Operacion.ARM] if op == Operacion.SOLD else left

    def ended(self, op: str, accion: str, tag: str) -> None:
        if accion != Accion.FINALIZAR:
            return super().ended(op, accion, tag)
        self.left[tag][op] -= set(self.chosen)
        if not self.left[tag][op]:  # FINALIZAR completed the operation
            sold = op == Operacion.ARM and self.left[tag][Operacion.SOLD]
            self.next_op[tag] = Operacion.SOLD if sold else None


def union_step_url(base_url: str, op: str, worker_id: int, accion: str, tag: str) -> str:
    """The tablet's union step of `tag`, "" while the app has none."""
    try:
        path = reverse("tablet-uniones", args=[op, worker_id, accion])
    except NoReverseMatch:
        return ""
    return f"{base_url}{path}?{urlencode({'tags': tag})}"


@dataclass
class LoadRun:
    duration: float
    samples: list[Sample] = field(default_factory=list)
    idle_turns: int = 0  # turns of a tablet with nothing left to do
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, kind: str) -> list[Sample]:
        return [s for s in self.samples if s.kind == kind]


def _thread(target: Callable[[], None], run: LoadRun) -> threading.Thread:
    def body() -> None:
        try:
            target()
        except Exception as exc:  # noqa: BLE001 - reported as a bench error, never lost
            run.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    return threading.Thread(target=body, daemon=True)


def run_load(
    tablets: list[Tablet], base_url: str, *, duration: float, every: float, probe_every: float
) -> LoadRun:
    """Every tablet acts at random times, on average once per `every` seconds, for
    `duration`; meanwhile a probe times GET /healthz (the baseline) on its own session."""
    run = LoadRun(duration)
    start = time.perf_counter() + 0.5  # every thread is waiting by then
    end = start + duration

    def arrivals(rng: random.Random, mean: float, turn: Callable[[], None]) -> Callable[[], None]:
        def loop() -> None:
            at = start + rng.expovariate(1 / mean)
            while at < end:
                time.sleep(max(0.0, at - time.perf_counter()))
                turn()
                at += rng.expovariate(1 / mean)

        return loop

    def tablet_turn(t: Tablet) -> Callable[[], None]:
        def turn() -> None:
            sample = t.act()
            if sample is None:
                with run.lock:
                    run.idle_turns += 1
            else:
                run.samples.append(sample)

        return turn

    probe = requests.Session()
    health_url = f"{base_url}/healthz"

    def probe_turn() -> None:
        run.samples.append(_timed("healthz", lambda: probe.get(health_url, timeout=30)))

    threads = [_thread(arrivals(t.rng, every, tablet_turn(t)), run) for t in tablets] + [
        _thread(arrivals(random.Random(len(tablets)), probe_every, probe_turn), run)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return run


def at_once(
    tablets: list[Tablet],
    turn: Callable[[Tablet], Sample | None],
    prepare: Callable[[Tablet], None] = lambda t: None,
) -> LoadRun:
    """Every tablet does `turn` at the same instant (a barrier; `prepare` runs before it).
    The samples keep the tablets' order."""
    run = LoadRun(0.0)
    barrier = threading.Barrier(len(tablets))
    answers: list[Sample | None] = [None] * len(tablets)

    def one(i: int, t: Tablet) -> Callable[[], None]:
        def go() -> None:
            prepare(t)
            barrier.wait(60)
            answers[i] = turn(t)

        return go

    threads = [_thread(one(i, t), run) for i, t in enumerate(tablets)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    run.samples = [a for a in answers if a is not None]
    return run


def run_burst(tablets: list[Tablet]) -> LoadRun:
    """Every tablet confirms its next step at the same instant, once."""

    def refresh(t: Tablet) -> None:
        if t.stale:
            t.refresh()  # before the barrier: only the POST is in the same instant

    return at_once(tablets, Tablet.act, refresh)


def run_race(tablets: list[Tablet], tag: str) -> LoadRun:
    """Every tablet TOMAR ARM of the same spool at the same instant, once."""
    return at_once(tablets, lambda t: t.post(Operacion.ARM, Accion.TOMAR, tag))
