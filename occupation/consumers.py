"""Live spool lists: a tablet's list gains and loses rows as anyone acts.

Each socket belongs to one list (operación, trabajador, acción). On every committed change
the consumer checks the changed spools against its own list and sends only what changes
for it: a row removed, or a row (re)rendered with the same template the page uses.
"""

from __future__ import annotations

from functools import partial

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from occupation import selectors
from spools.lifecycle import Accion, Operacion, ReparacionState
from spools.models import Spool, Worker
from spools.realtime import remember_consumer_loop
from spools.templatetags.zeues import dom_id

FLOOR_GROUP = "floor"
# Past this many spools changed at once (an office edit of a whole column), the list is
# re-synced with one request instead of receiving rows one by one.
RESYNC_OVER = 50
# Reads for one socket need no thread of their own: a pool serves all the sockets, so
# 60 tablets are not queued behind each other on one thread.
db_read = partial(database_sync_to_async, thread_sensitive=False)


class SpoolListConsumer(AsyncWebsocketConsumer):
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
            self.operacion = Operacion(kwargs["op"])
            self.accion = Accion(kwargs["accion"])
            self.worker = await db_read(
                lambda: selectors.workers_for(self.operacion).get(pk=int(kwargs["worker_id"]))
            )()
        except (ValueError, Worker.DoesNotExist):
            await self.close(code=4404)
            return
        self.shown, self.blocked_shown = await db_read(self._current)()
        remember_consumer_loop()
        await self.channel_layer.group_add(FLOOR_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "shown"):
            await self.channel_layer.group_discard(FLOOR_GROUP, self.channel_name)

    async def spools_changed(self, event: dict) -> None:
        html = await db_read(self._changes)(event.get("tags", []))
        if html:
            await self.send(text_data=html)

    # --- sync helpers (run in a thread) ----------------------------------------------

    def _shows_blocked(self) -> bool:
        return self.operacion == Operacion.REPARACION and self.accion == Accion.TOMAR

    def _current(self) -> tuple[set[str], set[str]]:
        """The rows the page shows (at most LIST_LIMIT), to know what a change removes."""
        tags = {
            s.tag
            for s in selectors.eligible(
                self.operacion, self.accion, self.worker, limit=selectors.LIST_LIMIT
            )
        }
        blocked: set[str] = set()
        if self._shows_blocked():
            blocked = set(
                Spool.objects.filter(
                    sheet_row__isnull=False, reparacion=ReparacionState.BLOQUEADO
                ).values_list("tag", flat=True)
            )
        return tags, blocked

    def _changes(self, tags: list[str]) -> str:
        if len(tags) > RESYNC_OVER:
            self.shown, self.blocked_shown = self._current()
            return f'<span id="list-resync" hx-swap-oob="true" data-changed="{len(tags)}"></span>'
        now = {
            s.tag: s
            for s in selectors.eligible(self.operacion, self.accion, self.worker, tags=tags)
        }
        blocked_now: dict[str, Spool] = {}
        if self._shows_blocked():
            blocked_now = {
                s.tag: s
                for s in Spool.objects.filter(
                    tag__in=tags, sheet_row__isnull=False, reparacion=ReparacionState.BLOQUEADO
                )
            }
        parts = []
        for tag in tags:
            was = tag in self.shown or tag in self.blocked_shown
            if was:
                parts.append(f'<li id="spool-{dom_id(tag)}" hx-swap-oob="delete"></li>')
            if tag in now:
                parts.append(self._row(now[tag], "#spool-list", blocked=False))
            elif tag in blocked_now:
                parts.append(self._row(blocked_now[tag], "#blocked-list", blocked=True))
            self.shown.discard(tag)
            self.blocked_shown.discard(tag)
            if tag in now:
                self.shown.add(tag)
            elif tag in blocked_now:
                self.blocked_shown.add(tag)
        return "".join(parts)  # empty when none of the changes touch this list

    def _row(self, spool: Spool, target: str, blocked: bool) -> str:
        row = render_to_string("occupation/_spool_row.html", {"spool": spool, "blocked": blocked})
        return f'<ul hx-swap-oob="beforeend:{target}">{row}</ul>'
