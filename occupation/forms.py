"""Parsing POST /acciones/: every field checked, every refusal in Spanish."""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from django import forms

from occupation.services import MAX_SPOOLS, ActionCommand
from spools.lifecycle import (
    SESSION_ENDS,
    Accion,
    Operacion,
    Resultado,
    motivos_pausa,
    motivos_rechazo,
)

# Any TAG the office can type (spaces, accents, "/"): unknown ones answer 404 from the
# mirror. Refused here: control characters, bytes that were not UTF-8 (decoded as U+FFFD),
# and text that a spreadsheet would take for a formula.
TAG_PATTERN = re.compile(r"^[^\x00-\x1f\x7f\ufffd=+@][^\x00-\x1f\x7f\ufffd]{0,99}$")
N_UNION_PATTERN = re.compile(r"^[0-9]{1,6}$")
# The operations whose sessions register unions (and may be ended with FINALIZAR).
UNION_OPERATIONS = (Operacion.ARM, Operacion.SOLD)


def is_utf8_form(body: bytes) -> bool:
    """Django quietly reads non-UTF-8 form bytes as Latin-1; the tablet must be told instead."""
    try:
        for pair in body.split(b"&"):
            unquote_to_bytes(pair.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _rejecting(cleaned: dict) -> bool:
    """A METROLOGÍA rejection: it takes a motivo and the unions that failed."""
    return (
        cleaned.get("operacion") == Operacion.METROLOGIA
        and cleaned.get("resultado") == Resultado.RECHAZADO
    )


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
    # A reason code from the plant's lists (checked in clean: the lists are settings).
    motivo = forms.CharField(required=False)

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.tags = [t.strip() for t in data.getlist("tags")] if data is not None else []
        self.uniones = [u.strip() for u in data.getlist("uniones")] if data is not None else []

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
        if accion == Accion.FINALIZAR and operacion not in UNION_OPERATIONS:
            raise forms.ValidationError("FINALIZAR es solo para ARM y SOLD.")
        cleaned["uniones"] = self._clean_uniones(cleaned)
        cleaned["motivo"] = self._clean_motivo(cleaned)
        return cleaned

    def _clean_motivo(self, cleaned: dict) -> str:
        """A reason code: with PAUSAR (ZEUES_MOTIVOS_PAUSA) or with a METROLOGÍA RECHAZADO
        (ZEUES_MOTIVOS_RECHAZO); always optional."""
        motivo = cleaned.get("motivo") or ""
        if not motivo:
            return ""
        if cleaned.get("accion") == Accion.PAUSAR:  # ARM, SOLD, REPARACIÓN (METROLOGÍA: none)
            known = motivos_pausa()
        elif _rejecting(cleaned):
            known = motivos_rechazo()
        else:
            raise forms.ValidationError(
                "El motivo va solo con PAUSAR o con un RECHAZADO de METROLOGÍA."
            )
        if motivo not in known:
            raise forms.ValidationError(f"Motivo desconocido: {motivo[:40]!r}.")
        return motivo

    def _clean_uniones(self, cleaned: dict) -> tuple[int, ...]:
        """N_UNION numbers, with exactly one spool and a session end of ARM / SOLD."""
        texts = [u for u in self.uniones if u]
        bad = [u for u in texts if not N_UNION_PATTERN.match(u) or int(u) < 1]
        if bad:
            raise forms.ValidationError(f"Número de unión inválido: {bad[0][:20]!r}.")
        if not texts:
            return ()
        if len(cleaned["tags"]) != 1:
            raise forms.ValidationError(
                "Las uniones se registran de a un spool: envíe un solo spool con sus uniones."
            )
        ends_session = (
            cleaned.get("operacion") in UNION_OPERATIONS and cleaned.get("accion") in SESSION_ENDS
        )
        if not ends_session and not _rejecting(cleaned):
            raise forms.ValidationError(
                "Las uniones se registran al pausar, completar o finalizar ARM o SOLD, "
                "o se indican al rechazar en METROLOGÍA."
            )
        return tuple(dict.fromkeys(int(u) for u in texts))

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
            uniones=c.get("uniones") or (),
            motivo=c.get("motivo") or "",
        )

    def first_error(self) -> str:
        for errors in self.errors.values():
            if errors:
                return errors[0]
        return "Datos inválidos."
