"""WebSocket URL root: each app contributes its consumers' routes."""

websocket_urlpatterns: list = []
