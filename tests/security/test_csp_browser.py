"""The Content-Security-Policy in a real browser: the tablet flow, the wall dashboard (its
live socket) and the admin work under it without a single violation; the login forms and
the lockout page too. Violations are collected from the page's `securitypolicyviolation`
events and the console, and a deliberate one proves the listener hears them."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from spools.models import Spool
from tests.browser import TABLET, Screens, Server, needs_chromium, session_cookie
from tests.plant import ARM_PENDING, build_plant, make_user, tv_user

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

LISTEN = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.zeuesCspViolation(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


class Violations(list):
    """Every CSP violation a browser context reports, from events and console alike."""

    def watch(self, context) -> None:
        context.expose_function("zeuesCspViolation", lambda text: self.append(text))
        context.add_init_script(LISTEN)
        context.on("page", self.watch_page)

    def watch_page(self, page) -> None:
        def console(msg) -> None:
            if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text:
                self.append(f"console: {msg.text}")

        page.on("console", console)


def account(username: str, group: str, *, staff: bool = False):
    """An account whose password the server (Django's default hashers) can check; the test
    process hashes with MD5 for speed, which the server does not know."""
    user = make_user(username, group, staff=staff)
    user.password = PBKDF2PasswordHasher().encode("pw-" + username, PBKDF2PasswordHasher().salt())
    user.save()
    return user


@pytest.fixture
def server(sheet_store):
    build_plant()
    srv = Server().start()
    yield srv
    srv.stop()


def log_in(page, url: str, username: str, password: str) -> None:
    page.goto(url)
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.locator("button[type=submit], input[type=submit]").first.click()
    page.wait_for_load_state("load")


def test_tablet_dashboard_and_admin_work_under_the_policy(browser, server, request):
    screens = Screens(request.node.name)
    violations = Violations()
    account("tablet-1", "Estación")
    account("ana", "Supervisor", staff=True)

    wall = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="es-CL")
    violations.watch(wall)
    wall.add_cookies(session_cookie(tv_user(), server.url))
    screen = wall.new_page()
    screen.goto(server.url + "/dashboard/")
    screen.wait_for_selector("#conn.conn-ok")  # the live socket is up (connect-src 'self')

    tablet = browser.new_context(viewport=TABLET, locale="es-CL")
    violations.watch(tablet)
    page = tablet.new_page()
    log_in(page, server.url + "/accounts/login/", "tablet-1", "pw-tablet-1")  # form-action
    page.get_by_role("link", name="ARMADO").click()
    page.locator(".choice.worker", has_text="DF(100)").click()
    page.wait_for_selector("#conn.conn-ok")  # the tablet list's socket
    page.fill("#spool-search", ARM_PENDING[-3:])  # htmx search (its indicator style)
    page.locator(f'.spool-row[data-tag="{ARM_PENDING}"] input.pick').check()
    screens.shot(page, "seleccion")
    page.locator("#continue").click()
    page.wait_for_selector(".confirm")
    page.wait_for_function("() => !!window.htmx")
    page.locator(".confirm-button").click()
    page.wait_for_selector("#resultado")
    screens.shot(page, "resultado")
    assert Spool.objects.get(tag=ARM_PENDING).ocupado_por == "DF(100)"
    screen.locator("#occupied", has_text=ARM_PENDING).wait_for(timeout=3000)  # pushed live
    screens.shot(screen, "dashboard")

    office = browser.new_context(viewport={"width": 1280, "height": 800}, locale="es-CL")
    violations.watch(office)
    admin = office.new_page()
    log_in(admin, server.url + "/admin/login/", "ana", "pw-ana")
    admin.wait_for_selector("#site-name")
    for path in ("/admin/spools/spool/", "/admin/axes/accessattempt/", "/supervision/"):
        admin.goto(server.url + path)
        admin.wait_for_load_state("load")
    admin.goto(server.url + "/admin/spools/spool/")
    admin.locator("#result_list tbody th a").first.click()
    admin.wait_for_load_state("load")
    screens.shot(admin, "admin")

    # Five wrong passwords: the lockout page is styled and clean too.
    locked = office.new_page()
    for _ in range(6):
        log_in(locked, server.url + "/accounts/login/", "ana", "wrong-password")
    assert "Ingreso bloqueado" in locked.content()
    screens.shot(locked, "bloqueado")

    assert violations == []

    # The listener hears a violation when there is one (an image from another origin).
    screen.evaluate(
        "() => { const i = document.createElement('img');"
        " i.src = 'http://203.0.113.1/x.png'; document.body.appendChild(i); }"
    )
    screen.wait_for_timeout(500)
    assert any("img-src" in v for v in violations), violations
