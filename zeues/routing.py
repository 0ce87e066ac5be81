"""WebSocket URL root: each app contributes its consumers' routes."""

from dashboard.routing import websocket_urlpatterns as dashboard_ws
from occupation.routing import websocket_urlpatterns as occupation_ws

websocket_urlpatterns: list = [*occupation_ws, *dashboard_ws]
