"""export_workbook FILE.xlsx: flush pending writes, then save the whole workbook."""

from django.core.management.base import BaseCommand, CommandError

from spools.workbook.sync import DEFAULT_SYNC_TIMEOUT, SyncFailed, flush_until_empty
from spools.workbook.xlsx import export_workbook


class Command(BaseCommand):
    help = (
        "Have the writes still pending written to the workbook (by the process that holds the "
        "sync lease, never beside it), then save every sheet as .xlsx."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .xlsx file to write")
        parser.add_argument(
            "--timeout",
            type=float,
            default=DEFAULT_SYNC_TIMEOUT,
            help="seconds to wait for the pending writes (default %(default)s)",
        )

    def handle(self, *args, file: str, timeout: float, **options):
        try:
            flush_until_empty(progress=self.stdout.write, timeout=timeout)
        except SyncFailed as exc:
            raise CommandError(f"No se pudieron escribir los cambios pendientes: {exc}") from exc
        counts = export_workbook(file, progress=self.stdout.write)
        self.stdout.write(
            self.style.SUCCESS(
                f"Exportado {file}: {sum(counts.values())} filas en {len(counts)} hojas."
            )
        )
