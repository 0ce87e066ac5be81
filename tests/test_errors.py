"""Error answers a person can land on are Spanish, one log line each, and never a 500 for a
request Django cannot read (a charset other than UTF-8, too many fields, a broken or huge
body); an unknown WebSocket path closes with 4404."""

from __future__ import annotations

import logging
from urllib.parse import quote_from_bytes

import pytest
from channels.testing import WebsocketCommunicator
from django.http import HttpResponse
from django.template import loader
from django.test import Client
from django.urls import path

from tests.plant import station_user

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
PENDING = "MK-1923-TW-17422-002"  # materials in, ARM not started: TOMAR would succeed
ENGLISH = (
    "Bad Request",
    "Server Error",
    "Not Found",
    "must be UTF-8",
    "matches the given query",
    "Resolver404",
    "DATA_UPLOAD",
    "exceeded",
    "multipart",
    "Traceback",
)


def take(tag: str = PENDING, charset: str = "latin-1") -> bytes:
    """A TOMAR form body in the given charset (a note carries non-ASCII letters)."""
    fields = {"operacion": "ARM", "accion": "TOMAR", "worker": "100", "tags": tag, "nota": "Ñandú"}
    return "&".join(
        f"{k}={quote_from_bytes(v.encode(charset))}" for k, v in fields.items()
    ).encode()


def strict_station() -> Client:
    """A logged-in tablet whose client checks CSRF: it holds the CSRF cookie (it has seen a
    page) but its POSTs carry no token."""
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(station_user())
    assert client.get("/").status_code == 200
    return client


def assert_spanish(response, *spanish: str) -> None:
    text = response.content.decode()
    for words in spanish:
        assert words in text, text
    for words in ENGLISH:
        assert words not in text, words


def warnings_and_errors(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


def spool_state():
    from spools.models import Event, Spool

    return list(Spool.objects.order_by("tag").values_list("tag", "version", "ocupado_por")), (
        Event.objects.count()
    )


# --- 400: bodies Django cannot read -------------------------------------------------------


@pytest.mark.parametrize("charset", ["latin-1", "nope", "utf-16"])
def test_a_form_in_another_charset_is_a_spanish_400_that_changes_nothing(plant, caplog, charset):
    before = spool_state()
    client = strict_station()
    caplog.clear()
    body = take(charset="latin-1" if charset == "nope" else charset)
    response = client.generic("POST", "/acciones/", body, f"{FORM}; charset={charset}")
    assert response.status_code == 400
    assert_spanish(response, "Solicitud no válida", "no están en UTF-8", "No se registró nada")
    assert spool_state() == before
    logged = warnings_and_errors(caplog)
    assert len(logged) == 1, [r.getMessage() for r in logged]
    assert charset in logged[0].getMessage()


@pytest.mark.parametrize("charset", ["utf-8", "UTF8"])
def test_the_same_form_in_utf8_is_taken(plant, charset):
    client = Client()
    client.force_login(station_user())
    response = client.generic(
        "POST", "/acciones/", take(charset="utf-8"), f"{FORM}; charset={charset}"
    )
    assert response.status_code == 200, response.content.decode()
    from spools.models import Spool

    assert Spool.objects.get(tag=PENDING).ocupado_por == "DF(100)"


def test_too_many_fields_is_a_spanish_400(station, settings, caplog):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    caplog.clear()
    body = "&".join(f"tags=T{i}" for i in range(20))
    response = station.post("/acciones/", body, content_type=FORM)
    assert response.status_code == 400
    assert_spanish(response, "demasiados campos")
    assert len(warnings_and_errors(caplog)) == 1


def test_too_many_multipart_fields_is_a_spanish_400(station, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    response = station.post("/acciones/", {"tags": [f"T{i}" for i in range(20)]})
    assert response.status_code == 400
    assert_spanish(response, "demasiados campos")


def test_too_many_query_parameters_is_a_spanish_400(station, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    response = station.get("/", {f"p{i}": i for i in range(20)})
    assert response.status_code == 400
    assert_spanish(response, "demasiados campos")


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",
        "multipart/form-data; boundary=\x7f\x7f",
        "multipart/form-data; boundary=",
    ],
)
def test_a_broken_multipart_body_is_a_spanish_400(plant, caplog, content_type):
    before = spool_state()
    client = strict_station()
    caplog.clear()
    response = client.generic("POST", "/acciones/", b"--x\r\nbroken", content_type)
    assert response.status_code == 400
    assert_spanish(response, "incompletos o dañados")
    assert spool_state() == before
    assert len(warnings_and_errors(caplog)) == 1


@pytest.mark.parametrize("content_type", [FORM, "multipart/form-data; boundary=BoUnDaRy"])
def test_a_body_over_the_size_limit_is_a_spanish_400(plant, settings, content_type):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    before = spool_state()
    if content_type == FORM:
        body = take(charset="utf-8") + b"&relleno=" + b"x" * 2000
    else:
        body = (
            b'--BoUnDaRy\r\nContent-Disposition: form-data; name="relleno"\r\n\r\n'
            + b"x" * 2000
            + b"\r\n--BoUnDaRy--\r\n"
        )
    response = strict_station().generic("POST", "/acciones/", body, content_type)
    assert response.status_code == 400
    assert_spanish(response, "demasiado grandes")
    assert spool_state() == before


# --- 404: the view's Spanish message, or a generic Spanish one ----------------------------


def test_get_object_or_404_shows_spanish_not_django_english(station):
    response = station.get("/t/ARM/99999/")  # no such worker: get_object_or_404
    assert response.status_code == 404
    assert_spanish(response, "No encontrado", "no existe")
    assert "Worker" not in response.content.decode()


def test_an_unknown_url_is_a_spanish_404(station):
    response = station.get("/no-hay-tal-pagina/")
    assert response.status_code == 404
    assert_spanish(response, "No encontrado", "no existe")


def test_a_views_own_spanish_404_message_is_kept(station):
    response = station.get("/spools/NO-EXISTE/")
    assert response.status_code == 404
    assert_spanish(response, "No existe el spool NO-EXISTE")


# --- 500 -----------------------------------------------------------------------------------


def broken_view(request):
    raise RuntimeError("boom")


def fine_view(request):
    return HttpResponse("ok")


urlpatterns = [path("roto/", broken_view), path("bien/", fine_view)]


def test_the_500_page_renders_without_a_request_or_context():
    html = loader.get_template("500.html").render()
    assert "Error del servidor" in html and 'lang="es-CL"' in html
    assert "{%" not in html and "{{" not in html


@pytest.mark.urls("tests.test_errors")
def test_an_error_in_a_view_is_the_spanish_500_page(db):
    response = Client(raise_request_exception=False).get("/roto/")
    assert response.status_code == 500
    assert_spanish(response, "Error del servidor", "Volver al inicio")
    assert "boom" not in response.content.decode()


# --- WebSocket -----------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("ws_path", ["/ws/nada/", "/ws/lista/ARM/no-es-numero/TOMAR/", "/"])
async def test_an_unknown_socket_path_closes_with_4404(ws_path, caplog):
    from zeues.asgi import application

    headers = [(b"host", b"localhost"), (b"origin", b"http://localhost")]  # same origin
    comm = WebsocketCommunicator(application, ws_path, headers=headers)
    connected, _ = await comm.connect()
    assert connected
    assert await comm.receive_output() == {"type": "websocket.close", "code": 4404}
    await comm.wait()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


# --- 403: a form whose CSRF token is missing or stale ----------------------------------------


def test_a_post_without_its_csrf_token_is_a_spanish_403_that_changes_nothing(plant, caplog):
    """A tablet page left open across a new login posts a stale token: Django's own page says
    "CSRF verification failed" in English; the worker is told what to do, nothing changes."""
    before = spool_state()
    client = strict_station()
    response = client.post("/acciones/", take(charset="utf-8"), content_type=FORM)
    assert response.status_code == 403
    assert_spanish(response, "La página caducó", "Nada se registró")
    assert "verification failed" not in response.content.decode()
    assert spool_state() == before
    assert len(warnings_and_errors(caplog)) == 1
