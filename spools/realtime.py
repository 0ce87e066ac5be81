"""Sending to a Channels group from any thread, after the data is committed.

With the in-memory layer (one process) the message must be put on the event loop that runs
the consumers; with Redis any loop works, but connection pools are kept per loop, so
processes without consumers (the sync worker) use one long-lived loop of their own.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

_consumer_loop: asyncio.AbstractEventLoop | None = None
_own_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def remember_consumer_loop() -> None:
    """Called by consumers when they connect: broadcasts go to their loop."""
    global _consumer_loop
    _consumer_loop = asyncio.get_running_loop()


def _loop() -> asyncio.AbstractEventLoop:
    global _own_loop
    if _consumer_loop is not None and _consumer_loop.is_running():
        return _consumer_loop
    with _lock:
        if _own_loop is None:
            _own_loop = asyncio.new_event_loop()
            threading.Thread(
                target=_own_loop.run_forever, name="zeues-broadcast", daemon=True
            ).start()
        return _own_loop


def send_to_group(group: str, message: dict) -> None:
    """Queue `message` for `group` without blocking the caller; failures are logged only
    (a dashboard that misses a push re-syncs when it reconnects)."""
    layer = get_channel_layer()
    if layer is None:
        return
    future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), _loop())

    def done(f) -> None:
        if f.exception() is not None:
            log.warning("broadcast to %s failed: %s", group, f.exception())

    future.add_done_callback(done)
