"""Unions put straight into the mirror, as a floor that has been welding for a while:

    union(ARM_PENDING, 1, "2.5", arm=("MR(93)", at(DAY, "08:00"), at(DAY, "09:10")))

`at` is plant time (America/Santiago): what a worker's clock said.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from spools.models import Union
from spools.workbook.values import parse_worker_cell, plant_tz

DAY = date(2026, 5, 12)  # a Tuesday; Santiago is at UTC-4 then


def at(day: date, hhmm: str) -> datetime:
    hour, minute = (int(p) for p in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=plant_tz())


def union(
    tag: str,
    n: int,
    dn: str,
    tipo: str = "BW",
    *,
    arm: tuple[str, datetime, datetime] | None = None,
    sol: tuple[str, datetime, datetime] | None = None,
) -> Union:
    """A Uniones row; `arm` / `sol` = (worker as in the cell, start, end) when done."""
    fields: dict = {"tag": tag, "n_union": n, "dn_union": Decimal(dn), "tipo_union": tipo}
    for prefix, work in (("arm", arm), ("sol", sol)):
        if work:
            who, start, end = work
            fields.update(
                {
                    f"{prefix}_worker": who,
                    f"{prefix}_worker_id": parse_worker_cell(who).id,
                    f"{prefix}_inicio": start,
                    f"{prefix}_fin": end,
                }
            )
    return Union.objects.create(**fields)


def recount(tag: str) -> None:
    """The spool's counters from its Union rows, as every change leaves them."""
    from spools.models import UNION_COUNTER_FIELDS, Spool

    spool = Spool.objects.get(tag=tag)
    spool.count_unions(Union.objects.filter(tag=tag))
    spool.save(update_fields=UNION_COUNTER_FIELDS)
