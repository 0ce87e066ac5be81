"""Who may keep a live socket: only pages of this very origin open one, and a user's sockets
close (4401) when they log out, change groups or are deactivated. The real ASGI application
(origin check, session auth, routing), Channels' WebsocketCommunicator, a real session."""

from __future__ import annotations

import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client

from tests.plant import build_plant, station_user, tv_user

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

HOST = "localhost:8000"
SAME = "http://localhost:8000"
TABLET_LIST = "/ws/lista/ARM/100/TOMAR/"
DASHBOARD = "/ws/dashboard/"


def session_of(user) -> Client:
    """A browser of `user`: a real session made by Django's test client."""
    client = Client()
    client.force_login(user)
    return client


def socket(client: Client, path: str, origin: str = SAME, host: str = HOST, **scope):
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    headers = [(b"host", host.encode()), (b"origin", origin.encode()), (b"cookie", cookie.encode())]
    from zeues.asgi import application

    comm = WebsocketCommunicator(application, path, headers=headers)
    comm.scope.update(scope)
    return comm


async def opens(comm: WebsocketCommunicator) -> bool:
    connected, _ = await comm.connect()
    if connected:
        await comm.disconnect()
    return connected


@pytest.fixture
def tv(transactional_db):
    return session_of(tv_user())


@pytest.fixture
def floor(transactional_db, sheet_store):
    """The small plant, and a tablet's session."""
    build_plant()
    return session_of(station_user())


# --- origin ---------------------------------------------------------------------------------


async def test_a_socket_from_the_page_own_origin_opens(tv):
    assert await opens(socket(tv, DASHBOARD))


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost:9000",  # another port of the same host
        "https://localhost:8000",  # https page, plain socket
        "http://localhost",  # port 80
        "http://evil.example",
        "null",
        "",
    ],
)
async def test_a_socket_from_another_origin_is_refused(tv, origin):
    assert not await opens(socket(tv, DASHBOARD, origin=origin))


async def test_a_socket_to_a_host_that_is_not_allowed_is_refused(tv):
    comm = socket(tv, DASHBOARD, origin="http://evil.example:8000", host="evil.example:8000")
    assert not await opens(comm)


async def test_the_scheme_is_the_socket_own_wss_or_the_tls_proxy_header(tv, settings):
    assert await opens(socket(tv, DASHBOARD, origin="https://localhost:8000", scheme="wss"))
    assert not await opens(socket(tv, DASHBOARD, origin=SAME, scheme="wss"))

    # Behind the TLS proxy (DJANGO_HTTPS): X-Forwarded-Proto says https, only when trusted.
    https_page = socket(tv, DASHBOARD, origin="https://localhost")
    https_page.scope["headers"].append((b"x-forwarded-proto", b"https"))
    https_page.scope["headers"][0] = (b"host", b"localhost")
    assert not await opens(https_page)
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    https_page = socket(tv, DASHBOARD, origin="https://localhost", host="localhost")
    https_page.scope["headers"].append((b"x-forwarded-proto", b"https"))
    assert await opens(https_page)


async def test_a_trusted_origin_is_accepted_exactly(tv, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://zeues.planta.example"]
    assert await opens(socket(tv, DASHBOARD, origin="https://zeues.planta.example"))
    assert await opens(socket(tv, DASHBOARD, origin="https://zeues.planta.example:443"))
    assert not await opens(socket(tv, DASHBOARD, origin="https://zeues.planta.example:8443"))
    assert not await opens(socket(tv, DASHBOARD, origin="http://zeues.planta.example"))
    assert not await opens(socket(tv, DASHBOARD, origin="https://otra.planta.example"))


# --- closed when access changes -------------------------------------------------------------


async def open_socket(client: Client, path: str) -> WebsocketCommunicator:
    comm = socket(client, path)
    connected, _ = await comm.connect()
    assert connected
    if path == DASHBOARD:
        await comm.receive_from(timeout=5)  # everything, sent on connect
    return comm


async def closes_with_4401(comm: WebsocketCommunicator) -> bool:
    message = await comm.receive_output(timeout=3)
    return message == {"type": "websocket.close", "code": 4401}


async def test_a_tablet_socket_closes_when_its_user_logs_out(floor, tv):
    tablet = await open_socket(floor, TABLET_LIST)
    other_station = await sync_to_async(lambda: session_of(station_user("tablet-2")))()
    other_tablet = await open_socket(other_station, TABLET_LIST)
    wall = await open_socket(tv, DASHBOARD)

    response = await sync_to_async(floor.post)("/accounts/logout/")  # the page's Salir
    assert response.status_code == 302

    assert await closes_with_4401(tablet)
    # Other users' sockets stay open.
    assert await other_tablet.receive_nothing(timeout=0.3)
    assert await wall.receive_nothing(timeout=0.3)
    # The logged-out session cannot open a new one either.
    assert await socket(floor, TABLET_LIST).connect() == (False, 4401)
    for comm in (other_tablet, wall):
        await comm.disconnect()


async def test_the_wall_socket_closes_when_its_user_logs_out(tv):
    wall = await open_socket(tv, DASHBOARD)
    assert (await sync_to_async(tv.post)("/accounts/logout/")).status_code == 302
    assert await closes_with_4401(wall)


async def test_a_socket_closes_when_its_user_changes_group(floor):
    tablet = await open_socket(floor, TABLET_LIST)

    def leave_estacion():
        from django.contrib.auth.models import User

        user = User.objects.get(username="tablet-1")
        user.groups.remove(Group.objects.get(name="Estación"))

    await sync_to_async(leave_estacion)()
    assert await closes_with_4401(tablet)
    # Reconnecting, the page learns it may no longer (4403 before accepting).
    comm = socket(floor, TABLET_LIST)
    assert await comm.connect() == (False, 4403)


async def test_a_socket_closes_when_its_group_is_emptied_from_the_group_side(floor):
    tablet = await open_socket(floor, TABLET_LIST)
    await sync_to_async(lambda: Group.objects.get(name="Estación").user_set.clear())()
    assert await closes_with_4401(tablet)


async def test_a_socket_closes_when_its_account_is_deactivated(floor, tv):
    tablet = await open_socket(floor, TABLET_LIST)
    wall = await open_socket(tv, DASHBOARD)

    def deactivate():
        from django.contrib.auth.models import User

        user = User.objects.get(username="tablet-1")
        user.is_active = False
        user.save()

    await sync_to_async(deactivate)()
    assert await closes_with_4401(tablet)
    assert await wall.receive_nothing(timeout=0.3)
    await wall.disconnect()


async def test_a_change_rolled_back_closes_nothing(floor):
    tablet = await open_socket(floor, TABLET_LIST)

    def change_and_roll_back():
        from django.contrib.auth.models import User
        from django.db import transaction

        with transaction.atomic():
            User.objects.get(username="tablet-1").groups.clear()
            transaction.set_rollback(True)

    await sync_to_async(change_and_roll_back)()
    assert await tablet.receive_nothing(timeout=0.5)
    await tablet.disconnect()


async def test_a_socket_opened_after_the_change_stays_open(floor):
    """The notice of a change goes out after commit and may reach a socket that opened just
    after it (and so already saw the new rights): that socket stays open."""
    from channels.layers import get_channel_layer

    from spools.realtime import user_group

    before = time.time()
    tablet = await open_socket(floor, TABLET_LIST)
    user_id = await sync_to_async(lambda: int(floor.session["_auth_user_id"]))()
    late_notice = {"type": "user.access_changed", "at": before}
    await get_channel_layer().group_send(user_group(user_id), late_notice)
    assert await tablet.receive_nothing(timeout=0.3)
    await tablet.disconnect()
