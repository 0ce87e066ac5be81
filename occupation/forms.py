"""Parsing POST /acciones/: every field checked, every refusal in Spanish."""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from django import forms

from occupation.identify import PIN_PATTERN, identified_by
from occupation.services import MAX_SPOOLS, ActionCommand
from spools.lifecycle import (
    SESSION_ENDS,
    Accion,
    Operacion,
    Resultado,
    motivos_pausa,
    motivos_rechazo,
)
from spools.models import Spool

# Any TAG the office can type (spaces, accents, "/"): unknown ones answer 404 from the
# mirror. Refused here: control characters and bytes that were not UTF-8 (decoded as
# U+FFFD). A TAG a spreadsheet would take for a formula ("=A-1", "+B", "@C") is the office's
# own text when the mirror has it (the workbook holds it as text, the app writes RAW);
# one the mirror lacks is a tampered form.
TAG_PATTERN = re.compile(r"^[^\x00-\x1f\x7f\ufffd]{1,100}$")
FORMULA_START = ("=", "+", "@")
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
    # The signed note of how the worker was identified (occupation.identify); optional:
    # without a valid one the action says `lista` (and is refused when PINs are required).
    identificacion = forms.CharField(required=False, strip=True)

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.tags = [t.strip() for t in data.getlist("tags")] if data is not None else []
        self.uniones = [u.strip() for u in data.getlist("uniones")] if data is not None else []

    def clean(self):
        cleaned = super().clean()
        cleaned["tags"] = self._clean_tags()
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

    def _clean_tags(self) -> list[str]:
        tags = [t for t in self.tags if t]
        if not tags:
            raise forms.ValidationError("Elija al menos un spool.")
        if len(tags) > MAX_SPOOLS:
            raise forms.ValidationError(
                f"Máximo {MAX_SPOOLS} spools por acción (se enviaron {len(tags)})."
            )
        bad = [t for t in tags if not TAG_PATTERN.match(t)]
        formula_like = [t for t in tags if t.startswith(FORMULA_START)]
        if formula_like:
            known = set(Spool.objects.filter(tag__in=formula_like).values_list("tag", flat=True))
            bad += [t for t in formula_like if t not in known]
        if bad:
            raise forms.ValidationError(f"TAG inválido: {bad[0][:40]!r}.")
        return list(dict.fromkeys(tags))  # a tag listed twice is done once

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
            identificado_por=identified_by(c.get("identificacion") or "", c["worker"], account),
        )

    def first_error(self) -> str:
        for errors in self.errors.values():
            if errors:
                return errors[0]
        return "Datos inválidos."


class PinForm(forms.Form):
    """The PIN typed on the worker step's digit pad."""

    pin = forms.RegexField(
        regex=PIN_PATTERN,
        error_messages={
            "required": "Escriba su PIN.",
            "invalid": "El PIN tiene de 4 a 6 dígitos.",
        },
    )


class BadgeForm(forms.Form):
    """A badge read on the worker step (a scanner's keystrokes, or the camera); the code is
    judged by occupation.identify.worker_by_badge."""

    codigo = forms.CharField(required=False)
