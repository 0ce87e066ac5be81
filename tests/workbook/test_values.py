"""Cell values as the plant's workbooks really hold them (domain.md "Values")."""

from datetime import date, datetime

import pytest

from spools.workbook.values import (
    CellValueError,
    format_date,
    format_datetime,
    normalize_header,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_worker_cell,
    short_name,
)


@pytest.mark.parametrize(
    "header",
    ["Fecha_QC_Metrología", "fecha qc metrologia", "FECHA_QC_METROLOGIA", " Fecha QC_Metrologia "],
)
def test_headers_match_whatever_case_accents_spaces_and_underscores(header):
    assert normalize_header(header) == normalize_header("Fecha_QC_Metrologia")


@pytest.mark.parametrize(
    "cell",
    [
        "13-05-2026",
        "13/05/2026",
        "2026-05-13",
        46155,
        46155.0,
        "46155",
        "2026-05-13T08:00:00",
        46155.4818,
    ],
)
def test_every_date_form_of_the_workbook_reads_as_the_same_day(cell):
    assert parse_date(cell) == date(2026, 5, 13)


def test_serial_with_a_fraction_is_plant_time():
    dt = parse_datetime(46155.4818)
    assert (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second) == (2026, 5, 13, 11, 33, 48)
    assert str(dt.tzinfo) == "America/Santiago"


@pytest.mark.parametrize(
    "cell", ["13-05-2026 11:33:48", "2026-05-13T11:33:48", "2026-05-13 11:33:48", 46155.4818]
)
def test_occupation_date_times_in_every_form(cell):
    assert format_datetime(parse_datetime(cell)) == "13-05-2026 11:33:48"


def test_iso_datetime_with_offset_is_converted_to_plant_time():
    # 15:33:48 UTC is 11:33:48 in Santiago in May (UTC-4).
    assert format_datetime(parse_datetime("2026-05-13T15:33:48Z")) == "13-05-2026 11:33:48"


def test_dates_are_written_day_first():
    assert format_date(date(2026, 5, 3)) == "03-05-2026"
    assert format_datetime(datetime(2026, 5, 3, 7, 5, 9)) == "03-05-2026 07:05:09"


@pytest.mark.parametrize("cell", ["32-13-2026", "mañana", True, "13-05"])
def test_an_unreadable_date_is_an_error_not_an_empty_date(cell):
    with pytest.raises(CellValueError):
        parse_date(cell)


@pytest.mark.parametrize(
    "cell,expected",
    [
        ("TRUE", True),
        ("FALSE", False),
        ("Sí", True),
        ("No", False),
        ("1", True),
        (0, False),
        (True, True),
        (False, False),
        ("si", True),
    ],
)
def test_booleans_in_every_form(cell, expected):
    assert parse_bool(cell) is expected


def test_worker_short_name_and_back():
    assert short_name(93, "Mario", "Rojas") == "MR(93)"
    ref = parse_worker_cell("MR(93)")
    assert (ref.id, ref.short) == (93, "MR(93)")
    assert parse_worker_cell("") is None
    with pytest.raises(CellValueError):
        parse_worker_cell("Mario Rojas")


@pytest.mark.parametrize(
    "cell, inches",
    [
        (2, "2"),
        (2.5, "2.5"),
        ("2,5", "2.5"),
        ("1/2", "0.5"),
        ("1 1/2", "1.5"),
        ("1½", "1.5"),
        ("¾", "0.75"),
        ('3"', "3"),
        (72, "72"),
    ],
)
def test_a_union_diameter_reads_in_every_form_the_plant_writes_it(cell, inches):
    from decimal import Decimal

    from spools.workbook.values import parse_dn

    assert parse_dn(cell) == Decimal(inches)


@pytest.mark.parametrize("cell", [0, -2, 73, "grande", "1/0", True])
def test_a_union_diameter_out_of_range_or_unreadable_is_reported(cell):
    from spools.workbook.values import CellValueError, parse_dn

    with pytest.raises(CellValueError, match="DN no reconocido"):
        parse_dn(cell)


def test_pulgadas_diametro_show_one_decimal_with_a_comma():
    from decimal import Decimal

    from spools.workbook.values import format_pd

    assert format_pd(Decimal("12.5")) == "12,5"
    assert format_pd(Decimal("3.25")) == "3,2"
