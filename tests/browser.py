"""A real server (daphne, the ASGI app with WebSockets) and a real browser (Debian's
chromium driven by Playwright) for the end-to-end tests.

The server is a child process on the test database (a SQLite file, or CI's PostgreSQL) and
the test's local workbook; tests use `transactional_db` so it sees their data. Browsers log
in with a session cookie made by the test (the login form is tested elsewhere).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
import requests
from django.conf import settings
from django.test import Client

from tests import ROOT

ARTIFACTS = ROOT / "test-artifacts" / "screens"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TABLET = {"width": 1280, "height": 800}
PORTRAIT = {"width": 800, "height": 1280}

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it)"
)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    db = settings.DATABASES["default"]
    if "postgresql" in db["ENGINE"]:
        return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return f"sqlite:///{db['NAME']}"


class Server:
    """daphne serving zeues.asgi on a free port, with the sync loop inside (the default)."""

    def __init__(self, extra_env: dict | None = None, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DJANGO_SECRET_KEY": settings.SECRET_KEY,
            "DJANGO_DEBUG": "1",  # static files straight from the app folders
            "ZEUES_LOCAL_SHEET": settings.ZEUES_LOCAL_SHEET,
            "ZEUES_PULL_INTERVAL": "3600",  # the test decides when the sheet is read
            "ZEUES_SYNC_IN_WEB": "1",  # as deployed: the web process flushes
            **(extra_env or {}),
        }
        # The test process relaxes Django's async-safety check for Playwright; servers don't.
        self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()

    def log_text(self) -> str:
        if self.log.closed:
            return self._last_log
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def start(self) -> Server:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "zeues.asgi:application",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            # A file, not a pipe: a server that logs a lot never blocks on a full pipe.
            stderr=self.log,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daphne died: {self.log_text()[-3000:]}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError("daphne did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if not self.log.closed:
            self._last_log = self.log_text()
            self.log.close()


def session_key_for(user) -> str:
    """A logged-in session of `user`, made by Django's test client (no login form)."""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def http_session(user) -> requests.Session:
    """A tablet's logged-in session for plain HTTP requests: a session Django's test
    client logs in, and a CSRF cookie with its header, as the tablet's htmx posts send."""
    token = secrets.token_hex(16)  # a 32-character CSRF secret: cookie and header match
    http = requests.Session()
    http.cookies.set(settings.SESSION_COOKIE_NAME, session_key_for(user))
    http.cookies.set(settings.CSRF_COOKIE_NAME, token)
    http.headers["X-CSRFToken"] = token
    http.headers["HX-Request"] = "true"
    return http


def session_cookie(user, url: str) -> list[dict]:
    return [{"name": settings.SESSION_COOKIE_NAME, "value": session_key_for(user), "url": url}]


class Screens:
    """Numbered screenshots of one test, kept as test artifacts to look at."""

    def __init__(self, name: str):
        self.dir = ARTIFACTS / re.sub(r"[^\w.-]+", "_", name)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.n = 0

    def shot(self, page, step: str) -> None:
        self.n += 1
        page.screenshot(path=str(self.dir / f"{self.n:02d}-{step}.png"))
