"""The service worker a tablet installs to reload its start screen offline: served as
JavaScript, and precaching exactly the static files the start screen asks for."""

from __future__ import annotations

import re

STATIC_REF = re.compile(r'(?:src|href)="(/static/[^"]+)"')


def test_the_service_worker_is_javascript_for_the_whole_site(station):
    response = station.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert 'var START = "/";' in response.text


def test_it_precaches_every_static_file_the_start_screen_uses(station):
    start = station.get("/").text
    worker = station.get("/sw.js").text
    used = set(STATIC_REF.findall(start))
    assert used  # the stylesheets and scripts of the page
    precached = set(re.findall(r'"(/static/[^"]+)"', worker))
    assert used <= precached


def test_pages_of_a_logged_in_tablet_register_it_and_the_login_page_does_not(station, client):
    assert '<meta name="zeues-sw" content="/sw.js">' in station.get("/").text
    assert "zeues-sw" not in client.get("/accounts/login/").text
