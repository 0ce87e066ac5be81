"""The mirror in the Django admin: read-only (the workbook is the record)."""

from django.contrib import admin

from spools.models import Event, Role, Spool, Worker


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


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
        "ocupado_por",
        "estado_detalle",
    )
    list_filter = ("arm", "sold", "metrologia", "reparacion")
    search_fields = ("tag", "ot", "nv")


class RoleInline(admin.TabularInline):
    model = Role
    extra = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Worker)
class WorkerAdmin(ReadOnlyAdmin):
    list_display = ("id", "short", "nombre", "apellido", "activo")
    list_filter = ("activo", "roles__rol")
    search_fields = ("id", "nombre", "apellido")
    inlines = [RoleInline]


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
    )
    list_filter = ("evento_tipo", "operacion", "accion", "from_sheet")
    search_fields = ("tag", "worker_nombre", "account")
    date_hierarchy = "timestamp"


admin.site.site_header = "ZEUES · administración"
admin.site.site_title = "ZEUES"
admin.site.index_title = "Supervisión"
