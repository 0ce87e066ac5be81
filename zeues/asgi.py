"""ASGI entry point: HTTP through Django, WebSockets through Channels.

``daphne zeues.asgi:application`` is a complete deployment (WhiteNoise serves static files).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zeues.settings")
# Django must be set up before anything imports models (the consumers do).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from spools.realtime import SameOriginValidator  # noqa: E402
from zeues.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Only pages of this very origin (scheme://host:port) or a trusted one may open a
        # socket: a page on another port of the same host must not read live data.
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)


if settings.ZEUES_SYNC_IN_WEB:
    # The embedded default: this process flushes right after each action (the action
    # kicks the loop) and pulls on a timer. With a `sync_sheets` worker too, the database
    # lease makes exactly one of them do the work.
    from spools.workbook.sync import start_background_sync

    start_background_sync()
