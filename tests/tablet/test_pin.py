"""The optional PIN (issue 15, item 2): with ZEUES_WORKER_PIN on, a worker picked from the
list types a PIN; it cannot be skipped with a deep link or a bare POST; 5 wrong tries lock
it for 15 minutes; supervisors set it (twice) and unlock it in the admin; it lives hashed
in the database only."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import check_password
from django.utils import timezone

from occupation.identify import LOCKOUT, check_pin
from occupation.models import WorkerPin
from spools.models import Event, Worker
from spools.rules import ActionError
from tests.badges import give_badges, give_pin, metadata_json, scan_badge, token_in
from tests.plant import (
    ARM_IN_PROGRESS,
    ARM_PENDING,
    act,
    build_plant,
    logged_in,
    metadata_rows,
    sheet_rows,
    station_user,
)


@pytest.fixture
def pins_on(settings):
    settings.ZEUES_WORKER_PIN = True


@pytest.fixture
def tablet(sheet_store, db, pins_on):
    build_plant()
    give_pin(100, "4821")
    give_pin(93, "135790")
    return logged_in(station_user())


def enter_pin(client, op: str, worker_id: int, pin: str):
    return client.post(f"/t/{op}/{worker_id}/pin/", {"pin": pin})


def message(html: str) -> str:
    found = re.search(r'<p id="pin-message"[^>]*>(.*?)</p>', html, re.S)
    return found.group(1).strip() if found else ""


# --- the flow --------------------------------------------------------------------------


def test_with_pins_a_name_from_the_list_leads_to_its_pin_prompt(tablet):
    page = tablet.get("/t/ARM/")
    assert 'href="/t/ARM/100/pin/"' in page.text
    assert 'href="/t/ARM/100/TOMAR/"' not in page.text
    prompt = tablet.get("/t/ARM/100/pin/")
    assert prompt.status_code == 200
    assert prompt.text.count("data-pin-digit=") == 10  # the digit pad
    assert "DF(100)" in prompt.text


def test_the_right_pin_leads_on_and_the_action_says_pin(tablet):
    answer = enter_pin(tablet, "ARM", 100, "4821")
    assert answer.status_code == 302
    url = answer["Location"]
    assert url.startswith("/t/ARM/100/TOMAR/?identificacion=")
    assert tablet.get(url).status_code == 200
    token = token_in(url)
    assert act(tablet, "ARM", "TOMAR", 100, ARM_PENDING, identificacion=token).status_code == 200
    assert [m["identificado_por"] for m in metadata_json(metadata_rows(ARM_PENDING))] == ["pin"]


@pytest.mark.parametrize(
    "url",
    [
        "/t/ARM/93/",
        "/t/ARM/93/PAUSAR/",
        f"/t/ARM/93/PAUSAR/confirmar/?tags={ARM_IN_PROGRESS}",
        f"/t/ARM/93/PAUSAR/uniones/?tags={ARM_IN_PROGRESS}",
        "/t/ARM/93/PAUSAR/?identificacion=forged",
    ],
)
def test_deep_links_past_the_worker_step_lead_to_the_pin_prompt(tablet, url):
    answer = tablet.get(url)
    assert answer.status_code == 302
    assert answer["Location"] == "/t/ARM/93/pin/"


def test_a_pin_token_of_another_worker_opens_nothing(tablet):
    token = token_in(enter_pin(tablet, "ARM", 100, "4821")["Location"])
    answer = tablet.get("/t/ARM/93/", {"identificacion": token})
    assert answer["Location"] == "/t/ARM/93/pin/"


def test_a_post_without_badge_or_pin_is_refused_and_changes_nothing(tablet):
    answer = act(tablet, "ARM", "TOMAR", 100, ARM_PENDING)
    assert answer.status_code == 403
    assert "debe identificarse con su credencial o su PIN" in answer.text
    assert not Event.objects.exists()
    assert metadata_rows() == []


def test_a_badge_scan_needs_no_pin(tablet):
    give_badges({100: "B-100"})
    url = scan_badge(tablet, "ARM", "B-100")["HX-Redirect"]
    assert tablet.get(url).status_code == 200
    token = token_in(url)
    assert act(tablet, "ARM", "TOMAR", 100, ARM_PENDING, identificacion=token).status_code == 200
    assert [m["identificado_por"] for m in metadata_json(metadata_rows(ARM_PENDING))] == ["badge"]


def test_a_worker_without_a_pin_is_told_to_ask_a_supervisor(tablet):
    page = tablet.get("/t/ARM/96/pin/")
    assert "PS(96) no tiene PIN: pida a un supervisor que le asigne uno" in message(page.text)
    assert "con su credencial puede entrar sin pin" in message(page.text).lower()
    assert "data-pin-digit" not in page.text
    answer = enter_pin(tablet, "ARM", 96, "1234")
    assert answer.status_code == 403


def test_a_pin_that_is_not_4_to_6_digits_is_not_a_try(tablet):
    answer = enter_pin(tablet, "ARM", 100, "12a")
    assert answer.status_code == 400
    assert message(answer.text) == "El PIN tiene de 4 a 6 dígitos."
    assert WorkerPin.objects.get(pk=100).failed_tries == 0


# --- lockout ---------------------------------------------------------------------------


def test_five_wrong_pins_lock_it_for_15_minutes(tablet):
    said = [message(enter_pin(tablet, "ARM", 100, "0000").text) for _ in range(4)]
    assert said == [
        "PIN incorrecto, le quedan 4 intentos.",
        "PIN incorrecto, le quedan 3 intentos.",
        "PIN incorrecto, le quedan 2 intentos.",
        "PIN incorrecto, le queda 1 intento.",
    ]
    fifth = enter_pin(tablet, "ARM", 100, "0000")
    until = WorkerPin.objects.get(pk=100).locked_until
    hora = timezone.localtime(until).strftime("%H:%M")
    assert fifth.status_code == 403
    assert message(fifth.text) == (
        f"PIN incorrecto. Bloqueado hasta las {hora}: pida a un supervisor que lo desbloquee."
    )
    assert timedelta(minutes=14) < until - timezone.now() <= LOCKOUT
    # Even the right PIN waits out the lock; the prompt says so without a pad.
    right = enter_pin(tablet, "ARM", 100, "4821")
    assert right.status_code == 403
    assert f"Bloqueado hasta las {hora}" in message(right.text)
    assert "data-pin-digit" not in tablet.get("/t/ARM/100/pin/").text
    # 15 minutes later the right PIN works again, and the count starts over.
    worker = Worker.objects.get(pk=100)
    check_pin(worker, "4821", now=until + timedelta(seconds=1))
    assert WorkerPin.objects.get(pk=100).failed_tries == 0


def test_the_right_pin_clears_the_wrong_tries(tablet):
    for _ in range(3):
        enter_pin(tablet, "ARM", 100, "9999")
    assert enter_pin(tablet, "ARM", 100, "4821").status_code == 302
    assert message(enter_pin(tablet, "ARM", 100, "9999").text) == (
        "PIN incorrecto, le quedan 4 intentos."
    )


@pytest.mark.django_db(transaction=True)
def test_tries_at_the_same_instant_never_test_more_than_five_pins(sheet_store, settings):
    settings.ZEUES_WORKER_PIN = True
    build_plant()
    give_pin(100, "4821")
    worker = Worker.objects.get(pk=100)
    start = threading.Barrier(12)
    said: list[str] = []

    def wrong_try():
        from django.db import connection

        try:
            start.wait(10)
            check_pin(worker, "1111")
        except ActionError as exc:
            said.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrong_try) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(said) == 12
    checked = [m for m in said if m.startswith("PIN incorrecto")]
    assert len(checked) == 5  # the other 7 were refused by the lock before any check
    record = WorkerPin.objects.get(pk=100)
    assert record.locked_until is not None and record.failed_tries == 5


# --- the admin -------------------------------------------------------------------------


@pytest.fixture
def admin_client(supervisor, sheet_store, pins_on):
    build_plant()
    return logged_in(supervisor)


def test_a_supervisor_sets_a_pin_typed_twice_and_only_its_hash_is_kept(admin_client):
    answer = admin_client.post(
        "/admin/occupation/workerpin/add/", {"worker": 100, "pin1": "2580", "pin2": "2580"}
    )
    assert answer.status_code == 302, answer.text
    record = WorkerPin.objects.get(pk=100)
    assert record.pin_hash != "2580" and check_password("2580", record.pin_hash)
    page = admin_client.get(f"/admin/occupation/workerpin/{100}/change/")
    assert page.status_code == 200
    assert record.pin_hash not in page.text
    # Never in the workbook either.
    for sheet in ("Operaciones", "Trabajadores", "Roles", "Metadata"):
        for row in sheet_rows(sheet):
            assert not any(record.pin_hash in str(v) or v == "2580" for v in row.values())


@pytest.mark.parametrize(
    "pins, error",
    [
        (("2580", "2581"), "Los dos PIN no son iguales"),
        (("25a0", "25a0"), "El PIN tiene de 4 a 6 dígitos."),
        (("123", "123"), "El PIN tiene de 4 a 6 dígitos."),
        (("1234567", "1234567"), "El PIN tiene de 4 a 6 dígitos."),
        (("", ""), "Escriba el PIN"),
    ],
)
def test_a_pin_typed_wrong_in_the_admin_is_not_saved(admin_client, pins, error):
    data = {"worker": 100, "pin1": pins[0], "pin2": pins[1]}
    answer = admin_client.post("/admin/occupation/workerpin/add/", data)
    assert answer.status_code == 200
    assert error in answer.text
    assert not WorkerPin.objects.exists()


def test_a_supervisor_resets_a_pin_and_clears_a_lockout(admin_client):
    give_pin(100, "4821")
    tablet = logged_in(station_user())
    for _ in range(5):
        enter_pin(tablet, "ARM", 100, "0000")
    assert WorkerPin.objects.get(pk=100).locked_until is not None
    listing = admin_client.get("/admin/occupation/workerpin/")
    assert "Bloqueado hasta las" in listing.text
    answer = admin_client.post(
        "/admin/occupation/workerpin/",
        {"action": "desbloquear", "_selected_action": [100]},
    )
    assert answer.status_code == 302
    assert enter_pin(tablet, "ARM", 100, "4821").status_code == 302
    # A reset: a new PIN, typed twice, replaces the old one (and would clear a lock).
    admin_client.post(
        "/admin/occupation/workerpin/100/change/", {"pin1": "778899", "pin2": "778899"}
    )
    assert enter_pin(tablet, "ARM", 100, "4821").status_code == 403
    assert enter_pin(tablet, "ARM", 100, "778899").status_code == 302


def test_the_change_form_can_clear_a_lockout_without_a_new_pin(admin_client):
    give_pin(100, "4821")
    WorkerPin.objects.filter(pk=100).update(failed_tries=5, locked_until=timezone.now() + LOCKOUT)
    answer = admin_client.post("/admin/occupation/workerpin/100/change/", {"desbloquear": "on"})
    assert answer.status_code == 302
    record = WorkerPin.objects.get(pk=100)
    assert record.locked_until is None and record.failed_tries == 0
    assert check_password("4821", record.pin_hash)  # the PIN itself unchanged


# --- off (the default) -----------------------------------------------------------------


def test_with_pins_off_everything_works_as_before(sheet_store, db):
    build_plant()
    give_pin(100, "4821")
    tablet = logged_in(station_user())
    assert 'href="/t/ARM/100/TOMAR/"' in tablet.get("/t/ARM/").text
    assert tablet.get("/t/ARM/100/TOMAR/").status_code == 200
    assert tablet.get("/t/ARM/100/pin/").status_code == 404
    assert act(tablet, "ARM", "TOMAR", 100, ARM_PENDING).status_code == 200
