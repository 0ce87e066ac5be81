"""local_sheet: counters and runtime faults of the local Sheets backend."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from spools.workbook.local_sheet import LocalSheetStore


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CommandError(f"RATE debe ser un número entre 0 y 1, no {text!r}.") from None
    if not 0 <= value <= 1:
        raise CommandError(f"RATE debe estar entre 0 y 1 (0,25 = una de cada cuatro), no {text}.")
    return value


def describe_faults(faults: dict[str, Any]) -> str:
    """One line: the faults in force, or "ninguna"."""
    parts = []
    if faults.get("outage"):
        parts.append("caída total (toda llamada falla con ConnectionError)")
    if faults.get("latency_ms"):
        parts.append(f"latencia {faults['latency_ms']} ms")
    if faults.get("error_rate"):
        parts.append(f"errores {faults['error_rate']:.0%} → HTTP {faults['error_status']}")
    return "; ".join(parts) or "ninguna"


class Command(BaseCommand):
    help = (
        "Inspect and control the local Sheets backend (the SQLite workbook at ZEUES_LOCAL_SHEET) "
        "for every process that uses it. SUBCOMMANDS: status [--json] shows API call counts by "
        "kind (read/write and per endpoint) and the faults in force; outage on|off makes every "
        "call fail as an unreachable service; latency MS adds MS milliseconds to every call "
        "(0 clears); errors RATE [--status 429|500|503] fails that fraction of calls with that "
        "status, applying nothing (0 clears); reset-counters zeroes the counters. Refuses when "
        "ZEUES_SHEET_ID selects the Google backend."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="SUBCOMMAND")
        status = sub.add_parser("status", help="call counts by kind and faults in force")
        status.add_argument(
            "--json", action="store_true", dest="as_json", help="print one JSON object"
        )
        outage = sub.add_parser("outage", help="every API call fails until turned off")
        outage.add_argument("state", choices=["on", "off"])
        latency = sub.add_parser("latency", help="add MS milliseconds to every call (0 clears)")
        latency.add_argument("ms", type=int, metavar="MS")
        errors = sub.add_parser("errors", help="fail RATE (0..1) of the calls (0 clears)")
        errors.add_argument("rate", metavar="RATE")
        errors.add_argument(
            "--status",
            type=int,
            choices=[429, 500, 503],
            default=503,
            dest="error_status",
            help="HTTP status of the injected errors (default 503)",
        )
        sub.add_parser("reset-counters", help="zero the call counters")

    def handle(self, *args: Any, **options: Any) -> None:
        if getattr(settings, "ZEUES_SHEET_ID", ""):
            raise CommandError(
                "local_sheet solo controla el backend local, y ZEUES_SHEET_ID está definido: "
                "la app usa Google Sheets. Quite ZEUES_SHEET_ID para usar el backend local."
            )
        store = LocalSheetStore(settings.ZEUES_LOCAL_SHEET)
        action = options["action"]
        if action == "status":
            self._status(store, options.get("as_json", False))
        elif action == "outage":
            store.set_outage(options["state"] == "on")
            self._done(store)
        elif action == "latency":
            if options["ms"] < 0:
                raise CommandError("MS debe ser 0 o más.")
            store.set_latency(options["ms"])
            self._done(store)
        elif action == "errors":
            rate = _rate(options["rate"])
            store.set_errors(rate, options["error_status"])
            self._done(store)
        elif action == "reset-counters":
            store.reset_counters()
            self.stdout.write(self.style.SUCCESS("Contadores en cero."))

    def _done(self, store: LocalSheetStore) -> None:
        faults = store.status()["faults"]
        self.stdout.write(self.style.SUCCESS(f"Fallas activas: {describe_faults(faults)}"))

    def _status(self, store: LocalSheetStore, as_json: bool) -> None:
        status = store.status()
        if as_json:
            self.stdout.write(json.dumps(status, ensure_ascii=False, sort_keys=True))
            return
        lines = [
            f"Backend local: {status['path']}",
            f"Llamadas desde el último reinicio: {status['reads']} lecturas, "
            f"{status['writes']} escrituras, {status['failed']} fallidas",
        ]
        if status["by_kind"]:
            lines.append("Por tipo:")
            width = max(len(k) for k in status["by_kind"])
            lines += [f"  {k:<{width}}  {n}" for k, n in status["by_kind"].items()]
        if status["failures"]:
            lines.append("Fallas por causa:")
            lines += [f"  {k:<8}  {n}" for k, n in status["failures"].items()]
        lines.append(f"Fallas activas: {describe_faults(status['faults'])}")
        self.stdout.write("\n".join(lines))
