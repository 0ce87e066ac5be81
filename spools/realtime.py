"""The sockets' plumbing: sending to a Channels group from any thread, which pages may open
a socket (the exact origin), and closing a user's sockets when their access changes.

With the in-memory layer (one process) the message must be put on the event loop that runs
the consumers; with Redis any loop works, but connection pools are kept per loop, so
processes without consumers (the sync worker) use one long-lived loop of their own.

A socket outlives the request that opened it: when its user logs out, changes group or
permissions, or is deactivated or deleted, `UserSocketsMixin` consumers close with 4401
(the page goes to the login, which lets it back in if it still may).
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from channels.layers import get_channel_layer
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth import get_user_model, user_logged_out
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http.request import split_domain_port, validate_host

log = logging.getLogger(__name__)

_consumer_loop: asyncio.AbstractEventLoop | None = None
_own_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def remember_consumer_loop() -> None:
    """Called by consumers when they connect: broadcasts go to their loop."""
    global _consumer_loop
    _consumer_loop = asyncio.get_running_loop()


def _loop() -> asyncio.AbstractEventLoop:
    global _own_loop
    if _consumer_loop is not None and _consumer_loop.is_running():
        return _consumer_loop
    with _lock:
        if _own_loop is None:
            _own_loop = asyncio.new_event_loop()
            threading.Thread(
                target=_own_loop.run_forever, name="zeues-broadcast", daemon=True
            ).start()
        return _own_loop


def send_to_group(group: str, message: dict) -> None:
    """Queue `message` for `group` without blocking the caller; failures are logged only
    (a dashboard that misses a push re-syncs when it reconnects)."""
    layer = get_channel_layer()
    if layer is None:
        return
    future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), _loop())

    def done(f) -> None:
        if f.exception() is not None:
            log.warning("broadcast to %s failed: %s", group, f.exception())

    future.add_done_callback(done)


# --- which pages may open a socket ----------------------------------------------------------

DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int]


def parse_origin(value: str) -> Origin | None:
    """(scheme, host, port) of an origin like `https://zeues.planta.local:8443`."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


def socket_origin(scope: dict) -> Origin | None:
    """The socket request's own origin: its scheme (wss, or https by the TLS proxy's header
    when Django trusts it) and its Host, which must be an allowed host."""
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        name, secure = proxy_header
        forwarded = _header(scope, name.removeprefix("HTTP_").lower().replace("_", "-").encode())
        if forwarded is not None:
            scheme = "https" if forwarded.split(",")[0].strip() == secure else "http"
    host = _header(scope, b"host")
    if not host:
        return None
    domain, port = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]  # as Django's own request.get_host
    if not domain or not validate_host(domain, allowed):
        return None
    return parse_origin(f"{scheme}://{domain}:{port}" if port else f"{scheme}://{domain}")


def origin_allowed(scope: dict) -> bool:
    """The page's Origin is the socket's own scheme://host:port, or exactly one of
    DJANGO_CSRF_TRUSTED_ORIGINS. A page on another port or scheme of the same host is not."""
    origin = parse_origin(_header(scope, b"origin") or "")
    if origin is None:
        return False
    trusted = {parse_origin(o) for o in settings.CSRF_TRUSTED_ORIGINS}
    return origin == socket_origin(scope) or origin in trusted


class SameOriginValidator:
    """ASGI middleware for the websocket router: refuses (403) a socket `origin_allowed`
    does not accept, before any consumer runs."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        if origin_allowed(scope):
            # Stamped before the session and the user are read (see UserSocketsMixin).
            scope = {**scope, OPENED_AT: time.time()}
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)


# --- closing a user's sockets when their access changes -------------------------------------

ACCESS_CHANGED = 4401
OPENED_AT = "zeues_opened_at"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


class UserSocketsMixin:
    """For consumers: `join_user_group` once the user is authorised, `leave_user_group` in
    disconnect; the socket closes with 4401 when `close_user_sockets` names its user."""

    async def join_user_group(self) -> None:
        self.user_group = user_group(self.scope["user"].pk)
        await self.channel_layer.group_add(self.user_group, self.channel_name)

    async def leave_user_group(self) -> None:
        if hasattr(self, "user_group"):
            await self.channel_layer.group_discard(self.user_group, self.channel_name)

    async def websocket_connect(self, message: dict) -> None:
        self.opened_at = self.scope.get(OPENED_AT, time.time())
        await super().websocket_connect(message)  # type: ignore[misc]

    async def user_access_changed(self, event: dict) -> None:
        # A change committed before this socket read its user's rights is already in them
        # (the notice, sent after commit, can arrive after a fresh socket joined).
        if event.get("at", math.inf) < self.opened_at:
            return
        await self.close(code=ACCESS_CHANGED)


def close_user_sockets(user_ids: Any) -> None:
    """After commit (a rolled-back change closes nothing), close these users' sockets."""
    ids = sorted({int(i) for i in user_ids})
    if not ids:
        return

    def send() -> None:
        message = {"type": "user.access_changed", "at": time.time()}
        for user_id in ids:
            send_to_group(user_group(user_id), message)

    transaction.on_commit(send)


def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None and user.pk is not None:
        close_user_sockets([user.pk])


def _user_saved(sender: Any, instance: Any, created: bool, update_fields: Any, **kwargs: Any):
    if not created and not instance.is_active:
        close_user_sockets([instance.pk])


def _user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    close_user_sockets([instance.pk])


def _user_rights_changed(sender: Any, instance: Any, action: str, reverse: bool, pk_set, **kw):
    """User.groups / User.user_permissions changed, from either side of the relation."""
    if action not in {"post_add", "post_remove", "pre_clear"}:
        return
    if not reverse:  # user.groups.add(...)
        close_user_sockets([instance.pk])
    elif action == "pre_clear":  # group.user_set.clear(): the members before they go
        close_user_sockets(instance.user_set.values_list("pk", flat=True))
    else:  # group.user_set.add(user, ...)
        close_user_sockets(pk_set or [])


def _group_permissions_changed(sender: Any, instance: Any, action: str, reverse: bool, **kw):
    """Group.permissions changed: every member may have lost something."""
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    User = get_user_model()
    groups = [instance.pk] if not reverse else kw.get("pk_set") or []
    close_user_sockets(User.objects.filter(groups__in=groups).values_list("pk", flat=True))


def connect_access_receivers() -> None:
    """Called from SpoolsConfig.ready()."""
    User = get_user_model()
    user_logged_out.connect(_logged_out, dispatch_uid="zeues-sockets-logout")
    post_save.connect(_user_saved, sender=User, dispatch_uid="zeues-sockets-user-saved")
    post_delete.connect(_user_deleted, sender=User, dispatch_uid="zeues-sockets-user-deleted")
    for through in (User.groups.through, User.user_permissions.through):
        m2m_changed.connect(
            _user_rights_changed, sender=through, dispatch_uid=f"zeues-sockets-{through.__name__}"
        )
    m2m_changed.connect(
        _group_permissions_changed,
        sender=Group.permissions.through,
        dispatch_uid="zeues-sockets-group-permissions",
    )
