#!/usr/bin/env bash
# Installs everything and starts ZEUES on its embedded defaults: SQLite and the local sheet
# backend under var/, in-memory channel layer, demo data, demo logins printed below.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8000}"
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"
mkdir -p var
.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py collectstatic --noinput -v0
.venv/bin/python manage.py load_demo --if-empty
echo
echo "ZEUES: http://127.0.0.1:${PORT}/  (dashboard: /dashboard/, admin: /admin/, salud: /healthz)"
echo
exec .venv/bin/daphne -b "${BIND:-127.0.0.1}" -p "$PORT" zeues.asgi:application
