"""A badge scan identifies the worker (issue 15, item 1), and every action's Metadata row
says how the worker was identified (`identificado_por`: badge, pin or lista)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from occupation.identify import (
    BADGE,
    BADGE_LOCKOUT,
    MAX_BADGE_MISSES,
    identify_badge,
    token_for,
)
from spools.models import Worker
from spools.rules import ActionError
from tests.badges import (
    give_badges,
    hidden_identificacion,
    metadata_json,
    scan_badge,
    token_in,
)
from tests.plant import (
    ARM_PENDING,
    act,
    build_plant,
    logged_in,
    make_user,
    metadata_rows,
    station_user,
)

BADGE_93 = "0004451234"  # MR(93), Armador, holds ARM_IN_PROGRESS
BADGE_100 = "CRED-100-XYZ"  # DF(100), Armador, holds nothing


@pytest.fixture
def tablet(sheet_store, db):
    build_plant()
    give_badges({93: BADGE_93, 100: BADGE_100, 97: "9797979", 94: "JP-94"})
    return logged_in(station_user())


def test_a_badge_scan_picks_the_worker_and_goes_straight_to_their_next_step(tablet):
    answer = scan_badge(tablet, "ARM", BADGE_100)
    assert answer.status_code == 200
    url = answer["HX-Redirect"]
    # DF(100) holds nothing: the only thing to do is TOMAR, so the list itself.
    assert url.startswith("/t/ARM/100/TOMAR/?identificacion=")
    page = tablet.get(url)
    assert page.status_code == 200
    assert "DF(100)" in page.text
    # The Continuar form sends the token on to the confirmation.
    assert hidden_identificacion(page.text) == token_in(url)


def test_a_badge_of_a_worker_holding_spools_leads_to_the_action_step(tablet):
    url = scan_badge(tablet, "ARM", BADGE_93)["HX-Redirect"]
    assert url.startswith("/t/ARM/93/?identificacion=")
    page = tablet.get(url)
    # Every action keeps the token; so do the step chips.
    assert f"/t/ARM/93/PAUSAR/?identificacion={token_in(url)}" in page.text.replace("%3A", ":")


def test_an_action_after_a_badge_scan_says_badge_in_its_metadata(tablet):
    url = scan_badge(tablet, "ARM", BADGE_100)["HX-Redirect"]
    token = token_in(url)
    confirm = tablet.get(
        "/t/ARM/100/TOMAR/confirmar/", {"tags": [ARM_PENDING], "identificacion": token}
    )
    assert confirm.status_code == 200
    assert confirm.context["identificacion"] == token  # for the form's hidden field
    assert act(tablet, "ARM", "TOMAR", 100, ARM_PENDING, identificacion=token).status_code == 200
    assert [m["identificado_por"] for m in metadata_json(metadata_rows(ARM_PENDING))] == [BADGE]


def test_an_action_picked_from_the_list_says_lista(tablet):
    assert act(tablet, "ARM", "TOMAR", 100, ARM_PENDING).status_code == 200
    assert [m["identificado_por"] for m in metadata_json(metadata_rows(ARM_PENDING))] == ["lista"]


@pytest.mark.parametrize(
    "token",
    [
        lambda: token_for(93, BADGE, "tablet-1"),  # another worker's
        lambda: token_for(100, BADGE, "tablet-9"),  # another station's
        lambda: token_for(100, BADGE, "tablet-1")[:-3] + "abc",  # tampered
        lambda: token_for(100, "supervisor", "tablet-1"),  # not a method
    ],
)
def test_a_token_that_is_not_this_workers_badge_says_lista(tablet, token):
    assert act(tablet, "ARM", "TOMAR", 100, ARM_PENDING, identificacion=token()).status_code == 200
    assert [m["identificado_por"] for m in metadata_json(metadata_rows(ARM_PENDING))] == ["lista"]


def test_an_unknown_badge_gets_a_spanish_message_and_no_step(tablet):
    answer = scan_badge(tablet, "ARM", "ZZ-999-NOBODY")
    assert answer.status_code == 404
    assert "HX-Redirect" not in answer
    assert "Credencial no reconocida" in answer.text
    assert "elija su nombre en la lista" in answer.text.lower()
    assert "ZZ-999-NOBODY" not in answer.text
    assert 'id="badge-message"' in answer.text  # swapped in place


def test_a_station_trying_codes_has_its_badge_reader_locked_for_a_while(tablet):
    for i in range(MAX_BADGE_MISSES - 1):
        assert scan_badge(tablet, "ARM", f"ZZ-{i:03d}").status_code == 404
    locked = scan_badge(tablet, "ARM", "ZZ-LAST")
    assert locked.status_code == 429
    assert "Demasiadas credenciales no reconocidas en esta tablet" in locked.text
    assert "elija su nombre en la lista" in locked.text
    # Even a real badge waits now; the list still works, and other stations are not locked.
    assert scan_badge(tablet, "ARM", BADGE_100).status_code == 429
    assert tablet.get("/t/ARM/").status_code == 200
    other = logged_in(make_user("tablet-2", "Estación"))
    assert "HX-Redirect" in scan_badge(other, "ARM", BADGE_100)


def test_a_supervisor_sees_a_locked_badge_reader_and_unlocks_it(tablet, supervisor):
    for i in range(MAX_BADGE_MISSES):
        scan_badge(tablet, "ARM", f"ZZ-{i:03d}")
    admin = logged_in(supervisor)
    listing = admin.get("/admin/occupation/badgeguard/")
    assert "tablet-1" in listing.text
    assert "Lector bloqueado hasta las" in listing.text
    answer = admin.post(
        "/admin/occupation/badgeguard/",
        {"action": "desbloquear", "_selected_action": ["tablet-1"]},
    )
    assert answer.status_code == 302
    assert "HX-Redirect" in scan_badge(tablet, "ARM", BADGE_100)


def test_known_badges_do_not_count_and_the_lock_ends(tablet):
    account = "tablet-1"  # the station the fixture logged in
    start = timezone.now()
    for _ in range(MAX_BADGE_MISSES):  # a worker without the role is not guessing codes
        with pytest.raises(ActionError) as refused:
            identify_badge("ARM", "JP-94", account, now=start)
        assert refused.value.status == 403
    for i in range(MAX_BADGE_MISSES - 1):
        with pytest.raises(ActionError):
            identify_badge("ARM", f"ZZ-{i}", account, now=start)
    with pytest.raises(ActionError) as locked:
        identify_badge("ARM", "ZZ-last", account, now=start)
    assert locked.value.status == 429
    later = start + BADGE_LOCKOUT + timedelta(seconds=1)
    assert identify_badge("ARM", BADGE_100, account, now=later).id == 100
    # A fresh count: one unknown code is again just an unknown code.
    with pytest.raises(ActionError) as unknown:
        identify_badge("ARM", "ZZ-again", account, now=later)
    assert unknown.value.status == 404


def test_an_inactive_workers_badge_is_refused(tablet):
    answer = scan_badge(tablet, "ARM", "9797979")  # LM(97), Activo FALSE
    assert answer.status_code == 403
    assert "no está activo" in answer.text
    assert "9797979" not in answer.text


def test_a_badge_of_a_worker_without_the_role_is_refused(tablet):
    answer = scan_badge(tablet, "ARM", "JP-94")  # a Soldador
    assert answer.status_code == 403
    assert "JP(94) no tiene un rol para ARMADO" in answer.text


def test_an_empty_read_says_nothing_was_read(tablet):
    answer = scan_badge(tablet, "ARM", "   ")
    assert answer.status_code == 400
    assert "No se leyó ninguna credencial" in answer.text


def test_a_badge_typed_into_a_number_cell_still_matches_its_scan(tablet):
    give_badges({100: 4451299})  # the sheet holds the number: "0004451299" lost its zeros
    assert Worker.objects.get(pk=100).credencial == "4451299"
    answer = scan_badge(tablet, "ARM", "0004451299")
    assert answer["HX-Redirect"].startswith("/t/ARM/100/")


def test_the_exact_text_wins_over_a_match_without_leading_zeros(tablet):
    give_badges({100: "4451234"})  # BADGE_93 is "0004451234"
    assert scan_badge(tablet, "ARM", "0004451234")["HX-Redirect"].startswith("/t/ARM/93/")
    assert scan_badge(tablet, "ARM", "4451234")["HX-Redirect"].startswith("/t/ARM/100/")


def test_two_active_workers_with_one_badge_are_refused_naming_no_one(tablet):
    give_badges({100: BADGE_93})
    answer = scan_badge(tablet, "ARM", BADGE_93)
    assert answer.status_code == 409
    assert "más de un trabajador" in answer.text
    for never in (BADGE_93, "MR(93)", "DF(100)", "Mario", "Diego"):
        assert never not in answer.text


def test_screens_never_show_a_badge_code(tablet):
    pages = [
        tablet.get("/t/ARM/"),
        tablet.get(scan_badge(tablet, "ARM", BADGE_93)["HX-Redirect"]),
        tablet.get("/t/ARM/100/TOMAR/"),
    ]
    for page in pages:
        assert page.status_code == 200
        for code in (BADGE_93, "4451234", BADGE_100):
            assert code not in page.text


def test_the_worker_step_listens_for_badges_and_keeps_the_list(tablet):
    page = tablet.get("/t/ARM/")
    assert 'data-badge-url="/t/ARM/credencial/"' in page.text
    assert "js/identify.js" in page.text
    assert "data-scan-camera" in page.text  # the camera reads badges too
    assert 'href="/t/ARM/100/TOMAR/"' in page.text  # the list, for workers without a badge


def test_a_badge_scan_without_javascript_still_works(tablet):
    answer = tablet.post("/t/ARM/credencial/", {"codigo": BADGE_100})
    assert answer.status_code == 302
    assert answer["Location"].startswith("/t/ARM/100/TOMAR/?identificacion=")
    refused = tablet.post("/t/ARM/credencial/", {"codigo": "nadie"})
    assert refused.status_code == 404
    assert "Credencial no reconocida" in refused.text and "¿Quién trabaja?" in refused.text


def test_the_badge_endpoint_takes_only_posts(tablet):
    assert tablet.get("/t/ARM/credencial/", {"codigo": BADGE_100}).status_code == 405
