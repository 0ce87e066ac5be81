"""Shared fixtures: the local sheet backend wiped for each test that uses it, the small plant
of tests/plant.py, a station (a tablet logged in) and the supervisor, and a browser."""

from __future__ import annotations

import pytest
from django.conf import settings


@pytest.fixture(autouse=True)
def empty_cache():
    """What a process keeps for a while (the wall's weekly repair rates) starts empty in
    each test, as in a process just started."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def sheet_store():
    """The local backend behind open_workbook(), empty, with no faults and zero counters."""
    from spools.workbook.local_sheet import LocalSheetStore

    store = LocalSheetStore(settings.ZEUES_LOCAL_SHEET)
    store.reset()
    store.clear_faults()
    store.reset_counters()
    yield store
    store.clear_faults()


@pytest.fixture
def plant(sheet_store) -> None:
    """The small plant of tests/plant.py (a spool in each stage), written to a clean local
    workbook and pulled into the mirror; the sheet's call counters start at zero after it."""
    from tests.plant import build_plant

    build_plant()
    sheet_store.reset_counters()


@pytest.fixture
def station(db):
    """A tablet: Django's test client logged in as the station account `tablet-1`."""
    from tests.plant import logged_in, station_user

    return logged_in(station_user())


@pytest.fixture
def supervisor(db):
    """The supervisor `ana`: staff, in the Supervisor group, not a superuser."""
    from tests.plant import make_user

    return make_user("ana", "Supervisor", staff=True)


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright, one per test module."""
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def _ci() -> bool:
    import os

    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(config, items):
    """PostgreSQL tests run in the PostgreSQL pass; Redis tests need Redis (required in CI)."""
    import os
    import socket
    from urllib.parse import urlparse

    engine = settings.DATABASES["default"]["ENGINE"]
    on_postgres = "postgresql" in engine
    redis_url = os.environ.get("ZEUES_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    u = urlparse(redis_url)
    try:
        socket.create_connection((u.hostname, u.port or 6379), 1).close()
        redis_up = True
    except OSError:
        redis_up = False
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(
                pytest.mark.skip(
                    reason="needs PostgreSQL: runs in the PostgreSQL pass (DATABASE_URL)"
                )
            )
        if "redis" in item.keywords and not redis_up:
            if _ci():
                item.add_marker(pytest.mark.usefixtures("_redis_required"))
            else:
                item.add_marker(pytest.mark.skip(reason=f"needs Redis at {redis_url}"))


@pytest.fixture
def _redis_required():
    pytest.fail("CI=true but Redis is unreachable: this test must run in CI")


@pytest.fixture
def redis_url() -> str:
    import os

    return os.environ.get("ZEUES_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    """Tests render templates without running collectstatic first (no manifest)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Logins in tests skip PBKDF2's deliberate slowness (not what is under test)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def ensure_groups() -> None:
    """The groups the data migration creates (a transactional test's flush wipes them)."""
    import importlib

    from django.contrib.auth.models import Group, Permission

    groups = importlib.import_module("spools.migrations.0002_groups").GROUPS
    grants: dict[str, list[str]] = {}
    for migration in (
        "spools.migrations.0006_union_permissions",
        "spools.migrations.0011_supervision_permission",
        "spools.migrations.0012_login_lockout_permissions",
        "occupation.migrations.0002_worker_pins",
        "occupation.migrations.0003_badge_guard",
    ):
        for name, perms in importlib.import_module(migration).GRANTS.items():
            grants.setdefault(name, []).extend(perms)
    for name, perms in groups.items():
        group, created = Group.objects.get_or_create(name=name)
        if created or not group.permissions.exists():
            for perm in [*perms, *grants.get(name, [])]:
                app_label, codename = perm.split(".")
                group.permissions.add(
                    Permission.objects.get(content_type__app_label=app_label, codename=codename)
                )


@pytest.fixture(autouse=True)
def _migration_data(request):
    """Tests with database access always find the migration-made groups."""
    marker = request.node.get_closest_marker("django_db")
    if marker is not None:
        transactional = marker.kwargs.get("transaction") or (marker.args and marker.args[0])
        request.getfixturevalue("transactional_db" if transactional else "db")
        ensure_groups()
    yield


@pytest.fixture(scope="session", autouse=True)
def end_other_database_sessions(django_db_setup, django_db_blocker):
    """After the last test, end the PostgreSQL sessions other threads left open (a socket
    consumer's, a request thread's: their connections live on, CONN_MAX_AGE), so that the
    test database can be dropped."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
