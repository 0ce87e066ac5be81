"""The union definitions form (`POST /spools/<TAG>/uniones/`) → a UnionEdit."""

from __future__ import annotations

from django import forms

from spools.lifecycle import TipoUnion
from spools.unions import UnionAccion, UnionEdit
from spools.workbook.values import CellValueError, parse_dn

TIPOS = ", ".join(TipoUnion.values[:-1]) + " o " + TipoUnion.values[-1]


class UnionForm(forms.Form):
    accion = forms.ChoiceField(
        choices=UnionAccion.choices,
        error_messages={
            "required": "Falta la acción: agregar, editar o eliminar.",
            "invalid_choice": "Acción desconocida: «%(value)s» (agregar, editar o eliminar).",
        },
    )
    n_union = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=9999,
        error_messages={
            "invalid": "El número de unión debe ser un número entero.",
            "min_value": "El número de unión debe ser 1 o más.",
            "max_value": "El número de unión debe ser 9999 o menos.",
        },
    )
    dn_union = forms.CharField(required=False, max_length=20, strip=True)
    tipo_union = forms.CharField(required=False, max_length=10, strip=True)

    def clean_dn_union(self):
        value = self.cleaned_data["dn_union"]
        if not value:
            return None
        try:
            return parse_dn(value)  # the sheet's one reader of DN: 2, 2,5, 1 1/2, ¾ …
        except CellValueError:
            raise forms.ValidationError(
                f"DN no válido: «{value}». En pulgadas, mayor que 0 y hasta 72 "
                "(por ejemplo 2, 2,5 o 1 1/2)."
            ) from None

    def clean_tipo_union(self) -> str:
        value = self.cleaned_data["tipo_union"].upper()
        if value and value not in TipoUnion.values:
            raise forms.ValidationError(f"Tipo de unión desconocido: «{value}» ({TIPOS}).")
        return value

    def clean(self):
        data = super().clean()
        accion = data.get("accion")
        if accion in (UnionAccion.EDITAR, UnionAccion.ELIMINAR) and not data.get("n_union"):
            if "n_union" not in self.errors:
                self.add_error("n_union", "Falta el número de la unión (n_union).")
        if accion in (UnionAccion.AGREGAR, UnionAccion.EDITAR):
            if data.get("dn_union") is None and "dn_union" not in self.errors:
                self.add_error("dn_union", "Falta el DN de la unión (pulgadas).")
            if not data.get("tipo_union") and "tipo_union" not in self.errors:
                self.add_error("tipo_union", f"Falta el tipo de unión ({TIPOS}).")
        return data

    def edit(self) -> UnionEdit:
        data = self.cleaned_data
        return UnionEdit(
            accion=data["accion"],
            n_union=data.get("n_union"),
            dn_union=data.get("dn_union"),
            tipo_union=data.get("tipo_union") or "",
        )

    def first_error(self) -> str:
        """The first message, in the order of the fields (one line for the screen)."""
        for name in (*self.fields, "__all__"):
            if name in self.errors:
                return self.errors[name][0]
        return "Datos no válidos."
