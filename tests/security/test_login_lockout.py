"""Login failure limits (django-axes, as deployed): after 5 wrong passwords for an account,
or from an address, logins wait 15 minutes, on /accounts/login/ and /admin/login/ alike; the
page says in Spanish when to try again; a supervisor unlocks from the admin."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client

from tests.plant import make_user

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture
def boss():
    """The demo's supervisor account: staff, group Supervisor."""
    return make_user("supervisor", "Supervisor", staff=True)


def log_in(client: Client, username: str, password: str, url: str = LOGIN):
    return client.post(url, {"username": username, "password": password})


def logged_in(response) -> bool:
    return response.status_code == 302 and "login" not in response["Location"]


def fail(client: Client, username: str, times: int, url: str = LOGIN) -> None:
    for _ in range(times):
        response = log_in(client, username, "wrong-password", url)
        assert response.status_code in (200, 429)


@pytest.mark.parametrize("url", [LOGIN, ADMIN_LOGIN])
def test_the_right_password_is_refused_after_five_wrong_ones(client, boss, url):
    fail(client, "supervisor", settings.AXES_FAILURE_LIMIT, url)

    response = log_in(client, "supervisor", "pw-supervisor", url)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    text = response.text
    assert "Ingreso bloqueado" in text and "Demasiados intentos fallidos" in text
    assert "Espere 15 minutos" in text
    assert re.search(r"a partir de las \d\d:\d\d", text)


def test_four_wrong_passwords_still_let_the_right_one_in(client, boss):
    fail(client, "supervisor", settings.AXES_FAILURE_LIMIT - 1)
    assert logged_in(log_in(client, "supervisor", "pw-supervisor"))


def test_the_account_is_locked_from_every_address(boss):
    fail(Client(REMOTE_ADDR="10.0.0.7"), "supervisor", 5)
    assert log_in(Client(REMOTE_ADDR="10.0.0.8"), "supervisor", "pw-supervisor").status_code == 429


def test_an_address_guessing_many_accounts_is_locked_for_all_of_them(boss):
    make_user("tablet-1", "Estación")
    attacker = Client(REMOTE_ADDR="10.0.0.66")
    for name in ("ana", "beto", "carla", "dario", "eva"):
        log_in(attacker, name, "wrong-password")

    assert log_in(attacker, "tablet-1", "pw-tablet-1").status_code == 429
    # Everyone else keeps logging in.
    assert logged_in(log_in(Client(REMOTE_ADDR="10.0.0.5"), "tablet-1", "pw-tablet-1"))


def test_behind_the_tls_proxy_the_address_is_the_one_it_appends(boss, settings):
    make_user("tablet-1", "Estación")
    settings.ZEUES_PROXY_COUNT = 1
    proxy = "10.0.0.1"  # every request comes from the proxy
    attacker = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    for name in ("ana", "beto", "carla", "dario", "eva"):
        log_in(attacker, name, "wrong-password")
    assert log_in(attacker, "tablet-1", "pw-tablet-1").status_code == 429
    # Another client behind the same proxy is not locked out; a forged left entry is ignored.
    someone = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.20")
    assert logged_in(log_in(someone, "tablet-1", "pw-tablet-1"))


def test_the_lock_ends_after_the_cool_off(client, boss):
    fail(client, "supervisor", 5)
    assert log_in(client, "supervisor", "pw-supervisor").status_code == 429

    # 15 minutes later (the attempts' time moved back, as the clock would have).
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.first().attempt_time - timedelta(minutes=16)
    )

    assert logged_in(log_in(client, "supervisor", "pw-supervisor"))


def test_a_supervisor_unlocks_an_account_from_the_admin(boss):
    tablet = make_user("tablet-1", "Estación")
    fail(Client(REMOTE_ADDR="10.0.0.7"), "tablet-1", 5)
    assert log_in(Client(REMOTE_ADDR="10.0.0.7"), "tablet-1", "pw-tablet-1").status_code == 429

    admin = Client()
    admin.force_login(make_user("ana", "Supervisor", staff=True))
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "tablet-1" in listing.text
    ids = [
        str(pk)
        for pk in AccessAttempt.objects.filter(username="tablet-1").values_list("pk", flat=True)
    ]
    confirm = admin.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": ids},
    )
    assert confirm.status_code == 200  # Django's "are you sure?" page
    done = admin.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert done.status_code == 302
    assert not AccessAttempt.objects.filter(username=tablet.username).exists()

    assert logged_in(log_in(Client(REMOTE_ADDR="10.0.0.7"), "tablet-1", "pw-tablet-1"))


def test_a_station_cannot_see_the_attempts(boss):
    station = Client()
    station.force_login(make_user("tablet-1", "Estación"))
    assert station.get("/admin/axes/accessattempt/").status_code in (302, 403)
