"""migrate_workbook [--dry-run] [--rollback]: bring a v2.1 or v3.0 workbook to unions.

Step 1 (v2.1 → v3.0) appends Ocupado_Por, Fecha_Ocupacion, version and Estado_Detalle to
Operaciones and fills version and Estado_Detalle; step 2 (uniones) creates the Uniones sheet
with its header and appends the counter columns to Operaciones and N_UNION to Metadata. One
backup before anything changes, grids widened as needed, a cell-by-cell verification.
Re-running finishes an interrupted run and otherwise writes nothing. `--rollback` restores
the latest backup exactly (deleting a Uniones sheet the run created). See
spools/workbook/migration.py for the phases.
"""

from __future__ import annotations

import contextlib
from argparse import ArgumentParser

from django.core.management.base import BaseCommand, CommandError

from spools.workbook import gateway as sheets
from spools.workbook.migration import (
    BACKUP_PREFIX,
    BACKUP_PREFIX_V30,
    ApiCalls,
    MigrationError,
    WorkbookIO,
    calls_summary,
    migrate,
)
from spools.workbook.migration import rollback as rollback_workbook
from spools.workbook.sync import (
    LEASE_SECONDS,
    WorkbookBusy,
    exclusive_workbook,
    forget_workbook_positions,
)


class Command(BaseCommand):
    help = (
        "Bring a v2.1 or v3.0 workbook to unions, in one run: (1) v2.1 → v3.0: append "
        "Ocupado_Por, Fecha_Ocupacion, version and Estado_Detalle to Operaciones and fill "
        "version and Estado_Detalle of every row; (2) uniones: create the Uniones sheet with "
        "its header, append Total_Uniones, Uniones_ARM_Completadas, Uniones_SOLD_Completadas, "
        "Pulgadas_ARM, Pulgadas_SOLD to Operaciones (left empty) and N_UNION to Metadata. "
        "Backs up every sheet first, widens grids as needed, verifies cell by cell. "
        "Idempotent: a second run writes nothing, an interrupted run completes. Backups are "
        f"hidden sheets {BACKUP_PREFIX}<YYYYMMDD-HHMMSS>_<n> (a v2.1 workbook) or "
        f"{BACKUP_PREFIX_V30}… (a v3.0 one) in the same spreadsheet (each sheet's values, "
        "written RAW, a manifest in row 1), one new backup per run, never overwritten; "
        "--rollback restores the latest one. It holds the sync lease while it writes: it "
        "waits for a stopped process's lease to run out and refuses while a web process or "
        "sync worker is running (stop them first)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="say exactly what each step would change (sheets, columns, grids, rows) and "
            "write nothing",
        )
        parser.add_argument(
            "--rollback",
            action="store_true",
            help="restore the latest backup (values and grid sizes; a Uniones sheet the run "
            "created is deleted) and verify it cell by cell",
        )
        parser.add_argument(
            "--wait",
            type=float,
            default=LEASE_SECONDS + 5,
            help="seconds to wait for the sync lease before refusing (default: long enough "
            "for the lease of a stopped process to run out)",
        )

    def handle(
        self, *args: object, dry_run: bool, rollback: bool, wait: float, **options: object
    ) -> None:
        # Opening the spreadsheet is itself one metadata read.
        calls = ApiCalls(reads=1)
        self.stdout.write(f"Libro: backend {sheets.backend_name()}")
        try:
            # A dry run only reads; a run holds the sync lease: one writer to the workbook.
            with contextlib.nullcontext() if dry_run else exclusive_workbook(wait, self.progress):
                self.run(calls, dry_run=dry_run, rollback=rollback)
        except WorkbookBusy as exc:
            raise CommandError(str(exc)) from exc
        except MigrationError as exc:
            raise CommandError(str(exc)) from exc
        except sheets.SheetUnavailableError as exc:
            raise CommandError(
                f"{exc} Vuelva a ejecutar migrate_workbook cuando el libro responda: "
                "continúa donde quedó."
            ) from exc
        except sheets.APIError as exc:
            # A refusal that retrying cannot fix (permissions, protected range, grid limits).
            raise CommandError(f"Google Sheets rechazó la operación: {exc}") from exc
        finally:
            self.stdout.write(calls_summary(calls))
        self.stdout.write(self.style.SUCCESS("Listo."))

    def run(self, calls: ApiCalls, *, dry_run: bool, rollback: bool) -> None:
        io = WorkbookIO(sheets.open_workbook(), calls)
        if rollback:
            rollback_workbook(io, dry_run=dry_run, report=self.stdout.write)
        else:
            migrate(io, dry_run=dry_run, report=self.stdout.write)
        if not dry_run:
            # Sheets and columns came or went (Uniones, counters): what the sync knew of the
            # workbook's layout is stale, and a new Uniones sheet must be read from now on.
            forget_workbook_positions()

    def progress(self, message: str) -> None:
        self.stdout.write(message)
