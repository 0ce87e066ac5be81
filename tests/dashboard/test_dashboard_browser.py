"""The wall dashboard in a real browser: live within a second, and back by itself after the
server restarts."""

from __future__ import annotations

import os

import pytest

from occupation.services import ActionCommand, perform_action
from tests.browser import (
    Screens,
    Server,
    http_session,
    needs_chromium,
    session_cookie,
)
from tests.plant import (
    ARM_PAUSED,
    ARM_PENDING,
    build_plant,
    crowded_floor,
    station_user,
    tv_user,
)

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
WALL = {"width": 1920, "height": 1080}


def test_dashboard_shows_an_action_from_a_tablet_within_a_second_and_survives_a_restart(
    browser, sheet_store, request
):
    screens = Screens(request.node.name)
    build_plant()
    tv, station = tv_user(), station_user()
    server = Server().start()
    try:
        wall = browser.new_context(viewport=WALL, locale="es-CL")
        wall.add_cookies(session_cookie(tv, server.url))
        screen = wall.new_page()
        screen.goto(server.url + "/dashboard/")
        screen.wait_for_selector("#conn.conn-ok")
        screens.shot(screen, "inicio")

        tablet = browser.new_context(viewport={"width": 1280, "height": 800})
        tablet.add_cookies(session_cookie(station, server.url))
        page = tablet.new_page()
        page.goto(server.url + "/t/ARM/100/TOMAR/confirmar/?tags=" + ARM_PENDING)
        page.locator(".confirm-button").click()
        page.wait_for_selector("#resultado")
        screen.locator("#occupied", has_text=ARM_PENDING).wait_for(timeout=1000)
        screens.shot(screen, "tomado")

        # The server goes away; a change is made meanwhile; the screen comes back by itself.
        server.stop()
        screen.wait_for_selector("#conn.conn-down", timeout=10000)
        screens.shot(screen, "desconectado")
        assert perform_action(ActionCommand("ARM", "TOMAR", 96, [ARM_PAUSED])).status == 200
        server = Server(port=server.port).start()
        screen.wait_for_selector("#conn.conn-ok", timeout=30000)
        screen.locator("#occupied", has_text=ARM_PAUSED).wait_for(timeout=5000)
        screens.shot(screen, "reconectado")
        assert "PS(96)" in screen.locator("#occupied").inner_text()
    finally:
        server.stop()


@pytest.mark.redis
def test_an_action_on_one_server_reaches_a_dashboard_on_another_through_redis(
    browser, sheet_store, request, redis_url
):
    screens = Screens(request.node.name)
    build_plant()
    tv, station = tv_user(), station_user()
    env = {"REDIS_URL": redis_url.rsplit("/", 1)[0] + "/13"}  # a database of its own
    one, two = Server(extra_env=env).start(), Server(extra_env=env).start()
    try:
        wall = browser.new_context(viewport=WALL, locale="es-CL")
        wall.add_cookies(session_cookie(tv, two.url))
        screen = wall.new_page()
        screen.goto(two.url + "/dashboard/")
        screen.wait_for_selector("#conn.conn-ok")

        answer = http_session(station).post(
            one.url + "/acciones/",
            data={"operacion": "ARM", "accion": "TOMAR", "worker": 100, "tags": [ARM_PENDING]},
            timeout=10,
        )
        assert answer.status_code == 200
        screen.locator("#occupied", has_text=ARM_PENDING).wait_for(timeout=2000)
        screens.shot(screen, "otro-proceso")
    finally:
        one.stop()
        two.stop()


@pytest.mark.redis
def test_when_redis_stops_actions_still_work_and_dashboards_catch_up_when_it_is_back(
    browser, sheet_store, request, tmp_path
):
    """A private redis-server (so the shared one is never stopped) that dies mid-shift."""
    import shutil
    import subprocess

    from tests.browser import free_port

    redis_bin = shutil.which("redis-server")
    if redis_bin is None:
        pytest.skip("redis-server binary not installed")
    port = free_port()

    def start_redis() -> subprocess.Popen:
        proc = subprocess.Popen(
            [
                redis_bin,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(tmp_path),
            ],
            stdout=subprocess.DEVNULL,
        )
        import socket
        import time

        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return proc
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    screens = Screens(request.node.name)
    build_plant()
    tv, station = tv_user(), station_user()
    redis = start_redis()
    server = Server(extra_env={"REDIS_URL": f"redis://127.0.0.1:{port}/0"}).start()
    try:
        wall = browser.new_context(viewport=WALL, locale="es-CL")
        wall.add_cookies(session_cookie(tv, server.url))
        screen = wall.new_page()
        screen.goto(server.url + "/dashboard/")
        screen.wait_for_selector("#conn.conn-ok")

        redis.terminate()
        redis.wait(5)
        answer = http_session(station).post(
            server.url + "/acciones/",
            data={"operacion": "ARM", "accion": "TOMAR", "worker": 100, "tags": [ARM_PENDING]},
            timeout=10,
        )
        assert answer.status_code == 200  # the action does not depend on the live link
        screen.wait_for_selector("#conn.conn-down", timeout=15000)
        screens.shot(screen, "redis-caido")

        redis = start_redis()
        screen.wait_for_selector("#conn.conn-ok", timeout=30000)
        screen.locator("#occupied", has_text=ARM_PENDING).wait_for(timeout=5000)
        screens.shot(screen, "redis-de-vuelta")
    finally:
        server.stop()
        redis.terminate()


def test_a_crowded_floor_fits_the_wall(browser, sheet_store, request):
    """29 spools occupied: the wall lists the oldest 24 in two columns, the rest counted,
    and nothing runs off a 1920×1080 TV or a 1280×800 one."""
    from dashboard.selectors import OCCUPIED_SHOWN

    screens = Screens(request.node.name)
    crowded_floor(OCCUPIED_SHOWN + 5)
    tv = tv_user()
    server = Server().start()
    try:
        for name, viewport in (
            ("tv", WALL),
            ("tablet", {"width": 1280, "height": 800}),
            ("portrait", {"width": 800, "height": 1280}),
        ):
            wall = browser.new_context(viewport=viewport, locale="es-CL")
            wall.add_cookies(session_cookie(tv, server.url))
            screen = wall.new_page()
            screen.goto(server.url + "/dashboard/")
            screen.wait_for_selector("#conn.conn-ok")
            assert screen.locator("#occupied .occ").count() == OCCUPIED_SHOWN
            assert "y 5 más" in screen.locator("#occupied").inner_text()
            width = screen.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"]
            screens.shot(screen, name)
            wall.close()
    finally:
        server.stop()
