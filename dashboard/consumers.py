"""The wall dashboard's socket: join the `dashboard` group and pass the pushed HTML on."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from dashboard.live import GROUP, publisher, render_live_fragments
from spools.realtime import UserSocketsMixin, remember_consumer_loop


class DashboardConsumer(UserSocketsMixin, AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        if not await database_sync_to_async(user.has_perm)("spools.view_dashboard"):
            await self.close(code=4403)
            return
        remember_consumer_loop()
        await self.join_user_group()  # closed (4401) when this user logs out or loses access
        await self.channel_layer.group_add(GROUP, self.channel_name)
        self.joined = True
        publisher.listener_joined()
        await self.accept()
        # A (re)connected screen gets everything at once: nothing missed while it was away.
        html = await database_sync_to_async(render_live_fragments)(oob=True)
        await self.send(text_data=html)

    async def disconnect(self, code: int) -> None:
        await self.leave_user_group()
        if getattr(self, "joined", False):
            publisher.listener_left()
            await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def dashboard_update(self, event: dict) -> None:
        await self.send(text_data=event["html"])
