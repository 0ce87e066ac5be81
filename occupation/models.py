"""Idempotency: the first outcome of every request_id, returned again on a retry."""

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
