"""Estado_Detalle: the exact texts of domain.md, and the states read back from them."""

import pytest

from spools.lifecycle import (
    MetrologiaState as M,
)
from spools.lifecycle import (
    ReparacionState as R,
)
from spools.lifecycle import (
    WorkState as W,
)
from spools.lifecycle import derive_states, parse_estado_detalle, render_estado_detalle


def row(**kw):
    base = dict(
        armador="",
        fecha_armado=None,
        soldador="",
        fecha_soldadura=None,
        fecha_qc_metrologia=None,
        ocupado_por="",
        estado_detalle="",
    )
    base.update(kw)
    return base


CASES = [
    (
        row(ocupado_por="MR(93)", armador="MR(93)"),
        "MR(93) trabajando ARM (ARM en progreso, SOLD pendiente)",
    ),
    (
        row(armador="MR(93)", fecha_armado="x", soldador="JP(12)", ocupado_por="JP(12)"),
        "JP(12) trabajando SOLD (ARM completado, SOLD en progreso)",
    ),
    (
        row(armador="MR(93)", fecha_armado="x", soldador="JP(12)"),
        "Disponible - ARM completado, SOLD pausado",
    ),
    (row(), "Disponible - ARM pendiente, SOLD pendiente"),
    (
        row(armador="MR(93)", fecha_armado="x", soldador="JP(12)", fecha_soldadura="x"),
        "Disponible - ARM completado, SOLD completado, Metrología pendiente",
    ),
    (
        row(
            armador="a(1)",
            fecha_armado="x",
            soldador="b(2)",
            fecha_soldadura="x",
            fecha_qc_metrologia="x",
        ),
        "Disponible - ARM completado, SOLD completado, METROLOGIA APROBADO ✓",
    ),
    (
        row(
            armador="a(1)",
            fecha_armado="x",
            soldador="b(2)",
            fecha_soldadura="x",
            estado_detalle="RECHAZADO (Ciclo 2/3) - Pendiente reparación",
        ),
        "RECHAZADO (Ciclo 2/3) - Pendiente reparación",
    ),
    (
        row(
            armador="a(1)",
            fecha_armado="x",
            soldador="b(2)",
            fecha_soldadura="x",
            estado_detalle="BLOQUEADO - Contactar supervisor",
        ),
        "BLOQUEADO - Contactar supervisor",
    ),
    (
        row(
            armador="a(1)",
            fecha_armado="x",
            soldador="b(2)",
            fecha_soldadura="x",
            ocupado_por="MR(93)",
            estado_detalle="EN_REPARACION (Ciclo 2/3) - Ocupado: MR(93)",
        ),
        "EN_REPARACION (Ciclo 2/3) - Ocupado: MR(93)",
    ),
    (
        row(
            armador="a(1)",
            fecha_armado="x",
            soldador="b(2)",
            fecha_soldadura="x",
            estado_detalle="REPARACION_PAUSADA (Ciclo 2/3)",
        ),
        "REPARACION_PAUSADA (Ciclo 2/3)",
    ),
    (
        row(
            armador="a(1)",
            fecha_armado="x",
            soldador="b(2)",
            fecha_soldadura="x",
            estado_detalle="PENDIENTE_METROLOGIA (Ciclo 2/3)",
        ),
        "PENDIENTE_METROLOGIA (Ciclo 2/3)",
    ),
]


@pytest.mark.parametrize("columns,text", CASES)
def test_estado_detalle_text_for_each_situation_round_trips(columns, text):
    s = derive_states(**columns)
    rendered = render_estado_detalle(
        arm=s.arm,
        sold=s.sold,
        metrologia=s.metrologia,
        reparacion=s.reparacion,
        ciclo=s.ciclo,
        ocupado_por=columns["ocupado_por"],
    )
    assert rendered == text


def test_states_follow_the_columns():
    s = derive_states(**row(armador="MR(93)"))
    assert (s.arm, s.sold, s.metrologia, s.reparacion) == (
        W.PAUSADO,
        W.PENDIENTE,
        M.PENDIENTE,
        R.NINGUNA,
    )
    s = derive_states(**row(armador="MR(93)", ocupado_por="MR(93)"))
    assert s.arm == W.EN_PROGRESO and s.occupied_operation == "ARM"


def test_rejection_cycle_is_read_from_estado_detalle():
    info = parse_estado_detalle("RECHAZADO (Ciclo 2/3) - Pendiente reparación")
    assert (info.state, info.ciclo) == (R.RECHAZADO, 2)
    assert parse_estado_detalle("BLOQUEADO - Contactar supervisor").ciclo == 3
    assert parse_estado_detalle("Disponible - ARM completado, SOLD pausado") is None


def test_rechazado_typed_by_hand_without_cycle_restarts_at_zero():
    info = parse_estado_detalle("RECHAZADO")
    assert (info.state, info.ciclo) == (R.RECHAZADO, 0)
    info = parse_estado_detalle("rechazado (ciclo 1/3)")
    assert (info.state, info.ciclo) == (R.RECHAZADO, 1)


def test_an_approval_date_wins_over_an_old_rejection_text():
    s = derive_states(
        **row(
            fecha_armado="x",
            fecha_soldadura="x",
            fecha_qc_metrologia="x",
            estado_detalle="RECHAZADO (Ciclo 1/3) - Pendiente reparación",
        )
    )
    assert (s.metrologia, s.reparacion, s.ciclo) == (M.APROBADO, R.NINGUNA, 0)
