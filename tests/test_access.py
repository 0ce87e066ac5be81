"""Who can reach what: login everywhere but the login page and /healthz."""

import pytest
from django.contrib.auth.models import Group, User


@pytest.fixture
def station_user(db):
    user = User.objects.create_user("tablet-1", password="pw-tablet-1")
    user.groups.add(Group.objects.get(name="Estación"))
    return user


def test_login_page_is_spanish(client, db):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert "Ingresar" in page.text and "Contraseña" in page.text


@pytest.mark.parametrize("url", ["/", "/spools/MK-1/", "/admin/"])
def test_pages_need_a_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_a_station_reaches_the_operation_choice(client, station_user):
    client.login(username="tablet-1", password="pw-tablet-1")
    page = client.get("/")
    assert page.status_code == 200
    for label in ("ARMADO", "SOLDADURA", "METROLOGÍA", "REPARACIÓN"):
        assert label in page.text


def test_unknown_spool_is_a_spanish_404(client, station_user):
    client.login(username="tablet-1", password="pw-tablet-1")
    response = client.get("/spools/NO-EXISTE/")
    assert response.status_code == 404
    assert "No existe el spool NO-EXISTE" in response.text


def test_groups_carry_permissions_not_names(station_user):
    assert station_user.has_perm("spools.perform_actions")
    tv = User.objects.create_user("tv", password="x")
    tv.groups.add(Group.objects.get(name="Pantalla"))
    assert tv.has_perm("spools.view_dashboard") and not tv.has_perm("spools.perform_actions")
    boss = User.objects.create_user("boss", password="x")
    boss.groups.add(Group.objects.get(name="Supervisor"))
    assert boss.has_perm("spools.override_spool")


def test_healthz_is_public_json_without_secrets(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert set(body["sheet"]) >= {
        "backend",
        "outbox_pending",
        "last_pull_at",
        "last_flush_at",
        "last_error",
    }
    assert body["sheet"]["backend"] == "local"
    assert isinstance(body["sheet"]["outbox_pending"], int)
    assert "SECRET" not in response.text and "password" not in response.text.lower()


def test_an_htmx_request_after_the_session_expired_reloads_the_login_page(client, db):
    response = client.post(
        "/acciones/",
        {"operacion": "ARM"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/t/ARM/93/TOMAR/confirmar/?tags=x",
    )
    assert response["HX-Redirect"] == "/accounts/login/?next=%2Ft%2FARM%2F93%2FTOMAR%2Fconfirmar%2F"
