"""The admin's PIN page: a supervisor sets or resets a worker's PIN (typed twice, 4–6
digits, stored hashed) and clears a lockout. The hash itself is never shown. And the badge
readers: a supervisor sees which station's reader is locked and unlocks it."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from occupation.identify import MAX_BADGE_MISSES, MAX_TRIES, PIN_PATTERN, unlock
from occupation.models import BadgeGuard, WorkerPin

PIN_INVALID = "El PIN tiene de 4 a 6 dígitos."


def pin_field(label: str) -> forms.RegexField:
    return forms.RegexField(
        label=label,
        regex=PIN_PATTERN,
        required=False,
        strip=True,
        widget=forms.PasswordInput(
            render_value=False, attrs={"inputmode": "numeric", "autocomplete": "new-password"}
        ),
        error_messages={"invalid": PIN_INVALID},
    )


class WorkerPinForm(forms.ModelForm):
    pin1 = pin_field("PIN nuevo")
    pin2 = pin_field("Repita el PIN")
    desbloquear = forms.BooleanField(
        label="Desbloquear (borra los intentos fallidos)", required=False
    )

    class Meta:
        model = WorkerPin
        fields = ["worker"]

    def clean(self) -> dict:
        cleaned = super().clean()
        pin1, pin2 = cleaned.get("pin1"), cleaned.get("pin2")
        if self.instance._state.adding and not pin1 and "pin1" not in self.errors:
            self.add_error("pin1", "Escriba el PIN (4 a 6 dígitos).")
        if (pin1 or pin2) and pin1 != pin2 and not self.errors.get("pin1"):
            self.add_error("pin2", "Los dos PIN no son iguales: escríbalo otra vez.")
        return cleaned


@admin.register(WorkerPin)
class WorkerPinAdmin(admin.ModelAdmin):
    form = WorkerPinForm
    list_display = ("worker", "estado", "updated_at")
    search_fields = ("worker__id", "worker__nombre", "worker__apellido")
    list_select_related = ("worker",)
    actions = ["desbloquear"]

    def get_fields(self, request: HttpRequest, obj: WorkerPin | None = None) -> list[str]:
        fields = ["worker", "pin1", "pin2"]
        return fields + ["estado", "desbloquear"] if obj else fields

    def get_readonly_fields(self, request: HttpRequest, obj: WorkerPin | None = None):
        return ("worker", "estado") if obj else ()

    @admin.display(description="estado")
    def estado(self, obj: WorkerPin) -> str:
        if obj.locked_at(timezone.now()):
            hora = timezone.localtime(obj.locked_until).strftime("%H:%M")
            return f"Bloqueado hasta las {hora}"
        if obj.failed_tries:
            return f"{obj.failed_tries} de {MAX_TRIES} intentos fallidos"
        return "Activo"

    def save_model(self, request: HttpRequest, obj: WorkerPin, form, change: bool) -> None:
        pin = form.cleaned_data.get("pin1")
        if pin:
            obj.set_pin(pin)  # a new PIN also clears the lockout
        elif form.cleaned_data.get("desbloquear"):
            obj.failed_tries, obj.locked_until = 0, None
        super().save_model(request, obj, form, change)

    @admin.action(description="Desbloquear los PIN seleccionados", permissions=["change"])
    def desbloquear(self, request: HttpRequest, queryset: QuerySet[WorkerPin]) -> None:
        n = unlock(list(queryset.values_list("worker_id", flat=True)))
        self.message_user(request, f"{n} PIN desbloqueado(s).", messages.SUCCESS)


@admin.register(BadgeGuard)
class BadgeGuardAdmin(admin.ModelAdmin):
    """Stations that read unknown badge codes lately; only their unlock is editable."""

    list_display = ("account", "estado", "window_start")
    fields = ("account", "estado", "window_start")
    readonly_fields = fields
    actions = ["desbloquear"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a row appears with a station's first unknown code

    @admin.display(description="estado")
    def estado(self, obj: BadgeGuard) -> str:
        if obj.locked_until and obj.locked_until > timezone.now():
            hora = timezone.localtime(obj.locked_until).strftime("%H:%M")
            return f"Lector bloqueado hasta las {hora}"
        return f"{obj.misses} de {MAX_BADGE_MISSES} credenciales no reconocidas"

    @admin.action(description="Desbloquear los lectores seleccionados", permissions=["change"])
    def desbloquear(self, request: HttpRequest, queryset: QuerySet[BadgeGuard]) -> None:
        n = queryset.update(misses=0, locked_until=None, window_start=timezone.now())
        self.message_user(request, f"{n} lector(es) desbloqueado(s).", messages.SUCCESS)
