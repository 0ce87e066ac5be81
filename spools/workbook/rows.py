"""One Operaciones row ⇄ the mirror fields of a Spool: the single translation both ways.

`parse_spool_row` reads a row (the pull, and CANCELAR restoring a snapshot); `app_cells`
writes the app-owned cells of a spool as the workbook holds them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from spools.lifecycle import derive_states
from spools.workbook.columns import OPERACIONES, Col, HeaderMap
from spools.workbook.values import (
    CellValueError,
    cell_text,
    format_date,
    format_datetime,
    parse_date,
    parse_datetime,
    parse_worker_cell,
)


def parse_spool_row(header: HeaderMap, row: list, tag: str) -> dict:
    """The mirror fields of one Operaciones row; odd cells become `problems`, not errors."""
    problems: list[dict] = []

    def read(column: str, parser: Callable[[object], object], default: object = None) -> object:
        raw = header.get(row, column)
        try:
            return parser(raw)
        except CellValueError as exc:
            problems.append({"column": column, "value": cell_text(raw), "error": exc.message})
            return default

    def worker_text(column: str) -> str:
        ref = read(column, parse_worker_cell)
        if ref is None:
            # Unreadable worker cells keep their text: it is still somebody's name.
            return cell_text(header.get(row, column))[:60]
        return ref.short

    occupant = read(Col.OCUPADO_POR, parse_worker_cell)
    values = {
        "ot": cell_text(header.get(row, Col.OT))[:60],
        "nv": cell_text(header.get(row, Col.NV))[:60],
        "fecha_materiales": read(Col.FECHA_MATERIALES, parse_date),
        "armador": worker_text(Col.ARMADOR),
        "fecha_armado": read(Col.FECHA_ARMADO, parse_date),
        "soldador": worker_text(Col.SOLDADOR),
        "fecha_soldadura": read(Col.FECHA_SOLDADURA, parse_date),
        "fecha_qc_metrologia": read(Col.FECHA_QC_METROLOGIA, parse_date),
        "ocupado_por": occupant.short
        if occupant
        else cell_text(header.get(row, Col.OCUPADO_POR))[:60],
        "occupant_id": occupant.id if occupant else None,
        "fecha_ocupacion": read(Col.FECHA_OCUPACION, parse_datetime),
        "version": cell_text(header.get(row, Col.VERSION))[:64],
        "estado_detalle": cell_text(header.get(row, Col.ESTADO_DETALLE))[:250],
    }
    states = derive_states(
        armador=values["armador"],
        fecha_armado=values["fecha_armado"],
        soldador=values["soldador"],
        fecha_soldadura=values["fecha_soldadura"],
        fecha_qc_metrologia=values["fecha_qc_metrologia"],
        ocupado_por=values["ocupado_por"],
        estado_detalle=values["estado_detalle"],
    )
    values.update(
        arm=states.arm,
        sold=states.sold,
        metrologia=states.metrologia,
        reparacion=states.reparacion,
        ciclo=states.ciclo,
        problems=[{"tag": tag, **p} for p in problems],
    )
    return values


def app_cells(spool: Any) -> dict[str, str]:
    """The app-owned cells of a spool, as text to write RAW into Operaciones."""
    return {
        Col.ARMADOR: spool.armador,
        Col.FECHA_ARMADO: format_date(spool.fecha_armado),
        Col.SOLDADOR: spool.soldador,
        Col.FECHA_SOLDADURA: format_date(spool.fecha_soldadura),
        Col.FECHA_QC_METROLOGIA: format_date(spool.fecha_qc_metrologia),
        Col.OCUPADO_POR: spool.ocupado_por,
        Col.FECHA_OCUPACION: format_datetime(spool.fecha_ocupacion),
        Col.VERSION: spool.version,
        Col.ESTADO_DETALLE: spool.estado_detalle,
    }


def parse_cells(tag: str, cells: dict[str, object]) -> dict:
    """Mirror fields from a {column: value} mapping (e.g. a snapshot of app_cells)."""
    names = list(cells)
    return parse_spool_row(HeaderMap.from_row(OPERACIONES, names), [cells[n] for n in names], tag)
