"""Cell values: what RAW / USER_ENTERED input becomes, and how a cell renders on the way out.

A stored cell is one of
  * ``str``  — text (``""`` is an empty cell),
  * ``int`` / ``float`` — a number, ``bool`` — a boolean,
  * ``{"v": serial, "n": pattern}`` — a date/time: the serial number and the strftime pattern it
    was typed in (so FORMATTED_VALUE gives back what the person typed),
  * ``{"v": number, "g": decimals}`` — a number typed with digit grouping (``2,000,000.01`` in
    en_US): Google keeps the grouped format it was typed in,
  * ``{"f": "=...", "v": value}`` — a formula and its computed value.
Plain text and numbers stay bare so whole rows can be served without touching each cell.

Numbers are read and written the way the spreadsheet's ``locale`` does: es_CL (the plant's
sheet, and the default) writes ``1,5``, en_US writes ``1.5``.
"""

from __future__ import annotations

import ast
import functools
import json
import math
import operator
import re
from datetime import date, datetime, timedelta
from typing import Any

RAW = "RAW"
USER_ENTERED = "USER_ENTERED"
FORMATTED = "FORMATTED_VALUE"
UNFORMATTED = "UNFORMATTED_VALUE"
FORMULA = "FORMULA"
SERIAL = "SERIAL_NUMBER"
FORMATTED_STRING = "FORMATTED_STRING"

EPOCH = datetime(1899, 12, 30)
_MAX_EXACT_INT = 2**53

# Decimal-comma locales: es_CL 1,5 (either mark is read as decimal, as the backend always did);
# decimal-point locales (en_US and any locale not listed) take "," only as digit grouping.
_COMMA_LANGUAGES = frozenset({"es", "pt", "fr", "de", "it", "nl"})
_POINT_LOCALES = frozenset({"es_MX", "es_US", "es_419", "de_CH"})
_NUMBER_RE = re.compile(r"^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?$")
_POINT_NUMBER_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_GROUPED_RE = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.(\d*))?$")
_DMY_RE = re.compile(r"^(\d{1,2})([-/])(\d{1,2})\2(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_ISO_RE = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$"
)
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_TRUE = {"TRUE", "VERDADERO"}
_FALSE = {"FALSE", "FALSO"}


class BadValue(ValueError):
    """A JSON value the API does not accept in ``values``."""


@functools.lru_cache(maxsize=64)
def decimal_comma(locale: str) -> bool:
    """True when the locale writes the decimal mark as a comma (es_CL ``1,5``)."""
    language = locale.split("_", 1)[0].lower()
    return language in _COMMA_LANGUAGES and locale not in _POINT_LOCALES


def normalize_number(x: int | float) -> int | float:
    """Google keeps doubles; integral ones come back as ``46155``, not ``46155.0``."""
    if isinstance(x, float):
        if not math.isfinite(x):
            raise BadValue(repr(x))
        if x.is_integer() and abs(x) < _MAX_EXACT_INT:
            return int(x)
        return x
    if abs(x) >= _MAX_EXACT_INT:
        return float(x)
    return x


def to_serial(dt: datetime) -> int | float:
    delta = dt - EPOCH
    return normalize_number(delta.days + delta.seconds / 86400)


def from_serial(serial: float) -> datetime:
    seconds = round(serial * 86400)
    return EPOCH + timedelta(seconds=seconds)


def _time_pattern(seconds: str | None) -> str:
    return " %H:%M:%S" if seconds is not None else " %H:%M"


def _parse_date(text: str) -> dict | None:
    m = _DMY_RE.match(text)
    try:
        if m:
            day, sep, month, year, hh, mm, ss = m.groups()
            d = date(int(year), int(month), int(day))
            pattern = f"%d{sep}%m{sep}%Y"
        else:
            m = _ISO_RE.match(text)
            if not m:
                return None
            year, month, day, hh, mm, ss = m.groups()
            d = date(int(year), int(month), int(day))
            pattern = "%Y-%m-%d"
        dt = datetime(d.year, d.month, d.day)
        if hh is not None:
            dt = dt.replace(hour=int(hh), minute=int(mm), second=int(ss or 0))
            pattern += _time_pattern(ss)
    except ValueError:
        return None  # 31-02-2026 is text, as in the Sheets UI
    return {"v": to_serial(dt), "n": pattern}


def _parse_time(text: str) -> dict | None:
    m = _TIME_RE.match(text)
    if not m:
        return None
    hh, mm, ss = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if hh > 23 or mm > 59 or ss > 59:
        return None
    return {
        "v": normalize_number((hh * 3600 + mm * 60 + ss) / 86400),
        "n": _time_pattern(m.group(3))[1:],
    }


_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


def _arith(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _arith(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        v = _arith(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _BINOPS[type(node.op)](_arith(node.left), _arith(node.right))
    raise ValueError("not arithmetic")


def evaluate_formula(formula: str) -> Any:
    """Only trivial arithmetic (``=1+2*3``) and literals; anything else is ``#ERROR!``."""
    expr = formula[1:].strip()
    if len(expr) >= 2 and expr[0] == expr[-1] == '"' and '"' not in expr[1:-1]:
        return expr[1:-1]
    if expr.upper() in ("TRUE", "FALSE"):
        return expr.upper() == "TRUE"
    if not re.fullmatch(r"[0-9.eE+\-*/^() ]+", expr):
        return "#ERROR!"
    try:
        return normalize_number(_arith(ast.parse(expr.replace("^", "**"), mode="eval")))
    except ZeroDivisionError:
        return "#DIV/0!"
    except (ValueError, SyntaxError, OverflowError, TypeError, BadValue):
        return "#ERROR!"


def _number(text: str) -> int | float:
    if re.fullmatch(r"[+-]?\d+", text):
        return normalize_number(int(text))
    return normalize_number(float(text))


def parse_number(text: str, locale: str) -> Any:
    """A typed number as the locale reads it; None when it is not one.

    es_CL: ``1,5`` and ``1.5`` are 1.5. en_US: ``1.5`` is 1.5, ``2,000,000.01`` is a number
    that keeps its grouped format, and ``1,5`` (a comma that is not grouping) is not a number.
    """
    if decimal_comma(locale):
        return _number(text.replace(",", ".")) if _NUMBER_RE.match(text) else None
    if _POINT_NUMBER_RE.match(text):
        return _number(text)
    grouped = _GROUPED_RE.match(text)
    if grouped is None:
        return None
    return {"v": _number(text.replace(",", "")), "g": len(grouped.group(1) or "")}


def parse_user_entered(text: str, locale: str) -> Any:
    """A string typed into a cell, read the way the spreadsheet's locale reads it."""
    if text == "":
        return ""
    if text[0] == "'":
        return text[1:]  # the apostrophe forces text and is not stored
    if text[0] == "=" and len(text) > 1:
        return {"f": text, "v": evaluate_formula(text)}
    s = text.strip()
    up = s.upper()
    if up in _TRUE:
        return True
    if up in _FALSE:
        return False
    number = parse_number(s, locale)
    if number is not None:
        return number
    parsed = _parse_date(s) or _parse_time(s)
    if parsed is not None:
        return parsed
    return text


def to_cell(value: Any, option: str, locale: str) -> Any:
    """A JSON input value → stored cell. ``None`` is handled by the caller (cell skipped)."""
    t = type(value)
    if t is str:
        return value if option == RAW else parse_user_entered(value, locale)
    if t is bool:
        return value
    if t is int or t is float:
        return normalize_number(value)
    raise BadValue(value)


def format_number(x: int | float, locale: str) -> str:
    """Google's automatic number format: no digit grouping, the locale's decimal mark."""
    if type(x) is int:
        return str(x)
    text = format(x, ".15g").replace("e", "E")
    if "E" in text:
        mant, exp = text.split("E")
        text = f"{mant}E{exp[0]}{exp[1:].lstrip('0') or '0'}"
    return text.replace(".", ",") if decimal_comma(locale) else text


def format_grouped(x: int | float, decimals: int, locale: str) -> str:
    """A number typed with grouping, shown as typed: en_US ``2,000,000.01``."""
    text = f"{x:,.{decimals}f}"
    return text.translate(_SWAP_MARKS) if decimal_comma(locale) else text


_SWAP_MARKS = str.maketrans({",": ".", ".": ","})


def render(cell: Any, vro: str, dtro: str, locale: str) -> Any:
    """One stored cell as the API returns it for that valueRenderOption/dateTimeRenderOption."""
    t = type(cell)
    if t is str:
        return cell
    if t is bool:
        if vro == FORMATTED:
            return "TRUE" if cell else "FALSE"
        return cell
    if t is int or t is float:
        return format_number(cell, locale) if vro == FORMATTED else cell
    if "f" in cell:
        if vro == FORMULA:
            return cell["f"]
        return render(cell["v"], vro, dtro, locale)
    if "g" in cell:
        return format_grouped(cell["v"], cell["g"], locale) if vro == FORMATTED else cell["v"]
    if vro == FORMATTED or dtro == FORMATTED_STRING:
        return from_serial(cell["v"]).strftime(cell["n"])
    return cell["v"]


TEXT, NUMBERS, DATES, FORMULAS = 0, 1, 2, 3


def row_kind(row: list) -> int:
    """TEXT only; NUMBERS (and booleans) too; DATES too; FORMULAS too."""
    kind = TEXT
    for c in row:
        t = c.__class__
        if t is str:
            continue
        if t is dict:
            if "f" in c:
                return FORMULAS
            kind = DATES
        elif kind == TEXT:
            kind = NUMBERS
    return kind


def _trimmed(values: list) -> list:
    while values and values[-1] == "" and values[-1].__class__ is str:
        values.pop()
    return values


def render_row(row: list, vro: str, dtro: str, locale: str) -> list:
    """A stored row as the API returns it, trailing empties trimmed."""
    return _trimmed([c if c.__class__ is str else render(c, vro, dtro, locale) for c in row])


def encode_row(row: list, locale: str) -> tuple[int, int, int, str, str | None, str | None]:
    """A trimmed, non-empty row → (n, lead, kind, data, unformatted, formatted) for storage.

    The two renderings are stored (None when equal to ``data``) so that reads, far more
    frequent than writes, copy JSON instead of rendering cell by cell. The formatted one is in
    the spreadsheet's locale: changing the locale re-encodes the rows holding numbers.
    """
    lead = 0
    while row[lead] == "" and row[lead].__class__ is str:
        lead += 1
    kind = row_kind(row)
    data = _dumps(row)
    unf = _dumps(render_row(row, UNFORMATTED, SERIAL, locale)) if kind >= DATES else None
    fmt = _dumps(render_row(row, FORMATTED, SERIAL, locale)) if kind >= NUMBERS else None
    return len(row), lead, kind, data, unf, fmt


def prerendered(
    kind: int, data: str, unf: str | None, fmt: str | None, vro: str, dtro: str
) -> str | None:
    """The stored JSON that already is the reply for this render mode, if there is one."""
    if vro == FORMATTED:
        return fmt if fmt is not None else data
    if kind <= NUMBERS:
        return data
    if dtro == FORMATTED_STRING:
        return None
    if vro == UNFORMATTED or kind == DATES:
        return unf if unf is not None else data
    return None  # FORMULA with formulas in the row: rendered from data


def is_empty(cell: Any) -> bool:
    return cell == "" and cell.__class__ is str


def sort_key(cell: Any) -> tuple:
    """Sheets order: numbers (and dates), then text (case-insensitive), then booleans."""
    if isinstance(cell, dict):
        cell = cell["v"]
    t = type(cell)
    if t is bool:
        return (2, cell)
    if t is int or t is float:
        return (0, cell)
    if isinstance(cell, str) and cell.startswith("#"):
        return (3, cell)
    return (1, str(cell).casefold())
