"""Pushing the dashboard: rendered once per change for every screen, never once per socket.

Changes are coalesced: a burst of actions wakes the publisher once, it renders the live
fragments (the same templates as the page) and sends the HTML to the `dashboard` group.
It also republishes every minute, so elapsed times and long-occupation alerts stay true
on a screen nobody touches for a whole shift.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections
from django.template.loader import render_to_string

from dashboard.selectors import dashboard_context
from spools.realtime import send_to_group

log = logging.getLogger(__name__)

GROUP = "dashboard"
REPUBLISH_SECONDS = 60
MIN_INTERVAL_SECONDS = 0.1  # a burst of actions becomes one render every 100 ms at most
FRAGMENTS = (
    "dashboard/_occupied.html",
    "dashboard/_stages.html",
    "dashboard/_alerts.html",
    "dashboard/_events.html",
    "dashboard/_pd_today.html",
    "dashboard/_quality.html",
)


def render_live_fragments(*, oob: bool) -> str:
    """Every live fragment of the dashboard; with `oob`, marked for out-of-band swaps."""
    context = {**dashboard_context(), "oob": oob}
    return "".join(render_to_string(name, context) for name in FRAGMENTS)


class Publisher:
    def __init__(self) -> None:
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # Dashboards connected to this process. With the in-memory layer nobody else can
        # listen, so with none connected there is nothing to render (the tablets' actions
        # should not pay for a screen that is off). With Redis, other processes may listen.
        self.local_listeners = 0

    def listener_joined(self) -> None:
        with self._lock:
            self.local_listeners += 1
        self._ensure_thread()  # the minute-by-minute republish runs on a quiet floor too

    def listener_left(self) -> None:
        with self._lock:
            self.local_listeners = max(0, self.local_listeners - 1)

    def anyone_listening(self) -> bool:
        return bool(settings.REDIS_URL) or self.local_listeners > 0

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="zeues-dashboard", daemon=True
                )
                self._thread.start()

    def changed(self) -> None:
        """Something on the floor changed (called after commit; returns at once)."""
        self._ensure_thread()
        self._wake.set()

    def publish_now(self) -> None:
        try:
            html = render_live_fragments(oob=True)
            send_to_group(GROUP, {"type": "dashboard.update", "html": html})
        finally:
            close_old_connections()

    def _run(self) -> None:
        while True:
            self._wake.wait(timeout=REPUBLISH_SECONDS)
            self._wake.clear()
            if not self.anyone_listening():
                continue
            started = time.monotonic()
            try:
                self.publish_now()
            except Exception:  # noqa: BLE001 - the publisher must outlive one bad render
                log.exception("dashboard publish failed")
            # Changes arriving meanwhile set the flag again: they get the next render.
            time.sleep(max(0.0, MIN_INTERVAL_SECONDS - (time.monotonic() - started)))


publisher = Publisher()
