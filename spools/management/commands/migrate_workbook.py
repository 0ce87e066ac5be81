"""migrate_workbook [--dry-run] [--rollback]: upgrade a v2.1 workbook to the v3.0 columns.

Backup → widen the Operaciones grid → append Ocupado_Por, Fecha_Ocupacion, version and
Estado_Detalle → fill version and Estado_Detalle of every spool row → verify. Re-running
finishes an interrupted run and otherwise writes nothing. `--rollback` restores the latest
backup exactly. See spools/workbook/migration.py for the steps.
"""

from __future__ import annotations

from argparse import ArgumentParser

from django.core.management.base import BaseCommand, CommandError

from spools.workbook import gateway as sheets
from spools.workbook.migration import (
    BACKUP_PREFIX,
    ApiCalls,
    MigrationError,
    WorkbookIO,
    calls_summary,
    migrate,
)
from spools.workbook.migration import rollback as rollback_workbook


class Command(BaseCommand):
    help = (
        "Upgrade a v2.1 workbook to v3.0: back up every sheet, widen the Operaciones grid if "
        "needed, append Ocupado_Por, Fecha_Ocupacion, version and Estado_Detalle at the end "
        "of the header, fill version and Estado_Detalle of every row, verify. Idempotent: a "
        "second run writes nothing, an interrupted run completes. Backups are hidden sheets "
        f"{BACKUP_PREFIX}<YYYYMMDD-HHMMSS>_<n> in the same spreadsheet (each sheet's values, "
        "written RAW, a manifest in row 1), one new backup per run, never overwritten; "
        "--rollback restores the latest one. Stop the app's sync while it runs."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="say exactly what would change (columns, grid, rows) and write nothing",
        )
        parser.add_argument(
            "--rollback",
            action="store_true",
            help="restore the latest backup (values and grid sizes) and verify it cell by cell",
        )

    def handle(self, *args: object, dry_run: bool, rollback: bool, **options: object) -> None:
        # Opening the spreadsheet is itself one metadata read.
        calls = ApiCalls(reads=1)
        self.stdout.write(f"Libro: backend {sheets.backend_name()}")
        try:
            io = WorkbookIO(sheets.open_workbook(), calls)
            if rollback:
                rollback_workbook(io, dry_run=dry_run, report=self.stdout.write)
            else:
                migrate(io, dry_run=dry_run, report=self.stdout.write)
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
