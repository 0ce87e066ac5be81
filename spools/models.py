"""The operational mirror of the workbook.

Everything here can be rebuilt from the workbook at any time (import / pull): the mirror
never holds information that cannot be written back. Pages and actions read the mirror,
never the workbook.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django_fsm import FSMField

from spools.lifecycle import MetrologiaState, Operacion, ReparacionState, WorkState
from spools.values import short_name

# Roles that matter to the app (others, e.g. Revestimiento, Pintura, Despacho, are ignored).
ROL_ARMADOR = "Armador"
ROL_SOLDADOR = "Soldador"
ROL_AYUDANTE = "Ayudante"
ROL_METROLOGIA = "Metrologia"
ALLOWED_ROLES = {
    Operacion.ARM: {ROL_ARMADOR, ROL_AYUDANTE},
    Operacion.SOLD: {ROL_SOLDADOR, ROL_AYUDANTE},
    Operacion.METROLOGIA: {ROL_METROLOGIA},
    Operacion.REPARACION: None,  # any active worker
}


class Worker(models.Model):
    """A row of Trabajadores; `id` is its Id."""

    id = models.PositiveIntegerField(primary_key=True, verbose_name="Id")
    nombre = models.CharField(max_length=120)
    apellido = models.CharField(max_length=120, blank=True)
    activo = models.BooleanField(default=True)

    class Meta:
        ordering = ["nombre", "apellido"]
        verbose_name = "trabajador"
        verbose_name_plural = "trabajadores"

    def __str__(self) -> str:
        return f"{self.short} {self.nombre} {self.apellido}".strip()

    @property
    def short(self) -> str:
        """As written in a cell: `MR(93)`."""
        return short_name(self.id, self.nombre, self.apellido)

    @property
    def full_name(self) -> str:
        return f"{self.nombre} {self.apellido}".strip()

    def active_roles(self) -> set[str]:
        return {r.rol for r in self.roles.all() if r.activo}

    def can_work_on(self, operacion: str) -> bool:
        """Active, with an active role allowed for the operation (REPARACION: any)."""
        if not self.activo:
            return False
        allowed = ALLOWED_ROLES[Operacion(operacion)]
        return True if allowed is None else bool(self.active_roles() & allowed)


class Role(models.Model):
    """A row of Roles: one per worker × role."""

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="roles")
    rol = models.CharField(max_length=60)
    activo = models.BooleanField(default=True)

    class Meta:
        ordering = ["worker_id", "rol"]
        constraints = [models.UniqueConstraint(fields=["worker", "rol"], name="unique_worker_rol")]
        verbose_name = "rol"
        verbose_name_plural = "roles"

    def __str__(self) -> str:
        return f"{self.worker_id} {self.rol}{'' if self.activo else ' (inactivo)'}"


class Spool(models.Model):
    """A row of Operaciones, keyed by TAG_SPOOL."""

    tag = models.CharField("TAG_SPOOL", max_length=100, unique=True)
    ot = models.CharField("OT", max_length=60, blank=True)
    nv = models.CharField("NV", max_length=60, blank=True)
    fecha_materiales = models.DateField("Fecha_Materiales", null=True, blank=True)
    armador = models.CharField("Armador", max_length=60, blank=True)
    fecha_armado = models.DateField("Fecha_Armado", null=True, blank=True)
    soldador = models.CharField("Soldador", max_length=60, blank=True)
    fecha_soldadura = models.DateField("Fecha_Soldadura", null=True, blank=True)
    fecha_qc_metrologia = models.DateField("Fecha_QC_Metrologia", null=True, blank=True)
    ocupado_por = models.CharField("Ocupado_Por", max_length=60, blank=True)
    # The Id in Ocupado_Por, for "spools this worker occupies" without parsing text.
    occupant_id = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    fecha_ocupacion = models.DateTimeField("Fecha_Ocupacion", null=True, blank=True)
    version = models.CharField(max_length=64, blank=True)
    estado_detalle = models.CharField("Estado_Detalle", max_length=250, blank=True)

    # Lifecycles (django-fsm-2); derived from the columns on pull, changed by transitions.
    arm = FSMField("ARM", default=WorkState.PENDIENTE, choices=WorkState.choices)
    sold = FSMField("SOLD", default=WorkState.PENDIENTE, choices=WorkState.choices)
    metrologia = FSMField(
        "Metrología", default=MetrologiaState.PENDIENTE, choices=MetrologiaState.choices
    )
    reparacion = FSMField(
        "Reparación", default=ReparacionState.NINGUNA, choices=ReparacionState.choices
    )
    ciclo = models.PositiveSmallIntegerField("ciclo de rechazo", default=0)

    # Where the row was at the last pull (informational: writes locate rows by TAG).
    sheet_row = models.PositiveIntegerField(null=True, blank=True)
    # Cells of this row that could not be read at the last pull: [{column, value, error}].
    problems = models.JSONField(default=list, blank=True)
    pulled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tag"]
        # Access is decided by these permissions (user.has_perm), never by group names.
        permissions = [
            ("perform_actions", "Puede registrar acciones de la tableta"),
            ("view_dashboard", "Puede ver el dashboard"),
            ("override_spool", "Puede desbloquear y liberar spools (supervisor)"),
        ]
        indexes = [
            models.Index(fields=["arm", "sold"]),
            models.Index(fields=["reparacion"]),
        ]

    def __str__(self) -> str:
        return self.tag

    @property
    def is_occupied(self) -> bool:
        return bool(self.ocupado_por)

    @property
    def is_blocked(self) -> bool:
        return self.reparacion == ReparacionState.BLOQUEADO


class Event(models.Model):
    """One Metadata row: the audit log, append-only (pulled from the sheet or written by us)."""

    id = models.UUIDField("ID", primary_key=True, default=uuid.uuid4)
    timestamp = models.DateTimeField("Timestamp", default=timezone.now, db_index=True)
    evento_tipo = models.CharField("Evento_Tipo", max_length=40)
    tag = models.CharField("TAG_SPOOL", max_length=100, blank=True, db_index=True)
    worker_id = models.IntegerField("Worker_ID", null=True, blank=True)
    worker_nombre = models.CharField("Worker_Nombre", max_length=120, blank=True)
    operacion = models.CharField("Operacion", max_length=20, blank=True)
    accion = models.CharField("Accion", max_length=20, blank=True)
    fecha_operacion = models.DateField("Fecha_Operacion", null=True, blank=True)
    metadata_json = models.JSONField("Metadata_JSON", default=dict, blank=True)
    # The logged-in account that made the change (stations, supervisors), for attribution.
    account = models.CharField(max_length=150, blank=True)
    # Where this row came from: written by this app, or read from the workbook.
    from_sheet = models.BooleanField(default=False)

    class Meta:
        ordering = ["timestamp"]
        verbose_name = "evento"
        verbose_name_plural = "eventos"

    def __str__(self) -> str:
        return f"{self.timestamp:%d-%m-%Y %H:%M:%S} {self.evento_tipo} {self.tag}"


class SyncState(models.Model):
    """One row: how the workbook sync is doing (shown by /healthz)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_pull_at = models.DateTimeField(null=True, blank=True)
    last_workers_pull_at = models.DateTimeField(null=True, blank=True)
    last_flush_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # Required columns missing in the workbook: writes are refused while this is set.
    structure_error = models.TextField(blank=True)
    # How many Metadata rows (after the header) the pull has already seen.
    metadata_rows_seen = models.PositiveIntegerField(default=0)
    pull_warnings = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "estado de sincronización"

    def __str__(self) -> str:
        return f"sincronización (última lectura {self.last_pull_at or 'nunca'})"

    @classmethod
    def get(cls) -> SyncState:
        obj, _ = cls.objects.get_or_create(id=1)
        return obj
