"""The operational mirror of the workbook.

Everything here can be rebuilt from the workbook at any time (import / pull): the mirror
never holds information that cannot be written back. Pages and actions read the mirror,
never the workbook.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_fsm import RETURN_VALUE, FSMField, transition

from spools import rules
from spools.lifecycle import (
    Accion,
    MetrologiaState,
    Operacion,
    ReparacionState,
    WorkState,
    blocks,
    ciclo_text,
    derive_states,
    max_ciclos,
    render_estado_detalle,
)
from spools.workbook.rows import app_cells, parse_cells
from spools.workbook.values import short_name

if TYPE_CHECKING:
    from spools.services import TransitionContext

W, M, R = WorkState, MetrologiaState, ReparacionState
# The fields a transition (action or override) may change: saved together with one
# compare-and-set UPDATE on `version`.
TRANSITION_FIELDS = (
    "armador",
    "fecha_armado",
    "soldador",
    "fecha_soldadura",
    "fecha_qc_metrologia",
    "ocupado_por",
    "occupant_id",
    "fecha_ocupacion",
    "version",
    "estado_detalle",
    "arm",
    "sold",
    "metrologia",
    "reparacion",
    "ciclo",
)
# The union counters of a Spool (saved together whenever its unions change).
UNION_COUNTER_FIELDS = (
    "uniones_total",
    "uniones_arm",
    "uniones_sold_total",
    "uniones_sold",
    "pulgadas_arm",
    "pulgadas_sold",
)
# The spool's cells an ARM / SOLD completion sets: (its date, its worker).
DONE_FIELDS = {
    Operacion.ARM: ("fecha_armado", "armador"),
    Operacion.SOLD: ("fecha_soldadura", "soldador"),
}
# Rules shared by PAUSAR / COMPLETAR / CANCELAR: the actor must be the occupant.
OCCUPANT_RULES = [rules.OCCUPIED, rules.BY_ACTOR]

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
    # The code on the worker's badge (Trabajadores' optional Credencial column): a scan on
    # the tablet's worker step picks them. Never shown in full.
    credencial = models.CharField(max_length=120, blank=True, db_index=True)

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

    # The spool's unions, counted (kept equal to its Union rows whenever they change; the
    # Operaciones counters are written from these). uniones_total 0: no unions, v3.0 rules.
    uniones_total = models.PositiveSmallIntegerField(default=0)
    uniones_arm = models.PositiveSmallIntegerField(default=0)  # ARM done
    uniones_sold_total = models.PositiveSmallIntegerField(default=0)  # needing SOLD
    uniones_sold = models.PositiveSmallIntegerField(default=0)  # SOLD done
    pulgadas_arm = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    pulgadas_sold = models.DecimalField(max_digits=8, decimal_places=2, default=0)

    # Where the row was at the last pull (informational: writes locate rows by TAG).
    sheet_row = models.PositiveIntegerField(null=True, blank=True)
    # Cells of this row that could not be read at the last pull: [{column, value, error}].
    problems = models.JSONField(default=list, blank=True)
    pulled_at = models.DateTimeField(null=True, blank=True)
    # A hash of the row's cells (and this row's version) when the pull last made the
    # mirror equal to them: an unchanged row is skipped (spools.workbook.pull).
    sheet_digest = models.CharField(max_length=32, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tag"]
        # Access is decided by these permissions (user.has_perm), never by group names.
        permissions = [
            ("perform_actions", "Puede registrar acciones de la tableta"),
            ("view_dashboard", "Puede ver el dashboard"),
            ("override_spool", "Puede desbloquear y liberar spools (supervisor)"),
            ("view_supervision", "Puede ver los informes de supervisión"),
        ]
        indexes = [
            models.Index(fields=["arm", "sold"]),
            models.Index(fields=["reparacion"]),
        ]

    def __str__(self) -> str:
        return self.tag

    # The worker the service is acting for (the context's worker); read by the rules.
    actor: Worker | None = None
    # The spool's Union rows in memory: loaded (locked) by apply_transition, attached by
    # whoever plays transitions without a database. None: not loaded (see union_list).
    unions: list[Union] | None = None

    @property
    def is_occupied(self) -> bool:
        return bool(self.ocupado_por)

    @property
    def is_blocked(self) -> bool:
        return self.reparacion == ReparacionState.BLOQUEADO

    @property
    def ciclo_label(self) -> str:
        """`Ciclo 2/3` (or `Ciclo 2` when rejections never block), as Estado_Detalle says."""
        return ciclo_text(self.ciclo)

    @property
    def occupied_operation(self) -> str:
        """What the occupant is doing: ARM, SOLD or REPARACION ("" when free)."""
        if not self.ocupado_por:
            return ""
        if self.reparacion == R.EN_REPARACION:
            return Operacion.REPARACION
        if self.arm == W.EN_PROGRESO:
            return Operacion.ARM
        if self.sold == W.EN_PROGRESO:
            return Operacion.SOLD
        return ""

    # --- cells -------------------------------------------------------------------------

    def app_cells(self) -> dict[str, str]:
        """The app-owned cells as the workbook holds them."""
        return app_cells(self)

    def restore_cells(self, cells: dict[str, object]) -> None:
        """Set the app-owned fields (and the states they imply) from a cells snapshot."""
        values = parse_cells(self.tag, cells)
        for name in TRANSITION_FIELDS:
            if name != "version":  # a restore is a new write: it gets a new version
                setattr(self, name, values[name])

    def refresh_estado_detalle(self) -> None:
        has_unions = self.has_unions
        self.estado_detalle = render_estado_detalle(
            arm=self.arm,
            sold=self.sold,
            metrologia=self.metrologia,
            reparacion=self.reparacion,
            ciclo=self.ciclo,
            ocupado_por=self.ocupado_por,
            arm_uniones=(self.uniones_arm, self.uniones_total) if has_unions else None,
            sold_uniones=(self.uniones_sold, self.uniones_sold_total) if has_unions else None,
        )

    def _occupy(self, worker: Worker, now: datetime) -> None:
        self.ocupado_por = worker.short
        self.occupant_id = worker.id
        self.fecha_ocupacion = now.replace(microsecond=0)  # as the sheet holds it

    def _release(self) -> None:
        self.ocupado_por = ""
        self.occupant_id = None
        self.fecha_ocupacion = None

    def _end_session(
        self, operacion: str, ctx: TransitionContext, *, complete: bool = False
    ) -> str:
        """End an ARM / SOLD session: register the selected unions (ctx.uniones, checked by
        rules.check_union_selection), release the spool, and complete the operation when
        every union that counts is done (a spool with unions; whatever the acción: the
        moment the last one is done) or when `complete` (a spool without unions)."""
        self._register_unions(operacion, ctx)
        self._release()
        if self.union_list:
            complete = not self.unions_left(operacion)
            if complete:
                self._complete_from_unions(operacion, ctx)
        elif complete:
            self._set_done(operacion, ctx.today, ctx.worker.short)
        return W.COMPLETADO if complete else W.PAUSADO

    def _set_done(self, operacion: str, day: date, worker_short: str) -> None:
        date_field, worker_field = DONE_FIELDS[operacion]
        setattr(self, date_field, day)
        setattr(self, worker_field, worker_short)

    # --- ARM -------------------------------------------------------------------------------

    @transition(
        field=arm,
        source=[W.PENDIENTE, W.PAUSADO],
        target=W.EN_PROGRESO,
        conditions=[rules.NOT_BLOCKED, rules.MATERIALES, rules.ARM_NOT_DONE, rules.FREE],
    )
    def tomar_arm(self, ctx: TransitionContext) -> None:
        self._occupy(ctx.worker, ctx.now)
        self.armador = ctx.worker.short  # the last taker

    @transition(
        field=arm,
        source=W.EN_PROGRESO,
        target=RETURN_VALUE(W.PAUSADO, W.COMPLETADO),
        conditions=[*OCCUPANT_RULES, rules.IN_ARM],
        custom={"ends_session": (Operacion.ARM, Accion.PAUSAR)},
    )
    def pausar_arm(self, ctx: TransitionContext) -> str:
        return self._end_session(Operacion.ARM, ctx)

    @transition(
        field=arm,
        source=W.EN_PROGRESO,
        target=W.COMPLETADO,
        conditions=[*OCCUPANT_RULES, rules.IN_ARM],
        custom={"ends_session": (Operacion.ARM, Accion.COMPLETAR)},
    )
    def completar_arm(self, ctx: TransitionContext) -> None:
        self._end_session(Operacion.ARM, ctx, complete=True)

    @transition(
        field=arm,
        source=W.EN_PROGRESO,
        target=RETURN_VALUE(W.PAUSADO, W.COMPLETADO),
        conditions=[*OCCUPANT_RULES, rules.IN_ARM],
        custom={"ends_session": (Operacion.ARM, Accion.FINALIZAR)},
    )
    def finalizar_arm(self, ctx: TransitionContext) -> str:
        return self._end_session(Operacion.ARM, ctx, complete=True)

    @transition(
        field=arm,
        source=W.EN_PROGRESO,
        target=RETURN_VALUE(W.PENDIENTE, W.PAUSADO, W.COMPLETADO),
        conditions=[*OCCUPANT_RULES, rules.IN_ARM],
        custom={"undoes_tomar": Operacion.ARM},
    )
    def cancelar_arm(self, ctx: TransitionContext) -> str:
        """Undo the TOMAR: every app-owned cell back to the snapshot taken before it."""
        self.restore_cells(ctx.snapshot.cells)
        return self.arm

    # --- SOLD ------------------------------------------------------------------------------

    @transition(
        field=sold,
        source=[W.PENDIENTE, W.PAUSADO],
        target=W.EN_PROGRESO,
        conditions=[
            rules.NOT_BLOCKED,
            rules.MATERIALES,
            rules.ARM_DONE_OR_UNIONS,
            rules.SOLD_NOT_DONE,
            rules.UNION_TO_WELD,
            rules.FREE,
        ],
    )
    def tomar_sold(self, ctx: TransitionContext) -> None:
        self._occupy(ctx.worker, ctx.now)
        self.soldador = ctx.worker.short

    @transition(
        field=sold,
        source=W.EN_PROGRESO,
        target=RETURN_VALUE(W.PAUSADO, W.COMPLETADO),
        conditions=[*OCCUPANT_RULES, rules.IN_SOLD],
        custom={"ends_session": (Operacion.SOLD, Accion.PAUSAR)},
    )
    def pausar_sold(self, ctx: TransitionContext) -> str:
        return self._end_session(Operacion.SOLD, ctx)

    @transition(
        field=sold,
        source=W.EN_PROGRESO,
        target=W.COMPLETADO,
        conditions=[*OCCUPANT_RULES, rules.IN_SOLD],
        custom={"ends_session": (Operacion.SOLD, Accion.COMPLETAR)},
    )
    def completar_sold(self, ctx: TransitionContext) -> None:
        self._end_session(Operacion.SOLD, ctx, complete=True)

    @transition(
        field=sold,
        source=W.EN_PROGRESO,
        target=RETURN_VALUE(W.PAUSADO, W.COMPLETADO),
        conditions=[*OCCUPANT_RULES, rules.IN_SOLD],
        custom={"ends_session": (Operacion.SOLD, Accion.FINALIZAR)},
    )
    def finalizar_sold(self, ctx: TransitionContext) -> str:
        return self._end_session(Operacion.SOLD, ctx, complete=True)

    @transition(
        field=sold,
        source=W.EN_PROGRESO,
        target=RETURN_VALUE(W.PENDIENTE, W.PAUSADO, W.COMPLETADO),
        conditions=[*OCCUPANT_RULES, rules.IN_SOLD],
        custom={"undoes_tomar": Operacion.SOLD},
    )
    def cancelar_sold(self, ctx: TransitionContext) -> str:
        self.restore_cells(ctx.snapshot.cells)
        return self.sold

    # --- METROLOGÍA (instant: no occupation) -------------------------------------------

    METROLOGIA_RULES = [
        rules.UNIONS_FINISHED,
        rules.ARM_DONE,
        rules.SOLD_DONE_OR_NONE,
        rules.NOT_APPROVED,
        rules.NOT_IN_REPAIR_LOOP,
        rules.FREE,
    ]

    @transition(
        field=metrologia, source=M.PENDIENTE, target=M.APROBADO, conditions=METROLOGIA_RULES
    )
    def aprobar(self, ctx: TransitionContext) -> None:
        self.fecha_qc_metrologia = ctx.today
        self.ciclo = 0  # only consecutive rejections count
        self.reparacion = R.NINGUNA

    @transition(
        field=metrologia,
        source=M.PENDIENTE,
        target=M.RECHAZADO,
        conditions=METROLOGIA_RULES,
        custom={"names_failed_unions": True},
    )
    def rechazar(self, ctx: TransitionContext) -> None:
        """The plant's limit (ZEUES_MAX_REPAIR_CYCLES) blocks at that consecutive rejection;
        0: counted, never blocked. Why (ctx.motivo, ctx.failed_unions) goes to the event."""
        limit = max_ciclos()
        self.ciclo = min(self.ciclo + 1, limit) if limit else self.ciclo + 1
        self.fecha_qc_metrologia = None
        self.reparacion = R.BLOQUEADO if blocks(self.ciclo) else R.RECHAZADO

    # --- REPARACIÓN ----------------------------------------------------------------------

    @transition(
        field=reparacion,
        source=[R.RECHAZADO, R.REPARACION_PAUSADA],
        target=R.EN_REPARACION,
        conditions=[rules.NOT_BLOCKED, rules.REPAIR_READY, rules.FREE],
    )
    def tomar_reparacion(self, ctx: TransitionContext) -> None:
        self._occupy(ctx.worker, ctx.now)

    @transition(
        field=reparacion,
        source=R.EN_REPARACION,
        target=R.REPARACION_PAUSADA,
        conditions=[*OCCUPANT_RULES, rules.IN_REPAIR],
    )
    def pausar_reparacion(self, ctx: TransitionContext) -> None:
        self._release()

    @transition(
        field=reparacion,
        source=R.EN_REPARACION,
        target=R.PENDIENTE_METROLOGIA,
        conditions=[*OCCUPANT_RULES, rules.IN_REPAIR],
    )
    def completar_reparacion(self, ctx: TransitionContext) -> None:
        self._release()
        self.fecha_qc_metrologia = None
        self.metrologia = M.PENDIENTE  # back in the metrología queue

    @transition(
        field=reparacion,
        source=R.EN_REPARACION,
        target=R.RECHAZADO,
        conditions=[*OCCUPANT_RULES, rules.IN_REPAIR],
    )
    def cancelar_reparacion(self, ctx: TransitionContext) -> None:
        self._release()

    # --- supervisor overrides (the permission is checked by spools.overrides) ----------

    @transition(
        field=reparacion, source=R.BLOQUEADO, target=R.RECHAZADO, conditions=[rules.IS_BLOCKED]
    )
    def desbloquear(self, ctx: TransitionContext) -> None:
        """BLOQUEADO → RECHAZADO (Ciclo 0/L), ready for repair again."""
        self.ciclo = 0
        self.metrologia = M.RECHAZADO

    # Liberar ocupación is the occupant's own PAUSAR; this is for a row that contradicts
    # itself (Ocupado_Por unreadable, or set on a spool with no work in progress). It moves
    # every lifecycle field; django-fsm-2 wants one, so it is declared on `reparacion`.
    @transition(field=reparacion, source="*", target=RETURN_VALUE(), conditions=[rules.OCCUPIED])
    def forzar_liberacion(self, ctx: TransitionContext) -> str:
        """Clear the occupation and read the states from the columns again."""
        self._release()
        self.rederive_states()
        return self.reparacion

    # --- unions ----------------------------------------------------------------------------

    @property
    def has_unions(self) -> bool:
        """From the counters (kept equal to the Union rows); the rules read union_list."""
        return self.uniones_total > 0

    @property
    def union_list(self) -> list[Union]:
        """The spool's unions: the attached list, else (a saved spool whose counters say it
        has some) read from the mirror once. An in-memory spool without a list has none."""
        if self.unions is None:
            stored = self.pk is not None and self.uniones_total > 0
            self.unions = list(Union.objects.filter(tag=self.tag)) if stored else []
        return self.unions

    def counting_unions(self, operacion: str) -> list[Union]:
        """The unions that count for ARM (all) or SOLD (those whose type needs SOLD)."""
        return [u for u in self.union_list if u.counts_for(operacion)]

    def unions_left(self, operacion: str, adding: Iterable[int] = ()) -> list[int]:
        """N_UNION of the counting unions not done in the operation (`adding` counted done)."""
        adding = set(adding)
        return sorted(
            u.n_union
            for u in self.counting_unions(operacion)
            if not u.done_for(operacion) and u.n_union not in adding
        )

    def unfinished_unions(self) -> list[Union]:
        """Unions without ARM, or needing SOLD without it (what METROLOGÍA waits for)."""
        return [u for u in self.union_list if not u.arm_done or (u.needs_sold and not u.sold_done)]

    def _register_unions(self, operacion: str, ctx: TransitionContext) -> None:
        """The selected unions finished in this session: begun when the occupation began."""
        fin = ctx.now.replace(microsecond=0)  # as the sheet holds it
        inicio = self.fecha_ocupacion or fin
        for union in self.union_list:
            if union.n_union in ctx.uniones:
                union.register(operacion, inicio, fin, ctx.worker)

    def _complete_from_unions(self, operacion: str, ctx: TransitionContext) -> None:
        """Decided on ALL the spool's unions: the date of the latest fin, that union's worker."""
        done = [u for u in self.counting_unions(operacion) if u.fin_for(operacion)]
        if not done:  # nothing counts (e.g. SOLD of FW unions only): the session's worker
            self._set_done(operacion, ctx.today, ctx.worker.short)
            return
        # Ties (same second) go to this session's unions: its worker finished last.
        last = max(done, key=lambda u: (u.fin_for(operacion), u.n_union in ctx.uniones))
        day = timezone.localdate(last.fin_for(operacion))
        self._set_done(operacion, day, last.worker_for(operacion))

    def count_unions(self, unions: Iterable[Union]) -> None:
        """Set the union counters from the spool's unions (all of them)."""
        unions = list(unions)
        sold = [u for u in unions if u.needs_sold]
        self.uniones_total = len(unions)
        self.uniones_arm = sum(1 for u in unions if u.arm_done)
        self.uniones_sold_total = len(sold)
        self.uniones_sold = sum(1 for u in sold if u.sold_done)
        self.pulgadas_arm = sum(
            (u.dn_union or Decimal(0) for u in unions if u.arm_done), Decimal(0)
        )
        self.pulgadas_sold = sum(
            (u.dn_union or Decimal(0) for u in sold if u.sold_done), Decimal(0)
        )

    def rederive_states(self) -> None:
        """States from the columns (after an external edit or a forced release)."""
        s = derive_states(
            armador=self.armador,
            fecha_armado=self.fecha_armado,
            soldador=self.soldador,
            fecha_soldadura=self.fecha_soldadura,
            fecha_qc_metrologia=self.fecha_qc_metrologia,
            ocupado_por=self.ocupado_por,
            estado_detalle=self.estado_detalle,
        )
        self.arm, self.sold, self.metrologia = s.arm, s.sold, s.metrologia
        self.reparacion, self.ciclo = s.reparacion, s.ciclo


class Union(models.Model):
    """A row of Uniones: one union (weld) of a spool, keyed by (TAG_SPOOL, N_UNION).

    The ARM_* / SOL_* cells and `version` are the app's; NDT_* are kept as read (reserved
    for inspection). A spool *has unions* when at least one row names its TAG.
    """

    tag = models.CharField("TAG_SPOOL", max_length=100)
    n_union = models.PositiveIntegerField("N_UNION")
    ot = models.CharField("OT", max_length=60, blank=True)
    dn_union = models.DecimalField("DN_UNION", max_digits=5, decimal_places=2, null=True)
    tipo_union = models.CharField("TIPO_UNION", max_length=10, blank=True)
    arm_inicio = models.DateTimeField("ARM_FECHA_INICIO", null=True, blank=True)
    arm_fin = models.DateTimeField("ARM_FECHA_FIN", null=True, blank=True)
    arm_worker = models.CharField("ARM_WORKER", max_length=60, blank=True)
    arm_worker_id = models.PositiveIntegerField(null=True, blank=True)
    sol_inicio = models.DateTimeField("SOL_FECHA_INICIO", null=True, blank=True)
    sol_fin = models.DateTimeField("SOL_FECHA_FIN", null=True, blank=True)
    sol_worker = models.CharField("SOL_WORKER", max_length=60, blank=True)
    sol_worker_id = models.PositiveIntegerField(null=True, blank=True)
    ndt = models.JSONField("NDT_*", default=dict, blank=True)  # the NDT_* cells, as text
    version = models.CharField(max_length=64, blank=True)
    sheet_row = models.PositiveIntegerField(null=True, blank=True)
    problems = models.JSONField(default=list, blank=True)
    pulled_at = models.DateTimeField(null=True, blank=True)
    # As Spool.sheet_digest: the row's cells when the pull last took them.
    sheet_digest = models.CharField(max_length=32, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tag", "n_union"]
        constraints = [
            models.UniqueConstraint(fields=["tag", "n_union"], name="unique_union_per_spool")
        ]
        indexes = [
            # Mi registro: a worker's unions finished on a day.
            models.Index(fields=["arm_worker_id", "arm_fin"]),
            models.Index(fields=["sol_worker_id", "sol_fin"]),
            # The wall's PD today: every union finished since midnight.
            models.Index(fields=["arm_fin"]),
            models.Index(fields=["sol_fin"]),
        ]
        verbose_name = "unión"
        verbose_name_plural = "uniones"

    def __str__(self) -> str:
        return f"{self.tag} #{self.n_union}"

    # The app-owned fields a session end changes (saved with a compare-and-set on version).
    APP_FIELDS = (
        "arm_inicio",
        "arm_fin",
        "arm_worker",
        "arm_worker_id",
        "sol_inicio",
        "sol_fin",
        "sol_worker",
        "sol_worker_id",
    )

    @property
    def needs_sold(self) -> bool:
        """Every type but the ones welded at site (ZEUES_ARM_ONLY_UNION_TYPES) needs SOLD."""
        return self.tipo_union.upper() not in settings.ZEUES_ARM_ONLY_UNION_TYPES

    @property
    def arm_done(self) -> bool:
        return self.arm_fin is not None

    @property
    def sold_done(self) -> bool:
        return self.sol_fin is not None

    def counts_for(self, operacion: str) -> bool:
        """Whether the union counts for the operation: ARM, all; SOLD, those needing it."""
        return operacion == Operacion.ARM or self.needs_sold

    def done_for(self, operacion: str) -> bool:
        return self.arm_done if operacion == Operacion.ARM else self.sold_done

    def fin_for(self, operacion: str) -> datetime | None:
        return self.arm_fin if operacion == Operacion.ARM else self.sol_fin

    def worker_for(self, operacion: str) -> str:
        return self.arm_worker if operacion == Operacion.ARM else self.sol_worker

    def selectable_for(self, operacion: str) -> bool:
        """Whether a session of the operation may register it: ARM, not yet fitted; SOLD,
        fitted, needing SOLD and not yet welded."""
        if operacion == Operacion.ARM:
            return not self.arm_done
        return self.arm_done and self.needs_sold and not self.sold_done

    def register(self, operacion: str, inicio: datetime, fin: datetime, worker: Worker) -> None:
        """Finished by `worker` in a session begun at `inicio` (its new version is given
        when it is saved)."""
        prefix = "arm" if operacion == Operacion.ARM else "sol"
        setattr(self, f"{prefix}_inicio", inicio)
        setattr(self, f"{prefix}_fin", fin)
        setattr(self, f"{prefix}_worker", worker.short)
        setattr(self, f"{prefix}_worker_id", worker.id)


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


class Note(models.Model):
    """A note on a spool: one line of the Operaciones `Notas` cell, append-only.

    The app's notes (`from_sheet` False) are written to the cell once each, through the
    outbox with their NOTA_AGREGADA Metadata row; lines someone typed into the cell are read
    back by the pull (`from_sheet` True) so the spool page shows them too.
    """

    tag = models.CharField("TAG_SPOOL", max_length=100)
    texto = models.TextField()
    # As the line names it: the worker's short name `MR(93)`, else the account's username.
    author = models.CharField("autor", max_length=150, blank=True)
    worker_id = models.PositiveIntegerField(null=True, blank=True)
    account = models.CharField(max_length=150, blank=True)
    created = models.DateTimeField(default=timezone.now)
    # The line as the cell holds it (`YYYY-MM-DD HH:MM MR(93): texto`).
    line = models.TextField()
    from_sheet = models.BooleanField(default=False)
    # The Metadata log is never deleted, only wiped whole with its notes (load_demo):
    # DO_NOTHING keeps that one DELETE, where SET_NULL would list every event's id.
    event = models.OneToOneField(
        Event, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="note"
    )
    # When the line landed in the cell; why it is only in the app (no Notas column, the row
    # gone, the cell full).
    written_at = models.DateTimeField(null=True, blank=True)
    not_written = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created", "-pk"]
        indexes = [models.Index(fields=["tag", "created"])]
        verbose_name = "nota"
        verbose_name_plural = "notas"

    def __str__(self) -> str:
        return self.line


class OutboxEntry(models.Model):
    """What one committed change must still write to the workbook.

    Committed in the same transaction as the change; the flusher writes pending entries in
    `id` order (coalescing cells per row, Metadata rows in order) and marks them flushed.
    """

    created_at = models.DateTimeField(default=timezone.now)
    tag = models.CharField(max_length=100, blank=True)
    # Operaciones cells of the row TAG_SPOOL = tag: {column name: text}.
    cells = models.JSONField(default=dict, blank=True)
    # One Metadata row to add: {column name: text}; its "ID" makes the write idempotent.
    metadata_row = models.JSONField(default=dict, blank=True)
    # The `version` this entry writes to the row: the app's own history of versions, which
    # tells a stale write of ours read back from the sheet apart from an office edit.
    version = models.CharField(max_length=64, blank=True, db_index=True)
    # Uniones rows of the same TAG_SPOOL: [{"n": N_UNION, "cells": {column: value},
    # "create": bool (append the row), "delete": bool (clear it)}], written in this order.
    unions = models.JSONField(default=list, blank=True)
    flushed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Why the cells could not be written (row gone from the sheet); the Metadata row still is.
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "escritura pendiente"
        verbose_name_plural = "escrituras pendientes"

    def __str__(self) -> str:
        state = "escrita" if self.flushed_at else "pendiente"
        return f"#{self.pk} {self.tag} ({state})"


class SyncLease(models.Model):
    """A lease in the database: only its holder flushes and pulls (any number of processes)."""

    name = models.CharField(max_length=40, primary_key=True)
    holder = models.CharField(max_length=120)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} → {self.holder} hasta {self.expires_at:%H:%M:%S}"


class SyncRequest(models.Model):
    """A process asking the lease holder for a cycle (a command that needs pending writes
    flushed, and maybe a pull, without flushing beside the holder).

    Served once a cycle that began after it was made has flushed every entry up to
    `outbox_upto` (and pulled, with `pull`); `error` says why a cycle for it failed.
    """

    created_at = models.DateTimeField(default=timezone.now)
    pull = models.BooleanField(default=False)
    outbox_upto = models.PositiveBigIntegerField(default=0)
    served_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = "pedido de sincronización"
        verbose_name_plural = "pedidos de sincronización"

    def __str__(self) -> str:
        return f"pedido #{self.pk} ({'atendido' if self.served_at else 'pendiente'})"


class SyncErrorKind(models.TextChoices):
    """What kind of trouble the sync last met: /healthz publishes this, never the text."""

    CONEXION = "conexion", "sin conexión"
    CUOTA = "cuota", "cuota"
    SERVIDOR = "servidor", "error del servidor"
    TIEMPO = "tiempo", "tiempo de espera"
    ACCESO = "acceso", "sin permiso"
    ESTRUCTURA = "estructura", "estructura del libro"
    OTRO = "otro", "otro"


class SyncState(models.Model):
    """One row: how the workbook sync is doing (shown by /healthz)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_pull_at = models.DateTimeField(null=True, blank=True)
    last_workers_pull_at = models.DateTimeField(null=True, blank=True)
    last_flush_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # The last error classified (what /healthz shows instead of the text, which may name
    # the spreadsheet), its HTTP status if any, and since when errors of that kind go on.
    last_error_kind = models.CharField(max_length=20, blank=True, choices=SyncErrorKind.choices)
    last_error_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error_since = models.DateTimeField(null=True, blank=True)
    # Required columns missing in the workbook: writes are refused while this is set.
    structure_error = models.TextField(blank=True)
    # Where the flusher found things last time (a guess to check, never trusted blindly):
    # the TAG_SPOOL column of Operaciones, the ID column of Metadata (0-based), and the
    # last filled row of Metadata.
    tag_column = models.PositiveIntegerField(default=0)
    metadata_id_column = models.PositiveIntegerField(default=0)
    metadata_last_row = models.PositiveIntegerField(default=1)
    pull_warnings = models.JSONField(default=list, blank=True)
    # Whether the workbook has a Uniones sheet (None: not known yet, asked at the next
    # cycle) and when that was last asked: a batchGet naming a missing sheet fails whole,
    # so the one read names Uniones only when it is known to be there (spools.workbook.pull).
    uniones_sheet = models.BooleanField(null=True, default=None)
    uniones_checked_at = models.DateTimeField(null=True, blank=True)
    # Where the flusher found TAG_SPOOL and N_UNION in Uniones last time (0-based, a guess).
    union_tag_column = models.PositiveIntegerField(default=2)
    union_n_column = models.PositiveIntegerField(default=3)

    class Meta:
        verbose_name = "estado de sincronización"

    def __str__(self) -> str:
        return f"sincronización (última lectura {self.last_pull_at or 'nunca'})"

    @classmethod
    def get(cls) -> SyncState:
        obj, _ = cls.objects.get_or_create(id=1)
        return obj
