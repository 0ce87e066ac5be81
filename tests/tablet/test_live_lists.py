"""A tablet's live list follows the floor: what each committed change removes from it, adds
to it, or asks it to re-sync (occupation/live.py, asked directly, no socket)."""

from __future__ import annotations

import pytest

from occupation.live import RESYNC_OVER, LiveList, render_changes
from occupation.services import ActionCommand, perform_action
from spools.lifecycle import Accion, Operacion, Resultado
from spools.models import Spool, Worker
from spools.sheets import open_workbook
from spools.workbook.columns import OPERACIONES
from spools.workbook.pull import pull
from tests.plant import (
    ARM_DONE,
    ARM_PENDING,
    MAT,
    NO_MATERIALS,
    REJECTED_1,
    REPAIRED,
)

pytestmark = pytest.mark.django_db


def live_list(operacion: str, accion: str, worker_id: int) -> LiveList:
    return LiveList(Operacion(operacion), Accion(accion), Worker.objects.get(pk=worker_id))


def act(operacion: str, accion: str, worker_id: int, tag: str, resultado: str = "") -> None:
    outcome = perform_action(ActionCommand(operacion, accion, worker_id, [tag], resultado))
    assert outcome.status == 200, outcome


def office_fills_fecha_materiales(tag: str) -> list[str]:
    """The office types Fecha_Materiales into the sheet; the pull brings it in."""
    ws = open_workbook().worksheet(OPERACIONES)
    column = ws.row_values(1).index("Fecha_Materiales") + 1
    ws.update_cell(Spool.objects.get(tag=tag).sheet_row, column, MAT)
    return pull().changed_tags


def test_a_spool_taken_elsewhere_leaves_the_tomar_list_and_joins_the_takers_pausar_list(plant):
    tomar = live_list("ARM", "TOMAR", 100)
    pausar = live_list("ARM", "PAUSAR", 93)

    act("ARM", "TOMAR", 93, ARM_PENDING)

    gone = tomar.changes([ARM_PENDING])
    assert [(r.tag, r.remove, r.spool) for r in gone.rows] == [(ARM_PENDING, True, None)]
    html = render_changes(gone)
    assert f'<li id="spool-{ARM_PENDING}" hx-swap-oob="delete"></li>' == html
    assert ARM_PENDING not in tomar.shown

    joined = pausar.changes([ARM_PENDING])
    (row,) = joined.rows
    assert (row.remove, row.spool.tag, row.target) == (False, ARM_PENDING, "#spool-list")
    html = render_changes(joined)
    assert html.startswith('<ul hx-swap-oob="beforeend:#spool-list"><li id="spool-')
    assert 'hx-swap-oob="delete"' not in html and f'value="{ARM_PENDING}"' in html


def test_a_spool_paused_again_comes_back_without_a_row_to_delete(plant):
    tomar = live_list("ARM", "TOMAR", 100)
    act("ARM", "TOMAR", 93, ARM_PENDING)
    tomar.changes([ARM_PENDING])

    act("ARM", "PAUSAR", 93, ARM_PENDING)

    (row,) = tomar.changes([ARM_PENDING]).rows
    assert (row.remove, row.spool.tag) == (False, ARM_PENDING)
    assert ARM_PENDING in tomar.shown


def test_a_spool_whose_materials_arrive_is_added_to_the_tomar_list(plant):
    tomar = live_list("ARM", "TOMAR", 100)
    assert NO_MATERIALS not in tomar.shown

    changed = office_fills_fecha_materiales(NO_MATERIALS)

    assert changed == [NO_MATERIALS]
    html = render_changes(tomar.changes(changed))
    assert html.startswith('<ul hx-swap-oob="beforeend:#spool-list">')
    assert f'id="spool-{NO_MATERIALS}"' in html and "delete" not in html


def test_a_change_to_a_spool_the_list_does_not_show_sends_nothing(plant):
    sold_tomar = live_list("SOLD", "TOMAR", 94)
    shown_before = set(sold_tomar.shown)

    act("ARM", "TOMAR", 93, ARM_PENDING)

    changes = sold_tomar.changes([ARM_PENDING])
    assert not changes and changes.rows == [] and changes.resync == 0
    assert sold_tomar.shown == shown_before


def test_a_change_that_keeps_a_spool_in_the_list_redraws_its_row(plant):
    sold_tomar = live_list("SOLD", "TOMAR", 94)
    assert ARM_DONE in sold_tomar.shown

    changes = sold_tomar.changes([ARM_DONE])  # e.g. the office edited its OT

    (row,) = changes.rows
    assert (row.remove, row.spool.tag) == (True, ARM_DONE)
    html = render_changes(changes)
    assert html.index('hx-swap-oob="delete"') < html.index("beforeend:#spool-list")


def test_a_third_rejection_shows_the_spool_locked_in_the_repair_list(plant):
    reparar = live_list("REPARACION", "TOMAR", 96)
    assert REJECTED_1 in reparar.shown and REPAIRED not in reparar.blocked_shown

    act("METROLOGIA", "COMPLETAR", 95, REPAIRED, resultado=Resultado.RECHAZADO)

    changes = reparar.changes([REPAIRED])

    (row,) = changes.rows
    assert (row.remove, row.spool.tag, row.blocked) == (False, REPAIRED, True)
    html = render_changes(changes)
    assert html.startswith('<ul hx-swap-oob="beforeend:#blocked-list">')
    assert "BLOQUEADO" in html and 'type="checkbox"' not in html
    assert REPAIRED in reparar.blocked_shown and REPAIRED not in reparar.shown


def test_a_mass_change_asks_for_a_resync_instead_of_rows(plant):
    tomar = live_list("ARM", "TOMAR", 100)
    act("ARM", "TOMAR", 93, ARM_PENDING)
    tags = [ARM_PENDING] + [f"MK-OFICINA-{i:03d}" for i in range(RESYNC_OVER)]

    changes = tomar.changes(tags)

    assert changes and changes.resync == len(tags) and changes.rows == []
    html = render_changes(changes)
    assert html == f'<span id="list-resync" hx-swap-oob="true" data-changed="{len(tags)}"></span>'
    # The re-sync re-read the list: the spool taken meanwhile is known to be gone.
    assert ARM_PENDING not in tomar.shown
    act("ARM", "PAUSAR", 93, ARM_PENDING)
    (row,) = tomar.changes([ARM_PENDING]).rows
    assert not row.remove and row.spool.tag == ARM_PENDING
