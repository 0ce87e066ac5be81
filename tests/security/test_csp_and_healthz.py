"""The Content-Security-Policy every page carries, and /healthz answering load-balancer
probes over plain HTTP when the site redirects everything else to HTTPS."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest

from tests import ROOT

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = [d.strip().split() for d in header.split(";") if d.strip()]
    return {d[0]: d[1:] for d in directives}


@pytest.mark.parametrize("url", ["/accounts/login/", "/healthz", "/admin/login/"])
def test_every_answer_carries_the_policy(client, url):
    csp = policy(client.get(url))
    assert csp["script-src"] == ["'self'"]  # no inline script, no eval
    assert csp["style-src"] == ["'self'", "'unsafe-inline'"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["connect-src"] == ["'self'"]
    assert csp["media-src"] == ["'self'", "blob:"]
    assert csp["worker-src"] == ["'self'", "blob:"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]


PROBE = """
import django, json
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
c = Client()
print(json.dumps({u: [r.status_code, r.get("Location", "")] for u, r in
                  ((u, c.get(u)) for u in ("/healthz", "/accounts/login/"))}))
"""


def test_healthz_answers_plain_http_when_https_redirects_the_rest(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "zeues.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_HTTPS": "1",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "ZEUES_VAR_DIR": str(tmp_path),
        "ZEUES_LOG_LEVEL": "CRITICAL",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.pop("DATABASE_URL", None)  # its own SQLite under tmp_path, even in the PostgreSQL pass
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    assert answers["/healthz"] == [200, ""]  # answered over plain HTTP, not redirected
    assert answers["/accounts/login/"] == [301, "https://testserver/accounts/login/"]
