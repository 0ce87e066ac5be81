"""Parsing POST /acciones/: every field checked, every refusal in Spanish."""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from django import forms

from occupation.services import MAX_SPOOLS, ActionCommand
from spools.lifecycle import Accion, Operacion, Resultado

# Any TAG the office can type (spaces, accents, "/"): unknown ones answer 404 from the
# mirror. Refused here: control characters, bytes that were not UTF-8 (decoded as U+FFFD),
# and text that a spreadsheet would take for a formula.
TAG_PATTERN = re.compile(r"^[^\x00-\x1f\x7f\ufffd=+@][^\x00-\x1f\x7f\ufffd]{0,99}$")


def is_utf8_form(body: bytes) -> bool:
    """Django quietly reads non-UTF-8 form bytes as Latin-1; the tablet must be told instead."""
    try:
        for pair in body.split(b"&"):
            unquote_to_bytes(pair.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class ActionForm(forms.Form):
    operacion = forms.ChoiceField(
        choices=Operacion.choices,
        error_messages={
            "required": "Falta la operación.",
            "invalid_choice": "Operación desconocida.",
        },
    )
    accion = forms.ChoiceField(
        choices=Accion.choices,
        error_messages={"required": "Falta la acción.", "invalid_choice": "Acción desconocida."},
    )
    worker = forms.IntegerField(
        min_value=0,
        error_messages={"required": "Falta el trabajador.", "invalid": "Trabajador inválido."},
    )
    resultado = forms.ChoiceField(
        choices=[("", ""), *Resultado.choices],
        required=False,
        error_messages={"invalid_choice": "Resultado desconocido (APROBADO o RECHAZADO)."},
    )
    request_id = forms.UUIDField(required=False, error_messages={"invalid": "Envío inválido."})

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.tags = [t.strip() for t in data.getlist("tags")] if data is not None else []

    def clean(self):
        cleaned = super().clean()
        tags = [t for t in self.tags if t]
        if not tags:
            raise forms.ValidationError("Elija al menos un spool.")
        if len(tags) > MAX_SPOOLS:
            raise forms.ValidationError(
                f"Máximo {MAX_SPOOLS} spools por acción (se enviaron {len(tags)})."
            )
        bad = [t for t in tags if not TAG_PATTERN.match(t)]
        if bad:
            raise forms.ValidationError(f"TAG inválido: {bad[0][:40]!r}.")
        cleaned["tags"] = list(dict.fromkeys(tags))  # a tag listed twice is done once
        operacion, accion = cleaned.get("operacion"), cleaned.get("accion")
        resultado = cleaned.get("resultado") or ""
        if operacion == Operacion.METROLOGIA:
            if accion and accion != Accion.COMPLETAR:
                raise forms.ValidationError("METROLOGÍA solo admite COMPLETAR con un resultado.")
            if not resultado:
                raise forms.ValidationError("Falta el resultado: APROBADO o RECHAZADO.")
        elif resultado:
            raise forms.ValidationError("El resultado es solo para METROLOGÍA.")
        return cleaned

    def command(self, account: str) -> ActionCommand:
        c = self.cleaned_data
        return ActionCommand(
            operacion=c["operacion"],
            accion=c["accion"],
            worker_id=c["worker"],
            tags=c["tags"],
            resultado=c.get("resultado") or "",
            request_id=c.get("request_id"),
            account=account,
        )

    def first_error(self) -> str:
        for errors in self.errors.values():
            if errors:
                return errors[0]
        return "Datos inválidos."
