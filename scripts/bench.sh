#!/usr/bin/env bash
# Prints the benchmark figures of quality.md (`manage.py bench`; arguments pass through, e.g.
# --quick or --only pull). Runs in a throw-away environment: a fresh ZEUES_VAR_DIR holding
# its own SQLite database and local sheet file, removed at the end, so the developer's var/
# data and the test databases are never touched; never against Google or DATABASE_URL.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# The runtime, and the WebSocket client the dashboard section's screens use (pinned in
# requirements-dev.txt; the rest of the test tools are not needed here).
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt \
  "$(grep -E '^websockets==' requirements-dev.txt)"

BENCH_DIR="$(mktemp -d "${TMPDIR:-/tmp}/zeues-bench.XXXXXX")"
if [ -n "${ZEUES_BENCH_KEEP:-}" ]; then
  trap 'echo "bench files kept in $BENCH_DIR"' EXIT
else
  trap 'rm -rf "$BENCH_DIR"' EXIT
fi
unset DATABASE_URL REDIS_URL ZEUES_SHEET_ID GOOGLE_APPLICATION_CREDENTIALS ZEUES_LOCAL_SHEET
export ZEUES_VAR_DIR="$BENCH_DIR"
export DJANGO_DEBUG=0   # as deployed; DEBUG would also keep every SQL query in memory
export DJANGO_SECRET_KEY="bench-$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(48))')"
export ZEUES_LOG_LEVEL="${ZEUES_LOG_LEVEL:-WARNING}"
# The bench loads the demo with DEBUG off (load_demo --force): its accounts need passwords
# of their own, never the README's; nobody logs in with them here.
for account in ESTACION PANTALLA SUPERVISOR; do
  export "ZEUES_DEMO_PASSWORD_${account}=bench-$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(24))')"
done

.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py collectstatic --noinput -v0
.venv/bin/python manage.py bench --force "$@"
