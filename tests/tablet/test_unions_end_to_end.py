"""Unions from the sheet to the tablet to Mi registro, through the real parts: a workbook
with a Uniones sheet (local backend, real gspread), the pull, POST /acciones/, the union
step page, the flush, and each worker's own register."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from spools.models import Spool, Union
from spools.sheets import open_workbook
from spools.workbook.sync import flush_until_empty, run_cycle
from tests.builders import build_workbook, spool, union
from tests.plant import MAT, WORKERS, act, logged_in, new_request_id, station_user

pytestmark = pytest.mark.django_db

TAG = "MK-5000-U-001"


@pytest.fixture
def tablet(sheet_store, settings):
    from spools.workbook.pull import pull

    settings.ZEUES_PULL_INTERVAL = 3600  # pulls only when the test asks
    build_workbook(
        spools=[spool(TAG, OT="OT-5000", Fecha_Materiales=MAT)],
        workers=WORKERS,
        counters=True,
        uniones=[
            union(TAG, 1, DN_UNION=2, TIPO_UNION="BW"),
            union(TAG, 2, DN_UNION=2.5, TIPO_UNION="BW"),
            union(TAG, 3, DN_UNION=4, TIPO_UNION="FW"),
        ],
    )
    pull(workers=True)
    return logged_in(station_user())


def send(tablet, accion: str, worker: int, *uniones: int):
    answer = act(
        tablet,
        "ARM",
        accion,
        worker,
        TAG,
        uniones=list(uniones) or None,
        request_id=new_request_id(),
    )
    assert answer.status_code == 200, answer.content.decode()
    return answer


def test_two_fitters_split_a_spool_and_each_sees_their_own_pd_the_office_adding_one(tablet):
    assert Spool.objects.get(tag=TAG).uniones_total == 3
    send(tablet, "TOMAR", 93)
    send(tablet, "PAUSAR", 93, 1, 2)  # MR(93) fits 1 and 2, and goes

    # Meanwhile the office adds union 4 to the drawing, in the sheet.
    ws = open_workbook().worksheet("Uniones")
    header = ws.row_values(1)
    row = [""] * len(header)
    for column, value in {
        "TAG_SPOOL": TAG,
        "N_UNION": 4,
        "DN_UNION": 3,
        "TIPO_UNION": "BW",
    }.items():
        row[header.index(column)] = value
    ws.append_row(row, value_input_option="RAW")
    run_cycle(pull_now=True)

    send(tablet, "TOMAR", 100)
    step = tablet.get(f"/t/ARM/100/FINALIZAR/uniones/?tags={TAG}").content.decode()
    offered = re.findall(r'name="uniones" value="(\d+)"', step)
    assert offered == ["3", "4"]  # the office's union too; 1 and 2 are done…
    assert "MR(93)" in step  # …shown with who fitted them
    send(tablet, "FINALIZAR", 100, 3, 4)  # DF(100) fits the rest: ARM complete

    s = Spool.objects.get(tag=TAG)
    assert s.arm == "COMPLETADO" and s.armador == "DF(100)" and s.uniones_arm == 4
    today = timezone.localdate().isoformat()
    mine = tablet.get(f"/registro/93/?fecha={today}").content.decode()
    theirs = tablet.get(f"/registro/100/?fecha={today}").content.decode()
    assert "4,5 PD" in mine and "7,0 PD" not in mine
    assert "7,0 PD" in theirs and "4,5 PD" not in theirs

    flush_until_empty()
    records = open_workbook().worksheet("Uniones").get_all_records(numericise_ignore=["all"])
    fitted = {int(r["N_UNION"]): r["ARM_WORKER"] for r in records if r["TAG_SPOOL"] == TAG}
    assert fitted == {1: "MR(93)", 2: "MR(93)", 3: "DF(100)", 4: "DF(100)"}
    assert Union.objects.filter(tag=TAG, arm_fin__isnull=False).count() == 4
