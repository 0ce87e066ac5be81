"""The wall dashboard: the page, and its live pushes over the WebSocket."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser, Group, User

from dashboard.routing import websocket_urlpatterns
from dashboard.selectors import ALERTS_SHOWN, OCCUPIED_SHOWN
from occupation.services import ActionCommand, perform_action
from tests.plant import (
    ARM_IN_PROGRESS,
    ARM_PENDING,
    BLOCKED,
    build_plant,
    crowded_floor,
    tv_user,
)


@pytest.fixture
def wall(client, sheet_store, db):
    build_plant()
    tv_user()
    client.login(username="tv-1", password="pw-tv-1")
    return client


def test_the_tv_account_sees_occupations_stages_alerts_and_events(wall):
    page = wall.get("/dashboard/")
    assert page.status_code == 200
    html = page.text
    assert 'ws-connect="/ws/dashboard/"' in html
    for fragment_id in ('id="occupied"', 'id="stage-counts"', 'id="alerts"', 'id="events"'):
        assert fragment_id in html
    assert ARM_IN_PROGRESS in html and "MR(93)" in html  # occupied now
    assert BLOCKED in html and "BLOQUEADOS" in html  # alert
    assert 'data-stage="bloqueado"' in html


def test_an_old_occupation_is_flagged(wall, settings):
    settings.ZEUES_LONG_OCCUPATION_HOURS = 1  # the plant's occupations date from May
    html = wall.get("/dashboard/").text
    assert "Ocupados hace más de 1 h" in html
    assert "too-long" in html


def test_a_crowded_floor_lists_what_fits_the_wall_and_counts_the_rest(client, sheet_store, db):
    n = OCCUPIED_SHOWN + 5
    crowded_floor(n)
    tv_user()
    client.login(username="tv-1", password="pw-tv-1")
    html = client.get("/dashboard/").text
    occupied = html.split('id="occupied"')[1].split('id="stage-counts"')[0]
    assert f'<span class="count">{n}</span>' in occupied
    assert "MK-WALL-000" in occupied  # the oldest first: the ones to look at
    assert f"MK-WALL-{OCCUPIED_SHOWN - 1:03d}" in occupied
    assert f"MK-WALL-{OCCUPIED_SHOWN:03d}" not in occupied
    assert "y 5 más" in occupied
    alerts = html.split('id="alerts"')[1]
    assert f'Ocupados hace más de 8 h <span class="count">{n}</span>' in alerts
    assert alerts.count('class="long"') == ALERTS_SHOWN
    assert f"y {n - ALERTS_SHOWN} más" in alerts


def test_an_account_without_the_permission_gets_403(client, db):
    User.objects.create_user("nobody", password="pw")
    client.login(username="nobody", password="pw")
    assert client.get("/dashboard/").status_code == 403


def communicator(user) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/dashboard/")
    comm.scope["user"] = user
    return comm


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_an_unauthenticated_dashboard_socket_is_refused(sheet_store):
    connected, _ = await communicator(AnonymousUser()).connect()
    assert not connected


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_station_without_dashboard_permission_cannot_listen(sheet_store):
    user = await database_sync_to_async(User.objects.create_user)("x", password="x")
    connected, _ = await communicator(user).connect()
    assert not connected


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_an_action_pushes_the_dashboard_fragments(sheet_store):
    await database_sync_to_async(build_plant)()
    tv = await database_sync_to_async(tv_user)()
    screen = communicator(tv)
    connected, _ = await screen.connect()
    assert connected
    first = await screen.receive_from(timeout=3)  # everything, on (re)connect
    assert (
        'id="occupied" hx-swap-oob="true"' in first
        and ARM_PENDING not in first.split('id="stage-counts"')[0]
    )

    outcome = await database_sync_to_async(perform_action)(
        ActionCommand("ARM", "TOMAR", 100, [ARM_PENDING])
    )
    assert outcome.status == 200
    push = await screen.receive_from(timeout=3)
    occupied = push.split('id="stage-counts"')[0]
    assert ARM_PENDING in occupied and "DF(100)" in occupied
    assert 'id="events" hx-swap-oob="true"' in push and "TOMAR_SPOOL" in push
    await screen.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_supervisor_override_pushes_the_dashboard_fragments_too(sheet_store):
    from spools import overrides
    from tests.plant import BLOCKED

    def supervisor() -> User:
        user = User.objects.create_user("jefa", password="x", is_staff=True)
        user.groups.add(Group.objects.get(name="Supervisor"))
        return user

    await database_sync_to_async(build_plant)()
    tv = await database_sync_to_async(tv_user)()
    boss = await database_sync_to_async(supervisor)()
    screen = communicator(tv)
    assert (await screen.connect())[0]
    first = await screen.receive_from(timeout=3)
    assert BLOCKED in first.split('id="events"')[0]  # in the BLOQUEADO alert

    await database_sync_to_async(overrides.desbloquear)(BLOCKED, boss)
    push = await screen.receive_from(timeout=3)
    alerts = push.split('id="alerts"')[1].split('id="events"')[0]
    assert BLOCKED not in alerts  # no longer blocked
    assert "SUPERVISOR_OVERRIDE" in push.split('id="events"')[1]
    await screen.disconnect()
