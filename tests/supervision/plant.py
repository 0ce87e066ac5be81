"""A small plant with unions and the mirror's events of a week of work, for the supervision
reports: figures small enough to compute by hand (see the comments beside them).

Events are created as a pull would store them (the mirror's rows of Metadata).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from spools.lifecycle import EventoTipo, Operacion
from spools.models import Event
from tests.plant import APPROVED, ARM_DONE, ARM_PAUSED, QC_PENDING, REJECTED_1, build_plant
from tests.unions import DAY, at, recount, union

E = EventoTipo
PERIOD = {"desde": (DAY - timedelta(days=6)).isoformat(), "hasta": DAY.isoformat()}
MR, JP, PS = "MR(93)", "JP(94)", "PS(96)"


def event(
    tag: str,
    tipo: str,
    when: datetime,
    *,
    operacion: str = "",
    accion: str = "",
    worker: tuple[int, str] = (95, "AD(95)"),
    **meta: object,
) -> Event:
    return Event.objects.create(
        tag=tag,
        evento_tipo=tipo,
        timestamp=when,
        operacion=operacion,
        accion=accion,
        worker_id=worker[0],
        worker_nombre=worker[1],
        fecha_operacion=when.date(),
        metadata_json=meta,
        from_sheet=True,
    )


def welded(tag: str, n: int, dn: str, welder: str, day: date = DAY) -> None:
    union(
        tag,
        n,
        dn,
        arm=(MR, at(day, "08:00"), at(day, "09:00")),
        sol=(welder, at(day, "10:00"), at(day, "11:00")),
    )


def build_quality_plant() -> None:
    """Three spools welded on DAY by JP(94) and PS(96), inspected during the day.

    QC_PENDING: unions 1–3 JP (2, 2, 4 in), 4 PS (1 in); rejected naming union 4
      (porosidad), then approved: inspected JP 3+3, PS 1+1; rejected PS 1.
    APPROVED: unions 1–10 JP (1.5 in each), approved once: inspected JP 10.
    REJECTED_1: unions 1–2 JP, 3 PS (3 in each); rejected naming none (falta_fusion):
      JP 2/3 and PS 1/3 of a union; inspected JP 2, PS 1.
    JP: 0.667 of 18 = 3.7 % (under the 5 % line); PS: 1.333 of 3 = 44.4 % (over it).
    PD on DAY: ARM MR(93) 33 (17 unions); SOLD JP(94) 29 (15), PS(96) 4 (2).
    The day before at 23:30 plant time, PS(96) fitted 6 in on ARM_DONE (ARM 6 PD that day).
    """
    build_plant()
    for n, dn in enumerate(("2", "2", "4"), start=1):
        welded(QC_PENDING, n, dn, JP)
    welded(QC_PENDING, 4, "1", PS)
    for n in range(1, 11):
        welded(APPROVED, n, "1.5", JP)
    welded(REJECTED_1, 1, "3", JP)
    welded(REJECTED_1, 2, "3", JP)
    welded(REJECTED_1, 3, "3", PS)
    late = at(DAY - timedelta(days=1), "23:30")
    union(ARM_DONE, 1, "6", arm=(PS, late - timedelta(hours=1), late))
    for tag in (QC_PENDING, APPROVED, REJECTED_1, ARM_DONE):
        recount(tag)
    m = Operacion.METROLOGIA
    event(QC_PENDING, E.COMPLETAR_METROLOGIA, at(DAY, "12:00"), operacion=m,
          resultado="RECHAZADO", ciclo=1, motivo="porosidad", uniones=[4])  # fmt: skip
    event(QC_PENDING, E.COMPLETAR_METROLOGIA, at(DAY, "16:00"), operacion=m,
          resultado="APROBADO", ciclo=0)  # fmt: skip
    event(APPROVED, E.COMPLETAR_METROLOGIA, at(DAY, "12:30"), operacion=m,
          resultado="APROBADO", ciclo=0)  # fmt: skip
    event(REJECTED_1, E.COMPLETAR_METROLOGIA, at(DAY, "13:00"), operacion=m,
          resultado="RECHAZADO", ciclo=1, motivo="falta_fusion")  # fmt: skip


def pause(tag: str = ARM_PAUSED, when: datetime | None = None, **meta: object) -> Event:
    return event(
        tag,
        E.PAUSAR_SPOOL,
        when or at(DAY, "15:00"),
        operacion=Operacion.ARM,
        accion="PAUSAR",
        worker=(96, PS),
        **meta,
    )
