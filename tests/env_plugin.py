"""Test-wide environment, loaded as a pytest plugin (-p) before Django reads its settings."""

import os
import tempfile

os.environ.setdefault("ZEUES_ALLOW_DEMO_SECRET", "1")
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
