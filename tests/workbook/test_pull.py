"""The pull with real, messy workbook data: odd rows stay visible, odd cells are reported."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from spools.models import Event, Role, Spool, SyncState, Worker
from spools.sheets import open_workbook
from spools.workbook.columns import METADATA, OPERACIONES, TRABAJADORES
from spools.workbook.pull import pull
from tests.builders import build_workbook, spool, worker

pytestmark = pytest.mark.django_db

SANTIAGO = ZoneInfo("America/Santiago")
MOMENT = datetime(2026, 5, 13, 11, 33, 48, tzinfo=SANTIAGO)


def sheet(title: str):
    return open_workbook().worksheet(title)


def tags_by_row() -> dict[str, int | None]:
    return dict(Spool.objects.values_list("tag", "sheet_row"))


# --- duplicate, empty and stray rows ------------------------------------------------------


def test_a_duplicate_tag_keeps_the_first_row_and_records_a_warning(sheet_store):
    build_workbook(
        [
            spool("MK-1", OT="OT-first", Armador="MR(93)"),
            spool("MK-2", OT="OT-2"),
            spool("MK-1", OT="OT-second", Armador="JP(94)"),
        ]
    )

    result = pull()

    s = Spool.objects.get(tag="MK-1")
    assert (s.ot, s.armador, s.sheet_row) == ("OT-first", "MR(93)", 2)
    assert Spool.objects.count() == 2
    warnings = SyncState.get().pull_warnings
    assert any("MK-1" in w and "fila 4" in w and "fila 2" in w for w in warnings), warnings
    assert warnings == result.warnings


def test_a_duplicate_tag_with_surrounding_spaces_is_still_a_duplicate(sheet_store):
    build_workbook([spool("MK-1", OT="OT-first"), spool(" MK-1 ", OT="OT-second")])

    pull()

    assert list(Spool.objects.values_list("tag", "ot")) == [("MK-1", "OT-first")]
    assert any("MK-1" in w for w in SyncState.get().pull_warnings)


def test_empty_rows_are_skipped_and_rows_below_them_keep_their_row_number(sheet_store):
    build_workbook([spool("MK-1"), {}, {}, spool("MK-2"), {}, spool("MK-3")])

    pull()

    assert tags_by_row() == {"MK-1": 2, "MK-2": 5, "MK-3": 7}
    assert SyncState.get().pull_warnings == []


def test_stray_text_in_an_otherwise_empty_row_makes_no_spool_and_hides_nothing(sheet_store):
    build_workbook(
        [
            spool("MK-1"),
            {"Observaciones": "revisar con oficina técnica", "Cliente": "??"},
            {"Diametro": 6},
            spool("MK-2"),
        ]
    )

    pull()

    assert tags_by_row() == {"MK-1": 2, "MK-2": 5}


def test_stray_text_in_unrelated_columns_of_a_real_row_never_hides_it(sheet_store):
    build_workbook(
        [
            spool(
                "MK-1",
                OT="OT-1923",
                Cliente="ojo: llamar!!",
                Diametro="6 pulg.",
                Observaciones="=HOLA()",
                Fecha_Materiales="02-05-2026",
            )
        ]
    )

    pull()

    s = Spool.objects.get(tag="MK-1")
    assert (s.ot, s.fecha_materiales, s.problems) == ("OT-1923", date(2026, 5, 2), [])


def test_a_numeric_tag_is_read_as_text(sheet_store):
    build_workbook([spool(19230004, OT=1923)])

    pull()

    assert list(Spool.objects.values_list("tag", "ot")) == [("19230004", "1923")]


# --- odd cells are reported, never "not found" --------------------------------------------


def test_an_unparseable_date_keeps_the_spool_and_names_tag_and_column(sheet_store):
    build_workbook(
        [
            spool(
                "MK-1923-TW-17422-004",
                Fecha_Materiales="02-05-2026",
                Armador="MR(93)",
                Fecha_Armado="ayer en la tarde",
            )
        ]
    )

    result = pull()

    s = Spool.objects.get(tag="MK-1923-TW-17422-004")
    assert s.sheet_row == 2
    assert s.fecha_materiales == date(2026, 5, 2)
    assert s.armador == "MR(93)"
    assert s.fecha_armado is None
    [problem] = s.problems
    assert problem["tag"] == "MK-1923-TW-17422-004"
    assert problem["column"] == "Fecha_Armado"
    assert problem["value"] == "ayer en la tarde"
    assert any("MK-1923-TW-17422-004" in w and "Fecha_Armado" in w for w in result.warnings), (
        result.warnings
    )
    assert SyncState.get().pull_warnings == result.warnings


def test_an_unreadable_worker_cell_is_reported_and_its_text_kept(sheet_store):
    build_workbook([spool("MK-1", Fecha_Materiales="02-05-2026", Armador="Mario")])

    pull()

    s = Spool.objects.get(tag="MK-1")
    assert s.armador == "Mario"
    assert [p["column"] for p in s.problems] == ["Armador"]


def test_an_unparseable_occupation_time_keeps_the_occupant(sheet_store):
    build_workbook([spool("MK-1", Ocupado_Por="MR(93)", Fecha_Ocupacion="13-13-2026 25:00")])

    pull()

    s = Spool.objects.get(tag="MK-1")
    assert (s.ocupado_por, s.occupant_id, s.fecha_ocupacion) == ("MR(93)", 93, None)
    assert [(p["tag"], p["column"]) for p in s.problems] == [("MK-1", "Fecha_Ocupacion")]


def test_a_fixed_cell_clears_its_problem_on_the_next_pull(sheet_store):
    build_workbook([spool("MK-1", Fecha_Materiales="el lunes")])
    pull()
    assert Spool.objects.get(tag="MK-1").problems

    ws = sheet(OPERACIONES)
    col = ws.row_values(1).index("Fecha_Materiales") + 1
    ws.update_cell(2, col, "04-05-2026")
    pull()

    s = Spool.objects.get(tag="MK-1")
    assert (s.fecha_materiales, s.problems) == (date(2026, 5, 4), [])


# --- workers: booleans in every form ------------------------------------------------------

ACTIVO_FORMS = [
    ("TRUE", True),
    ("FALSE", False),
    ("Sí", True),
    ("No", False),
    ("si", True),
    ("1", True),
    ("0", False),
    (1, True),
    (0, False),
    (True, True),  # a checkbox
    (False, False),
    ("", True),  # blank: active unless said otherwise
]


def test_trabajadores_activo_in_every_boolean_form(sheet_store):
    build_workbook(
        workers=[worker(100 + i, "Nombre", "Apellido") for i in range(len(ACTIVO_FORMS))]
    )
    rows = [[100 + i, "Nombre", "Apellido", v] for i, (v, _) in enumerate(ACTIVO_FORMS)]
    sheet(TRABAJADORES).update(rows, "A2", value_input_option="RAW")

    result = pull(workers=True)

    got = dict(Worker.objects.values_list("id", "activo"))
    assert got == {100 + i: expected for i, (_, expected) in enumerate(ACTIVO_FORMS)}
    assert result.warnings == []


def test_checkbox_and_typed_booleans_from_user_entered_cells(sheet_store):
    build_workbook(workers=[worker(93, "Mario", "Rojas"), worker(94, "Juan", "Pérez")])
    ws = sheet(TRABAJADORES)
    ws.update([["VERDADERO"], ["FALSO"]], "D2", value_input_option="USER_ENTERED")
    assert ws.get("D2:D3", value_render_option="UNFORMATTED_VALUE") == [[True], [False]]

    pull(workers=True)

    assert dict(Worker.objects.values_list("id", "activo")) == {93: True, 94: False}


def test_role_rows_and_their_activo_booleans(sheet_store):
    build_workbook(
        workers=[
            worker(93, "Mario", "Rojas", roles=["Armador"], inactive_roles=["Soldador"]),
            worker(94, "Juan", "Pérez", roles=["Soldador"]),
        ]
    )
    ws = sheet("Roles")
    ws.append_row([94, "Metrologia", "No"])
    ws.append_row([94, "Armador", 1])

    pull(workers=True)

    got = set(Role.objects.values_list("worker_id", "rol", "activo"))
    assert got == {
        (93, "Armador", True),
        (93, "Soldador", False),
        (94, "Soldador", True),
        (94, "Metrologia", False),
        (94, "Armador", True),
    }


def test_an_unreadable_activo_keeps_the_worker_and_reports_the_cell(sheet_store):
    build_workbook(workers=[worker(93, "Mario", "Rojas", roles=["Armador"])])
    sheet(TRABAJADORES).update([["quizás"]], "D2", value_input_option="RAW")

    result = pull(workers=True)

    assert Worker.objects.filter(id=93).exists()
    assert Role.objects.filter(worker_id=93, rol="Armador").exists()
    assert any("Activo" in w and "quizás" in w for w in result.warnings), result.warnings


# --- the Metadata log becomes events, each ID once ----------------------------------------

ID_ISO = "6f1c0a52-3d1b-4a57-9a6e-0c7c3f1d2b01"
ID_DMY = "6f1c0a52-3d1b-4a57-9a6e-0c7c3f1d2b02"
ID_SERIAL = "6f1c0a52-3d1b-4a57-9a6e-0c7c3f1d2b03"


def _meta(eid: str, ts: object, tipo: str = "TOMAR_SPOOL", fecha: object = "13-05-2026"):
    return [eid, ts, tipo, "MK-1", 93, "MR(93)", "ARM", tipo.split("_")[0], fecha, ""]


def test_metadata_rows_with_iso_and_day_first_timestamps_become_events(sheet_store):
    build_workbook(
        [spool("MK-1")],
        [worker(93, "Mario", "Rojas", roles=["Armador"])],
        [
            _meta(ID_ISO, "2026-05-13T11:33:48"),
            _meta(ID_DMY, "13-05-2026 11:33:48", "PAUSAR_SPOOL"),
            _meta(ID_SERIAL, 46155.4818, "COMPLETAR_ARM", fecha=46155),
            _meta(
                "fila-hecha-a-mano", "2026-05-13T15:33:48Z", "COMPLETAR_SOLD", fecha="2026-05-13"
            ),
        ],
    )

    result = pull(workers=True)

    assert result.events_added == 4
    events = {str(e.id): e for e in Event.objects.all()}
    for eid in (ID_ISO, ID_DMY, ID_SERIAL):
        assert events[eid].timestamp == MOMENT
        assert events[eid].fecha_operacion == date(2026, 5, 13)
        assert events[eid].from_sheet
    handmade = Event.objects.get(evento_tipo="COMPLETAR_SOLD")
    assert handmade.timestamp == MOMENT
    assert (handmade.tag, handmade.worker_id, handmade.worker_nombre) == ("MK-1", 93, "MR(93)")


def test_each_metadata_id_becomes_one_event_across_repeated_pulls(sheet_store):
    build_workbook(
        [spool("MK-1")],
        [worker(93, "Mario", "Rojas")],
        [
            _meta(ID_ISO, "2026-05-13T11:33:48"),
            _meta(ID_ISO, "2026-05-13T11:33:48"),  # the same row landed twice
            _meta(ID_DMY, "13-05-2026 11:33:48", "PAUSAR_SPOOL"),
        ],
    )

    first = pull(workers=True)
    second = pull(workers=True)
    sheet(METADATA).append_row(_meta(ID_SERIAL, "13-05-2026 12:00:00", "TOMAR_SPOOL"))
    third = pull(workers=True)

    assert (first.events_added, second.events_added, third.events_added) == (2, 0, 1)
    assert sorted(str(i) for i in Event.objects.values_list("id", flat=True)) == sorted(
        [ID_ISO, ID_DMY, ID_SERIAL]
    )


def test_metadata_json_is_kept_and_bad_json_kept_as_text(sheet_store):
    good = _meta(ID_ISO, "13-05-2026 11:33:48")
    good[-1] = '{"resultado": "RECHAZADO", "ciclo": 1}'
    bad = _meta(ID_DMY, "13-05-2026 11:33:48")
    bad[-1] = "nota suelta"
    build_workbook([spool("MK-1")], [worker(93, "Mario", "Rojas")], [good, bad])

    pull(workers=True)

    assert Event.objects.get(id=uuid.UUID(ID_ISO)).metadata_json == {
        "resultado": "RECHAZADO",
        "ciclo": 1,
    }
    assert Event.objects.get(id=uuid.UUID(ID_DMY)).metadata_json == {"texto": "nota suelta"}


# --- rows that leave the sheet ------------------------------------------------------------


def test_a_spool_deleted_from_the_sheet_loses_its_row_but_keeps_its_history(sheet_store):
    build_workbook(
        [spool("MK-1"), spool("MK-2", OT="OT-2"), spool("MK-3")],
        [worker(93, "Mario", "Rojas")],
        [_meta(ID_ISO, "13-05-2026 11:33:48")],
    )
    pull()
    assert tags_by_row() == {"MK-1": 2, "MK-2": 3, "MK-3": 4}

    sheet(OPERACIONES).delete_rows(3)
    result = pull()

    assert tags_by_row() == {"MK-1": 2, "MK-2": None, "MK-3": 3}
    assert result.removed == ["MK-2"]
    assert Spool.objects.get(tag="MK-2").ot == "OT-2"
    assert Event.objects.filter(tag="MK-1").count() == 1


def test_a_deleted_spool_put_back_gets_its_row_again(sheet_store):
    build_workbook([spool("MK-1"), spool("MK-2")])
    pull()
    ws = sheet(OPERACIONES)
    ws.delete_rows(3)
    pull()

    ws.update([["MK-2"]], "A5")
    pull()

    assert tags_by_row() == {"MK-1": 2, "MK-2": 5}
    assert Spool.objects.count() == 2


def test_a_second_pull_of_an_unchanged_sheet_changes_nothing(sheet_store):
    build_workbook([spool("MK-1", Fecha_Materiales="02-05-2026"), spool("MK-2", Armador="Mario")])
    pull()

    again = pull()

    assert (again.created, again.updated, again.removed) == ([], [], [])


def test_cells_too_long_for_the_mirror_are_reported_and_never_stop_the_pull(sheet_store):
    long_tag = "MK-" + "9" * 120
    long_worker = "Mario Rojas, soldadura especial del turno de noche en la nave 2 (93)"
    build_workbook(
        [spool("MK-1", Armador=long_worker), spool(long_tag)],
        [worker(93, "Mario", "Rojas", roles=["Armador"])],
    )
    result = pull(workers=True)
    assert Spool.objects.filter(tag="MK-1").exists()
    assert not Spool.objects.filter(tag=long_tag).exists()
    assert any("TAG_SPOOL de 123 caracteres" in w for w in result.warnings)
    [problem] = Spool.objects.get(tag="MK-1").problems
    assert problem["column"] == "Armador" and "demasiado largo" in problem["error"]
