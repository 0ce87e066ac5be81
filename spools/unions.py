"""Defining a spool's unions (uniones.md "Union definitions"): add, change, delete.

The rules: a union is identified by (TAG_SPOOL, N_UNION) and never renumbered (a new one
gets max + 1 unless a number is given; a deleted one leaves a gap), and only a union with
no work registered may change or go. One service applies them: the spool row locked, the
Union rows changed, the spool's counters recounted over all its unions, one
UNIONES_EDITADAS Metadata row with the Uniones rows to write, and the broadcast after
commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from spools.lifecycle import EventoTipo
from spools.models import UNION_COUNTER_FIELDS, Spool, Union
from spools.overrides import supervisor_nombre
from spools.rules import ActionError
from spools.services import announce_changes, lock_spool
from spools.workbook.columns import UCol
from spools.workbook.outbox import record_change, union_write


class UnionAccion(models.TextChoices):
    AGREGAR = "agregar", "Agregar"
    EDITAR = "editar", "Editar"
    ELIMINAR = "eliminar", "Eliminar"


@dataclass(frozen=True)
class UnionEdit:
    """One change to a spool's unions, as the form understood it."""

    accion: str  # UnionAccion
    n_union: int | None = None  # required to edit or delete; optional to add
    dn_union: Decimal | None = None
    tipo_union: str = ""


def has_work(union: Union) -> bool:
    """Someone fitted or welded it (even half-recorded by the office): it is history now."""
    return bool(union.arm_fin or union.sol_fin or union.arm_worker or union.sol_worker)


def define_unions(tag: str, edit: UnionEdit, *, account: str = "") -> Spool:
    """Apply one union definition change to the spool `tag` and commit it with its
    Metadata row and Uniones write. Raises ActionError (400 / 404) with nothing changed."""
    now = timezone.now()
    with transaction.atomic():
        spool = lock_spool(tag)
        unions = {u.n_union: u for u in Union.objects.filter(tag=spool.tag)}
        before_cells = spool.app_cells()
        before = _definition(unions.get(edit.n_union)) if edit.n_union else None
        union, write = _APPLY[edit.accion](spool, unions, edit)
        spool.count_unions(unions.values())
        # A new version: a pull that read the row before this change must not undo it.
        spool.version = str(uuid.uuid4())
        spool.refresh_estado_detalle()
        spool.save(update_fields=[*UNION_COUNTER_FIELDS, "version", "estado_detalle", "updated_at"])
        event = record_change(
            spool,
            before_cells,
            evento_tipo=EventoTipo.UNIONES_EDITADAS,
            operacion="",
            accion=edit.accion.upper(),
            worker_id=None,
            worker_nombre=supervisor_nombre(account),
            meta={
                "cuenta": account,
                "n_union": union.n_union,
                "antes": before,
                "despues": None if edit.accion == UnionAccion.ELIMINAR else _definition(union),
                "total_uniones": spool.uniones_total,
            },
            account=account,
            now=now,
            unions=[write],
        )
        announce_changes([spool.tag], [event.id])
    return spool


def _agregar(spool: Spool, unions: dict[int, Union], edit: UnionEdit) -> tuple[Union, dict]:
    n = edit.n_union or max(unions, default=0) + 1
    if n in unions:
        raise ActionError(400, f"La unión {n} ya existe en el spool {spool.tag}.", "union_existe")
    union = Union.objects.create(
        tag=spool.tag,
        n_union=n,
        ot=spool.ot,
        dn_union=edit.dn_union,
        tipo_union=edit.tipo_union,
        version=str(uuid.uuid4()),
    )
    unions[n] = union
    return union, union_write(union, create=True)


def _editar(spool: Spool, unions: dict[int, Union], edit: UnionEdit) -> tuple[Union, dict]:
    union = _unworked(spool, unions, edit.n_union, "editar")
    union.dn_union, union.tipo_union = edit.dn_union, edit.tipo_union
    union.version = str(uuid.uuid4())
    union.save(update_fields=["dn_union", "tipo_union", "version", "updated_at"])
    write = union_write(union)
    # The definition cells are the office's, but this change is ours to write.
    write["cells"].update({UCol.DN_UNION: float(union.dn_union), UCol.TIPO_UNION: union.tipo_union})
    return union, write


def _eliminar(spool: Spool, unions: dict[int, Union], edit: UnionEdit) -> tuple[Union, dict]:
    union = _unworked(spool, unions, edit.n_union, "eliminar")
    del unions[union.n_union]
    union.delete()
    return union, union_write(union, delete=True)


_APPLY = {
    UnionAccion.AGREGAR: _agregar,
    UnionAccion.EDITAR: _editar,
    UnionAccion.ELIMINAR: _eliminar,
}


def _unworked(spool: Spool, unions: dict[int, Union], n: int | None, verb: str) -> Union:
    union = unions.get(n) if n is not None else None
    if union is None:
        raise ActionError(404, f"El spool {spool.tag} no tiene la unión {n}.", "union_desconocida")
    if has_work(union):
        raise ActionError(
            400,
            f"No se puede {verb}: la unión {n} ya tiene trabajo registrado.",
            "union_con_trabajo",
        )
    return union


def _definition(union: Union | None) -> dict[str, Any] | None:
    """A union's definition as the Metadata row keeps it (before / after)."""
    if union is None:
        return None
    dn = union.dn_union
    return {
        "n_union": union.n_union,
        "dn_union": float(dn) if dn is not None else None,
        "tipo_union": union.tipo_union,
    }
