"""What the tablet offers for the reasons: METROLOGÍA's two verdicts with RECHAZADO asking
why (and which unions failed, on a spool with unions); PAUSAR's optional reason chips with a
way to confirm without one. The flows themselves run in a real browser
(test_reasons_browser.py)."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.plant import (
    ARM_IN_PROGRESS,
    IN_REPAIR,
    QC_PENDING,
    add_unions,
    union,
)

pytestmark = pytest.mark.django_db

DONE = datetime(2026, 5, 11, 10, 0, tzinfo=ZoneInfo("America/Santiago"))


def chips(html: str) -> list[tuple[str, str]]:
    """(code, label) of the reason buttons, in order."""
    return re.findall(r'<button type="submit" name="motivo" value="([^"]+)"[^>]*>([^<]+)<', html)


def test_metrologia_keeps_two_verdicts_and_rechazado_asks_why(plant, station):
    html = station.get("/t/METROLOGIA/95/COMPLETAR/confirmar/", {"tags": QC_PENDING}).text
    assert 'value="APROBADO"' in html and 'data-rechazo="open"' in html  # the two verdicts
    assert chips(html) == [
        ("porosidad", "Porosidad"),
        ("falta_fusion", "Falta de fusión"),
        ("falta_penetracion", "Falta de penetración"),
        ("socavado", "Socavado"),
        ("fisura", "Fisura"),
        ("escoria", "Inclusión de escoria"),
        ("desalineamiento", "Desalineamiento"),
        ("dimensional", "Dimensional"),
        ("otro", "Otro"),
    ]
    assert re.search(r'<section id="rechazo"[^>]* hidden>', html)  # until RECHAZADO is tapped
    assert 'name="uniones"' not in html  # no unions on this spool


def test_a_spool_with_unions_offers_them_as_the_failed_ones(plant, station):
    done = {"arm_fin": DONE, "arm_worker": "MR(93)", "sol_fin": DONE, "sol_worker": "JP(94)"}
    add_unions(QC_PENDING, union(1, "2", **done), union(2, "2.5", "FW", arm_fin=DONE))
    html = station.get("/t/METROLOGIA/95/COMPLETAR/confirmar/", {"tags": QC_PENDING}).text
    assert re.findall(r'name="uniones" value="(\d+)"', html) == ["1", "2"]
    assert "soldó JP(94)" in html


def test_the_plants_own_rejection_list_is_offered(plant, station, settings):
    settings.ZEUES_MOTIVOS_RECHAZO = {"pintura": "Pintura dañada", "otro": "Otro"}
    html = station.get("/t/METROLOGIA/95/COMPLETAR/confirmar/", {"tags": QC_PENDING}).text
    assert chips(html) == [("pintura", "Pintura dañada"), ("otro", "Otro")]


@pytest.mark.parametrize(
    "url,tag",
    [
        ("/t/ARM/93/PAUSAR/confirmar/", ARM_IN_PROGRESS),
        ("/t/REPARACION/96/PAUSAR/confirmar/", IN_REPAIR),
    ],
)
def test_pausar_offers_optional_reasons_and_a_way_to_confirm_without_one(plant, station, url, tag):
    html = station.get(url, {"tags": tag}).text
    assert [code for code, _ in chips(html)] == [
        "fin_turno",
        "falta_material",
        "esperando_armado",
        "esperando_grua",
        "consumibles",
        "calidad",
        "otro",
    ]
    assert "(opcional)" in html
    button = re.search(
        r'<button type="submit" class="big primary confirm-button"[^>]*>(.*?)</button>', html
    )
    assert button and re.sub(r"<[^>]+>", "", button.group(1)) == "Confirmar PAUSAR sin motivo"


def test_other_actions_offer_no_reasons(plant, station):
    html = station.get("/t/ARM/93/COMPLETAR/confirmar/", {"tags": ARM_IN_PROGRESS}).text
    assert chips(html) == [] and "sin motivo" not in html


def test_the_union_step_of_a_pause_offers_the_reasons_too(plant, station):
    add_unions(ARM_IN_PROGRESS, union(1, "2"), union(2, "3"))
    html = station.get("/t/ARM/93/PAUSAR/uniones/", {"tags": ARM_IN_PROGRESS}).text
    assert ("fin_turno", "Fin de turno") in chips(html)
    assert 'id="union-go" data-motivo=""' in html
    html = station.get("/t/ARM/93/COMPLETAR/uniones/", {"tags": ARM_IN_PROGRESS}).text
    assert chips(html) == []
