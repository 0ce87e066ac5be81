"""The tablet's own records: the first outcome of every request_id (idempotency), and the
workers' PINs (hashed)."""

from datetime import datetime

from django.contrib.auth.hashers import make_password
from django.db import models
from django.utils import timezone


class ActionRequest(models.Model):
    """One submitted action (a double tap or a retry after a Wi-Fi drop carries the same id)."""

    request_id = models.UUIDField(primary_key=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    account = models.CharField(max_length=150, blank=True)
    # What was asked, to refuse the same id reused for something else.
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    # [{tag, status, message}] and the worker, enough to render the same answer again.
    outcome = models.JSONField(default=dict)

    class Meta:
        verbose_name = "solicitud de acción"
        verbose_name_plural = "solicitudes de acción"

    def __str__(self) -> str:
        return f"{self.request_id} → {self.status}"


class WorkerPin(models.Model):
    """A worker's PIN for the tablet's worker step (ZEUES_WORKER_PIN): only its hash, kept in
    the database and never in the workbook; set and reset by a supervisor in the admin."""

    worker = models.OneToOneField(
        "spools.Worker", on_delete=models.CASCADE, primary_key=True, related_name="pin"
    )
    pin_hash = models.CharField("PIN (hash)", max_length=128)
    # Wrong tries since the last right one (or unlock); 5 lock the PIN for 15 minutes.
    failed_tries = models.PositiveSmallIntegerField("intentos fallidos", default=0)
    locked_until = models.DateTimeField("bloqueado hasta", null=True, blank=True)
    updated_at = models.DateTimeField("cambiado", auto_now=True)

    class Meta:
        verbose_name = "PIN de trabajador"
        verbose_name_plural = "PIN de trabajadores"

    def __str__(self) -> str:
        return f"PIN de {self.worker}"

    def set_pin(self, pin: str) -> None:
        """A new PIN (hashed), its wrong tries and lock cleared; the caller saves."""
        self.pin_hash = make_password(pin)
        self.failed_tries = 0
        self.locked_until = None

    def locked_at(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


class BadgeGuard(models.Model):
    """Unrecognized badge reads at one station account, counted in the database (every
    process sees them): too many in a short while lock that station's badge reader for a
    while, so nobody can try codes until one picks a colleague. The list still works."""

    account = models.CharField("cuenta", max_length=150, primary_key=True)
    misses = models.PositiveSmallIntegerField("credenciales no reconocidas", default=0)
    window_start = models.DateTimeField("desde")
    locked_until = models.DateTimeField("bloqueada hasta", null=True, blank=True)

    class Meta:
        verbose_name = "lector de credenciales"
        verbose_name_plural = "lectores de credenciales"

    def __str__(self) -> str:
        return self.account
