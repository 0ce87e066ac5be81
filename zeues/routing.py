"""WebSocket URL root: each app contributes its consumers' routes."""

from channels.generic.websocket import WebsocketConsumer
from django.urls import re_path

from dashboard.routing import websocket_urlpatterns as dashboard_ws
from occupation.routing import websocket_urlpatterns as occupation_ws

NOT_FOUND = 4404


class NotFoundConsumer(WebsocketConsumer):
    """Any other path: accepted only to close with 4404 (a refusal before accepting reaches
    the browser as a bare 403), instead of the router's "No route found" traceback."""

    def connect(self):
        self.accept()
        self.close(code=NOT_FOUND)


websocket_urlpatterns: list = [
    *occupation_ws,
    *dashboard_ws,
    re_path(r"", NotFoundConsumer.as_asgi()),  # last: matches every path
]
