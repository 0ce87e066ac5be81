"""Live spool lists: a tablet's list gains and loses rows as anyone acts.

Each socket belongs to one list (operación, trabajador, acción). On every committed change
it asks its `LiveList` what changes for it (occupation/live.py) and sends only that,
rendered with the same row template the page uses.
"""

from __future__ import annotations

from functools import partial

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.urls import reverse

from occupation import selectors
from occupation.live import LiveList, render_changes
from spools.lifecycle import Accion, Operacion
from spools.models import Worker
from spools.realtime import UserSocketsMixin, remember_consumer_loop

FLOOR_GROUP = "floor"
# Reads for one socket need no thread of their own: a pool serves all the sockets, so
# 60 tablets are not queued behind each other on one thread.
db_read = partial(database_sync_to_async, thread_sensitive=False)


class SpoolListConsumer(UserSocketsMixin, AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        if not await database_sync_to_async(user.has_perm)("spools.perform_actions"):
            await self.close(code=4403)
            return
        kwargs = self.scope["url_route"]["kwargs"]
        try:
            operacion = Operacion(kwargs["op"])
            accion = Accion(kwargs["accion"])
            if not selectors.has_action(operacion, accion):  # e.g. FINALIZAR of REPARACIÓN
                raise ValueError(accion)
            worker = await db_read(
                lambda: selectors.workers_for(operacion).get(pk=int(kwargs["worker_id"]))
            )()
        except (ValueError, Worker.DoesNotExist):
            await self.close(code=4404)
            return
        self.live = await db_read(LiveList)(operacion, accion, worker)
        self.rows = {
            "can_define_unions": await database_sync_to_async(selectors.offers_union_definition)(
                user, operacion, accion
            ),
            "volver": reverse("tablet-spools", args=[operacion, worker.id, accion]),
            "worker": worker,  # a pushed row's note form signs with the list's worker
        }
        remember_consumer_loop()
        await self.join_user_group()  # closed (4401) when this user logs out or loses access
        await self.channel_layer.group_add(FLOOR_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.leave_user_group()
        if hasattr(self, "live"):
            await self.channel_layer.group_discard(FLOOR_GROUP, self.channel_name)

    async def spools_changed(self, event: dict) -> None:
        html = await db_read(self._render)(event.get("tags", []))
        if html:
            await self.send(text_data=html)

    def _render(self, tags: list[str]) -> str:
        """Runs in a thread: the list's changes as HTML, "" when none touch this list."""
        changes = self.live.changes(tags)
        return render_changes(changes, self.rows) if changes else ""
