"""The workbook's shape: sheet names and the columns the app uses (domain.md "The workbook").

Columns are always found by normalised header name at the time of use, never by a
cached position: people insert, move and sort columns and rows at any time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from spools.workbook.values import normalize_header

# The names asked for are the app's few constants, asked once per cell of a pull: the
# normalised form is computed once each.
_normalized_name = lru_cache(maxsize=1024)(normalize_header)

OPERACIONES = "Operaciones"
TRABAJADORES = "Trabajadores"
ROLES = "Roles"
METADATA = "Metadata"
UNIONES = "Uniones"


class Col:
    """Operaciones column names, as the app writes them in a header."""

    TAG_SPOOL = "TAG_SPOOL"
    OT = "OT"
    NV = "NV"
    FECHA_MATERIALES = "Fecha_Materiales"
    ARMADOR = "Armador"
    FECHA_ARMADO = "Fecha_Armado"
    SOLDADOR = "Soldador"
    FECHA_SOLDADURA = "Fecha_Soldadura"
    FECHA_QC_METROLOGIA = "Fecha_QC_Metrologia"
    OCUPADO_POR = "Ocupado_Por"
    FECHA_OCUPACION = "Fecha_Ocupacion"
    VERSION = "version"
    ESTADO_DETALLE = "Estado_Detalle"
    # Optional: the spool's notes, one line each, appended by the app and typed by the
    # office alike (never required; where it is missing notes stay in the app).
    NOTAS = "Notas"


class UCol:
    """Uniones column names (uniones.md "The workbook")."""

    ID = "ID"  # written `<TAG_SPOOL>+<N_UNION>` on rows the app creates; never read
    OT = "OT"
    TAG_SPOOL = "TAG_SPOOL"
    N_UNION = "N_UNION"
    DN_UNION = "DN_UNION"
    TIPO_UNION = "TIPO_UNION"
    ARM_FECHA_INICIO = "ARM_FECHA_INICIO"
    ARM_FECHA_FIN = "ARM_FECHA_FIN"
    ARM_WORKER = "ARM_WORKER"
    SOL_FECHA_INICIO = "SOL_FECHA_INICIO"
    SOL_FECHA_FIN = "SOL_FECHA_FIN"
    SOL_WORKER = "SOL_WORKER"
    NDT_UNION = "NDT_UNION"
    R_NDT_UNION = "R_NDT_UNION"
    NDT_FECHA = "NDT_FECHA"
    NDT_STATUS = "NDT_STATUS"
    VERSION = "version"


UNIONES_COLUMNS = (
    UCol.ID,
    UCol.OT,
    UCol.TAG_SPOOL,
    UCol.N_UNION,
    UCol.DN_UNION,
    UCol.TIPO_UNION,
    UCol.ARM_FECHA_INICIO,
    UCol.ARM_FECHA_FIN,
    UCol.ARM_WORKER,
    UCol.SOL_FECHA_INICIO,
    UCol.SOL_FECHA_FIN,
    UCol.SOL_WORKER,
    UCol.NDT_UNION,
    UCol.R_NDT_UNION,
    UCol.NDT_FECHA,
    UCol.NDT_STATUS,
    UCol.VERSION,
)
# Written by the app on a union's row (NDT_* are reserved for inspection, left as they are).
UNION_APP_OWNED_COLUMNS = (
    UCol.ARM_FECHA_INICIO,
    UCol.ARM_FECHA_FIN,
    UCol.ARM_WORKER,
    UCol.SOL_FECHA_INICIO,
    UCol.SOL_FECHA_FIN,
    UCol.SOL_WORKER,
    UCol.VERSION,
)
# Without these a Uniones sheet cannot be read (the rest are read when present).
UNIONES_REQUIRED = (UCol.TAG_SPOOL, UCol.N_UNION, UCol.DN_UNION, UCol.TIPO_UNION)
# A Uniones header with these is read whole (without the app-owned ones, known unions keep
# their work as the mirror has it); a flush with union writes refuses to write without them.
UNIONES_COMPLETE = UNIONES_REQUIRED + UNION_APP_OWNED_COLUMNS


class CounterCol:
    """Optional Operaciones columns the app keeps equal to Uniones (never required)."""

    TOTAL_UNIONES = "Total_Uniones"
    UNIONES_ARM = "Uniones_ARM_Completadas"
    UNIONES_SOLD = "Uniones_SOLD_Completadas"
    PULGADAS_ARM = "Pulgadas_ARM"
    PULGADAS_SOLD = "Pulgadas_SOLD"


OPERACIONES_COUNTER_COLUMNS = (
    CounterCol.TOTAL_UNIONES,
    CounterCol.UNIONES_ARM,
    CounterCol.UNIONES_SOLD,
    CounterCol.PULGADAS_ARM,
    CounterCol.PULGADAS_SOLD,
)
# The most a Google Sheets cell holds: a Notas cell that would grow past it is left alone.
CELL_MAX_CHARS = 50_000
# Optional Metadata column, set on per-union rows when present (always in Metadata_JSON).
METADATA_N_UNION = "N_UNION"


V21_COLUMNS = (
    Col.TAG_SPOOL,
    Col.OT,
    Col.NV,
    Col.FECHA_MATERIALES,
    Col.ARMADOR,
    Col.FECHA_ARMADO,
    Col.SOLDADOR,
    Col.FECHA_SOLDADURA,
    Col.FECHA_QC_METROLOGIA,
)
V30_NEW_COLUMNS = (Col.OCUPADO_POR, Col.FECHA_OCUPACION, Col.VERSION, Col.ESTADO_DETALLE)
OPERACIONES_COLUMNS = V21_COLUMNS + V30_NEW_COLUMNS

# Written by the app; every other column is the office's and is only read.
APP_OWNED_COLUMNS = (
    Col.ARMADOR,
    Col.FECHA_ARMADO,
    Col.SOLDADOR,
    Col.FECHA_SOLDADURA,
    Col.FECHA_QC_METROLOGIA,
    Col.OCUPADO_POR,
    Col.FECHA_OCUPACION,
    Col.VERSION,
    Col.ESTADO_DETALLE,
)

TRABAJADORES_COLUMNS = ("Id", "Nombre", "Apellido", "Activo")
ROLES_COLUMNS = ("Id", "Rol", "Activo")
METADATA_COLUMNS = (
    "ID",
    "Timestamp",
    "Evento_Tipo",
    "TAG_SPOOL",
    "Worker_ID",
    "Worker_Nombre",
    "Operacion",
    "Accion",
    "Fecha_Operacion",
    "Metadata_JSON",
)

REQUIRED_COLUMNS = {
    OPERACIONES: OPERACIONES_COLUMNS,
    TRABAJADORES: TRABAJADORES_COLUMNS,
    ROLES: ROLES_COLUMNS,
    METADATA: METADATA_COLUMNS,
}


class MissingColumnError(Exception):
    """A required column is not in a sheet's header: the app refuses to write."""

    def __init__(self, sheet: str, columns: list[str]):
        self.sheet = sheet
        self.columns = columns
        names = ", ".join(columns)
        super().__init__(
            f"Falta la columna {names} en la hoja {sheet} del libro: "
            "no se escribe nada hasta que se corrija el encabezado."
        )


@dataclass(frozen=True)
class HeaderMap:
    """Positions (0-based) of the columns of one sheet, found by normalised name.

    Built from the header row each time the sheet is read; never kept across writes.
    """

    sheet: str
    headers: tuple[str, ...]
    index: dict[str, int]
    duplicates: tuple[str, ...] = ()

    @classmethod
    def from_row(cls, sheet: str, header_row: list) -> HeaderMap:
        index: dict[str, int] = {}
        dups: list[str] = []
        headers = tuple("" if h is None else str(h) for h in header_row)
        for i, h in enumerate(headers):
            key = normalize_header(h)
            if not key:
                continue
            if key in index:
                dups.append(h)  # the first column with that name wins
                continue
            index[key] = i
        return cls(sheet, headers, index, tuple(dups))

    def find(self, name: str) -> int | None:
        return self.index.get(_normalized_name(name))

    def col(self, name: str) -> int:
        i = self.find(name)
        if i is None:
            raise MissingColumnError(self.sheet, [name])
        return i

    def missing(self, names: tuple[str, ...] | None = None) -> list[str]:
        wanted = REQUIRED_COLUMNS.get(self.sheet, ()) if names is None else names
        return [n for n in wanted if self.find(n) is None]

    def require(self, names: tuple[str, ...] | None = None) -> HeaderMap:
        missing = self.missing(names)
        if missing:
            raise MissingColumnError(self.sheet, missing)
        return self

    def get(self, row: list, name: str) -> object:
        i = self.find(name)
        if i is None or i >= len(row):
            return None
        return row[i]


def column_letter(index0: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    n = index0 + 1
    letters = ""
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def a1(sheet: str, row1: int, col0: int) -> str:
    """An A1 reference with the sheet name quoted (works for any name)."""
    return f"{quote_sheet(sheet)}!{column_letter(col0)}{row1}"


def quote_sheet(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"
