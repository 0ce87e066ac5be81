"""The spool page: where a spool stands now, and its history as work sessions.

Sessions come from the event log — the app's own events and the Metadata rows that were in
the sheet before the app — so the supervisor sees the same story whichever wrote it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape

import pytest
from django.test import Client
from django.utils.html import strip_tags

from spools import overrides
from spools.models import Event
from spools.selectors import Instant, Session, build_history, format_duration, spool_history
from spools.workbook.values import plant_tz
from tests.builders import build_workbook, spool
from tests.plant import (
    ARM_DONE,
    ARM_IN_PROGRESS,
    ARM_PENDING,
    BLOCKED,
    IN_REPAIR,
    QC_PENDING,
    SPOOLS,
    WORKERS,
    act,
    logged_in,
    make_user,
)

pytestmark = pytest.mark.django_db

ODD = "MK-1923-TW-17422-099"

# Metadata rows already in the sheet when the app arrives: DD-MM-YYYY and ISO timestamps.
IMPORTED = [
    [
        "old-1",
        "09-05-2026 08:00:00",
        "TOMAR_SPOOL",
        ARM_DONE,
        93,
        "MR(93)",
        "ARM",
        "TOMAR",
        "09-05-2026",
        "",
    ],
    [
        "old-2",
        "2026-05-09T10:15:00",
        "PAUSAR_SPOOL",
        ARM_DONE,
        93,
        "MR(93)",
        "ARM",
        "PAUSAR",
        "09-05-2026",
        "",
    ],
    [
        "old-3",
        "10-05-2026 09:00:00",
        "TOMAR_SPOOL",
        ARM_DONE,
        96,
        "PS(96)",
        "ARM",
        "TOMAR",
        "10-05-2026",
        "",
    ],
    [
        "old-4",
        "2026-05-10 09:45:00",
        "COMPLETAR_ARM",
        ARM_DONE,
        96,
        "PS(96)",
        "ARM",
        "COMPLETAR",
        "10-05-2026",
        "",
    ],
]


def html(client: Client, tag: str) -> str:
    response = client.get(f"/spools/{tag}/")
    assert response.status_code == 200
    return response.text


def page(client: Client, tag: str) -> str:
    """The page as a person reads it: the text, without markup, spaces collapsed."""
    return re.sub(r"\s+", " ", unescape(strip_tags(html(client, tag))))


def in_order(text: str, *parts: str) -> bool:
    positions = [text.index(p) for p in parts]
    return positions == sorted(positions)


@pytest.fixture
def plant_with_history(sheet_store):
    """The plant of tests.plant plus a spool with odd cells (ODD), and the Metadata rows that
    were in the sheet before the app (IMPORTED)."""
    from spools.workbook.pull import pull

    odd = spool(ODD, Fecha_Materiales="cuando llegue", Armador="Mario")
    build_workbook(spools=[*SPOOLS, odd], workers=WORKERS, metadata=IMPORTED)
    pull(workers=True)


# --- sessions from events -----------------------------------------------------------------


def at(hh_mm: str, day: int = 11) -> datetime:
    hours, minutes = map(int, hh_mm.split(":"))
    return datetime(2026, 5, day, hours, minutes, tzinfo=plant_tz())


def ev(evento_tipo: str, when: datetime, op="ARM", worker="MR(93)", **meta) -> Event:
    return Event(
        evento_tipo=evento_tipo,
        timestamp=when,
        tag="MK-1",
        worker_nombre=worker,
        operacion=op,
        metadata_json=meta,
    )


def test_a_session_runs_from_tomar_to_the_next_pausar_with_its_duration():
    history = build_history(
        [
            ev("TOMAR_SPOOL", at("08:00")),
            ev("PAUSAR_SPOOL", at("10:15")),
            ev("TOMAR_SPOOL", at("11:00"), worker="PS(96)"),
            ev("COMPLETAR_ARM", at("11:45"), worker="PS(96)"),
            ev("TOMAR_SPOOL", at("13:00"), op="SOLD", worker="JP(94)"),
        ]
    )
    assert [(s.worker, s.operacion, s.duration, s.ended_as) for s in history] == [
        ("MR(93)", "ARM", "2h 15m", "pausada"),
        ("PS(96)", "ARM", "45m", "completada"),
        ("JP(94)", "SOLD", "en curso", ""),
    ]
    assert history[0].start == at("08:00") and history[0].end == at("10:15")
    assert history[2].open and history[2].end is None


def test_a_close_only_ends_the_session_of_its_own_operation():
    history = build_history(
        [
            ev("TOMAR_REPARACION", at("08:00"), op="REPARACION", ciclo=2),
            ev("PAUSAR_SPOOL", at("08:30"), op="SOLD"),  # another operation: ignored
            ev("CANCELAR_REPARACION", at("09:05"), op="REPARACION"),
        ]
    )
    [session] = history
    assert (session.operacion, session.ciclo, session.duration, session.ended_as) == (
        "REPARACION",
        2,
        "1h 05m",
        "cancelada",
    )


def test_history_that_starts_mid_way_or_misses_a_close_stays_readable():
    history = build_history(
        [
            ev("PAUSAR_SPOOL", at("07:00")),  # its TOMAR is older than the log
            ev("TOMAR_SPOOL", at("08:00")),
            ev("TOMAR_SPOOL", at("09:00"), worker="PS(96)"),  # the first one was never closed
            ev("COMPLETAR_ARM", at("10:00"), worker="PS(96)"),
        ]
    )
    assert [(s.worker, s.duration, s.ended_as) for s in history] == [
        ("MR(93)", "—", "sin cierre registrado"),
        ("PS(96)", "1h 00m", "completada"),
    ]


def test_metrologia_results_and_overrides_are_instants_and_liberar_closes_a_session():
    history = build_history(
        [
            ev(
                "COMPLETAR_METROLOGIA",
                at("08:00"),
                op="METROLOGIA",
                worker="AD(95)",
                resultado="RECHAZADO",
                ciclo=3,
            ),
            ev(
                "SUPERVISOR_OVERRIDE",
                at("09:00"),
                op="REPARACION",
                worker="ADMIN:ana",
                tipo="DESBLOQUEAR",
                despues={"Estado_Detalle": "RECHAZADO (Ciclo 0/3) - Pendiente reparación"},
            ),
            ev("TOMAR_REPARACION", at("10:00"), op="REPARACION", worker="PS(96)", ciclo=0),
            ev(
                "SUPERVISOR_OVERRIDE",
                at("18:30"),
                op="REPARACION",
                worker="ADMIN:ana",
                tipo="LIBERAR",
                ocupante="PS(96)",
            ),
        ]
    )
    rejected, unblocked, session, released = history
    assert isinstance(rejected, Instant) and rejected.title == "Metrología RECHAZADA"
    assert rejected.detail == "Ciclo 3/3 — BLOQUEADO" and rejected.tone == "danger"
    assert (unblocked.title, unblocked.who) == ("Desbloqueado", "ADMIN:ana")
    assert isinstance(session, Session)
    assert (session.duration, session.ended_as, session.ended_by) == (
        "8h 30m",
        "liberada",
        "ADMIN:ana",
    )
    assert (released.title, released.detail) == (
        "Ocupación liberada",
        "PS(96) ya no ocupa el spool",
    )


def test_events_in_the_same_second_are_read_in_the_order_the_lifecycle_allows():
    # The sheet keeps whole seconds, so a same-second pair may be listed either way round.
    history = build_history(
        [
            ev("TOMAR_SPOOL", at("07:00")),
            ev("TOMAR_SPOOL", at("08:00"), worker="PS(96)"),  # B takes what A paused...
            ev("PAUSAR_SPOOL", at("08:00")),  # ...in the same second A paused it
            ev("COMPLETAR_ARM", at("09:00"), worker="PS(96)"),
            ev("TOMAR_REPARACION", at("10:00"), op="REPARACION", worker="PS(96)", ciclo=1),
            ev(
                "COMPLETAR_METROLOGIA",
                at("10:00"),
                op="METROLOGIA",
                worker="AD(95)",
                resultado="RECHAZADO",
                ciclo=1,
            ),
        ]
    )
    assert [(e.kind, e.when, e.duration if e.kind == "session" else e.title) for e in history] == [
        ("session", at("07:00"), "1h 00m"),
        ("session", at("08:00"), "1h 00m"),
        ("instant", at("10:00"), "Metrología RECHAZADA"),
        ("session", at("10:00"), "en curso"),
    ]


@pytest.mark.parametrize(
    "delta,text",
    [
        (timedelta(minutes=45), "45m"),
        (timedelta(hours=2, minutes=15), "2h 15m"),
        (timedelta(seconds=59), "0m"),
        (timedelta(hours=26, minutes=5), "26h 05m"),
        (timedelta(minutes=-3), "0m"),  # clocks that disagree never give a negative time
    ],
)
def test_durations_read_like_the_plant_says_them(delta, text):
    assert format_duration(delta) == text


# --- the page -------------------------------------------------------------------------------


def test_history_imported_from_the_sheet_shows_sessions_with_durations(plant_with_history, station):
    text = page(station, ARM_DONE)
    assert in_order(text, "09-05-2026 08:00 → 10:15", "pausada", "2h 15m")
    assert "Mario Rojas" in text and "Pedro Soto" in text
    assert in_order(text, "10-05-2026 09:00 → 09:45", "completada", "45m")
    assert "en curso" not in text


def test_history_is_read_in_a_bounded_number_of_queries(
    plant_with_history, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2):  # the spool's events, then its workers' names
        history = spool_history(ARM_DONE)
    assert len(history) == 2


def test_an_open_session_says_en_curso(plant_with_history, station):
    assert act(station, "ARM", "TOMAR", 93, ARM_PENDING).status_code == 200
    text = page(station, ARM_PENDING)
    assert "en curso" in text and "→ ahora" in text
    assert "Ocupado por MR(93) en ARMADO desde el" in text


def test_metrologia_results_and_repair_cycles_are_shown(plant_with_history, station):
    steps = [
        ("METROLOGIA", "COMPLETAR", 95, {"resultado": "RECHAZADO"}),
        ("REPARACION", "TOMAR", 96, {}),
        ("REPARACION", "COMPLETAR", 96, {}),
        ("METROLOGIA", "COMPLETAR", 95, {"resultado": "APROBADO"}),
    ]
    for operacion, accion, worker, extra in steps:
        assert act(station, operacion, accion, worker, QC_PENDING, **extra).status_code == 200
    text = page(station, QC_PENDING)
    assert in_order(
        text,
        "Metrología RECHAZADA · Ciclo 1/3",
        "REPARACIÓN · ciclo 1/3 · completada",
        "Metrología APROBADA",
    )
    assert "Ana Díaz" in text and "Pedro Soto" in text
    assert "aprobada ✓" in text


def test_a_rejection_shows_its_reason_and_the_unions_that_failed(plant_with_history, station):
    from tests.plant import add_unions, union

    done = {"arm_fin": datetime(2026, 5, 11, 10, 0, tzinfo=plant_tz()), "arm_worker": "MR(93)"}
    done |= {"sol_fin": done["arm_fin"], "sol_worker": "JP(94)"}
    add_unions(QC_PENDING, union(1, 2, **done), union(2, 3, **done), union(3, 4, **done))
    extra = {"resultado": "RECHAZADO", "motivo": "falta_fusion", "uniones": ["3", "1"]}
    assert act(station, "METROLOGIA", "COMPLETAR", 95, QC_PENDING, **extra).status_code == 200
    text = page(station, QC_PENDING)
    assert "Metrología RECHAZADA · Ciclo 1/3 · Falta de fusión · uniones 1, 3" in text


def test_a_pause_shows_why_it_stopped_and_a_skipped_reason_shows_nothing(
    plant_with_history, station
):
    for motivo in ("esperando_grua", None):  # two sessions: with a reason, then skipped
        assert act(station, "ARM", "TOMAR", 93, ARM_PENDING).status_code == 200
        assert act(station, "ARM", "PAUSAR", 93, ARM_PENDING, motivo=motivo).status_code == 200
    text = page(station, ARM_PENDING)
    assert text.count("· pausada") == 2
    assert text.count("pausada · Esperando grúa") == 1


def test_with_limit_zero_the_page_counts_cycles_without_a_limit(
    plant_with_history, station, settings
):
    settings.ZEUES_MAX_REPAIR_CYCLES = 0
    steps = [
        ("METROLOGIA", "COMPLETAR", 95, {"resultado": "RECHAZADO", "motivo": "otro"}),
        ("REPARACION", "TOMAR", 96, {}),
        ("REPARACION", "COMPLETAR", 96, {}),
        ("METROLOGIA", "COMPLETAR", 95, {"resultado": "RECHAZADO"}),
    ]
    for operacion, accion, worker, extra in steps:
        assert act(station, operacion, accion, worker, QC_PENDING, **extra).status_code == 200
    text = page(station, QC_PENDING)
    assert in_order(
        text,
        "Metrología RECHAZADA · Ciclo 1 · Otro",
        "REPARACIÓN · ciclo 1 · completada",
        "Metrología RECHAZADA · Ciclo 2",
    )
    assert "/3" not in text and "BLOQUEADO" not in text
    assert "rechazado, pendiente reparación Ciclo 2" in text  # the repair stage


def test_overrides_appear_in_the_history_and_liberar_ends_the_session(
    plant_with_history, station, supervisor
):
    assert act(station, "ARM", "TOMAR", 93, ARM_PENDING).status_code == 200
    overrides.liberar(ARM_PENDING, supervisor)
    text = page(station, ARM_PENDING)
    assert "liberada por ADMIN:ana" in text
    assert "Ocupación liberada · MR(93) ya no ocupa el spool" in text
    assert "en curso" not in text

    overrides.desbloquear(BLOCKED, supervisor)
    text = page(station, BLOCKED)
    assert "Desbloqueado · RECHAZADO (Ciclo 0/3) - Pendiente reparación" in text
    assert "ADMIN:ana" in text


def test_the_page_tells_the_current_state_in_plain_spanish(plant_with_history, station):
    assert f'id="spool-detail-{IN_REPAIR}"' in html(station, IN_REPAIR)  # a stable root
    text = page(station, IN_REPAIR)
    assert "EN_REPARACION (Ciclo 2/3) - Ocupado: PS(96)" in text  # Estado_Detalle
    assert "Ocupado por PS(96) en REPARACIÓN desde el 12-05-2026 08:30" in text
    assert "en reparación" in text and "Ciclo 2/3" in text
    assert "aprobada" not in text


def test_a_blocked_spool_is_highlighted(plant_with_history, station):
    markup = html(station, BLOCKED)
    assert 'class="spool-alert alert-blocked"' in markup
    assert "BLOQUEADO: rechazado 3 veces seguidas en metrología" in page(station, BLOCKED)
    assert "/desbloquear/" not in markup  # a station cannot override


def test_a_supervisor_gets_the_override_links_on_the_page(plant_with_history, supervisor):
    boss = logged_in(supervisor)
    assert "/desbloquear/" in html(boss, BLOCKED)
    assert "/liberar/" in html(boss, ARM_IN_PROGRESS)


def test_ot_nv_materials_and_odd_cells_are_shown(plant_with_history, station):
    text = page(station, "MK-1923-TW-17422-001")
    assert "OT-1923" in text and "NV-17422" in text and "pendientes" in text
    text = page(station, ODD)
    assert "Celdas que no se pudieron leer" in text
    assert "Fecha_Materiales" in text and "cuando llegue" in text


def test_unknown_tag_is_a_spanish_404(plant_with_history, station):
    response = station.get("/spools/MK-NO-EXISTE/")
    assert response.status_code == 404
    assert "No encontrado" in response.text
    assert "No existe el spool MK-NO-EXISTE" in response.text


def test_the_tv_account_can_view_a_spool(plant_with_history):
    tv = logged_in(make_user("tv", "Pantalla"))
    assert "2h 15m" in page(tv, ARM_DONE)


def test_an_account_without_the_view_permission_gets_403(plant_with_history):
    nobody = logged_in(make_user("visita", None))
    assert nobody.get(f"/spools/{ARM_DONE}/").status_code == 403
    assert nobody.get("/spools/MK-NO-EXISTE/").status_code == 403  # no probing for tags


def test_anonymous_visitors_are_sent_to_login(plant_with_history, client):
    response = client.get(f"/spools/{ARM_DONE}/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_build_plant_spools_without_events_show_an_empty_history(plant, station):
    assert "Sin eventos registrados" in page(station, ARM_PENDING)
