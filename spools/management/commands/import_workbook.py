"""import_workbook FILE.xlsx: load an .xlsx into the configured workbook, then pull it."""

from django.core.management.base import BaseCommand, CommandError

from spools.models import OutboxEntry, Spool
from spools.workbook.gateway import backend_name
from spools.workbook.pull import pull
from spools.workbook.sync import forget_workbook_positions
from spools.workbook.xlsx import import_workbook


class Command(BaseCommand):
    help = (
        "Load an .xlsx (as downloaded from Google Sheets) into the configured workbook, "
        "replacing every sheet, then pull it into the mirror. The Google backend needs --yes."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .xlsx file")
        parser.add_argument(
            "--yes", action="store_true", help="really replace the Google workbook's sheets"
        )
        parser.add_argument(
            "--discard-pending",
            action="store_true",
            help="drop changes not yet written to the current workbook (they would land in the new one)",
        )

    def handle(self, *args, file: str, yes: bool, discard_pending: bool, **options):
        pending = OutboxEntry.objects.filter(flushed_at__isnull=True)
        if pending.exists() and not discard_pending:
            raise CommandError(
                f"Hay {pending.count()} cambios aún sin escribir en el libro actual. "
                "Escríbalos primero (python manage.py sync_sheets --once) o repita con "
                "--discard-pending para descartarlos."
            )
        if backend_name() == "google" and not yes:
            raise CommandError(
                "El libro configurado es de Google Sheets: esto reemplaza todas sus hojas. "
                "Repita con --yes para confirmar."
            )
        try:
            counts = import_workbook(file, progress=self.stdout.write)
        except FileNotFoundError:
            raise CommandError(f"No existe el archivo {file}.") from None
        dropped, _ = pending.delete()
        if dropped:
            self.stdout.write(self.style.WARNING(f"Descartados {dropped} cambios sin escribir."))
        forget_workbook_positions()
        # A new workbook, not an office edit: differences must not be logged as overrides.
        Spool.objects.update(pulled_at=None)
        self.stdout.write("Leyendo el libro en el espejo…")
        result = pull(workers=True)
        for warning in result.warnings[:50]:
            self.stdout.write(self.style.WARNING(f"  aviso: {warning}"))
        self.stdout.write(
            self.style.SUCCESS(
                f"Importado {file}: {sum(counts.values())} filas en {len(counts)} hojas; "
                f"{result.spools_seen} spools, {result.events_added} eventos de historial."
            )
        )
