"""ASGI entry point: HTTP through Django, WebSockets through Channels.

``daphne zeues.asgi:application`` is a complete deployment (WhiteNoise serves static files).
"""

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zeues.settings")
# Django must be set up before anything imports models (the consumers do).
django.setup(set_prefix=False)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from spools.realtime import SameOriginValidator  # noqa: E402
from zeues.handler import PooledThreadsASGIHandler  # noqa: E402
from zeues.routing import websocket_urlpatterns  # noqa: E402

django_asgi_app = PooledThreadsASGIHandler(settings.ZEUES_REQUEST_THREADS)

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

# What is loaded by now lives as long as the process: keep it out of the garbage
# collector's full passes (one took ~90 ms in the bench, every request waiting on it).
gc.freeze()
