"""load_demo: a realistic demo workbook (≈300 spools over every stage, their unions), the
mirror, the logins.

The generator lives in `spools.workbook.demo`; this command only checks what may be replaced, runs
the steps with a line of progress each, and prints the demo accounts.
"""

from __future__ import annotations

import os
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from spools.workbook import demo
from spools.workbook.gateway import backend_name, open_workbook
from spools.workbook.pull import pull


class Command(BaseCommand):
    help = (
        "Create a demo workbook (spools over every lifecycle stage, their unions, workers, "
        "roles, two weeks of history) "
        "in the configured backend, pull it into the mirror, create the demo accounts "
        "(estacion, pantalla, supervisor) and print their logins. Refuses to replace a "
        "workbook that has spools unless --force; --if-empty leaves such a workbook alone. "
        "The Google backend needs --yes. "
        "With DJANGO_DEBUG off it refuses unless --force, and then each account needs a new "
        "password (--password-estacion, --password-pantalla, --password-supervisor, or the "
        "variables ZEUES_DEMO_PASSWORD_ESTACION, _PANTALLA, _SUPERVISOR): the README's fixed "
        "passwords are public."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing to the workbook if Operaciones already has spools "
            "(the demo accounts are still ensured)",
        )
        mode.add_argument(
            "--force", action="store_true", help="replace a workbook that already has spools"
        )
        parser.add_argument(
            "--spools",
            type=int,
            default=demo.DEFAULT_SPOOLS,
            help=f"how many spools (default {demo.DEFAULT_SPOOLS})",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=demo.DEFAULT_SEED,
            help=f"random seed; the same seed gives the same demo (default {demo.DEFAULT_SEED})",
        )
        parser.add_argument(
            "--yes", action="store_true", help="really write into the Google workbook"
        )
        for login in demo.DEMO_LOGINS:
            parser.add_argument(
                f"--password-{login.username}",
                dest=f"password_{login.username}",
                default=os.environ.get(password_variable(login.username)) or None,
                metavar="CONTRASEÑA",
                help=f"password of the demo account {login.username!r} (default: "
                f"${password_variable(login.username)}; required with DEBUG off)",
            )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["spools"] < 1:
            raise CommandError("--spools debe ser al menos 1.")
        passwords = self.passwords(options)
        google = backend_name() == "google"
        if google and not options["yes"] and not options["if_empty"]:
            raise CommandError(self._google_refusal())
        self.started = time.monotonic()

        where = (
            f"Google Sheets {settings.ZEUES_SHEET_ID}"
            if google
            else f"backend local {settings.ZEUES_LOCAL_SHEET}"
        )
        self.step(f"Abriendo el libro ({where})")
        wb = open_workbook()
        check = demo.inspect_workbook(wb)

        if check.spools and options["if_empty"]:
            self.step(
                f"Operaciones ya tiene {check.spools} spools: el libro no se toca (--if-empty)."
            )
        elif check.spools and not options["force"]:
            raise CommandError(
                f"La hoja Operaciones ya tiene {check.spools} spools. "
                "Use --force para reemplazar el libro por el de demostración, "
                "o --if-empty para dejarlo como está."
            )
        elif google and not options["yes"]:
            # --if-empty on Google with an empty workbook would write: that needs --yes too.
            raise CommandError(self._google_refusal())
        else:
            self.load(wb, check, options["spools"], options["seed"])

        self.step("Usuarios de demostración")
        try:
            logins = demo.ensure_demo_users(passwords)
        except demo.MissingGroupError as exc:
            raise CommandError(str(exc)) from None
        self.print_logins(logins, passwords)

    def passwords(self, options: dict[str, Any]) -> dict[str, str]:
        """The accounts' new passwords. With DEBUG off the demo is refused unless --force,
        and then every account needs a password of its own: the README's are public."""
        given = {
            login.username: options[f"password_{login.username}"]
            for login in demo.DEMO_LOGINS
            if options[f"password_{login.username}"]
        }
        if settings.DEBUG:
            return self.validated(given)
        if not options["force"]:
            raise CommandError(
                "DJANGO_DEBUG está apagado: load_demo crearía las cuentas de demostración con "
                "las contraseñas públicas del README. Si de verdad quiere la demostración aquí, "
                "repita con --force y una contraseña nueva por cuenta (--password-estacion, "
                "--password-pantalla, --password-supervisor o las variables "
                "ZEUES_DEMO_PASSWORD_ESTACION, _PANTALLA, _SUPERVISOR)."
            )
        missing = [
            f"--password-{lg.username}" for lg in demo.DEMO_LOGINS if lg.username not in given
        ]
        if missing:
            raise CommandError(
                "Con DJANGO_DEBUG apagado cada cuenta de demostración necesita una contraseña "
                f"nueva: falta {', '.join(missing)} (o su variable ZEUES_DEMO_PASSWORD_…)."
            )
        return self.validated(given)

    @staticmethod
    def validated(given: dict[str, str]) -> dict[str, str]:
        """Each password passes the site's validators, and none is the README's."""
        public = {login.password for login in demo.DEMO_LOGINS}
        User = get_user_model()
        for username, password in given.items():
            if password in public:
                raise CommandError(
                    f"La contraseña de {username!r} es una de las públicas del README."
                )
            try:
                validate_password(password, User(username=username))
            except ValidationError as exc:
                raise CommandError(
                    f"Contraseña de {username!r}: {' '.join(exc.messages)}"
                ) from None
        return given

    def load(self, wb: Any, check: demo.WorkbookCheck, spools: int, seed: int) -> None:
        self.step(f"Generando {spools} spools (semilla {seed})")
        book = demo.build_demo(spools=spools, seed=seed)
        sizes = ", ".join(f"{t} {len(rows) - 1}" for t, rows in book.sheets().items())
        self.step(f"Escribiendo el libro: {sizes} filas")
        titles = demo.write_demo_workbook(wb, book, check)

        self.step("Cargando el espejo desde el libro (pull)")
        discarded = demo.forget_replaced_workbook(titles)
        if discarded:
            self.stdout.write(
                self.style.WARNING(
                    f"  descartadas {discarded} escrituras pendientes del libro reemplazado"
                )
            )
        result = pull(workers=True)
        for warning in result.warnings[:20]:
            self.stdout.write(self.style.WARNING(f"  aviso: {warning}"))
        self.step(
            f"Espejo: {result.spools_seen} spools, {result.unions_seen} uniones, "
            f"{result.events_added} eventos de historial"
        )
        for stage in demo.STAGES:
            n = book.stage_distribution()[stage.key]
            self.stdout.write(f"    {n:4d}  {stage.label}")

    def step(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        self.stdout.write(f"[{elapsed:5.1f}s] {text}")

    def print_logins(self, logins: list[demo.DemoLogin], given: dict[str, str]) -> None:
        """The fixed demo passwords are printed; a password given is never echoed."""
        self.stdout.write(self.style.SUCCESS("Cuentas de demostración:"))
        self.stdout.write(f"  {'usuario':<12}{'contraseña':<20}grupo")
        for login in logins:
            extra = " (admin)" if login.is_staff else ""
            shown = "(la dada)" if login.username in given else login.password
            self.stdout.write(f"  {login.username:<12}{shown:<20}{login.group}{extra}")

    @staticmethod
    def _google_refusal() -> str:
        return (
            "El libro configurado es de Google Sheets (ZEUES_SHEET_ID): load_demo escribiría "
            "en él. Repita con --yes para confirmar."
        )


def password_variable(username: str) -> str:
    """ZEUES_DEMO_PASSWORD_ESTACION, …: the scriptable way to give a new password."""
    return f"ZEUES_DEMO_PASSWORD_{username.upper()}"
