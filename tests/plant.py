"""A small plant: workers with their roles and one spool in each lifecycle stage.

Used by the lifecycle, tablet and dashboard tests. The workbook is written through real
gspread into the local backend and pulled into the mirror, as in production.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from django.contrib.auth.models import Group, User
from django.test import Client
from openpyxl import load_workbook

from spools.sheets import open_workbook
from spools.workbook.pull import pull
from spools.workbook.sync import flush_until_empty
from spools.workbook.xlsx import export_workbook
from tests.builders import build_workbook, spool, worker

MAT = "02-05-2026"
DONE = "10-05-2026"
OCC = "12-05-2026 08:30:00"

WORKERS = [
    worker(93, "Mario", "Rojas", roles=["Armador"]),
    worker(94, "Juan", "Pérez", roles=["Soldador"]),
    worker(95, "Ana", "Díaz", roles=["Metrologia"]),
    worker(96, "Pedro", "Soto", roles=["Ayudante"]),
    worker(97, "Luis", "Mora", roles=["Armador"], activo=False),
    worker(98, "Rosa", "Vera", roles=["Pintura"]),
    worker(99, "Carla", "Núñez", inactive_roles=["Armador"]),
    worker(100, "Diego", "Fuentes", roles=["Armador"]),
]

ARM_SOLD_DONE = {
    "Fecha_Materiales": MAT,
    "Armador": "MR(93)",
    "Fecha_Armado": DONE,
    "Soldador": "JP(94)",
    "Fecha_Soldadura": DONE,
}

SPOOLS = [
    spool("MK-1923-TW-17422-001", OT="OT-1923", NV="NV-17422"),  # no materials yet
    spool("MK-1923-TW-17422-002", OT="OT-1923", NV="NV-17422", Fecha_Materiales=MAT),
    spool(
        "MK-1923-TW-17422-003",
        Fecha_Materiales=MAT,
        Armador="MR(93)",
        Ocupado_Por="MR(93)",
        Fecha_Ocupacion=OCC,
        Estado_Detalle="MR(93) trabajando ARM (ARM en progreso, SOLD pendiente)",
        version="v-003",
    ),
    spool("MK-1923-TW-17422-004", Fecha_Materiales=MAT, Armador="PS(96)"),  # ARM paused
    spool("MK-1923-TW-17422-005", Fecha_Materiales=MAT, Armador="MR(93)", Fecha_Armado=DONE),
    spool(
        "MK-1923-TW-17422-006",
        Fecha_Materiales=MAT,
        Armador="MR(93)",
        Fecha_Armado=DONE,
        Soldador="JP(94)",
        Ocupado_Por="JP(94)",
        Fecha_Ocupacion=OCC,
    ),
    spool("MK-1923-TW-17422-007", **ARM_SOLD_DONE),  # waiting for metrología
    spool("MK-1923-TW-17422-008", **ARM_SOLD_DONE, Fecha_QC_Metrologia=DONE),  # approved
    spool(
        "MK-1923-TW-17422-009",
        **ARM_SOLD_DONE,
        Estado_Detalle="RECHAZADO (Ciclo 1/3) - Pendiente reparación",
    ),
    spool(
        "MK-1923-TW-17422-010",
        **ARM_SOLD_DONE,
        Ocupado_Por="PS(96)",
        Fecha_Ocupacion=OCC,
        Estado_Detalle="EN_REPARACION (Ciclo 2/3) - Ocupado: PS(96)",
    ),
    spool("MK-1923-TW-17422-011", **ARM_SOLD_DONE, Estado_Detalle="REPARACION_PAUSADA (Ciclo 1/3)"),
    spool(
        "MK-1923-TW-17422-012", **ARM_SOLD_DONE, Estado_Detalle="PENDIENTE_METROLOGIA (Ciclo 2/3)"
    ),
    spool(
        "MK-1923-TW-17422-013", **ARM_SOLD_DONE, Estado_Detalle="BLOQUEADO - Contactar supervisor"
    ),
    spool("MK-1923-TW-17422-014", **ARM_SOLD_DONE, Ocupado_Por="MR(93)", Fecha_Ocupacion=OCC),
]

# Names for the stages above.
NO_MATERIALS = "MK-1923-TW-17422-001"
ARM_PENDING = "MK-1923-TW-17422-002"
ARM_IN_PROGRESS = "MK-1923-TW-17422-003"  # occupied by MR(93)
ARM_PAUSED = "MK-1923-TW-17422-004"
ARM_DONE = "MK-1923-TW-17422-005"
SOLD_IN_PROGRESS = "MK-1923-TW-17422-006"  # occupied by JP(94)
QC_PENDING = "MK-1923-TW-17422-007"
APPROVED = "MK-1923-TW-17422-008"
REJECTED_1 = "MK-1923-TW-17422-009"
IN_REPAIR = "MK-1923-TW-17422-010"  # occupied by PS(96), cycle 2
REPAIR_PAUSED = "MK-1923-TW-17422-011"
REPAIRED = "MK-1923-TW-17422-012"  # waiting for re-inspection, cycle 2
BLOCKED = "MK-1923-TW-17422-013"
QC_PENDING_BUT_OCCUPIED = "MK-1923-TW-17422-014"


def build_plant(extra_spools: list[dict] = ()) -> None:
    build_workbook(spools=SPOOLS + list(extra_spools), workers=WORKERS)
    pull(workers=True)


def make_user(username: str, group: str | None, *, staff: bool = False) -> User:
    """An account (password `pw-<username>`), in `group` if given."""
    user = User.objects.create_user(username, password="pw-" + username, is_staff=staff)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def station_user(username: str = "tablet-1") -> User:
    return make_user(username, "Estación")


def tv_user(username: str = "tv-1") -> User:
    """The wall dashboard's account (group Pantalla)."""
    return make_user(username, "Pantalla")


def logged_in(user: User) -> Client:
    client = Client()
    client.login(username=user.username, password="pw-" + user.username)
    return client


def act(client, operacion: str, accion: str, worker_id, *tags: str, **extra):
    data = {"operacion": operacion, "accion": accion, "worker": worker_id, "tags": list(tags)}
    data.update({k: v for k, v in extra.items() if v is not None})
    return client.post("/acciones/", data)


def new_request_id() -> str:
    return str(uuid.uuid4())


def sheet_rows(sheet: str = "Operaciones") -> list[dict]:
    """The sheet as the office sees it (after flushing), one dict per row by header."""
    flush_until_empty()
    return open_workbook().worksheet(sheet).get_all_records(numericise_ignore=["all"])


def sheet_row(tag: str) -> dict:
    rows = [r for r in sheet_rows() if r["TAG_SPOOL"] == tag]
    assert len(rows) == 1, f"{tag}: {len(rows)} rows"
    return rows[0]


def metadata_rows(tag: str | None = None) -> list[dict]:
    rows = sheet_rows("Metadata")
    return [r for r in rows if tag is None or r["TAG_SPOOL"] == tag]


def exported(tmp_path: Path) -> dict[str, list[dict]]:
    """Flush, export_workbook to .xlsx, read it back: {sheet: [row dicts]}."""
    flush_until_empty()
    path = tmp_path / "export.xlsx"
    export_workbook(path)
    book = load_workbook(path)
    out = {}
    for ws in book.worksheets:
        rows = [["" if v is None else v for v in r] for r in ws.iter_rows(values_only=True)]
        header = [str(h) for h in rows[0]] if rows else []
        out[ws.title] = [dict(zip(header, r, strict=False)) for r in rows[1:]]
    return out


APP_OWNED = (
    "Armador",
    "Fecha_Armado",
    "Soldador",
    "Fecha_Soldadura",
    "Fecha_QC_Metrologia",
    "Ocupado_Por",
    "Fecha_Ocupacion",
    "Estado_Detalle",
)


# --- unions (uniones.md) ---------------------------------------------------------------------


def union(n: int, dn: float | str = 2, tipo: str = "BW", **fields: object) -> dict:
    """One union of a spool: N_UNION, DN (inches) and type; `fields` e.g. arm_fin=…"""
    from decimal import Decimal

    return {"n_union": n, "dn_union": Decimal(str(dn)), "tipo_union": tipo, **fields}


def add_unions(tag: str, *unions: dict) -> list:
    """The spool's Union rows in the mirror, as a pull of Uniones would leave them, and the
    spool's counters kept equal to them (Estado_Detalle stays as pulled)."""
    from spools.models import UNION_COUNTER_FIELDS, Spool, Union

    rows = [Union.objects.create(tag=tag, version=f"v-{tag}-{u['n_union']}", **u) for u in unions]
    spool = Spool.objects.get(tag=tag)
    spool.count_unions(Union.objects.filter(tag=tag))
    spool.save(update_fields=list(UNION_COUNTER_FIELDS))
    return rows


def crowded_floor(n: int) -> None:
    """A workbook of `n` spools all occupied by MR(93), a minute apart from 08:00 of
    12-05-2026 (the oldest first: MK-WALL-000), pulled into the mirror."""
    build_workbook(
        spools=[
            spool(
                f"MK-WALL-{i:03d}",
                Fecha_Materiales=MAT,
                Armador="MR(93)",
                Ocupado_Por="MR(93)",
                Fecha_Ocupacion=f"12-05-2026 {8 + i // 60:02d}:{i % 60:02d}:00",
            )
            for i in range(n)
        ],
        workers=[worker(93, "Mario", "Rojas", roles=["Armador"])],
    )
    pull(workers=True)
