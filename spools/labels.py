"""Spool labels: what a label shows, its QR code, and the labels of an OT or NV.

The QR code encodes the TAG exactly and nothing else, so a scanner (or the tablet's camera)
types the TAG as the tablet's search would. It is drawn here as SVG by segno, which writes
only the modules as path data (the TAG never appears in the SVG), so it is safe to insert
into the page as it is; everything else on the label is escaped by the template.
"""

from __future__ import annotations

from dataclasses import dataclass

import segno
from django import forms
from django.utils.safestring import SafeString, mark_safe

from spools.models import Spool

# Q (25 % of the code words can be lost): steel-shop labels get dirt, scratches, grease.
QR_ERROR = "q"
# The four-module quiet zone the QR standard asks for, drawn inside the SVG (white), so no
# border or neighbouring text on the sheet can eat into it.
QR_BORDER = 4
# A batch page is one HTTP answer: an OT of thousands of spools is several pages.
MAX_LABELS = 500

FORMATOS = {"etiqueta": "Etiqueta 100×50 mm", "a4": "Hoja A4"}
# A label printer's roll: one label a page; an A4 sheet: two columns of five.
PER_SHEET = {"etiqueta": 1, "a4": 10}


@dataclass(frozen=True)
class Label:
    tag: str
    ot: str
    nv: str
    uniones: int
    qr: SafeString


def qr_svg(tag: str) -> SafeString:
    """The TAG's QR code as inline SVG, sized by the label's CSS (viewBox, no width/height)."""
    code = segno.make(tag, error=QR_ERROR, micro=False)
    svg = code.svg_inline(
        scale=1, border=QR_BORDER, omitsize=True, svgclass="qr", lineclass=None, light="#fff"
    )
    # segno emits only path data computed from the modules: no text from the TAG.
    return mark_safe(svg)


def label_for(spool: Spool) -> Label:
    return Label(spool.tag, spool.ot, spool.nv, spool.uniones_total, qr_svg(spool.tag))


def label_sheets(labels: list[Label], formato: str) -> list[list[Label]]:
    """The labels as printed pages, each page its own element so breaks fall between them."""
    n = PER_SHEET[formato]
    return [labels[i : i + n] for i in range(0, len(labels), n)]


class LabelBatchForm(forms.Form):
    """`/etiquetas/?ot=…&nv=…&formato=…`: which spools (an OT, an NV, or both) and how."""

    ot = forms.CharField(label="OT", required=False, max_length=60, strip=True)
    nv = forms.CharField(label="NV", required=False, max_length=60, strip=True)
    formato = forms.ChoiceField(label="Formato", choices=list(FORMATOS.items()), required=False)

    def clean_formato(self) -> str:
        return self.cleaned_data.get("formato") or "a4"


@dataclass(frozen=True)
class LabelBatch:
    ot: str
    nv: str
    labels: list[Label]
    total: int  # how many spools match (more than `labels` when over MAX_LABELS)

    @property
    def truncated(self) -> bool:
        return self.total > len(self.labels)


def label_batch(ot: str, nv: str) -> LabelBatch:
    """The labels of every spool of the OT and/or NV that is still in the sheet, by TAG.

    A spool gone from Operaciones keeps its page, but a new label for it is of no use."""
    if not (ot or nv):
        return LabelBatch(ot, nv, [], 0)
    spools = Spool.objects.filter(sheet_row__isnull=False).order_by("tag")
    # The office types OT/NV by hand: "ot-1923" is OT-1923.
    if ot:
        spools = spools.filter(ot__iexact=ot)
    if nv:
        spools = spools.filter(nv__iexact=nv)
    total = spools.count()
    return LabelBatch(ot, nv, [label_for(s) for s in spools[:MAX_LABELS]], total)


def known_orders() -> dict[str, list[str]]:
    """The OTs and NVs in the sheet, offered as suggestions in the batch form."""
    in_sheet = Spool.objects.filter(sheet_row__isnull=False)
    return {
        field: list(
            in_sheet.exclude(**{field: ""}).order_by(field).values_list(field, flat=True).distinct()
        )
        for field in ("ot", "nv")
    }
