"""import_workbook / export_workbook: every cell of every sheet survives the round trip."""

from __future__ import annotations

from datetime import date, datetime, time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import TYPE_STRING

from spools.models import Event, Spool, Worker
from spools.workbook.columns import METADATA_COLUMNS, ROLES_COLUMNS, TRABAJADORES_COLUMNS
from spools.workbook.gateway import open_workbook, read_ranges
from spools.workbook.pull import pull
from tests.builders import build_workbook, spool, worker

pytestmark = pytest.mark.django_db

EVENT_ISO = "0b5f7a3e-8a8e-4c52-9b1f-2f0b7f0c1a01"
EVENT_DMY = "0b5f7a3e-8a8e-4c52-9b1f-2f0b7f0c1a02"

OPERACIONES_HEADER = [
    "TAG_SPOOL",
    "OT",
    "NV",
    "Cliente",  # unknown office columns sit between the app's
    "Fecha_Materiales",
    "Armador",
    "Fecha_Armado",
    "Soldador",
    "Fecha_Soldadura",
    "Fecha_QC_Metrologia",
    "Peso (kg)",
    "Ocupado_Por",
    "Fecha_Ocupacion",
    "version",
    "Estado_Detalle",
    "Urgente",
    "Observaciones",
    "Código interno",
]


def office_workbook(path: Path) -> Path:
    """An .xlsx as the office keeps it: odd columns, text, numbers, booleans, dates, gaps."""
    book = Workbook()
    ops = book.active
    ops.title = "Operaciones"
    ops.append(OPERACIONES_HEADER)
    ops.append(
        [
            "MK-1923-TW-17422-001",
            "OT-1923",
            "NV-17422",
            "Codelco",
            date(2026, 5, 2),
            "MR(93)",
            None,  # an empty cell in the middle
            None,
            None,
            None,
            123.45,
            "MR(93)",
            datetime(2026, 5, 13, 11, 33, 48),
            "v-001",
            "MR(93) trabajando ARM (ARM en progreso, SOLD pendiente)",
            True,
            "=1+1",  # text that looks like a formula
            "007",  # text that looks like a number
        ]
    )
    ops.append(
        [
            "MK-1923-TW-17422-002",
            1923,
            17422,
            None,
            date(2026, 5, 3),
            None,
            None,
            None,
            None,
            None,
            0,
            None,
            None,
            None,
            None,
            False,
            "+56 9 1234 5678",
            "-5",
        ]
    )
    ops.append([None] * 5 + ["@x"])  # stray text in an otherwise empty row
    ops.append(["MK-1923-TW-17422-003", "OT-1923", None, "Dévora & Cía", "02/05/2026"])
    for row in ops.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = TYPE_STRING  # "=1+1" is a string cell, not a formula
    ops["E2"].number_format = "DD-MM-YYYY"
    ops["E3"].number_format = "DD-MM-YYYY"
    ops["M2"].number_format = "DD-MM-YYYY HH:MM:SS"

    trab = book.create_sheet("Trabajadores")
    trab.append([*TRABAJADORES_COLUMNS, "Turno"])
    trab.append([93, "Mario", "Rojas", True, "A"])
    trab.append([94, "Juan", "Pérez", "Sí", None])
    trab.append([95, "Ana", "Díaz", 0, "B"])

    roles = book.create_sheet("Roles")
    roles.append(list(ROLES_COLUMNS))
    roles.append([93, "Armador", True])
    roles.append([94, "Soldador", "TRUE"])

    meta = book.create_sheet("Metadata")
    meta.append(list(METADATA_COLUMNS))
    meta.append(
        [EVENT_ISO, "2026-05-13T08:00:00", "TOMAR_SPOOL", "MK-1923-TW-17422-001", 93, "MR(93)"]
        + ["ARM", "TOMAR", "13-05-2026", '{"request_id": "r-1"}']
    )
    meta.append(
        [EVENT_DMY, "13-05-2026 11:33:48", "TOMAR_SPOOL", "MK-1923-TW-17422-001", 93, "MR(93)"]
        + ["ARM", "TOMAR", "13-05-2026", ""]
    )

    notas = book.create_sheet("Notas")
    notas.append(["Semana", "Nota", None, "Total"])
    notas.append([19, "Parada de planta el jueves", None, 12.5])
    notas.append([None, None, None, None])
    notas.append([20, "=SUMA(A1:A2)", None, -3])
    notas["B4"].data_type = TYPE_STRING
    notas["F7"] = "lejos"  # a cell far from the others
    notas.append([time(7, 30), "  con espacios  ", 0.1 + 0.2, 12345678901234, -0.5, "=A2*2"])
    notas["A8"].number_format = "HH:MM"

    book.save(path)
    return path


def cells(path: Path) -> dict[str, dict[tuple[int, int], object]]:
    """{sheet: {(row, col): value}} of the non-empty cells; dates compare as dates."""
    out = {}
    for ws in load_workbook(path).worksheets:
        sheet = {}
        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                if value is None or value == "":
                    continue
                if isinstance(value, datetime) and value.time() == time() and not _has_time(cell):
                    value = value.date()
                sheet[(cell.row, cell.column)] = (type(value).__name__, value)
        out[ws.title] = sheet
    return out


def _has_time(cell) -> bool:
    return "h" in (cell.number_format or "").lower()


def run(command: str, *args) -> str:
    out = StringIO()
    call_command(command, *map(str, args), stdout=out)
    return out.getvalue()


def test_import_then_export_keeps_every_cell_of_every_sheet(sheet_store, tmp_path):
    source = office_workbook(tmp_path / "oficina.xlsx")

    run("import_workbook", source)
    run("export_workbook", tmp_path / "exportado.xlsx")

    before, after = cells(source), cells(tmp_path / "exportado.xlsx")
    assert list(after) == ["Operaciones", "Trabajadores", "Roles", "Metadata", "Notas"]
    for title in before:
        assert after[title] == before[title], title


def test_exported_text_stays_text_and_dates_are_real_dates(sheet_store, tmp_path):
    run("import_workbook", office_workbook(tmp_path / "oficina.xlsx"))
    run("export_workbook", tmp_path / "exportado.xlsx")

    ops = load_workbook(tmp_path / "exportado.xlsx")["Operaciones"]
    assert (ops["Q2"].value, ops["Q2"].data_type) == ("=1+1", "s")
    assert (ops["R2"].value, ops["R2"].data_type) == ("007", "s")
    assert ops["E2"].value == datetime(2026, 5, 2)
    assert ops["E2"].is_date
    assert ops["M2"].value == datetime(2026, 5, 13, 11, 33, 48)
    assert ops["E5"].value == "02/05/2026"  # typed as text in the office's file: still text


def test_imported_text_never_becomes_a_formula_in_the_workbook(sheet_store, tmp_path):
    run("import_workbook", office_workbook(tmp_path / "oficina.xlsx"))

    ws = open_workbook().worksheet("Operaciones")
    assert ws.get("Q2:R3", value_render_option="FORMULA") == [
        ["=1+1", "007"],
        ["+56 9 1234 5678", "-5"],
    ]
    assert ws.acell("F4").value == "@x"


def test_import_pulls_the_mirror_and_the_history(sheet_store, tmp_path):
    out = run("import_workbook", office_workbook(tmp_path / "oficina.xlsx"))

    assert set(Spool.objects.values_list("tag", flat=True)) == {
        "MK-1923-TW-17422-001",
        "MK-1923-TW-17422-002",
        "MK-1923-TW-17422-003",
    }
    s = Spool.objects.get(tag="MK-1923-TW-17422-001")
    assert (s.fecha_materiales, s.occupant_id, s.problems) == (date(2026, 5, 2), 93, [])
    assert Spool.objects.get(tag="MK-1923-TW-17422-003").fecha_materiales == date(2026, 5, 2)
    assert dict(Worker.objects.values_list("id", "activo")) == {93: True, 94: True, 95: False}
    assert sorted(str(i) for i in Event.objects.values_list("id", flat=True)) == [
        EVENT_ISO,
        EVENT_DMY,
    ]
    assert "3 spools" in out


def test_importing_the_same_file_twice_adds_each_event_once(sheet_store, tmp_path):
    source = office_workbook(tmp_path / "oficina.xlsx")

    run("import_workbook", source)
    run("import_workbook", source)

    assert Event.objects.count() == 2
    assert Spool.objects.count() == 3


def test_export_import_export_of_a_built_workbook_gives_the_same_cells(sheet_store, tmp_path):
    build_workbook(
        [
            spool("MK-1", OT="OT-1", Fecha_Materiales="02-05-2026", Cliente="=1+1"),
            spool("MK-2", OT=1923, Armador="MR(93)", Ocupado_Por="MR(93)", Diametro=6.5),
            spool("MK-3", Fecha_Ocupacion="13-05-2026 11:33:48", Observaciones="+56 9 1234"),
        ],
        [
            worker(93, "Mario", "Rojas", roles=["Armador"]),
            worker(94, "Juan", "Pérez", activo=False),
        ],
        [[EVENT_ISO, "13-05-2026 11:33:48", "TOMAR_SPOOL", "MK-2", 93, "MR(93)", "ARM", "TOMAR"]],
    )
    ws = open_workbook().worksheet("Operaciones")
    ws.update_cell(4, 5, "13-05-2026")  # a real date cell next to the text ones
    first, second = tmp_path / "uno.xlsx", tmp_path / "dos.xlsx"

    run("export_workbook", first)
    run("import_workbook", first)
    run("export_workbook", second)

    assert cells(first) == cells(second)
    assert cells(first)["Operaciones"][(2, 4)] == ("str", "=1+1")


def test_import_replaces_every_sheet_and_keeps_row_values_exact(sheet_store, tmp_path):
    build_workbook([spool("OLD-1")])
    pull()
    open_workbook().add_worksheet("Vieja", rows=10, cols=5)

    run("import_workbook", office_workbook(tmp_path / "oficina.xlsx"))

    titles = [ws.title for ws in open_workbook().worksheets()]
    assert titles == ["Operaciones", "Trabajadores", "Roles", "Metadata", "Notas"]
    (notas,) = read_ranges(["Notas"])
    assert notas == [
        ["Semana", "Nota", "", "Total"],
        [19, "Parada de planta el jueves", "", 12.5],
        [],
        [20, "=SUMA(A1:A2)", "", -3],
        [],
        [],
        ["", "", "", "", "", "lejos"],
        [0.3125, "  con espacios  ", 0.3, 12345678901234, -0.5, "#ERROR!"],
    ]
    assert Spool.objects.get(tag="OLD-1").sheet_row is None


def test_a_missing_file_is_a_clear_error(sheet_store, tmp_path):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="No existe el archivo"):
        run("import_workbook", tmp_path / "no-existe.xlsx")
