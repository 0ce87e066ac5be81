"""POST /spools/<TAG>/notas/ (product.md): who may add a note, what it answers, what it
records (the Note, one NOTA_AGREGADA event, one outbox entry), and the spool page's notes."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from spools.lifecycle import EventoTipo
from spools.models import Event, Note, OutboxEntry
from tests.notes.conftest import OFFICE_LINE, SLASH_TAG
from tests.plant import ARM_PENDING, logged_in, station_user, tv_user

pytestmark = pytest.mark.django_db

LINE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2} (\S+): (.*)$")


def notes_url(tag: str) -> str:
    return f"/spools/{tag}/notas/"


def recorded() -> tuple[int, int, int]:
    """What a note leaves behind: notes of the app, their events, outbox entries."""
    return (
        Note.objects.filter(from_sheet=False).count(),
        Event.objects.filter(evento_tipo=EventoTipo.NOTA_AGREGADA).count(),
        OutboxEntry.objects.count(),
    )


def test_a_note_from_the_tablet_is_signed_by_its_worker(notes_plant, station):
    response = station.post(notes_url(ARM_PENDING), {"texto": "Falta una brida", "worker": 93})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="notas-' in html and "Falta una brida" in html and "MR(93)" in html
    # The form comes back with the worker, for the next note from the same tablet row.
    assert 'name="worker" value="93"' in html
    note = Note.objects.get(tag=ARM_PENDING)
    assert (note.author, note.worker_id, note.account) == ("MR(93)", 93, "tablet-1")
    assert LINE.match(note.line).groups() == ("MR(93)", "Falta una brida")
    stamp = timezone.localtime(note.created).strftime("%Y-%m-%d %H:%M")
    assert note.line == f"{stamp} MR(93): Falta una brida"  # plant time
    event = note.event
    assert (event.evento_tipo, event.tag, event.worker_id, event.worker_nombre) == (
        EventoTipo.NOTA_AGREGADA,
        ARM_PENDING,
        93,
        "MR(93)",
    )
    assert event.metadata_json["texto"] == "Falta una brida"
    entry = OutboxEntry.objects.get(tag=ARM_PENDING, flushed_at__isnull=True)
    assert entry.cells == {"Notas": note.line}
    assert entry.metadata_row["ID"] == str(event.id)


def test_a_note_without_a_worker_is_signed_by_the_account(notes_plant, supervisor):
    response = logged_in(supervisor).post(notes_url(ARM_PENDING), {"texto": "Prioridad alta"})

    assert response.status_code == 200
    note = Note.objects.get(tag=ARM_PENDING)
    assert (note.author, note.worker_id) == ("ana", None)
    assert LINE.match(note.line).groups() == ("ana", "Prioridad alta")
    assert note.event.worker_nombre == "ADMIN:ana"


def test_a_note_is_one_line_of_at_most_500_characters(notes_plant, station):
    texto = "Revisar\n  la   soldadura\r\nde la brida 3"
    assert station.post(notes_url(ARM_PENDING), {"texto": texto}).status_code == 200
    assert Note.objects.get(from_sheet=False).texto == "Revisar la soldadura de la brida 3"

    assert station.post(notes_url(ARM_PENDING), {"texto": "x" * 500}).status_code == 200
    assert Note.objects.filter(texto="x" * 500).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"texto": ""}, "Escriba la nota: no puede ir vacía."),
        ({}, "Escriba la nota: no puede ir vacía."),
        ({"texto": " \n\t "}, "Escriba la nota: no puede ir vacía."),
        ({"texto": "y" * 501}, "La nota tiene 501 caracteres: el máximo es 500."),
        ({"texto": "ok", "worker": "MR"}, "Trabajador no válido: se espera su Id (un número)."),
        ({"texto": "ok", "worker": "0"}, "Trabajador no válido: se espera su Id (un número)."),
    ],
)
def test_a_bad_note_gets_400_with_a_spanish_message_and_nothing_recorded(
    notes_plant, station, data, message
):
    before = recorded()

    response = station.post(notes_url(ARM_PENDING), data)

    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'id="notas-' in html  # the fragment, so the page shows it where the form is
    assert recorded() == before


def test_what_was_typed_is_kept_after_a_400(notes_plant, station):
    response = station.post(notes_url(ARM_PENDING), {"texto": "z" * 501, "worker": 93})
    html = response.content.decode()
    assert "z" * 501 in html and 'name="worker" value="93"' in html


def test_unknown_spool_or_worker_gets_404(notes_plant, station):
    before = recorded()
    assert station.post(notes_url("NO-EXISTE"), {"texto": "hola"}).status_code == 404
    response = station.post(notes_url(ARM_PENDING), {"texto": "hola", "worker": 4242})
    assert response.status_code == 404
    assert "No existe el trabajador 4242." in response.content.decode()
    assert recorded() == before


def test_only_accounts_that_may_act_add_notes(notes_plant):
    before = recorded()
    screen = logged_in(tv_user())  # Pantalla: sees spool pages, does not act
    assert screen.post(notes_url(ARM_PENDING), {"texto": "hola"}).status_code == 403
    anonymous = Client().post(notes_url(ARM_PENDING), {"texto": "hola"})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert recorded() == before


def test_a_note_needs_the_csrf_token(notes_plant):
    client = Client(enforce_csrf_checks=True)
    client.force_login(station_user())
    assert client.post(notes_url(ARM_PENDING), {"texto": "hola"}).status_code == 403
    assert client.get(notes_url(ARM_PENDING)).status_code == 405
    assert recorded()[0] == 0


def test_a_double_tap_adds_the_note_once(notes_plant, station):
    data = {"texto": "Pieza golpeada", "worker": 93}
    assert station.post(notes_url(ARM_PENDING), data).status_code == 200
    assert station.post(notes_url(ARM_PENDING), data).status_code == 200
    assert recorded() == (1, 1, 1)


def test_a_tag_with_slashes_reaches_its_notes(notes_plant, station):
    response = station.post(notes_url(SLASH_TAG), {"texto": "Con barra", "worker": 93})
    assert response.status_code == 200
    assert Note.objects.filter(tag=SLASH_TAG, from_sheet=False).count() == 1


def test_the_spool_page_shows_notes_newest_first_and_the_form_to_who_may_act(notes_plant, station):
    station.post(notes_url(SLASH_TAG), {"texto": "Primera del turno", "worker": 93})
    second = Note.objects.get(texto="Primera del turno")
    Note.objects.filter(pk=second.pk).update(created=second.created.replace(year=2025))
    station.post(notes_url(SLASH_TAG), {"texto": "Segunda", "worker": 94})

    html = station.get(f"/spools/{SLASH_TAG}/").content.decode()
    assert 'class="nota-form"' in html and "Agregar nota" in html
    texts = re.findall(r'<p class="nota-texto">([^<]*)</p>', html)
    # The office's line (typed in the cell, read by the pull) sits among the app's by time.
    assert texts == ["Segunda", OFFICE_LINE.split(": ", 1)[1], "Primera del turno"]
    assert "JP(94)" in html and "jefa" in html and "escrita en la hoja" in html
    assert "por escribir en la hoja" in html  # not flushed yet

    screen = logged_in(tv_user()).get(f"/spools/{SLASH_TAG}/").content.decode()
    assert "Segunda" in screen and 'class="nota-form"' not in screen
