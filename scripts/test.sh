#!/usr/bin/env bash
# Installs what the tests need (Python packages, Debian's chromium) and runs the whole suite:
# ruff, then pytest on SQLite, then the PostgreSQL pass. With CI=true, PostgreSQL
# (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379) must be up; elsewhere the tests
# that need them are skipped with the reason shown.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing Debian's chromium for the browser tests"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "!! chromium is not installed and this user cannot apt-get it: browser tests will skip"
  fi
fi

export ZEUES_TEST_PG_URL="${ZEUES_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/zeues}"
export ZEUES_TEST_REDIS_URL="${ZEUES_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"
.venv/bin/python scripts/services.py   # fails under CI=true when a service is missing

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

echo "== pytest (SQLite)"
.venv/bin/python -m pytest "$@"

if .venv/bin/python scripts/services.py --quiet postgres; then
  # The whole suite again on PostgreSQL (the production database): row locks, races
  # between processes, and everything else. Browser tests already ran above.
  echo "== pytest (PostgreSQL)"
  DATABASE_URL="$ZEUES_TEST_PG_URL" .venv/bin/python -m pytest -m "not browser" "$@"
else
  echo "-- PostgreSQL pass skipped: no PostgreSQL at ${ZEUES_TEST_PG_URL} (set CI=true to require it)"
fi
