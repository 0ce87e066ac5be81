"""The web process serves HTTP from a few reused threads (zeues.handler, issue 14 item 14):
60 tablets confirming at once wait their turn in arrival order instead of 60 threads sharing
one GIL, and a thread's database connection serves request after request."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.test import override_settings
from django.urls import path

from zeues.handler import PooledThreadsASGIHandler

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

running: list[int] = []  # requests inside the view right now (one entry each)
most_at_once: list[int] = [0]
finished: list[int] = []  # request numbers, in the order their views ended
lock = threading.Lock()


@login_not_required
def probe(request: HttpRequest) -> JsonResponse:
    """Which thread and which database connection served this request."""
    number = int(request.GET["n"])
    with lock:
        running.append(number)
        most_at_once[0] = max(most_at_once[0], len(running))
    connection.ensure_connection()
    time.sleep(0.02)  # long enough for the others to arrive meanwhile
    with lock:
        running.remove(number)
        finished.append(number)
    return JsonResponse({"thread": threading.get_ident(), "connection": id(connection.connection)})


urlpatterns = [path("probe/", probe)]


async def get(app: PooledThreadsASGIHandler, number: int) -> tuple[int, bytes]:
    """One GET /probe/ through the ASGI app: (status, body)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/probe/",
        "raw_path": b"/probe/",
        "query_string": f"n={number}".encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 40000 + number),
        "server": ("testserver", 80),
    }
    sent: list[dict] = []
    asked = asyncio.Event()

    async def receive() -> dict:
        if asked.is_set():
            await asyncio.Event().wait()  # no disconnect: the handler cancels this wait
        asked.set()
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


@pytest.fixture
def reset_probe():
    running.clear()
    finished.clear()
    most_at_once[0] = 0


async def serve_at_once(threads: int, requests: int) -> list[dict]:
    app = PooledThreadsASGIHandler(threads)
    try:
        with override_settings(ROOT_URLCONF=__name__):
            tasks = []
            for n in range(requests):
                tasks.append(asyncio.create_task(get(app, n)))
                await asyncio.sleep(0)  # each one arrives after the one before
            answers = await asyncio.gather(*tasks)
    finally:
        await asyncio.to_thread(app.threads.close)
    assert [status for status, _ in answers] == [200] * requests
    return [json.loads(body) for _, body in answers]


async def test_twelve_requests_at_once_share_three_threads_and_their_connections(reset_probe):
    served = await serve_at_once(threads=3, requests=12)
    threads = {s["thread"] for s in served}
    assert len(threads) == 3
    assert most_at_once[0] == 3
    # Each thread kept its one database connection from request to request.
    connections_of = {t: {s["connection"] for s in served if s["thread"] == t} for t in threads}
    assert all(len(ids) == 1 for ids in connections_of.values())


async def test_requests_beyond_the_threads_are_served_in_arrival_order(reset_probe):
    await serve_at_once(threads=1, requests=6)
    assert most_at_once[0] == 1
    assert finished == [0, 1, 2, 3, 4, 5]
