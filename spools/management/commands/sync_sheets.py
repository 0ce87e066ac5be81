"""sync_sheets: the sync worker (flush the outbox, pull the workbook), in a loop or once."""

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from spools.workbook.sync import DEFAULT_SYNC_TIMEOUT, SyncFailed, sync_loop, sync_now


class Command(BaseCommand):
    help = (
        "Write pending changes to the workbook and pull it into the mirror, in a loop "
        "(one process per deployment; a database lease keeps others idle), or once with "
        "--once: when it exits 0, a flush of everything pending and a pull that began after "
        "it started have finished (run by whichever process holds the sync lease)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one flush + pull, then exit")
        parser.add_argument(
            "--timeout",
            type=float,
            default=DEFAULT_SYNC_TIMEOUT,
            help="with --once: seconds to wait for the flush and pull (default %(default)s)",
        )

    def handle(self, *args, once: bool, timeout: float, **options):
        if once:
            try:
                written = sync_now(pull=True, timeout=timeout, progress=self.stdout.write)
            except SyncFailed as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(
                self.style.SUCCESS(
                    f"Escritos {written} cambios pendientes; libro leído en el espejo."
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
