"""bench: the figures of quality.md, measured on this machine (medians and p95, never asserted).

`make bench` runs it in a throw-away environment (scripts/bench.sh). Sections: `pull` (a
10,000-spool workbook with 100,000 unions), `registro` (Mi registro and the union step with
that workbook in the mirror), `lists` (the tablet's spool list at 300 and 10,000 spools, and
the Sheets requests that viewing pages causes), `dashboard` (100 screens on the dashboard's
WebSocket while a tablet acts: action → push delay, memory), `actions` (60 tablets against
one web process, sheet latency 500 ms, then the web process idle), `burst` (60 tablets
confirming in the same instant), `uniones` (the actions load with a third of the tablets
ending sessions on 10-union spools with FINALIZAR + uniones), `supervision` (the four
/supervision/ pages and their CSV / XLSX exports with 10,000 spools, 100,000 unions and two
years of events, ~500,000).
"""

from __future__ import annotations

import os
import platform
import signal
import sys
import time
from typing import Any

import django
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from bench import dashboard as dashboard_bench
from bench import floor_run, uniones_run
from bench import lists as lists_bench
from bench import pull as pull_bench
from bench import registro as registro_bench
from bench import supervision as supervision_bench
from bench.figures import Report
from bench.web import WebServerError
from spools.workbook.gateway import backend_name
from spools.workbook.local_sheet import LocalSheetStore

SECTIONS = (
    "pull",
    "registro",
    "supervision",
    "lists",
    "dashboard",
    "actions",
    "burst",
    "uniones",
)
FULL = {
    "pull_spools": 10_000,
    "runs": 5,
    "first_runs": 3,  # a first pull of 10,000 spools and 100,000 unions takes ~20 s
    "registro_requests": 60,
    "supervision_requests": 20,
    "duration": 60.0,
    "bursts": 5,
    "idle": 30.0,
    "list_requests": 60,
    "page_views": 3,
    "dashboard_actions": 25,
}
QUICK = {
    "pull_spools": 1_000,
    "runs": 3,
    "first_runs": 2,
    "registro_requests": 20,
    "supervision_requests": 5,
    "duration": 15.0,
    "bursts": 2,
    "idle": 12.0,
    "list_requests": 20,
    "page_views": 1,
    "dashboard_actions": 8,
}
FLOOR_SPOOLS = 300
SPOOLS_PER_TABLET = 5  # so that a tablet never runs out of work in a long run


class Command(BaseCommand):
    help = (
        "Measure ZEUES against the goals of quality.md and print medians, p95 and counts, "
        "each figure next to its goal (✓/✗), then one `BENCH key=value` line per figure. "
        "Replaces the configured workbook and mirror: run it through `make bench` (a "
        "throw-away environment) or pass --force. Exits non-zero only when a measurement "
        "could not be made, never for a missed goal."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--only",
            default=",".join(SECTIONS),
            help=f"comma-separated sections to run (default all: {','.join(SECTIONS)})",
        )
        parser.add_argument(
            "--quick",
            action="store_true",
            help="smaller sizes and shorter runs, a smoke run of under a minute",
        )
        parser.add_argument(
            "--duration", type=float, help="seconds of the actions run (default 60; quick 15)"
        )
        parser.add_argument("--clients", type=int, default=60, help="tablets (default 60)")
        parser.add_argument(
            "--screens",
            type=int,
            default=100,
            help="dashboards connected in the dashboard section (default 100)",
        )
        parser.add_argument(
            "--latency-ms",
            type=int,
            default=500,
            help="simulated sheet latency for actions and burst (default 500)",
        )
        parser.add_argument(
            "--every",
            type=float,
            default=5.0,
            help="seconds between one tablet's actions, on average (default 5)",
        )
        parser.add_argument("--seed", type=int, default=1923, help="random seed (default 1923)")
        parser.add_argument(
            "--force",
            action="store_true",
            help="really replace the configured workbook and mirror (scripts/bench.sh passes it)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if backend_name() != "local":
            raise CommandError(
                "bench solo corre contra el backend local (ZEUES_SHEET_ID está definido): "
                "nunca contra un libro de Google."
            )
        if not options["force"]:
            raise CommandError(
                "bench reemplaza el libro y el espejo de esta configuración "
                f"({settings.ZEUES_LOCAL_SHEET}). Use `make bench` (un entorno desechable) "
                "o --force."
            )
        only = [s.strip() for s in options["only"].split(",") if s.strip()]
        unknown = sorted(set(only) - set(SECTIONS))
        if unknown or not only:
            raise CommandError(f"--only: secciones conocidas {', '.join(SECTIONS)}.")
        if options["clients"] < 1:
            raise CommandError("--clients debe ser al menos 1.")
        if options["screens"] < 1:
            raise CommandError("--screens debe ser al menos 1.")
        sizes = QUICK if options["quick"] else FULL
        plan = floor_run.FloorPlan(
            spools=max(FLOOR_SPOOLS, options["clients"] * SPOOLS_PER_TABLET),
            tablets=options["clients"],
            every=options["every"],
            duration=options["duration"] or sizes["duration"],
            latency_ms=options["latency_ms"],
            bursts=sizes["bursts"],
            idle=sizes["idle"],
            seed=options["seed"],
        )

        # A `kill` (or make's) must still stop the web process and clear the faults.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        self.started = time.monotonic()
        store = LocalSheetStore(settings.ZEUES_LOCAL_SHEET)
        report = Report(self.write_line)
        self.header(report, options["quick"])
        errors: list[str] = []
        try:
            if "pull" in only:
                errors += self.section(
                    lambda: pull_bench.run(
                        report,
                        store,
                        spools=sizes["pull_spools"],
                        runs=sizes["runs"],
                        first_runs=sizes["first_runs"],
                        seed=options["seed"],
                        progress=self.progress,
                    )
                )
            if "registro" in only:
                errors += self.section(
                    lambda: registro_bench.run(
                        report,
                        store,
                        spools=sizes["pull_spools"],
                        # The pull section's workbook is still loaded: measured, not rebuilt.
                        loaded="pull" in only,
                        requests_each=sizes["registro_requests"],
                        seed=options["seed"],
                        progress=self.progress,
                    )
                )
            if "supervision" in only:
                errors += self.section(
                    lambda: supervision_bench.run(
                        report,
                        store,
                        spools=sizes["pull_spools"],
                        # A workbook of that size is still loaded by pull or registro.
                        loaded="pull" in only or "registro" in only,
                        requests_each=sizes["supervision_requests"],
                        seed=options["seed"],
                        progress=self.progress,
                    )
                )
            if "lists" in only:
                errors += self.section(
                    lambda: lists_bench.run(
                        report,
                        store,
                        sizes=[lists_bench.SMALL, sizes["pull_spools"]],
                        # The pull section's workbook is still loaded: measured, not rebuilt.
                        loaded=sizes["pull_spools"] if "pull" in only else None,
                        requests_each=sizes["list_requests"],
                        views=sizes["page_views"],
                        seed=options["seed"],
                        progress=self.progress,
                    )
                )
            if "dashboard" in only:
                errors += self.section(
                    lambda: dashboard_bench.run(
                        report,
                        store,
                        dashboard_bench.DashboardPlan(
                            screens=options["screens"],
                            actions=sizes["dashboard_actions"],
                            every=1.0,
                            spools=FLOOR_SPOOLS,
                            latency_ms=options["latency_ms"],
                            seed=options["seed"],
                        ),
                        progress=self.progress,
                    )
                )
            if "actions" in only or "burst" in only:
                errors += self.section(
                    lambda: floor_run.run(
                        report,
                        store,
                        plan,
                        actions="actions" in only,
                        burst="burst" in only,
                        progress=self.progress,
                    )
                )
            if "uniones" in only:
                errors += self.section(
                    lambda: uniones_run.run(report, store, plan, progress=self.progress)
                )
        finally:
            store.clear_faults()
        report.write("")
        report.write(
            f"bench took {time.monotonic() - self.started:.0f} s; "
            f"load average now {self.load_average()}"
        )
        report.finish()
        if errors:
            raise CommandError("the bench could not measure everything:\n  " + "\n  ".join(errors))

    def section(self, body) -> list[str]:
        """Run a section; a failed measurement is reported and the next section still runs."""
        try:
            return body()
        except (floor_run.BenchError, WebServerError) as exc:
            self.stdout.write(self.style.ERROR(f"  error: {exc}"))
            return [str(exc)]

    def header(self, report: Report, quick: bool) -> None:
        vendor = connection.vendor
        report.write(
            f"ZEUES bench{' (quick)' if quick else ''} · {timezone.localtime():%Y-%m-%d %H:%M} · "
            f"{os.cpu_count()} CPU · Python {platform.python_version()} · "
            f"Django {django.get_version()} · {vendor} · local sheet backend"
        )
        report.write(
            f"Load average {self.load_average()} (others' work on this machine shows in every "
            "time: compare with the baselines of the same run)."
        )
        report.write(
            "Times are wall time on loopback (≈ server time); p50/p95 linear between ranks. "
            "Goals from quality.md."
        )

    @staticmethod
    def load_average() -> str:
        try:
            return " ".join(f"{x:.1f}" for x in os.getloadavg())
        except OSError:
            return "unknown"

    def write_line(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()  # in order with the progress lines on stderr, even when piped

    def progress(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        self.stderr.write(f"  [{elapsed:5.1f}s] {text}", style_func=lambda line: line)
