"""Security settings that hold outside the test client: deploy checks, socket origins."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from channels.testing import WebsocketCommunicator

from tests import ROOT


def test_production_settings_pass_check_deploy(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_DEBUG": "0",
        "DJANGO_HTTPS": "1",
        "ZEUES_VAR_DIR": str(tmp_path),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for the browser tests' own process
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_web_process_without_a_secret_key_refuses_to_start(tmp_path):
    env = {**os.environ, "DJANGO_DEBUG": "0", "ZEUES_VAR_DIR": str(tmp_path)}
    env.pop("DJANGO_SECRET_KEY", None)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='zeues.settings'; django.setup()",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in done.stderr


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/ws/dashboard/", "/ws/lista/ARM/93/TOMAR/"])
async def test_sockets_from_another_origin_are_refused(path):
    from zeues.asgi import application

    headers = [(b"host", b"localhost"), (b"origin", b"http://evil.example")]
    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await comm.connect()
    assert not connected
