"""A row pushed live into a tablet's list carries the note form of that list's worker, as
the row the page rendered does (otherwise its note would be signed by the station)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from occupation.services import ActionCommand, perform_action
from spools.lifecycle import Accion, Operacion
from tests.plant import build_plant, station_user
from tests.security.test_socket_access import open_socket

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

PENDING = "MK-1923-TW-17422-002"  # materials in, ARM not started


@pytest.fixture
def tablet(transactional_db, sheet_store) -> Client:
    build_plant()
    client = Client()
    client.force_login(station_user())
    return client


async def test_a_row_pushed_into_the_pausar_list_signs_notes_as_its_worker(tablet):
    pausar_list = await open_socket(tablet, "/ws/lista/ARM/100/PAUSAR/")

    cmd = ActionCommand(Operacion.ARM, Accion.TOMAR, 100, [PENDING], account="tablet")
    outcome = await sync_to_async(perform_action)(cmd)
    assert outcome.status == 200

    html = await pausar_list.receive_from(timeout=5)
    assert PENDING in html
    assert 'name="worker" value="100"' in html
    await pausar_list.disconnect()
