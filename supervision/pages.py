"""The supervision pages by URL name, and the one service a view calls."""

from __future__ import annotations

from collections.abc import Callable

from supervision import flow, pauses, productivity, quality
from supervision.filters import Filters
from supervision.tables import Report

PAGES: dict[str, tuple[str, str, Callable[[Filters], Report]]] = {
    "productividad": (
        "Productividad",
        "PD por trabajador y día (ARM y SOLD), uniones por día, el total de la planta.",
        productivity.report,
    ),
    "calidad": (
        "Calidad",
        "Tasa de reparación por soldador, motivos de rechazo, ciclos, BLOQUEADOS.",
        quality.report,
    ),
    "flujo": (
        "Flujo",
        "Tiempo en cada etapa, spools en proceso por antigüedad, terminados por día.",
        flow.report,
    ),
    "pausas": (
        "Pausas",
        "Pausas abiertas con su motivo y duración, motivos del período.",
        pauses.report,
    ),
}


def build_report(page: str, filters: Filters) -> Report:
    """The page's pictures and tables for these filters (KeyError: no such page)."""
    return PAGES[page][2](filters)
