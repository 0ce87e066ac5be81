"""A floor of spools with materials and armadores, and what the workbook must hold after
the plant worked on it: shared by the fault, race and one-writer tests."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from occupation.services import ActionCommand, perform_action
from spools.models import Event, OutboxEntry, Spool
from spools.sheets import open_workbook
from spools.workbook.columns import APP_OWNED_COLUMNS, METADATA, OPERACIONES
from spools.workbook.pull import pull
from tests.builders import build_workbook, spool, worker

MAT = "02-05-2026"
FLOOR_WORKERS = [
    worker(300 + i, f"Nombre{i}", f"Apellido{i}", roles=["Armador"]) for i in range(20)
]


def tag_of(n: int) -> str:
    return f"MK-3000-TW-40000-{n:03d}"


def build_floor(spools: int = 60, workers=FLOOR_WORKERS) -> list[str]:
    """A workbook of spools with materials (each with its own Cliente text), pulled."""
    tags = [tag_of(n) for n in range(1, spools + 1)]
    build_workbook(
        spools=[spool(t, OT="OT-3000", Fecha_Materiales=MAT, Cliente=f"cliente {t}") for t in tags],
        workers=workers,
    )
    pull(workers=True)
    return tags


def do(accion: str, worker_id: int, tag: str):
    return perform_action(ActionCommand("ARM", accion, worker_id, [tag]))


def operaciones_by_tag() -> dict[str, dict]:
    rows = open_workbook().worksheet(OPERACIONES).get_all_records(numericise_ignore=["all"])
    return {r["TAG_SPOOL"]: r for r in rows if r["TAG_SPOOL"]}


def metadata_ids() -> list[str]:
    rows = open_workbook().worksheet(METADATA).get_all_records(numericise_ignore=["all"])
    return [r["ID"] for r in rows]


def committed_event_ids() -> list[str]:
    """The Metadata rows the app owes the workbook, in order of commit."""
    return [e.metadata_row["ID"] for e in OutboxEntry.objects.order_by("id") if e.metadata_row]


def assert_workbook_equals_mirror() -> None:
    """Every spool's app-owned cells are the mirror's, on its own row (its Cliente intact)."""
    rows = operaciones_by_tag()
    for s in Spool.objects.exclude(sheet_row=None):
        row = rows[s.tag]
        assert {c: row[c] for c in APP_OWNED_COLUMNS} == s.app_cells(), s.tag
        assert row["Cliente"] == f"cliente {s.tag}"


def assert_every_metadata_row_once_in_order() -> None:
    expected = committed_event_ids()
    assert metadata_ids() == expected
    assert len(set(expected)) == len(expected)
    assert set(expected) == {str(i) for i in Event.objects.values_list("id", flat=True)}


def assert_every_metadata_row_once_in_spool_order() -> None:
    """Each Metadata row exactly once, and each spool's rows in the order of its changes.

    With several tablets committing at once on PostgreSQL, outbox ids come from a sequence
    taken before commit, so two spools' rows may land in either order; one spool's changes
    are serialised by its row lock and keep theirs.
    """
    landed = metadata_ids()
    entries = [e.metadata_row for e in OutboxEntry.objects.order_by("id") if e.metadata_row]
    assert len(set(landed)) == len(landed)
    assert sorted(landed) == sorted(m["ID"] for m in entries)
    position = {row_id: i for i, row_id in enumerate(landed)}
    by_spool: dict[str, list[int]] = {}
    for m in entries:
        by_spool.setdefault(m["TAG_SPOOL"], []).append(position[m["ID"]])
    for tag, places in by_spool.items():
        assert places == sorted(places), tag
    assert set(landed) == {str(i) for i in Event.objects.values_list("id", flat=True)}


def wait_until(condition: Callable[[], bool], seconds: float, what: str, poll=0.01) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}")
        time.sleep(poll)


def child_database_url(tmp_path: Path) -> tuple[str, Callable[[], None]]:
    """A DATABASE_URL that reaches this test's database from another process.

    Returns the URL and a function to call once the child is gone. With the test database
    in a file (SQLite with TEST NAME, or PostgreSQL), the child uses the same database and
    there is nothing to do after. With an in-memory SQLite database (unreachable from
    another process), the child gets a copy in a file, and the copy — with whatever the
    child committed before it died — is copied back.
    """
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        if not connection.is_in_memory_db():
            return f"sqlite:///{db['NAME']}", lambda: None
        copy = tmp_path / "child-db.sqlite3"
        connection.ensure_connection()
        with sqlite3.connect(copy) as target:
            connection.connection.backup(target)

        def copy_back() -> None:
            with sqlite3.connect(copy) as source:
                source.backup(connection.connection)

        return f"sqlite:///{copy}", copy_back
    if connection.vendor == "postgresql":
        auth = quote(db.get("USER") or "")
        if db.get("PASSWORD"):
            auth += ":" + quote(db["PASSWORD"])
        host = db.get("HOST") or "localhost"
        port = f":{db['PORT']}" if db.get("PORT") else ""
        return f"postgres://{auth}@{host}{port}/{db['NAME']}", lambda: None
    pytest.skip(f"no child-process access to a {connection.vendor} test database")
