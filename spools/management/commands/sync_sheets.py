"""sync_sheets: the sync worker (flush the outbox, pull the workbook), in a loop or once."""

import signal
import threading

from django.core.management.base import BaseCommand

from spools.sync import acquire_lease, holder_id, release_lease, run_cycle, sync_loop


class Command(BaseCommand):
    help = (
        "Write pending changes to the workbook and pull it into the mirror, in a loop "
        "(one process per deployment; a database lease keeps others idle), or once with --once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one flush + pull, then exit")

    def handle(self, *args, once: bool, **options):
        if once:
            holder = holder_id()
            if not acquire_lease(holder):
                self.stdout.write("Otro proceso está sincronizando; nada que hacer.")
                return
            try:
                result = run_cycle(pull_now=True, holder=holder)
            finally:
                release_lease(holder)
            if result.error:
                self.stderr.write(self.style.ERROR(result.error))
                raise SystemExit(1)
            pulled = result.pulled
            self.stdout.write(
                self.style.SUCCESS(
                    f"Escritos {result.entries_flushed} cambios "
                    f"({result.cells_written} celdas, {result.metadata_written} filas de Metadata); "
                    f"leídos {pulled.spools_seen if pulled else 0} spools."
                )
            )
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write("Sincronizando con el libro (Ctrl-C para terminar)…")
        sync_loop(stop, on_cycle=self._report)

    def _report(self, result) -> None:
        if result.error:
            self.stderr.write(f"error: {result.error}")
        elif result.entries_flushed:
            self.stdout.write(
                f"escritos {result.entries_flushed} cambios ({result.metadata_written} filas de Metadata)"
            )
