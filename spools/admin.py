"""The mirror in the Django admin, for supervisors.

The mirror stays read-only (the workbook is the record): no field can be edited, nothing
added or deleted, not even by a superuser. The only changes are the supervisor overrides,
offered as transitions — the admin actions "Desbloquear" and "Liberar ocupación" and the
same buttons on a spool's page — each confirmed on an intermediate page and done by
`spools.overrides`, which checks the permission again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.timezone import localtime

from spools import overrides
from spools.lifecycle import OverrideTipo, ReparacionState
from spools.models import Event, Role, Spool, SyncState, Worker
from spools.rules import ActionError
from spools.templatetags.zeues import spool_url


class ReadOnly:
    """Nothing added, changed or deleted, not even by a superuser: the workbook is the record.

    Mixed into the model admins and the inlines alike.
    """

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnly, admin.ModelAdmin):
    pass


class YesNoFilter(admin.SimpleListFilter):
    """Sí / No on one condition (`yes`, a Q object); subclasses name it."""

    yes: Q

    def lookups(self, request, model_admin):
        return [("si", "Sí"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() == "si":
            return queryset.filter(self.yes)
        if self.value() == "no":
            return queryset.exclude(self.yes)
        return queryset


class OcupadoFilter(YesNoFilter):
    title = "ocupado"
    parameter_name = "ocupado"
    yes = ~Q(ocupado_por="")


class BloqueadoFilter(YesNoFilter):
    title = "BLOQUEADO"
    parameter_name = "bloqueado"
    yes = Q(reparacion=ReparacionState.BLOQUEADO)


@dataclass(frozen=True)
class OverrideOffer:
    """An override as the admin offers it: what the supervisor is told, and who does it."""

    tipo: OverrideTipo
    verb: str
    explanation: str
    service: Callable[[str, object], overrides.OverrideResult]

    @property
    def label(self) -> str:
        return self.tipo.label


OVERRIDES = {
    offer.tipo: offer
    for offer in (
        OverrideOffer(
            OverrideTipo.DESBLOQUEAR,
            "desbloquear",
            "Cada spool BLOQUEADO vuelve a RECHAZADO con el contador de rechazos en cero "
            "(Ciclo 0), listo para que alguien tome su reparación.",
            overrides.desbloquear,
        ),
        OverrideOffer(
            OverrideTipo.LIBERAR,
            "liberar",
            "Cada spool ocupado queda libre como si su ocupante hubiera pausado: el trabajo "
            "hecho se conserva y cualquiera con el rol puede retomarlo.",
            overrides.liberar,
        ),
    )
}
# Admin action name → tipo.
OVERRIDE_ACTIONS = {
    "desbloquear": OverrideTipo.DESBLOQUEAR,
    "liberar_ocupacion": OverrideTipo.LIBERAR,
}


@admin.register(Spool)
class SpoolAdmin(ReadOnlyAdmin):
    list_display = (
        "tag",
        "ot",
        "nv",
        "arm",
        "sold",
        "metrologia",
        "reparacion",
        "ocupacion",
        "estado_detalle",
    )
    list_filter = (
        BloqueadoFilter,
        OcupadoFilter,
        "arm",
        "sold",
        "metrologia",
        "reparacion",
    )
    search_fields = ("tag", "ot", "nv")
    actions = ["desbloquear", "liberar_ocupacion"]
    fieldsets = (
        (None, {"fields": ("tag", "ot", "nv", "fecha_materiales", "estado_detalle")}),
        ("Armado", {"fields": ("arm", "armador", "fecha_armado")}),
        ("Soldadura", {"fields": ("sold", "soldador", "fecha_soldadura")}),
        (
            "Metrología y reparación",
            {"fields": ("metrologia", "fecha_qc_metrologia", "reparacion", "ciclo")},
        ),
        ("Ocupación", {"fields": ("ocupado_por", "fecha_ocupacion")}),
        ("Hoja", {"fields": ("version", "sheet_row", "problems", "pulled_at", "updated_at")}),
    )

    @admin.display(description="ocupado por", ordering="fecha_ocupacion")
    def ocupacion(self, obj: Spool) -> str:
        if not obj.ocupado_por:
            return "—"
        since = obj.fecha_ocupacion
        return (
            f"{obj.ocupado_por} desde {localtime(since):%d-%m %H:%M}" if since else obj.ocupado_por
        )

    def view_on_site(self, obj: Spool) -> str:
        return spool_url(obj.tag)

    def has_override_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(overrides.OVERRIDE_PERMISSION)

    # --- the overrides as admin actions ----------------------------------------------

    @admin.action(description=OverrideTipo.DESBLOQUEAR.label, permissions=["override"])
    def desbloquear(self, request: HttpRequest, queryset) -> HttpResponse | None:
        return self._override(request, list(queryset), "desbloquear")

    @admin.action(description=OverrideTipo.LIBERAR.label, permissions=["override"])
    def liberar_ocupacion(self, request: HttpRequest, queryset) -> HttpResponse | None:
        return self._override(request, list(queryset), "liberar_ocupacion")

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # A posted override without the permission is refused outright (not quietly
        # ignored as an unknown action): the service would refuse it too.
        if (
            request.method == "POST"
            and request.POST.get("action") in OVERRIDE_ACTIONS
            and not self.has_override_permission(request)
        ):
            raise PermissionDenied
        return super().changelist_view(request, extra_context)

    def _override(
        self, request: HttpRequest, spools: list[Spool], action: str
    ) -> HttpResponse | None:
        tipo = OVERRIDE_ACTIONS[action]
        if request.POST.get("post") == "yes":
            self._run(request, spools, tipo)
            return None  # back to the list, with the results as messages
        return self._confirmation(request, spools, tipo, action)

    def _run(self, request: HttpRequest, spools: list[Spool], tipo: OverrideTipo) -> None:
        """Each spool on its own; one message per spool, then a summary."""
        offer = OVERRIDES[tipo]
        done = 0
        for spool in spools:
            try:
                result = offer.service(spool.tag, request.user)
            except ActionError as exc:
                text = exc.message if spool.tag in exc.message else f"{spool.tag}: {exc.message}"
                self.message_user(request, text, messages.ERROR)
                continue
            done += 1
            self.message_user(request, result.message, messages.SUCCESS)
            self.log_change(request, spool, result.message)  # the admin's own "Histórico"
        level = messages.SUCCESS if done == len(spools) else messages.WARNING
        self.message_user(request, f"{offer.label}: {done} de {len(spools)} spools.", level)

    def _confirmation(
        self, request: HttpRequest, spools: list[Spool], tipo: OverrideTipo, action: str | None
    ) -> TemplateResponse:
        rows = [(spool, overrides.preview(spool, tipo)) for spool in spools]
        offer = OVERRIDES[tipo]
        context = {
            **self.admin_site.each_context(request),
            "title": f"{offer.label}: confirmar",
            "subtitle": None,
            "opts": self.opts,
            "label": offer.label,
            "verb": offer.verb,
            "explanation": offer.explanation,
            "rows": rows,
            "applicable": sum(1 for _, p in rows if p.applies),
            "worker_nombre": overrides.supervisor_nombre(request.user.get_username()),
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "single": None if action else spools[0],
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/spools/spool/override_confirmation.html", context)

    # --- the same overrides as buttons on a spool's page -------------------------------

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/desbloquear/",
                view(self.desbloquear_view),
                name=f"{name}_desbloquear",
            ),
            path(
                "<path:object_id>/liberar/",
                view(self.liberar_view),
                name=f"{name}_liberar",
            ),
            *super().get_urls(),
        ]

    def desbloquear_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._object_override(request, object_id, OverrideTipo.DESBLOQUEAR)

    def liberar_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._object_override(request, object_id, OverrideTipo.LIBERAR)

    def _object_override(
        self, request: HttpRequest, object_id: str, tipo: OverrideTipo
    ) -> HttpResponse:
        if not self.has_override_permission(request):
            raise PermissionDenied
        spool = self.get_object(request, unquote(object_id))
        if spool is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if request.method == "POST" and request.POST.get("post") == "yes":
            self._run(request, [spool], tipo)
            return HttpResponseRedirect(reverse("admin:spools_spool_change", args=[spool.pk]))
        return self._confirmation(request, [spool], tipo, None)

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None):
        extra = {"can_override": self.has_override_permission(request), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)


class RoleInline(ReadOnly, admin.TabularInline):
    model = Role
    extra = 0


@admin.register(Worker)
class WorkerAdmin(ReadOnlyAdmin):
    list_display = ("id", "short", "nombre", "apellido", "activo", "roles_activos")
    list_filter = ("activo", "roles__rol")
    search_fields = ("id", "nombre", "apellido")
    # The badge code opens the tablet as that worker: only its last digits are shown.
    fields = ("id", "nombre", "apellido", "activo", "credencial_oculta")
    readonly_fields = ("credencial_oculta",)
    inlines = [RoleInline]

    @admin.display(description="credencial")
    def credencial_oculta(self, obj: Worker) -> str:
        return mask_badge(obj.credencial)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("roles")

    @admin.display(description="roles activos")
    def roles_activos(self, obj: Worker) -> str:
        return ", ".join(sorted(obj.active_roles())) or "—"


def mask_badge(code: str) -> str:
    """`••••1234`: enough to tell two badges apart, not enough to make one."""
    if not code:
        return "—"
    return "••••" + code[-4:] if len(code) > 4 else "••••"


@admin.register(SyncState)
class SyncStateAdmin(ReadOnlyAdmin):
    """The workbook sync as the flusher and the puller last left it, with the full error
    text that /healthz (public) only classifies."""

    list_display = ("__str__", "last_flush_at", "last_error_kind", "last_error_since")
    fields = (
        "last_pull_at",
        "last_workers_pull_at",
        "last_flush_at",
        "last_error_kind",
        "last_error_status",
        "last_error_since",
        "last_error_at",
        "last_error",
        "structure_error",
        "pull_warnings",
        "uniones_sheet",
        "uniones_checked_at",
    )


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = (
        "timestamp",
        "evento_tipo",
        "tag",
        "worker_nombre",
        "operacion",
        "accion",
        "account",
        "from_sheet",
    )
    list_filter = ("evento_tipo", "operacion", "accion", "from_sheet")
    search_fields = ("tag", "worker_nombre", "account")
    date_hierarchy = "timestamp"


admin.site.site_header = "ZEUES · administración"
admin.site.site_title = "ZEUES"
admin.site.index_title = "Supervisión"
# Three models only: the table gets the width the navigation sidebar would take.
admin.site.enable_nav_sidebar = False
