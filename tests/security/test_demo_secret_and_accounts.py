"""No public secrets with DEBUG off: the README's demo key only with DEBUG on (and
`check --deploy` says so when it is in use), and `load_demo` refuses the README's fixed
passwords unless told to, with new ones."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from tests import ROOT

DEMO_KEY = settings.ZEUES_DEMO_SECRET_KEY


def manage(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, "ZEUES_VAR_DIR": str(tmp_path), **env}
    # An operator's fresh install: its own SQLite under tmp_path, even in the PostgreSQL pass.
    for name in ("DJANGO_SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE", "DATABASE_URL"):
        if name not in env:
            full.pop(name, None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- the secret key ---------------------------------------------------------------------------


def test_check_deploy_reports_the_demo_key_as_an_error(tmp_path):
    explicit = manage(
        tmp_path,
        "check",
        "--deploy",
        DJANGO_DEBUG="0",
        DJANGO_HTTPS="1",
        DJANGO_SECRET_KEY=DEMO_KEY,
    )
    assert explicit.returncode != 0
    assert "zeues.E001" in explicit.stderr

    developer = manage(tmp_path, "check", "--deploy", DJANGO_DEBUG="1")  # make run's settings
    assert developer.returncode != 0
    assert "zeues.E001" in developer.stderr


def test_check_deploy_is_clean_with_a_key_of_its_own(tmp_path):
    done = manage(
        tmp_path,
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_HTTPS="1",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "E001" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    "command", [["runserver", "--noreload"], ["migrate"], ["local_sheet", "status"]]
)
def test_the_demo_key_is_refused_with_debug_off(tmp_path, command):
    done = manage(tmp_path, *command, DJANGO_DEBUG="0", DJANGO_SECRET_KEY=DEMO_KEY)
    assert done.returncode != 0
    assert "public demo key" in done.stderr


def test_runserver_with_debug_off_needs_a_key(tmp_path):
    done = manage(tmp_path, "runserver", "--noreload", DJANGO_DEBUG="0")
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in done.stderr


def test_commands_that_sign_nothing_run_without_a_key(tmp_path):
    # A release step or the sync worker's tooling: nothing is signed, no key is invented.
    assert manage(tmp_path, "migrate", "-v0", DJANGO_DEBUG="0").returncode == 0
    status = manage(tmp_path, "local_sheet", "status", DJANGO_DEBUG="0")
    assert status.returncode == 0, status.stderr
    # Anything that would sign fails clearly instead of using a public key.
    signing = manage(
        tmp_path,
        "shell",
        "-c",
        "from django.core import signing; signing.dumps(1)",
        DJANGO_DEBUG="0",
    )
    assert signing.returncode != 0
    assert "SECRET_KEY setting must not be empty" in signing.stderr


def test_the_demo_key_is_used_with_debug_on(tmp_path):
    code = "from django.conf import settings; print('KEY=' + settings.SECRET_KEY)"
    done = manage(tmp_path, "shell", "-c", code, DJANGO_DEBUG="1")
    assert f"KEY={DEMO_KEY}" in done.stdout.splitlines()


# --- load_demo with DEBUG off -----------------------------------------------------------------

NEW = {
    "estacion": "tablet-Kx82-puerta-norte",
    "pantalla": "muro-Qp41-nave-2",
    "supervisor": "jefe-Zt93-turno-b",
}


def load_demo(*args: str) -> str:
    out = StringIO()
    call_command("load_demo", "--spools", "12", *args, stdout=out)  # DEBUG is off in tests
    return out.getvalue()


def can_log_in(username: str, password: str) -> bool:
    request = RequestFactory().post("/accounts/login/")
    return authenticate(request, username=username, password=password) is not None


def with_passwords(passwords: dict[str, str]) -> list[str]:
    return [arg for name, pw in passwords.items() for arg in (f"--password-{name}", pw)]


@pytest.mark.django_db
def test_load_demo_refuses_with_debug_off(sheet_store):
    with pytest.raises(CommandError, match="--force"):
        load_demo()
    with pytest.raises(CommandError, match="--force"):
        load_demo("--if-empty")
    assert not get_user_model().objects.exists()
    assert sheet_store.status()["writes"] == 0


@pytest.mark.django_db
def test_load_demo_with_force_needs_a_new_password_for_every_account(sheet_store):
    with pytest.raises(CommandError, match="--password-estacion"):
        load_demo("--force")
    with pytest.raises(CommandError, match="--password-supervisor"):
        load_demo(
            "--force",
            "--password-estacion",
            NEW["estacion"],
            "--password-pantalla",
            NEW["pantalla"],
        )
    with pytest.raises(CommandError, match="públicas del README"):
        load_demo("--force", *with_passwords({**NEW, "supervisor": "zeues-supervisor"}))
    with pytest.raises(CommandError, match="pantalla"):
        load_demo("--force", *with_passwords({**NEW, "pantalla": "1234"}))  # too weak
    assert not get_user_model().objects.exists()
    assert sheet_store.status()["writes"] == 0


@pytest.mark.django_db
def test_load_demo_with_force_uses_the_new_passwords_and_never_prints_them(sheet_store):
    output = load_demo("--force", *with_passwords(NEW))

    for username, password in NEW.items():
        assert can_log_in(username, password)
        assert not can_log_in(username, f"zeues-{username}")
        assert password not in output and f"zeues-{username}" not in output
    assert "(la dada)" in output


@pytest.mark.django_db
def test_load_demo_reads_the_new_passwords_from_the_environment(sheet_store, monkeypatch):
    for username, password in NEW.items():
        monkeypatch.setenv(f"ZEUES_DEMO_PASSWORD_{username.upper()}", password)
    load_demo("--force")
    assert all(can_log_in(username, password) for username, password in NEW.items())


@pytest.mark.django_db
def test_load_demo_with_debug_on_keeps_the_readme_logins(sheet_store, settings):
    settings.DEBUG = True  # make run
    output = load_demo("--if-empty")
    assert "zeues-supervisor" in output
    assert can_log_in("supervisor", "zeues-supervisor")
