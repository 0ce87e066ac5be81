"""TAGs the office typed starting with `=`, `+` or `@` (issue 14, item 10): they are the
office's text, listed and acted on like any other, and written back as the same text."""

from __future__ import annotations

import json

import pytest

from spools.sheets import open_workbook
from tests.builders import spool
from tests.plant import MAT, act, build_plant, logged_in, metadata_rows, sheet_row, station_user

TAGS = ["=A-1", "+B", "@C"]


@pytest.fixture
def tablet(sheet_store, db):
    build_plant([spool(t, OT="OT-9", Fecha_Materiales=MAT) for t in TAGS])
    return logged_in(station_user())


def test_formula_looking_tags_are_listed_taken_and_written_back_as_text(tablet):
    page = tablet.get("/t/ARM/100/TOMAR/")
    for tag in TAGS:
        assert f'data-tag="{tag}"' in page.text

    answer = act(tablet, "ARM", "TOMAR", 100, *TAGS)

    assert answer.status_code == 200, answer.text
    for tag in TAGS:
        assert f"{tag}: tomado por DF(100)" in answer.text
        assert sheet_row(tag)["Ocupado_Por"] == "DF(100)"
        (row,) = metadata_rows(tag)
        assert row["TAG_SPOOL"] == tag
        assert json.loads(row["Metadata_JSON"])["identificado_por"] == "lista"
    # Still text in the sheet, not formulas: the cells read back the same either way.
    ops = open_workbook().worksheet("Operaciones")
    column = ops.col_values(1, value_render_option="FORMULA")
    assert [t for t in column if t in TAGS] == TAGS


def test_one_at_a_time_too_and_on_to_pausar(tablet):
    assert act(tablet, "ARM", "TOMAR", 100, "=A-1").status_code == 200
    page = tablet.get("/t/ARM/100/PAUSAR/")
    assert 'data-tag="=A-1"' in page.text
    assert act(tablet, "ARM", "PAUSAR", 100, "=A-1").status_code == 200
    assert sheet_row("=A-1")["Ocupado_Por"] == ""


def test_a_formula_looking_tag_the_mirror_lacks_is_a_tampered_form(tablet):
    answer = act(tablet, "ARM", "TOMAR", 100, '=HYPERLINK("x")')
    assert answer.status_code == 400
    assert "TAG inválido" in answer.text
