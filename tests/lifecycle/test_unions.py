"""Every rule of uniones.md's table, through POST /acciones/, checked in the mirror.

The workbook side of Uniones (pull, flush) is tested elsewhere: here a spool's unions are
Union rows in the mirror (as a pull leaves them), and what reaches the workbook is read
from the Event and OutboxEntry rows a change commits. A refusal writes nothing at all.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from spools.lifecycle import (
    MetrologiaState as M,
)
from spools.lifecycle import (
    ReparacionState as R,
)
from spools.lifecycle import (
    WorkState as W,
)
from spools.lifecycle import (
    derive_states,
    render_estado_detalle,
    stage_of,
)
from spools.models import Event, OutboxEntry, Spool, Union, Worker
from spools.rules import ActionError
from spools.services import TransitionContext, run_transition, union_choice
from spools.workbook.values import format_datetime
from tests.builders import spool
from tests.plant import (
    ARM_DONE,
    ARM_IN_PROGRESS,
    ARM_SOLD_DONE,
    MAT,
    act,
    add_unions,
    build_plant,
    new_request_id,
    union,
)

pytestmark = pytest.mark.django_db

SEVEN = "MK-2001-U-001"  # materials arrived, 7 BW unions, nothing done
FW_MIX = "MK-2001-U-002"  # unions 1 BW, 2 FW (ARM only), 3 BW
LEFT_UNWELDED = "MK-2001-U-003"  # ARM and SOLD dated in the sheet, union 2 not welded
ALL_DONE = "MK-2001-U-004"  # ARM and SOLD complete, every union done
REJECTED = "MK-2001-U-005"  # every union done, rejected once: waiting for repair
ONLY_FW = "MK-2001-U-006"  # two FW unions, fitted, ARM complete

SEVEN_DN = ("2", "2", "2.5", "3", "4", "1.5", "6")  # 21 PD in all
EARLIER = timezone.now() - timedelta(days=2)


def fitted(who: str = "MR(93)", wid: int = 93, when: datetime = EARLIER) -> dict:
    return {"arm_inicio": when, "arm_fin": when, "arm_worker": who, "arm_worker_id": wid}


def welded(who: str = "JP(94)", wid: int = 94, when: datetime = EARLIER) -> dict:
    return {"sol_inicio": when, "sol_fin": when, "sol_worker": who, "sol_worker_id": wid}


@pytest.fixture
def uplant(sheet_store):
    build_plant(
        [
            spool(SEVEN, OT="OT-2001", Fecha_Materiales=MAT),
            spool(FW_MIX, OT="OT-2001", Fecha_Materiales=MAT),
            spool(LEFT_UNWELDED, **ARM_SOLD_DONE),
            spool(ALL_DONE, **ARM_SOLD_DONE),
            spool(
                REJECTED,
                **ARM_SOLD_DONE,
                Estado_Detalle="RECHAZADO (Ciclo 1/3) - Pendiente reparación",
            ),
            spool(ONLY_FW, Fecha_Materiales=MAT, Armador="MR(93)", Fecha_Armado="10-05-2026"),
        ]
    )
    add_unions(SEVEN, *(union(n, dn) for n, dn in enumerate(SEVEN_DN, start=1)))
    add_unions(FW_MIX, union(1, 2), union(2, 3, "FW"), union(3, "1.5"))
    add_unions(LEFT_UNWELDED, union(1, 2, **fitted(), **welded()), union(2, 2, **fitted()))
    add_unions(ALL_DONE, union(1, 2, **fitted(), **welded()), union(2, 4, "FW", **fitted()))
    add_unions(REJECTED, union(1, 2, **fitted(), **welded()))
    add_unions(ONLY_FW, union(1, 2, "FW", **fitted()), union(2, 3, "FW", **fitted()))


def end_session(client, operacion: str, accion: str, worker: int, tag: str, *uniones: int):
    return act(client, operacion, accion, worker, tag, uniones=[str(n) for n in uniones])


def get(tag: str) -> Spool:
    return Spool.objects.get(tag=tag)


def unions(tag: str) -> dict[int, Union]:
    return {u.n_union: u for u in Union.objects.filter(tag=tag)}


def events(tag: str) -> list[Event]:
    return list(
        Event.objects.filter(tag=tag, from_sheet=False).order_by("timestamp", "evento_tipo")
    )


def kinds(tag: str) -> list[str]:
    return [e.evento_tipo for e in Event.objects.filter(tag=tag, from_sheet=False)]


def state_of(tag: str) -> tuple:
    """Everything a refusal must leave as it was: the spool, its unions, its log."""
    s = get(tag)
    cells = s.app_cells()
    union_cells = sorted(
        Union.objects.filter(tag=tag).values_list(
            "n_union", "arm_fin", "arm_worker", "sol_fin", "sol_worker", "version"
        )
    )
    counters = (s.uniones_arm, s.uniones_sold, s.pulgadas_arm, s.pulgadas_sold)
    log = (Event.objects.filter(tag=tag).count(), OutboxEntry.objects.filter(tag=tag).count())
    return cells, union_cells, counters, log


def fit(station, worker: int, tag: str, *uniones: int, accion: str = "PAUSAR"):
    """One ARM session: TOMAR, then end it registering these unions."""
    assert act(station, "ARM", "TOMAR", worker, tag).status_code == 200
    return end_session(station, "ARM", accion, worker, tag, *uniones)


# --- which unions count -------------------------------------------------------------------


def test_every_union_counts_for_arm_and_those_needing_sold_for_sold(uplant):
    s = get(FW_MIX)
    assert (s.uniones_total, s.uniones_sold_total) == (3, 2)
    assert [u.n_union for u in union_choice(s, "ARM").counting] == [1, 2, 3]
    assert [u.n_union for u in union_choice(s, "SOLD").counting] == [1, 3]


def test_union_choice_lists_what_a_session_may_register(uplant, station):
    fit(station, 93, FW_MIX, 1, 2)
    s = get(FW_MIX)
    arm, sold = union_choice(s, "ARM"), union_choice(s, "SOLD")
    assert [u.n_union for u in arm.selectable] == [3]
    assert [u.n_union for u in arm.done] == [1, 2]
    assert arm.remaining == [3]
    assert [u.n_union for u in sold.selectable] == [1]  # fitted, needs SOLD (2 is FW)
    assert sold.remaining == [1, 3]


# --- TOMAR ---------------------------------------------------------------------------------


def test_tomar_arm_is_as_in_domain_and_changes_no_union(uplant, station):
    before = state_of(SEVEN)[1]
    assert act(station, "ARM", "TOMAR", 93, SEVEN).status_code == 200
    s = get(SEVEN)
    assert (s.arm, s.ocupado_por, s.armador) == (W.EN_PROGRESO, "MR(93)", "MR(93)")
    assert state_of(SEVEN)[1] == before
    assert kinds(SEVEN) == ["TOMAR_SPOOL"]


def test_tomar_sold_needs_a_union_ready_to_weld(uplant, station):
    before = state_of(SEVEN)
    response = act(station, "SOLD", "TOMAR", 94, SEVEN)
    assert response.status_code == 400
    assert "ninguna unión armada pendiente de soldar" in response.text
    assert state_of(SEVEN) == before


def test_tomar_sold_with_one_union_fitted_while_arm_is_partial(uplant, station):
    fit(station, 93, SEVEN, 1)
    response = act(station, "SOLD", "TOMAR", 94, SEVEN)
    assert response.status_code == 200, response.text
    s = get(SEVEN)
    assert (s.arm, s.sold, s.occupied_operation) == (W.PAUSADO, W.EN_PROGRESO, "SOLD")
    assert s.fecha_armado is None and s.soldador == "JP(94)"
    assert s.estado_detalle == "JP(94) trabajando SOLD (ARM parcial 1/7, SOLD en progreso)"
    # The pull reads the same states back from the columns and this text.
    derived = derive_states(
        armador=s.armador,
        fecha_armado=s.fecha_armado,
        soldador=s.soldador,
        fecha_soldadura=s.fecha_soldadura,
        fecha_qc_metrologia=s.fecha_qc_metrologia,
        ocupado_por=s.ocupado_por,
        estado_detalle=s.estado_detalle,
    )
    assert (derived.arm, derived.sold, derived.occupied_operation) == (
        W.PAUSADO,
        W.EN_PROGRESO,
        "SOLD",
    )
    # The fitter cannot take it meanwhile; the welder ends their session as usual.
    assert act(station, "ARM", "TOMAR", 100, SEVEN).status_code == 409
    assert end_session(station, "SOLD", "FINALIZAR", 94, SEVEN, 1).status_code == 200
    s = get(SEVEN)
    assert (s.arm, s.sold, s.uniones_sold) == (W.PAUSADO, W.PAUSADO, 1)
    assert s.estado_detalle == "Disponible - ARM parcial 1/7, SOLD parcial 1/7"


def test_tomar_sold_without_unions_still_needs_arm_completed(plant, station):
    from tests.plant import ARM_PAUSED

    response = act(station, "SOLD", "TOMAR", 94, ARM_PAUSED)
    assert response.status_code == 400
    assert "armado completado" in response.text


# --- ending a session: what may be selected --------------------------------------------------


@pytest.mark.parametrize(
    "operacion,worker,selected,message",
    [
        ("ARM", 93, 1, "La unión 1 ya está armada (MR(93))"),
        ("ARM", 93, 9, "La unión 9 no existe en el spool"),
        ("SOLD", 94, 3, "La unión 3 aún no está armada"),
        ("SOLD", 94, 2, "La unión 2 es FW: no lleva soldadura"),
    ],
)
def test_a_union_that_cannot_be_selected_is_refused_by_name(
    uplant, station, operacion, worker, selected, message
):
    fit(station, 93, FW_MIX, 1, 2)
    assert act(station, operacion, "TOMAR", worker, FW_MIX).status_code == 200
    before = state_of(FW_MIX)
    response = end_session(station, operacion, "PAUSAR", worker, FW_MIX, selected)
    assert response.status_code == 400
    assert message in response.text
    assert state_of(FW_MIX) == before  # nothing changed, nothing logged


def test_a_welded_union_cannot_be_welded_again(uplant, station):
    fit(station, 93, FW_MIX, 1, 2)
    assert act(station, "SOLD", "TOMAR", 94, FW_MIX).status_code == 200
    assert end_session(station, "SOLD", "PAUSAR", 94, FW_MIX, 1).status_code == 200
    fit(station, 93, FW_MIX, 3)
    assert act(station, "SOLD", "TOMAR", 96, FW_MIX).status_code == 200
    response = end_session(station, "SOLD", "PAUSAR", 96, FW_MIX, 1)
    assert response.status_code == 400
    assert "La unión 1 ya está soldada (JP(94))" in response.text


def test_unions_on_a_spool_without_unions_are_refused(plant, station):
    response = end_session(station, "ARM", "PAUSAR", 93, ARM_IN_PROGRESS, 1)
    assert response.status_code == 400
    assert "no tiene uniones" in response.text
    assert get(ARM_IN_PROGRESS).ocupado_por == "MR(93)"


# --- each union finished ------------------------------------------------------------------


def test_each_union_finished_records_its_session_worker_and_a_new_version(uplant, station):
    assert act(station, "ARM", "TOMAR", 93, SEVEN).status_code == 200
    taken_at = get(SEVEN).fecha_ocupacion
    versions = {n: u.version for n, u in unions(SEVEN).items()}
    started = timezone.now().replace(microsecond=0)
    assert end_session(station, "ARM", "PAUSAR", 93, SEVEN, 2, 3).status_code == 200
    after = unions(SEVEN)
    for n in (2, 3):
        u = after[n]
        assert u.arm_inicio == taken_at  # the occupation's Fecha_Ocupacion
        assert started <= u.arm_fin <= timezone.now()
        assert (u.arm_worker, u.arm_worker_id) == ("MR(93)", 93)
        assert u.version != versions[n] and len(u.version) == 36
        assert u.sol_fin is None
    untouched = [n for n in versions if n not in (2, 3)]
    assert all(after[n].version == versions[n] and not after[n].arm_done for n in untouched)


# --- PAUSAR ---------------------------------------------------------------------------------


def test_pausar_registers_the_selected_unions_and_releases(uplant, station):
    response = fit(station, 93, SEVEN, 1, 2, 3)
    assert response.status_code == 200
    assert "3 uniones registradas (6,5 PD)" in response.text
    s = get(SEVEN)
    assert (s.arm, s.ocupado_por, s.fecha_armado) == (W.PAUSADO, "", None)
    assert (s.uniones_arm, s.pulgadas_arm) == (3, Decimal("6.5"))
    assert s.estado_detalle == "Disponible - ARM parcial 3/7, SOLD pendiente"
    assert kinds(SEVEN).count("PAUSAR_SPOOL") == 1


def test_pausar_without_unions_releases_without_registering(uplant, station):
    response = fit(station, 93, SEVEN)  # "¿Liberar sin registrar?"
    assert response.status_code == 200
    s = get(SEVEN)
    assert (s.arm, s.ocupado_por, s.uniones_arm) == (W.PAUSADO, "", 0)
    assert s.estado_detalle == "Disponible - ARM pausado, SOLD pendiente"
    assert not any(u.arm_done for u in unions(SEVEN).values())
    [pausa] = [e for e in events(SEVEN) if e.evento_tipo == "PAUSAR_SPOOL"]
    assert (pausa.metadata_json["uniones"], pausa.metadata_json["pulgadas"]) == ([], 0.0)


def test_a_pausar_that_registers_the_last_union_completes(uplant, station):
    fit(station, 93, FW_MIX, 1)
    response = fit(station, 100, FW_MIX, 2, 3)
    assert response.status_code == 200
    assert "completado" in response.text
    s = get(FW_MIX)
    assert (s.arm, s.armador, s.fecha_armado) == (W.COMPLETADO, "DF(100)", timezone.localdate())
    assert kinds(FW_MIX).count("PAUSAR_SPOOL") == 1  # A's session only
    [done] = [e for e in events(FW_MIX) if e.evento_tipo == "COMPLETAR_ARM"]
    assert (done.accion, done.worker_nombre) == ("COMPLETAR", "DF(100)")
    assert done.metadata_json["accion_solicitada"] == "PAUSAR"
    assert done.metadata_json["uniones"] == [2, 3]


# --- COMPLETAR ------------------------------------------------------------------------------


def test_completar_with_unions_left_is_refused_and_writes_nothing(uplant, station):
    fit(station, 93, SEVEN, 1, 2)
    assert act(station, "ARM", "TOMAR", 100, SEVEN).status_code == 200
    before = state_of(SEVEN)
    events_before = Event.objects.count()
    outbox_before = OutboxEntry.objects.count()
    response = end_session(station, "ARM", "COMPLETAR", 100, SEVEN, 3, 5, 6)
    assert response.status_code == 400
    assert "faltan uniones 4, 7" in response.text
    assert state_of(SEVEN) == before
    assert (Event.objects.count(), OutboxEntry.objects.count()) == (events_before, outbox_before)
    assert get(SEVEN).ocupado_por == "DF(100)"  # still theirs: nothing changed


def test_completar_with_every_union_left_selected_completes(uplant, station):
    response = fit(station, 93, SEVEN, *range(1, 8), accion="COMPLETAR")
    assert response.status_code == 200
    s = get(SEVEN)
    assert (s.arm, s.armador, s.fecha_armado) == (W.COMPLETADO, "MR(93)", timezone.localdate())
    assert (s.uniones_arm, s.pulgadas_arm) == (7, Decimal("21"))
    assert s.estado_detalle == "Disponible - ARM completado, SOLD pendiente"


# --- FINALIZAR ------------------------------------------------------------------------------


def test_finalizar_pauses_while_counting_unions_remain(uplant, station):
    response = fit(station, 93, SEVEN, 1, 2, accion="FINALIZAR")
    assert response.status_code == 200
    assert "pausado" in response.text
    s = get(SEVEN)
    assert (s.arm, s.ocupado_por, s.fecha_armado) == (W.PAUSADO, "", None)
    [end] = [e for e in events(SEVEN) if e.accion != "TOMAR" and not e.evento_tipo.startswith("U")]
    assert (end.evento_tipo, end.accion) == ("PAUSAR_SPOOL", "PAUSAR")
    assert end.metadata_json["accion_solicitada"] == "FINALIZAR"


def test_finalizar_completes_when_every_counting_union_is_done(uplant, station):
    fit(station, 93, SEVEN, 1, 2, 3, 4, 5)
    response = fit(station, 93, SEVEN, 6, 7, accion="FINALIZAR")
    assert response.status_code == 200
    assert "completado" in response.text
    s = get(SEVEN)
    assert (s.arm, s.fecha_armado, s.ocupado_por) == (W.COMPLETADO, timezone.localdate(), "")
    assert kinds(SEVEN).count("COMPLETAR_ARM") == 1


def test_finalizar_needs_at_least_one_union(uplant, station):
    assert act(station, "ARM", "TOMAR", 93, SEVEN).status_code == 200
    before = state_of(SEVEN)
    response = end_session(station, "ARM", "FINALIZAR", 93, SEVEN)
    assert response.status_code == 400
    assert "al menos una unión" in response.text
    assert state_of(SEVEN) == before


def test_finalizar_on_a_spool_without_unions_is_completar(plant, station):
    response = act(station, "ARM", "FINALIZAR", 93, ARM_IN_PROGRESS)
    assert response.status_code == 200
    s = get(ARM_IN_PROGRESS)
    assert (s.arm, s.armador, s.fecha_armado) == (W.COMPLETADO, "MR(93)", timezone.localdate())
    [end] = [e for e in events(ARM_IN_PROGRESS)]
    assert (end.evento_tipo, end.operacion, end.accion) == ("COMPLETAR_ARM", "ARM", "COMPLETAR")
    assert "uniones" not in end.metadata_json  # a spool without unions logs as in v3.0


@pytest.mark.parametrize("operacion", ["REPARACION", "METROLOGIA"])
def test_finalizar_is_only_for_arm_and_sold(plant, station, operacion):
    response = act(station, operacion, "FINALIZAR", 96, ARM_IN_PROGRESS, resultado=None)
    assert response.status_code == 400


# --- ARM / SOLD completed, decided on all the unions -----------------------------------------


def test_two_fitters_split_the_unions_and_the_last_completes_the_arm(uplant, station):
    assert fit(station, 93, SEVEN, 1, 2, 3).status_code == 200  # A fits 1–3 and pauses
    s = get(SEVEN)
    assert (s.arm, s.armador) == (W.PAUSADO, "MR(93)")
    response = fit(station, 100, SEVEN, 4, 5, 6, 7, accion="COMPLETAR")  # B fits 4–7
    assert response.status_code == 200, response.text
    s = get(SEVEN)
    every = unions(SEVEN)
    latest = max(u.arm_fin for u in every.values())
    assert s.arm == W.COMPLETADO
    assert s.armador == "DF(100)"
    assert s.fecha_armado == timezone.localdate(latest)
    # Each is credited with their own unions.
    assert {n: u.arm_worker for n, u in every.items()} == {
        1: "MR(93)",
        2: "MR(93)",
        3: "MR(93)",
        4: "DF(100)",
        5: "DF(100)",
        6: "DF(100)",
        7: "DF(100)",
    }


def _memory_spool(tag: str, *unions_: Union) -> Spool:
    s = Spool(tag=tag, fecha_materiales=date(2026, 5, 2))
    s.unions = list(unions_)
    s.count_unions(s.unions)
    s.refresh_estado_detalle()
    return s


def test_completion_is_dated_by_the_latest_fin_of_all_unions_in_memory():
    """The pure core (no database: the demo plays histories with it): day 1 worker A fits
    1–2, day 3 worker B fits 3; ARM is dated day 3 and credited to B."""
    a = Worker(id=93, nombre="Mario", apellido="Rojas")
    b = Worker(id=100, nombre="Diego", apellido="Fuentes")
    u = [Union(tag="MEM-1", n_union=n, dn_union=Decimal(2), tipo_union="BW") for n in (1, 2, 3)]
    s = _memory_spool("MEM-1", *u)
    day1 = timezone.make_aware(datetime(2026, 5, 4, 9, 0))
    day3 = timezone.make_aware(datetime(2026, 5, 6, 15, 30))

    def at(worker: Worker, when: datetime, *uniones: int) -> TransitionContext:
        return TransitionContext.at(worker, when, uniones=uniones)

    run_transition(s, "tomar_arm", at(a, day1))
    change = run_transition(s, "pausar_arm", at(a, day1 + timedelta(hours=2), 1, 2))
    assert [x.n_union for x in change.unions] == [1, 2]
    assert s.estado_detalle == "Disponible - ARM parcial 2/3, SOLD pendiente"
    run_transition(s, "tomar_arm", at(b, day3))
    with pytest.raises(ActionError) as refused:
        run_transition(s, "completar_arm", at(b, day3 + timedelta(hours=1)))
    assert "faltan uniones 3" in refused.value.message
    run_transition(s, "completar_arm", at(b, day3 + timedelta(hours=1), 3))
    assert (s.arm, s.fecha_armado, s.armador) == (W.COMPLETADO, date(2026, 5, 6), "DF(100)")
    assert u[0].arm_inicio == day1 and u[2].arm_inicio == day3


def test_a_fw_union_never_needs_sold(uplant, station):
    fit(station, 93, FW_MIX, 1, 2, 3, accion="COMPLETAR")
    assert get(FW_MIX).arm == W.COMPLETADO
    assert act(station, "SOLD", "TOMAR", 94, FW_MIX).status_code == 200
    response = end_session(station, "SOLD", "FINALIZAR", 94, FW_MIX, 1, 3)
    assert response.status_code == 200
    s = get(FW_MIX)
    assert (s.sold, s.soldador, s.fecha_soldadura) == (W.COMPLETADO, "JP(94)", timezone.localdate())
    assert (s.uniones_sold, s.uniones_sold_total, s.pulgadas_sold) == (2, 2, Decimal("3.5"))
    fw = unions(FW_MIX)[2]
    assert (fw.arm_done, fw.sold_done, fw.needs_sold) == (True, False, False)
    # Nothing is left for METROLOGÍA: the FW union is fitted.
    assert (
        act(station, "METROLOGIA", "COMPLETAR", 95, FW_MIX, resultado="APROBADO").status_code == 200
    )


def test_sold_completes_when_the_sold_unions_are_done_even_before_arm(uplant, station):
    """Union 2 is FW: once 1 and 3 are welded SOLD is complete, and ARM still waits for 2."""
    fit(station, 93, FW_MIX, 1, 3)
    assert act(station, "SOLD", "TOMAR", 94, FW_MIX).status_code == 200
    assert end_session(station, "SOLD", "COMPLETAR", 94, FW_MIX, 1, 3).status_code == 200
    s = get(FW_MIX)
    assert (s.arm, s.sold) == (W.PAUSADO, W.COMPLETADO)
    assert s.estado_detalle == "Disponible - ARM parcial 2/3, SOLD completado"
    assert stage_of(True, s.arm, s.sold, s.metrologia, s.reparacion) == "arm_pausado"
    response = act(station, "METROLOGIA", "COMPLETAR", 95, FW_MIX, resultado="APROBADO")
    assert response.status_code == 400
    assert "queda 1 unión sin soldar" in response.text
    assert fit(station, 100, FW_MIX, 2).status_code == 200  # the last one completes ARM
    assert get(FW_MIX).arm == W.COMPLETADO


# --- CANCELAR, METROLOGÍA, REPARACIÓN ---------------------------------------------------------


def test_cancelar_changes_no_union(uplant, station):
    fit(station, 93, SEVEN, 1)
    before = state_of(SEVEN)
    assert act(station, "ARM", "TOMAR", 100, SEVEN).status_code == 200
    assert act(station, "ARM", "CANCELAR", 100, SEVEN).status_code == 200
    after = state_of(SEVEN)
    assert after[1:3] == before[1:3]  # unions and counters as they were
    assert after[0]["Estado_Detalle"] == before[0]["Estado_Detalle"]
    assert kinds(SEVEN).count("UNION_ARM_REGISTRADA") == 1  # union 1's, from the session before
    assert kinds(SEVEN)[-2:] == ["TOMAR_SPOOL", "CANCELAR_ARM"]


def test_cancelar_takes_no_unions(uplant, station):
    assert act(station, "ARM", "TOMAR", 93, SEVEN).status_code == 200
    response = end_session(station, "ARM", "CANCELAR", 93, SEVEN, 1)
    assert response.status_code == 400
    assert get(SEVEN).ocupado_por == "MR(93)"


def test_metrologia_is_refused_while_a_union_is_not_welded(uplant, station):
    s = get(LEFT_UNWELDED)
    assert (s.arm, s.sold) == (W.COMPLETADO, W.COMPLETADO)  # the sheet says so
    before = state_of(LEFT_UNWELDED)
    response = act(station, "METROLOGIA", "COMPLETAR", 95, LEFT_UNWELDED, resultado="APROBADO")
    assert response.status_code == 400
    assert "queda 1 unión sin soldar" in response.text
    assert state_of(LEFT_UNWELDED) == before


def test_metrologia_counts_the_unions_left(uplant, station):
    fit(station, 93, SEVEN, 1, 2)
    response = act(station, "METROLOGIA", "COMPLETAR", 95, SEVEN, resultado="APROBADO")
    assert response.status_code == 400
    assert "quedan 7 uniones sin soldar" in response.text


def test_metrologia_passes_once_every_union_is_done(uplant, station):
    response = act(station, "METROLOGIA", "COMPLETAR", 95, ALL_DONE, resultado="APROBADO")
    assert response.status_code == 200
    assert get(ALL_DONE).metrologia == M.APROBADO


def test_a_spool_of_fw_unions_only_has_no_sold_to_wait_for(uplant, station):
    response = act(station, "SOLD", "TOMAR", 94, ONLY_FW)
    assert response.status_code == 400  # nothing to weld
    response = act(station, "METROLOGIA", "COMPLETAR", 95, ONLY_FW, resultado="APROBADO")
    assert response.status_code == 200, response.text


def test_reparacion_leaves_the_union_cells_as_they_are(uplant, station):
    before = state_of(REJECTED)[1]
    assert act(station, "REPARACION", "TOMAR", 96, REJECTED).status_code == 200
    assert act(station, "REPARACION", "COMPLETAR", 96, REJECTED).status_code == 200
    s = get(REJECTED)
    assert (s.reparacion, s.metrologia) == (R.PENDIENTE_METROLOGIA, M.PENDIENTE)
    assert state_of(REJECTED)[1] == before
    response = end_session(station, "REPARACION", "PAUSAR", 96, REJECTED, 1)
    assert response.status_code == 400  # repair takes no unions


# --- Metadata ----------------------------------------------------------------------------------


def test_a_session_end_logs_its_event_once_and_one_row_per_union(uplant, station):
    rid = new_request_id()
    assert act(station, "ARM", "TOMAR", 93, SEVEN).status_code == 200
    response = act(station, "ARM", "PAUSAR", 93, SEVEN, uniones=["3", "1", "3"], request_id=rid)
    assert response.status_code == 200
    # A retry of the same request changes nothing more.
    act(station, "ARM", "PAUSAR", 93, SEVEN, uniones=["3", "1", "3"], request_id=rid)
    logged = [e for e in events(SEVEN) if e.evento_tipo != "TOMAR_SPOOL"]
    assert sorted(e.evento_tipo for e in logged) == [
        "PAUSAR_SPOOL",
        "UNION_ARM_REGISTRADA",
        "UNION_ARM_REGISTRADA",
    ]
    [pausa] = [e for e in logged if e.evento_tipo == "PAUSAR_SPOOL"]
    assert pausa.metadata_json["uniones"] == [1, 3]
    assert pausa.metadata_json["pulgadas"] == 4.5
    assert pausa.metadata_json["request_id"] == rid
    per_union = {e.metadata_json["n_union"]: e for e in logged if e.evento_tipo.startswith("U")}
    assert set(per_union) == {1, 3}
    for n, e in per_union.items():
        assert (e.operacion, e.accion, e.worker_id, e.worker_nombre) == (
            "ARM",
            "PAUSAR",
            93,
            "MR(93)",
        )
        u = unions(SEVEN)[n]
        assert e.metadata_json["fin"] == format_datetime(u.arm_fin)
        assert e.metadata_json["tipo_union"] == "BW"

    # The outbox: the spool's entry carries the union cells and counters; each union's
    # Metadata row names its N_UNION (the optional column).
    entries = list(OutboxEntry.objects.filter(tag=SEVEN).order_by("id"))[1:]
    assert len(entries) == 3
    main, *rows = entries
    assert main.metadata_row["Evento_Tipo"] == "PAUSAR_SPOOL"
    assert main.metadata_row["N_UNION"] == ""
    assert sorted(w["n"] for w in main.unions) == [1, 3]
    assert all(w["cells"]["ARM_WORKER"] == "MR(93)" for w in main.unions)
    assert main.cells["Uniones_ARM_Completadas"] == 2
    assert main.cells["Estado_Detalle"] == "Disponible - ARM parcial 2/7, SOLD pendiente"
    assert sorted(r.metadata_row["N_UNION"] for r in rows) == [1, 3]
    assert all(r.cells == {} and r.unions == [] for r in rows)


def test_completar_sold_logs_union_sold_rows(uplant, station):
    fit(station, 93, FW_MIX, 1, 2, 3, accion="COMPLETAR")
    assert act(station, "SOLD", "TOMAR", 94, FW_MIX).status_code == 200
    assert end_session(station, "SOLD", "COMPLETAR", 94, FW_MIX, 1, 3).status_code == 200
    sold_rows = [e for e in events(FW_MIX) if e.evento_tipo == "UNION_SOLD_REGISTRADA"]
    assert sorted(e.metadata_json["n_union"] for e in sold_rows) == [1, 3]
    assert {e.operacion for e in sold_rows} == {"SOLD"}
    [done] = [e for e in events(FW_MIX) if e.evento_tipo == "COMPLETAR_SOLD"]
    assert (done.metadata_json["uniones"], done.metadata_json["pulgadas"]) == ([1, 3], 3.5)


# --- batches and the form ---------------------------------------------------------------------


def test_uniones_with_several_spools_are_refused(uplant, station):
    assert act(station, "ARM", "TOMAR", 93, SEVEN, FW_MIX).status_code == 200
    before = (state_of(SEVEN), state_of(FW_MIX))
    response = act(station, "ARM", "PAUSAR", 93, SEVEN, FW_MIX, uniones=["1"])
    assert response.status_code == 400
    assert "de a un spool" in response.text
    assert (state_of(SEVEN), state_of(FW_MIX)) == before


@pytest.mark.parametrize(
    "accion,uniones,message",
    [
        ("PAUSAR", ["x"], "Número de unión inválido"),
        ("PAUSAR", ["0"], "Número de unión inválido"),
        ("PAUSAR", ["-2"], "Número de unión inválido"),
        ("TOMAR", ["1"], "al pausar, completar o finalizar"),
    ],
)
def test_the_form_checks_the_uniones(uplant, station, accion, uniones, message):
    response = act(station, "ARM", accion, 93, SEVEN, uniones=uniones)
    assert response.status_code == 400
    assert message in response.text
    assert not Event.objects.filter(tag=SEVEN).exists()


def test_a_batch_pausar_of_spools_with_unions_releases_each_without_registering(uplant, station):
    assert act(station, "ARM", "TOMAR", 93, SEVEN, FW_MIX).status_code == 200
    assert act(station, "ARM", "PAUSAR", 93, SEVEN, FW_MIX).status_code == 200
    assert get(SEVEN).ocupado_por == get(FW_MIX).ocupado_por == ""
    assert not [k for k in kinds(SEVEN) + kinds(FW_MIX) if k.startswith("UNION_")]


def test_spools_without_unions_keep_their_lists_and_rules(plant, station):
    """The ARM_DONE spool (no unions) is listed for TOMAR SOLD as before."""
    from occupation.selectors import eligible
    from spools.models import Worker as W_

    tags = [s.tag for s in eligible("SOLD", "TOMAR", W_.objects.get(pk=94))]
    assert ARM_DONE in tags


def test_the_lists_follow_the_union_rules(uplant, station):
    from occupation.selectors import eligible

    welder = Worker.objects.get(pk=94)
    assert SEVEN not in [s.tag for s in eligible("SOLD", "TOMAR", welder)]
    fit(station, 93, SEVEN, 4)
    assert SEVEN in [s.tag for s in eligible("SOLD", "TOMAR", welder)]
    metrologo = Worker.objects.get(pk=95)
    listed = [s.tag for s in eligible("METROLOGIA", "COMPLETAR", metrologo)]
    assert ALL_DONE in listed and LEFT_UNWELDED not in listed


# --- Estado_Detalle ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "states,text",
    [
        (
            {"arm": W.PAUSADO, "sold": W.PENDIENTE, "ocupado_por": "", "arm_uniones": (3, 7)},
            "Disponible - ARM parcial 3/7, SOLD pendiente",
        ),
        (
            {
                "arm": W.COMPLETADO,
                "sold": W.EN_PROGRESO,
                "ocupado_por": "MR(93)",
                "arm_uniones": (7, 7),
                "sold_uniones": (2, 6),
            },
            "MR(93) trabajando SOLD (ARM completado, SOLD parcial 2/6)",
        ),
        (
            {"arm": W.PAUSADO, "sold": W.PENDIENTE, "ocupado_por": "", "arm_uniones": (0, 7)},
            "Disponible - ARM pausado, SOLD pendiente",
        ),
    ],
)
def test_estado_detalle_partial_forms(states, text):
    rendered = render_estado_detalle(
        metrologia=M.PENDIENTE, reparacion=R.NINGUNA, ciclo=0, **states
    )
    assert rendered == text


@pytest.mark.parametrize(
    "columns,expected",
    [
        (
            {"armador": "MR(93)", "ocupado_por": "", "soldador": ""},
            (W.PAUSADO, W.PENDIENTE, ""),
        ),
        (
            {"armador": "MR(93)", "ocupado_por": "JP(94)", "soldador": "JP(94)"},
            (W.PAUSADO, W.EN_PROGRESO, "SOLD"),
        ),
    ],
)
def test_the_pull_reads_the_partial_forms_back(columns, expected):
    text = (
        "JP(94) trabajando SOLD (ARM parcial 3/7, SOLD parcial 2/6)"
        if columns["ocupado_por"]
        else "Disponible - ARM parcial 3/7, SOLD pendiente"
    )
    s = derive_states(
        fecha_armado=None,
        fecha_soldadura=None,
        fecha_qc_metrologia=None,
        estado_detalle=text,
        **columns,
    )
    assert (s.arm, s.sold, s.occupied_operation) == expected
    assert (s.metrologia, s.reparacion) == (M.PENDIENTE, R.NINGUNA)
