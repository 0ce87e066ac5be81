"""Test-wide environment, loaded as a pytest plugin (-p) before Django reads its settings."""

import os
import secrets
import tempfile

import pytest

# A secret of this run (never the README's demo key, which needs DEBUG on); the servers the
# browser tests start inherit it, so the sessions the tests make are valid there.
os.environ.setdefault("DJANGO_SECRET_KEY", "zeues-tests-" + secrets.token_urlsafe(48))
# Tests never touch the developer's var/: each run gets its own local workbook file.
_test_var = tempfile.mkdtemp(prefix="zeues-test-")
os.environ.setdefault("ZEUES_VAR_DIR", _test_var)
os.environ.setdefault("ZEUES_LOCAL_SHEET", os.path.join(_test_var, "local-sheet.sqlite3"))
# Retries are fast in tests; the backoff schedule itself is tested explicitly.
os.environ.setdefault("ZEUES_SHEET_BACKOFF_BASE", "0.01")
os.environ.setdefault("ZEUES_SHEET_BACKOFF_MAX", "0.05")
# Writes are paced at 1/s in production; tests that check the pace set it themselves.
os.environ.setdefault("ZEUES_SHEET_MIN_WRITE_INTERVAL", "0")
# Importing zeues.asgi (origin checks) must not start a sync loop inside the test process;
# the servers the browser tests start turn it back on.
os.environ.setdefault("ZEUES_SYNC_IN_WEB", "0")


@pytest.fixture(autouse=True)
def _login_limits_off_unless_tested(request):
    """django-axes' documented test setting: AXES_ENABLED off, so `client.login(...)` (no
    request: axes refuses it) and repeated logins of the suite work. Tests of the limits
    themselves (tests/security/, or marked `login_limits`) run with them on, as deployed;
    so do the servers of the browser tests (their own settings)."""
    if "login_limits" in request.keywords or "/tests/security/" in str(request.path):
        yield
        return
    settings = request.getfixturevalue("settings")
    settings.AXES_ENABLED = False
    yield


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "login_limits: runs with django-axes' login failure limits on"
    )
