"""Django's ASGI handler, serving our sync views from a few reused threads in one trip.

Stock Django gives every HTTP request a thread of its own (a ThreadSensitiveContext with a
new executor): each request opens and closes its own database connection, and 60 tablets
confirming at once are 60 threads sharing one GIL, so all of them finish near the end. Its
async middleware path also crosses between the event loop and that thread several times per
request (each async-capable middleware, each sync process_view, the view), and under load
every crossing waits for a busy loop.

Here a request borrows one of `threads` threads for its whole life (asgiref's
ThreadSensitiveContext with an executor), so the thread's connection lives on between
requests (CONN_MAX_AGE) and requests beyond `threads` wait their turn in arrival order; and
the middleware chain and the view run as one sync call on it. Every view of this project is
sync; an async one would still work (Django runs it with async_to_sync).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.db import connections
from django.http import HttpRequest, HttpResponseBase

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


class RequestThreads:
    """`size` single-thread executors, each lent to one request at a time."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a web process needs at least one request thread")
        self.size = size
        # One set per event loop: an asyncio.Queue belongs to the loop it first waits on.
        self._free: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Queue] = (
            weakref.WeakKeyDictionary()
        )

    def _queue(self) -> asyncio.Queue:
        loop = asyncio.get_running_loop()
        queue = self._free.get(loop)
        if queue is None:
            queue = asyncio.Queue()
            for i in range(self.size):
                queue.put_nowait(ThreadPoolExecutor(1, thread_name_prefix=f"request-{i}"))
            self._free[loop] = queue
        return queue

    @contextlib.asynccontextmanager
    async def lease(self) -> AsyncIterator[ThreadPoolExecutor]:
        """One thread for the block; waits (first come, first served) while all are lent."""
        queue = self._queue()
        executor = await queue.get()
        try:
            yield executor
        finally:
            # Even if the request was cancelled mid-way: a call still running on the
            # thread finishes before the next request's first call starts there.
            queue.put_nowait(executor)

    def close(self) -> None:
        """Close each idle thread's database connections and stop it (tests, shutdown)."""
        for queue in list(self._free.values()):
            while not queue.empty():
                executor = queue.get_nowait()
                executor.submit(connections.close_all).result()
                executor.shutdown()


class PooledThreadsASGIHandler(ASGIHandler):
    """ASGIHandler whose requests run on RequestThreads, the whole chain in one sync call."""

    def __init__(self, threads: int) -> None:
        super().__init__()
        self.threads = RequestThreads(threads)
        self.load_middleware(is_async=False)  # the sync chain, entered once per request

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        async with self.threads.lease() as executor:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        # BaseHandler.get_response does what the async version does (URL conf, the chain,
        # closing the request with the response, logging 4xx/5xx), on the leased thread.
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
