"""One Operaciones row ⇄ the mirror fields of a Spool: the single translation both ways.

`parse_spool_row` reads a row (the pull, and CANCELAR restoring a snapshot); `app_cells`
writes the app-owned cells of a spool as the workbook holds them. The Notas cell is read
and written as lines (`note_line`, `note_lines`, `merge_note_lines`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.utils import timezone

from spools.lifecycle import derive_states
from spools.workbook.columns import OPERACIONES, Col, CounterCol, HeaderMap, UCol
from spools.workbook.values import (
    CellValueError,
    cell_text,
    format_date,
    format_datetime,
    is_blank,
    parse_date,
    parse_datetime,
    parse_dn,
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


# --- Uniones ---------------------------------------------------------------------------------


N_UNION_MAX = 100_000


def parse_n_union(value: object) -> int | None:
    """N_UNION: a whole number from 1 (`3`, `3.0`, `" 3 "`); None for a blank cell. The
    key of a union with its TAG_SPOOL, so anything else is refused, never rounded."""
    if is_blank(value):
        return None
    text = cell_text(value)
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        number = 0.0
    if isinstance(value, bool) or not number.is_integer() or not 0 < number <= N_UNION_MAX:
        raise CellValueError(f"N_UNION no reconocido (un número entero desde 1): {text!r}")
    return int(number)


def parse_union_row(header: HeaderMap, row: list, tag: str) -> dict:
    """The mirror fields of one Uniones row (N_UNION already read by the caller); odd cells
    become `problems`, as for spools."""
    problems: list[dict] = []

    def read(column: str, parser: Callable[[object], object], default: object = None) -> object:
        raw = header.get(row, column)
        try:
            return parser(raw)
        except CellValueError as exc:
            problems.append({"column": column, "value": cell_text(raw), "error": exc.message})
            return default

    arm = read(UCol.ARM_WORKER, parse_worker_cell)
    sol = read(UCol.SOL_WORKER, parse_worker_cell)
    return {
        "ot": cell_text(header.get(row, UCol.OT))[:60],
        "dn_union": read(UCol.DN_UNION, parse_dn),
        "tipo_union": cell_text(header.get(row, UCol.TIPO_UNION)).upper()[:10],
        "arm_inicio": read(UCol.ARM_FECHA_INICIO, parse_datetime),
        "arm_fin": read(UCol.ARM_FECHA_FIN, parse_datetime),
        "arm_worker": arm.short if arm else cell_text(header.get(row, UCol.ARM_WORKER))[:60],
        "arm_worker_id": arm.id if arm else None,
        "sol_inicio": read(UCol.SOL_FECHA_INICIO, parse_datetime),
        "sol_fin": read(UCol.SOL_FECHA_FIN, parse_datetime),
        "sol_worker": sol.short if sol else cell_text(header.get(row, UCol.SOL_WORKER))[:60],
        "sol_worker_id": sol.id if sol else None,
        "ndt": {
            c: cell_text(header.get(row, c))
            for c in (UCol.NDT_UNION, UCol.R_NDT_UNION, UCol.NDT_FECHA, UCol.NDT_STATUS)
            if not is_blank(header.get(row, c))
        },
        "version": cell_text(header.get(row, UCol.VERSION))[:64],
        "problems": [{"tag": tag, **p} for p in problems],
    }


def union_cells(union: Any) -> dict[str, str]:
    """The app-owned cells of a union, as text to write RAW into Uniones."""
    return {
        UCol.ARM_FECHA_INICIO: format_datetime(union.arm_inicio),
        UCol.ARM_FECHA_FIN: format_datetime(union.arm_fin),
        UCol.ARM_WORKER: union.arm_worker,
        UCol.SOL_FECHA_INICIO: format_datetime(union.sol_inicio),
        UCol.SOL_FECHA_FIN: format_datetime(union.sol_fin),
        UCol.SOL_WORKER: union.sol_worker,
        UCol.VERSION: union.version,
    }


def new_union_row(union: Any) -> dict[str, object]:
    """Every cell of a union row the app creates: its ID, definition and app cells
    (N_UNION and DN_UNION as numbers, written RAW)."""
    dn = union.dn_union
    return {
        UCol.ID: f"{union.tag}+{union.n_union}",
        UCol.OT: union.ot,
        UCol.TAG_SPOOL: union.tag,
        UCol.N_UNION: union.n_union,
        UCol.DN_UNION: float(dn) if dn is not None else "",
        UCol.TIPO_UNION: union.tipo_union,
        **union_cells(union),
    }


def counter_cells(spool: Any) -> dict[str, object]:
    """The Operaciones counters of a spool's unions, as numbers (written RAW when the
    columns exist and the workbook has a Uniones sheet)."""
    return {
        CounterCol.TOTAL_UNIONES: spool.uniones_total,
        CounterCol.UNIONES_ARM: spool.uniones_arm,
        CounterCol.UNIONES_SOLD: spool.uniones_sold,
        CounterCol.PULGADAS_ARM: round(float(spool.pulgadas_arm), 2),
        CounterCol.PULGADAS_SOLD: round(float(spool.pulgadas_sold), 2),
    }


# --- the Notas cell ----------------------------------------------------------------------------

NOTE_TIME_FORMAT = "%Y-%m-%d %H:%M"
# `2026-05-12 08:30 MR(93): texto`: the author is a worker's short name or a username (no
# spaces in either). Lines someone typed in another form are kept and shown as they are.
_NOTE_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}) (\S+): (.*)$")


def note_line(created: datetime, author: str, texto: str) -> str:
    """A note as its line of the Notas cell: `YYYY-MM-DD HH:MM MR(93): texto` (plant time)."""
    return f"{timezone.localtime(created).strftime(NOTE_TIME_FORMAT)} {author}: {texto}"


def parse_note_line(line: str) -> tuple[datetime | None, str, str]:
    """(when, author, texto) of a line in the app's form; (None, "", line) otherwise."""
    m = _NOTE_LINE.match(line)
    if m is None:
        return None, "", line
    try:
        when = datetime.strptime(m[1], NOTE_TIME_FORMAT)
    except ValueError:  # 2026-13-45: not a time, so not the app's form
        return None, "", line
    return timezone.make_aware(when), m[2], m[3]


def note_lines(cell: object) -> list[str]:
    """The lines of a Notas cell, trimmed, blank ones left out."""
    return [line.strip() for line in cell_text(cell).splitlines() if line.strip()]


def note_cell(cell: object) -> str:
    """A Notas cell as text, exactly as typed (a number someone typed as its text)."""
    return cell if isinstance(cell, str) else cell_text(cell)


def merge_note_lines(current: str, new: list[str]) -> str:
    """The Notas cell's text `current` with the app's `new` lines appended at the end.

    Append-only and idempotent: every line already in the cell stays as it is (the office's
    included, in their order), and a line the cell already holds is not added again (a
    flush retried after its write landed writes the same text)."""
    have = set(note_lines(current))
    missing = [line for line in dict.fromkeys(new) if line not in have]
    if not missing:
        return current
    kept = current.rstrip("\n")
    return "\n".join([kept, *missing] if kept.strip() else missing)
