"""One daphne web process under test, as deployed: DEBUG off, the sync loop inside it.

It shares the bench's database and local sheet file, listens on a free loopback port, and
dies with the bench (PR_SET_PDEATHSIG on Linux) even if the bench is killed outright.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests
from django.conf import settings

from bench.tablets import REQUEST_TIMEOUT

PR_SET_PDEATHSIG = 1


class WebServerError(Exception):
    """The web process did not start, or died."""


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the bench's own cleanup still stops it


class WebServer:
    """`with WebServer(log) as web:` starts daphne and waits for /healthz; stops it after."""

    def __init__(self, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.extra_env = dict(env or {})  # settings of this run, e.g. ZEUES_PULL_INTERVAL
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "zeues.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": settings.SECRET_KEY,  # the bench's sessions must be valid
            "ZEUES_SYNC_IN_WEB": "1",  # flushes right after each action, pulls on its timer
            "ZEUES_VAR_DIR": str(settings.VAR_DIR),
            "ZEUES_LOCAL_SHEET": str(settings.ZEUES_LOCAL_SHEET),
            "ZEUES_LOG_LEVEL": os.environ.get("ZEUES_LOG_LEVEL", "WARNING"),
            **self.extra_env,
        }

    def __enter__(self) -> WebServer:
        log = open(self.log_path, "ab")  # daphne keeps its own copy of the descriptor
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port)]
                + ["zeues.asgi:application"],
                cwd=settings.BASE_DIR,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # safe: started before the tablet threads
            )
        finally:
            log.close()
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_until_up(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise WebServerError(f"daphne did not answer /healthz within {seconds:.0f} s{self.tail()}")

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise WebServerError(f"daphne exited with {self.proc.returncode}{self.tail()}")

    def tail(self, chars: int = 3000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""
        return f"\n--- {self.log_path} ---\n{text}" if text.strip() else ""

    def rss_mb(self) -> float:
        """Resident memory of the web process now (Linux), NaN if unknown."""
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except (OSError, AttributeError, ValueError):
            pass
        return float("nan")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.release_sync_lease()

    def release_sync_lease(self) -> None:
        """The sync loop is a daemon thread: a stopped daphne leaves its lease behind, and
        the next web process of the bench would wait up to a minute before it flushes."""
        from spools.models import SyncLease
        from spools.workbook.sync import LEASE_NAME

        SyncLease.objects.filter(name=LEASE_NAME, holder__contains=f":{self.proc.pid}:").delete()


@dataclass
class Page:
    """A URL measured in turns with others: its answer times (ms) and size."""

    key: str
    label: str
    url: str
    times: list[float] = field(default_factory=list)
    size: int = 0


def timed_get(http: requests.Session, page: Page, error: type[Exception]) -> float:
    """One GET of the page, in ms; `error` when it does not answer 200."""
    started = time.perf_counter()
    response = http.get(page.url, timeout=REQUEST_TIMEOUT)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise error(f"GET {page.url} answered {response.status_code}")
    page.size = len(response.content)
    return elapsed


def measure_in_turns(
    web: WebServer,
    http: requests.Session,
    pages: list[Page],
    *,
    warm_up: int,
    rounds: int,
    error: type[Exception],
    before_rounds: Callable[[], None] = lambda: None,
) -> None:
    """`warm_up` unrecorded GETs of each page, then `rounds` recorded, the pages in turns
    (so each sees the same server); the web process checked alive after each round."""
    for _ in range(warm_up):
        for page in pages:
            timed_get(http, page, error)
    before_rounds()
    for _ in range(rounds):
        for page in pages:
            page.times.append(timed_get(http, page, error))
        web.check_alive()
