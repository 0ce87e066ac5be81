"""The outbox: each change is committed together with what it must write to the workbook.

`record_change` is the one way a change reaches the workbook: it adds the Event (the
Metadata row) and an OutboxEntry (the row's changed cells plus that Metadata row) in the
caller's transaction. The flusher (spools.workbook.sync) writes entries in order, exactly once.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.utils import timezone

from spools.models import Event, OutboxEntry, Spool, Union
from spools.workbook.columns import METADATA_N_UNION, Col
from spools.workbook.rows import counter_cells, new_union_row, union_cells
from spools.workbook.values import format_date, format_datetime


def pending_count() -> int:
    return OutboxEntry.objects.filter(flushed_at__isnull=True).count()


def pending_tags() -> set[str]:
    return set(
        OutboxEntry.objects.filter(flushed_at__isnull=True)
        .exclude(tag="")
        .values_list("tag", flat=True)
    )


def pending_union_keys() -> set[tuple[str, int]]:
    """(TAG_SPOOL, N_UNION) of every union with a write still queued."""
    keys: set[tuple[str, int]] = set()
    queued = OutboxEntry.objects.filter(flushed_at__isnull=True).exclude(unions=[])
    for tag, unions in queued.values_list("tag", "unions"):
        keys.update((tag, int(u["n"])) for u in unions)
    return keys


def metadata_row(event: Event) -> dict[str, Any]:
    """The Metadata row of an event, by column name (Timestamp in plant time)."""
    return {
        "ID": str(event.id),
        "Timestamp": format_datetime(event.timestamp),
        "Evento_Tipo": event.evento_tipo,
        "TAG_SPOOL": event.tag,
        "Worker_ID": event.worker_id if event.worker_id is not None else "",
        "Worker_Nombre": event.worker_nombre,
        "Operacion": event.operacion,
        "Accion": event.accion,
        "Fecha_Operacion": format_date(event.fecha_operacion),
        "Metadata_JSON": json.dumps(event.metadata_json, ensure_ascii=False, sort_keys=True),
        # Optional column: written where the sheet has it (per-union rows carry it).
        METADATA_N_UNION: event.metadata_json.get("n_union", ""),
    }


def union_write(union: Union, *, create: bool = False, delete: bool = False) -> dict[str, Any]:
    """One Uniones row to write with a change: its app cells, the whole row when the app
    creates it, or nothing but blanks when it is deleted (the row is cleared, never
    removed: N_UNION is never renumbered)."""
    if delete:
        return {"n": union.n_union, "cells": {}, "create": False, "delete": True}
    cells = new_union_row(union) if create else union_cells(union)
    return {"n": union.n_union, "cells": cells, "create": create, "delete": False}


def record_change(
    spool: Spool | None,
    before_cells: dict[str, str] | None,
    *,
    evento_tipo: str,
    operacion: str,
    accion: str,
    worker_id: int | None,
    worker_nombre: str,
    meta: dict[str, Any] | None = None,
    account: str = "",
    tag: str = "",
    now=None,
    unions: list[dict[str, Any]] | None = None,
    note_line: str = "",
) -> Event:
    """Add the event and its outbox entry. The spool must already hold its new state.

    Only the cells that changed are written (plus a new `version` and Estado_Detalle), so
    an office edit to another cell of the row is never overwritten by a stale value.
    `unions`: the spool's Uniones rows to write with it (`union_write`); a spool with
    unions also writes its Operaciones counters. `note_line`: a line to append to the row's
    Notas cell (the flush merges it into what the cell holds then, never overwrites it).
    """
    now = now or timezone.now()
    event = Event.objects.create(
        id=uuid.uuid4(),
        timestamp=now,
        evento_tipo=evento_tipo,
        tag=spool.tag if spool else tag,
        worker_id=worker_id,
        worker_nombre=worker_nombre,
        operacion=operacion,
        accion=accion,
        fecha_operacion=timezone.localdate(now),
        metadata_json=meta or {},
        account=account,
    )
    cells: dict[str, str] = {}
    if spool is not None and before_cells is not None:
        after = spool.app_cells()
        cells = {c: v for c, v in after.items() if before_cells.get(c) != v}
        cells[Col.VERSION] = after[Col.VERSION]
        cells[Col.ESTADO_DETALLE] = after[Col.ESTADO_DETALLE]
    if spool is not None and (unions or spool.has_unions):
        # The Operaciones counters follow Uniones (written where those columns exist).
        cells.update(counter_cells(spool))
    if note_line:
        cells[Col.NOTAS] = note_line
    OutboxEntry.objects.create(
        created_at=now,
        tag=event.tag,
        cells=cells,
        metadata_row=metadata_row(event),
        version=cells.get(Col.VERSION, ""),
        unions=unions or [],
    )
    return event


def rewrite_cells(spool: Spool, *, now=None) -> OutboxEntry:
    """Queue the row's current app-owned cells again, as they are (same version, no
    Metadata row: nothing happened). For a row the sheet holds stale: see the pull."""
    cells = spool.app_cells()
    return OutboxEntry.objects.create(
        created_at=now or timezone.now(),
        tag=spool.tag,
        cells=cells,
        version=cells[Col.VERSION],
    )


def app_written_versions(pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (tag, version) pairs the app itself wrote at some point."""
    found: set[tuple[str, str]] = set()
    wanted = set(pairs)
    versions = sorted({v for _, v in wanted if v})
    for i in range(0, len(versions), 900):
        found.update(
            pair
            for pair in OutboxEntry.objects.filter(version__in=versions[i : i + 900]).values_list(
                "tag", "version"
            )
            if pair in wanted
        )
    return found
