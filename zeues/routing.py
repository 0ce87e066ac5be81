"""WebSocket URL root: each app contributes its consumers' routes."""

from occupation.routing import websocket_urlpatterns as occupation_ws

websocket_urlpatterns: list = [*occupation_ws]
