"""The one place where workbook cell values are read and written.

Every header, date, date-time, boolean and worker cell in the workbook goes through these
functions; the previous generation had three date parsers and eighteen header normalisers,
and each difference was a production bug.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings

SERIAL_EPOCH = date(1899, 12, 30)  # day 0 of spreadsheet serial numbers


class CellValueError(ValueError):
    """A cell that cannot be parsed; carries where it is so it can be reported."""

    def __init__(self, message: str, *, tag: str = "", column: str = "", value: object = None):
        super().__init__(message)
        self.message = message
        self.tag = tag
        self.column = column
        self.value = value

    def __str__(self) -> str:
        where = " ".join(p for p in (self.tag, self.column) if p)
        return f"{where}: {self.message}" if where else self.message


def plant_tz() -> tzinfo:
    return ZoneInfo(settings.TIME_ZONE)


# --- headers ---------------------------------------------------------------------------


def normalize_header(text: object) -> str:
    """`Fecha_QC_Metrología`, `fecha qc metrologia` and `FECHA_QC_METROLOGIA` → `fechaqcmetrologia`."""
    s = unicodedata.normalize("NFKD", str(text or ""))
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    return re.sub(r"[\s_\-]+", "", s).casefold()


# --- empties and text ------------------------------------------------------------------


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def cell_text(value: object) -> str:
    """A cell as plain text (numbers without a spurious `.0`)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# --- booleans --------------------------------------------------------------------------

_TRUE = {"true", "verdadero", "si", "sí", "s", "yes", "y", "1", "x", "✓", "activo"}
_FALSE = {"false", "falso", "no", "n", "0", "", "inactivo"}


def parse_bool(value: object, *, default: bool = False) -> bool:
    """TRUE/FALSE, Sí/No, 1/0 and checkbox values (real booleans)."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    s = str(value).strip().casefold()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False if s else default
    raise CellValueError(f"valor de sí/no no reconocido: {value!r}", value=value)


# --- dates -----------------------------------------------------------------------------

_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY_TIME = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_NUMBER = re.compile(r"^-?\d+(?:[.,]\d+)?$")


def _serial_to_datetime(serial: float) -> datetime:
    # Round to the second: serials carry float noise (46155.4818 → 11:33:48).
    seconds = round(float(serial) * 86400)
    return datetime.combine(SERIAL_EPOCH, time()) + timedelta(seconds=seconds)


def date_to_serial(d: date) -> int:
    return (d - SERIAL_EPOCH).days


def datetime_to_serial(dt: datetime) -> float:
    if dt.tzinfo is not None:
        dt = dt.astimezone(plant_tz()).replace(tzinfo=None)
    delta = dt - datetime.combine(SERIAL_EPOCH, time())
    return delta.days + delta.seconds / 86400


def parse_date(value: object) -> date | None:
    """A `Fecha_*` cell: DD-MM-YYYY, DD/MM/YYYY, YYYY-MM-DD, date-times of both, serials."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise CellValueError(f"fecha no reconocida: {value!r}", value=value)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float):
        return _serial_to_datetime(value).date()
    s = str(value).strip()
    try:
        if m := _DMY.match(s):
            return date(int(m[3]), int(m[2]), int(m[1]))
        if m := _DMY_TIME.match(s):  # a date-time in a date column: its day
            when = (int(m[3]), int(m[2]), int(m[1]), int(m[4]), int(m[5]), int(m[6] or 0))
            return datetime(*when).date()
        if m := _YMD.match(s):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if _NUMBER.match(s):
            return _serial_to_datetime(float(s.replace(",", "."))).date()
        return datetime.fromisoformat(s).date()
    except ValueError:
        raise CellValueError(f"fecha no reconocida: {value!r}", value=value) from None


def parse_datetime(value: object) -> datetime | None:
    """A `Fecha_Ocupacion` or `Timestamp` cell, as an aware datetime in plant time."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise CellValueError(f"fecha y hora no reconocida: {value!r}", value=value)
    tz = plant_tz()
    if isinstance(value, datetime):
        naive = value
    elif isinstance(value, date):
        naive = datetime.combine(value, time())
    elif isinstance(value, int | float):
        naive = _serial_to_datetime(value)
    else:
        s = str(value).strip()
        try:
            if m := _DMY_TIME.match(s):
                naive = datetime(
                    int(m[3]), int(m[2]), int(m[1]), int(m[4]), int(m[5]), int(m[6] or 0)
                )
            elif _DMY.match(s) or _YMD.match(s):
                naive = datetime.combine(parse_date(s), time())
            elif _NUMBER.match(s):
                naive = _serial_to_datetime(float(s.replace(",", ".")))
            else:
                naive = datetime.fromisoformat(s.replace("Z", "+00:00"))
        except (ValueError, CellValueError):
            raise CellValueError(f"fecha y hora no reconocida: {value!r}", value=value) from None
    if naive.tzinfo is not None:
        return naive.astimezone(tz)
    return naive.replace(tzinfo=tz)


def format_date(d: date | None) -> str:
    return d.strftime("%d-%m-%Y") if d else ""


def format_datetime(dt: datetime | None) -> str:
    if dt is None:
        return ""
    if dt.tzinfo is not None:
        dt = dt.astimezone(plant_tz())
    return dt.strftime("%d-%m-%Y %H:%M:%S")


# --- workers in cells ------------------------------------------------------------------

_WORKER_CELL = re.compile(r"\((\d+)\)\s*$")
WORKER_CELL_MAX = 60  # what the mirror keeps of a worker cell


@dataclass(frozen=True)
class WorkerRef:
    """A worker as written in a cell: `MR(93)`."""

    id: int
    short: str

    def __str__(self) -> str:
        return self.short


def short_name(worker_id: int, nombre: str, apellido: str) -> str:
    """First letter of Nombre + first letter of Apellido, upper case, then `(Id)` → `MR(93)`."""
    initials = ((nombre or "").strip()[:1] + (apellido or "").strip()[:1]).upper()
    return f"{initials}({worker_id})"


def parse_worker_cell(value: object) -> WorkerRef | None:
    """`MR(93)` → WorkerRef(93, "MR(93)"); the `(Id)` part identifies the worker."""
    if is_blank(value):
        return None
    s = cell_text(value)
    if len(s) > WORKER_CELL_MAX:
        raise CellValueError(
            f"trabajador demasiado largo ({len(s)} caracteres): {s[:40]!r}…", value=s
        )
    m = _WORKER_CELL.search(s)
    if not m:
        raise CellValueError(f"trabajador no reconocido (se espera p. ej. MR(93)): {s!r}", value=s)
    return WorkerRef(int(m[1]), s)


_FRACTIONS = {"½": 0.5, "¼": 0.25, "¾": 0.75}
_MIXED = re.compile(r"^(\d+)?\s*(?:(\d+)\s*/\s*(\d+)|([½¼¾]))$")


def parse_dn(value: object) -> Decimal | None:
    """DN_UNION in inches: `2`, `2.5`, `2,5`, `1/2`, `1 1/2`, `1½`, `¾` (> 0 and <= 72),
    rounded to 2 decimals; None for a blank cell."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise CellValueError(f"DN no reconocido: {value!r}", value=value)
    inches: float | None = None
    if isinstance(value, int | float):
        inches = float(value)
    else:
        s = str(value).strip().replace('"', "").strip()
        if _NUMBER.match(s):
            inches = float(s.replace(",", "."))
        elif m := _MIXED.match(s):
            whole = int(m[1] or 0)
            part = int(m[2]) / int(m[3]) if m[2] and int(m[3]) else _FRACTIONS.get(m[4] or "", 0)
            inches = whole + part
    if inches is None or not 0 < inches <= 72:
        raise CellValueError(f"DN no reconocido (pulgadas, > 0 y hasta 72): {value!r}", value=value)
    return Decimal(str(round(inches, 2)))


def format_pd(pd: Decimal | float) -> str:
    """Pulgadas-diámetro as shown: one decimal, a decimal comma (`12,5`)."""
    return f"{float(pd):.1f}".replace(".", ",")
