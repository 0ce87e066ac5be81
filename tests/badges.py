"""Badges and PINs (issue 15): the office adds Trabajadores' Credencial column and types
the badge codes; a supervisor gives PINs. Shared by the identification tests."""

from __future__ import annotations

import json
import re

from gspread.utils import rowcol_to_a1

from occupation.identify import set_pin
from spools.models import Worker
from spools.sheets import open_workbook
from spools.workbook.columns import TRABAJADORES
from spools.workbook.pull import pull


def give_badges(badges: dict[int, object]) -> None:
    """A Credencial column at the end of Trabajadores, the codes typed in (a number stays a
    number, as in a cell formatted as one: its leading zeros are gone), then pulled."""
    ws = open_workbook().worksheet(TRABAJADORES)
    header = ws.row_values(1)
    col = header.index("Credencial") + 1 if "Credencial" in header else len(header) + 1
    ws.update([["Credencial"]], rowcol_to_a1(1, col), value_input_option="RAW")
    ids = ws.col_values(header.index("Id") + 1)
    for worker_id, code in badges.items():
        row = ids.index(str(worker_id)) + 1
        ws.update([[code]], rowcol_to_a1(row, col), value_input_option="RAW")
    pull(workers=True)


def give_pin(worker_id: int, pin: str) -> None:
    set_pin(Worker.objects.get(pk=worker_id), pin)


def scan_badge(client, op: str, code: str):
    """A badge read on the worker step, as static/js/identify.js sends it (htmx POST)."""
    return client.post(f"/t/{op}/credencial/", {"codigo": code}, HTTP_HX_REQUEST="true")


def token_in(url: str) -> str:
    """The identification token a step URL carries ("" if none)."""
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(url).query).get("identificacion", [""])[0]


def metadata_json(rows: list[dict]) -> list[dict]:
    return [json.loads(r["Metadata_JSON"]) for r in rows]


def hidden_identificacion(html: str) -> str:
    found = re.search(r'name="identificacion" value="([^"]+)"', html)
    return found.group(1) if found else ""
