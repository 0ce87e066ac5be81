"""Checks the services the test suite can use: PostgreSQL and Redis.

python scripts/services.py            # report; with CI=true exit 1 if one is missing
python scripts/services.py --quiet postgres   # exit 0 if PostgreSQL answers
"""

from __future__ import annotations

import os
import socket
import sys
from urllib.parse import urlparse


def reachable(url: str, default_port: int) -> bool:
    u = urlparse(url)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or default_port), 2):
            return True
    except OSError:
        return False


def main(argv: list[str]) -> int:
    services = {
        "postgres": (
            os.environ.get("ZEUES_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/zeues"),
            5432,
        ),
        "redis": (os.environ.get("ZEUES_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"), 6379),
    }
    quiet = "--quiet" in argv
    names = [a for a in argv if not a.startswith("--")] or list(services)
    ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    missing = [n for n in names if not reachable(*services[n])]
    if quiet:
        return 1 if missing else 0
    for name in names:
        url = services[name][0]
        state = "missing" if name in missing else "up"
        print(f"== {name}: {state} ({urlparse(url).hostname}:{urlparse(url).port})")
    if missing and ci:
        print(
            f"!! CI=true and {', '.join(missing)} unreachable: the tests that need them cannot run."
        )
        return 1
    if missing:
        print(
            f"-- tests needing {', '.join(missing)} will be skipped (set CI=true to require them)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
