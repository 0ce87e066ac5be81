"""export_workbook FILE.xlsx: flush pending writes, then save the whole workbook."""

from django.core.management.base import BaseCommand

from spools.xlsx import export_workbook


class Command(BaseCommand):
    help = "Flush the writes still pending for the workbook, then save every sheet as .xlsx."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .xlsx file to write")

    def handle(self, *args, file: str, **options):
        from spools.sync import flush_until_empty

        flush_until_empty(progress=self.stdout.write)
        counts = export_workbook(file, progress=self.stdout.write)
        self.stdout.write(
            self.style.SUCCESS(
                f"Exportado {file}: {sum(counts.values())} filas en {len(counts)} hojas."
            )
        )
