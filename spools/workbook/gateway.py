"""The Sheets gateway: the only way in and out of the workbook.

`open_workbook()` gives the gspread `Spreadsheet` of the configured backend: Google's API
when ZEUES_SHEET_ID is set, the local Sheets backend otherwise. The same gspread calls run
against both. Every request goes through `RetryingHTTPClient`: rate limits (429), server
errors (5xx), timeouts and dropped connections are retried with exponential backoff and
jitter, then fail with `SheetUnavailableError`.

Every Sheets API request is built here: values reads and writes, and the structure changes
(add or delete sheets, grow or shrink a grid) that the flusher, import, demo and migration
send through `StructureBatch`, `add_sheets`, `delete_sheets` and `replace_sheets`.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import gspread
import requests
from django.conf import settings
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient
from gspread.utils import ValueInputOption, ValueRenderOption

from spools.workbook.columns import HeaderMap, quote_sheet

log = logging.getLogger(__name__)

# The open workbook's type, for callers that hold one without importing gspread themselves.
Spreadsheet = gspread.Spreadsheet

RETRYABLE_STATUS = {429, 500, 502, 503, 504}
SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]


class SheetUnavailableError(Exception):
    """The workbook could not be reached after the bounded retries."""


class RetryingHTTPClient(HTTPClient):
    """gspread's HTTP client with bounded exponential backoff (full jitter)."""

    # Retries, backoff and timeout come from settings at each request (a changed setting
    # applies at once to the cached client) unless set on the instance.
    backoff_base: float | None = None
    backoff_max: float | None = None

    @property
    def retries(self) -> int:
        return settings.ZEUES_SHEET_RETRIES

    def backoff_delay(self, attempt: int) -> float:
        """Full jitter: a random wait up to base·2^attempt, capped."""
        base = settings.ZEUES_SHEET_BACKOFF_BASE if self.backoff_base is None else self.backoff_base
        cap = settings.ZEUES_SHEET_BACKOFF_MAX if self.backoff_max is None else self.backoff_max
        return random.uniform(0, min(cap, base * (2**attempt)))

    def request(self, method: str, endpoint: str, **kwargs: Any) -> requests.Response:
        self.timeout = settings.ZEUES_SHEET_TIMEOUT
        attempt = 0
        while True:
            if method.lower() != "get":
                _pace_write()
            try:
                return super().request(method, endpoint, **kwargs)
            except APIError as exc:
                status = exc.response.status_code
                if status not in RETRYABLE_STATUS:
                    raise
                reason = f"HTTP {status}: {_api_message(exc)}"
            except (requests.ConnectionError, requests.Timeout) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            if attempt >= self.retries:
                raise SheetUnavailableError(
                    f"El libro de Google Sheets no responde tras {attempt + 1} intentos ({reason})."
                )
            delay = self.backoff_delay(attempt)
            log.warning("Sheets request failed (%s); retry %d in %.2fs", reason, attempt + 1, delay)
            time.sleep(delay)
            attempt += 1


def _api_message(exc: APIError) -> str:
    try:
        return exc.response.json()["error"]["message"]
    except Exception:  # noqa: BLE001 - any unreadable body: show its text instead
        return exc.response.text[:200]


_pace_lock = threading.Lock()
_last_write = 0.0


def _pace_write() -> None:
    """At most one write request per ZEUES_SHEET_MIN_WRITE_INTERVAL in this process.

    Retries count too, so a 429 storm can never push writes past Google's quota.
    """
    global _last_write
    interval = settings.ZEUES_SHEET_MIN_WRITE_INTERVAL
    with _pace_lock:
        wait = _last_write + interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        _last_write = time.monotonic()


_client_lock = threading.Lock()
_clients: dict[tuple, gspread.Client] = {}


def backend_name() -> str:
    return "google" if settings.ZEUES_SHEET_ID else "local"


def _make_client() -> gspread.Client:
    if settings.ZEUES_SHEET_ID:
        from google.oauth2.service_account import Credentials

        creds_file = settings.GOOGLE_APPLICATION_CREDENTIALS
        if not creds_file:
            raise SheetUnavailableError(
                "ZEUES_SHEET_ID está definido pero falta GOOGLE_APPLICATION_CREDENTIALS "
                "(el archivo JSON de la cuenta de servicio)."
            )
        creds = Credentials.from_service_account_file(creds_file, scopes=SCOPES)
        return gspread.Client(auth=creds, http_client=RetryingHTTPClient)
    from spools.workbook.local_sheet import local_session

    return gspread.Client(
        auth=None, session=local_session(settings.ZEUES_LOCAL_SHEET), http_client=RetryingHTTPClient
    )


def get_client() -> gspread.Client:
    """One client per configuration and thread (requests sessions are not thread-safe)."""
    key = (
        settings.ZEUES_SHEET_ID,
        settings.ZEUES_LOCAL_SHEET,
        settings.GOOGLE_APPLICATION_CREDENTIALS,
        threading.get_ident(),
    )
    with _client_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = _make_client()
        return client


def spreadsheet_id() -> str:
    if settings.ZEUES_SHEET_ID:
        return settings.ZEUES_SHEET_ID
    from spools.workbook.local_sheet import LOCAL_SPREADSHEET_ID

    return LOCAL_SPREADSHEET_ID


def open_workbook() -> Spreadsheet:
    """The gspread `Spreadsheet` of the configured backend (stable entry point)."""
    return get_client().open_by_key(spreadsheet_id())


# --- reading and writing without a metadata call ----------------------------------------
# Pulls and flushes talk to the values endpoints directly: opening a Spreadsheet object
# costs a metadata read, and the pull's budget is one request.


def read_value_ranges(ranges: Iterable[str]) -> list[dict]:
    """One values.batchGet of unformatted values (dates as serial numbers).

    Returns the API's ValueRange objects in order: `range` (bounded by the grid) and
    `values` (absent when empty).
    """
    reply = get_client().http_client.values_batch_get(
        spreadsheet_id(), list(ranges), params=_read_params(ValueRenderOption.unformatted)
    )
    return reply.get("valueRanges", [])


def _read_params(render: str) -> dict[str, str]:
    return {
        "valueRenderOption": render,
        "dateTimeRenderOption": "SERIAL_NUMBER",
        "majorDimension": "ROWS",
    }


def read_ranges(ranges: Iterable[str]) -> list[list[list]]:
    """Like read_value_ranges, the rows only: one list of rows per range ([] if empty)."""
    return [vr.get("values", []) for vr in read_value_ranges(ranges)]


def sheet_titles() -> set[str]:
    """The titles of the workbook's sheets: one metadata read (spreadsheets.get, titles only).
    Asked rarely (which optional sheets exist: see spools.workbook.pull)."""
    reply = get_client().http_client.fetch_sheet_metadata(
        spreadsheet_id(), params={"fields": "sheets.properties.title"}
    )
    return {s["properties"]["title"] for s in reply.get("sheets", [])}


def is_missing_sheet_error(exc: Exception, sheet: str) -> bool:
    """A read refused because one of its ranges names `sheet` and the workbook has no such
    sheet (the whole batchGet fails with "Unable to parse range")."""
    if not isinstance(exc, APIError) or exc.response.status_code != 400:
        return False
    message = _api_message(exc)
    return "Unable to parse range" in message and sheet.casefold() in message.casefold()


_RANGE_END_ROW = re.compile(r"[A-Z]*(\d+)$")


def grid_rows_of(value_range: dict) -> int | None:
    """The last row of a reply's range: for an open range like `A900:A`, the grid height."""
    m = _RANGE_END_ROW.search(value_range.get("range", "").split("!")[-1].split(":")[-1])
    return int(m[1]) if m else None


def add_rows(sheet: str, count: int) -> None:
    """Grow a sheet's grid by `count` rows (writing past the grid edge fails)."""
    wb = open_workbook()
    StructureBatch().grow(wb.worksheet(sheet).id, "ROWS", count).send(wb)


def sheet_range(sheet: str, cells: str = "") -> str:
    return f"{quote_sheet(sheet)}!{cells}" if cells else quote_sheet(sheet)


def split_header(sheet: str, rows: list[list]) -> tuple[HeaderMap, list[list]]:
    """The header map of a sheet read whole, and its data rows (row 2 onwards)."""
    header = rows[0] if rows else []
    return HeaderMap.from_row(sheet, header), rows[1:]


def write_cells(updates: Mapping[str, Any]) -> dict:
    """One values.batchUpdate with RAW input: text stays text, never a formula.

    `updates` maps an A1 range to a single value or a list of rows.
    """
    ranges = [(rng, v if isinstance(v, list) else [[v]]) for rng, v in updates.items()]
    if not ranges:
        return {}
    return get_client().http_client.values_batch_update(
        spreadsheet_id(), _values_batch_body(ranges, ValueInputOption.raw)
    )


def _values_batch_body(ranges: Iterable[tuple[str, list[list]]], option: str) -> dict:
    """A values.batchUpdate body writing each (A1 range, rows)."""
    data = [{"range": rng, "values": rows, "majorDimension": "ROWS"} for rng, rows in ranges]
    return {"valueInputOption": option, "data": data}


# --- talking to an open Spreadsheet ------------------------------------------------------
# Import, export, the demo and the migration work on a gspread Spreadsheet they already hold
# (and count its calls); every request they send is built here.


def read_sheet_values(
    wb: Spreadsheet, ranges: list[str], render: str = ValueRenderOption.unformatted
) -> list[list[list]]:
    """One values.batchGet (dates as serial numbers): one list of rows per range, in order.

    A range the reply leaves out reads as empty.
    """
    reply = wb.values_batch_get(ranges, params=_read_params(render))
    got = [vr.get("values", []) for vr in reply.get("valueRanges", [])]
    return got + [[] for _ in range(len(ranges) - len(got))]


def write_ranges(
    wb: Spreadsheet, ranges: Iterable[tuple[str, list[list]]], *, user_entered: bool = False
) -> dict:
    """One values.batchUpdate writing each (A1 range, rows).

    RAW by default (text stays text, never a formula); `user_entered` only for the cells meant
    to be parsed as a person typing them (dates, real formulas).
    """
    option = ValueInputOption.user_entered if user_entered else ValueInputOption.raw
    return wb.values_batch_update(_values_batch_body(ranges, option))


def write_rows(wb: Spreadsheet, top_left: str, rows: list[list]) -> dict:
    """One values.update, RAW, of `rows` from the A1 cell `top_left` on."""
    return wb.values_update(
        top_left,
        params={"valueInputOption": ValueInputOption.raw},
        body={"values": rows, "majorDimension": "ROWS"},
    )


# --- changing the workbook's structure ---------------------------------------------------


@dataclass(frozen=True)
class NewSheet:
    """A sheet to add: title, grid size (the API's default 1000×26 when not given), and id,
    position and hiding only when given."""

    title: str
    rows: int | None = None
    cols: int | None = None
    sheet_id: int | None = None
    index: int | None = None
    hidden: bool = False

    def request(self) -> dict:
        props: dict[str, Any] = {"title": self.title}
        if self.sheet_id is not None:
            props["sheetId"] = self.sheet_id
        if self.index is not None:
            props["index"] = self.index
        if self.hidden:
            props["hidden"] = True
        if self.rows is not None or self.cols is not None:
            grid = {"rowCount": self.rows, "columnCount": self.cols}
            props["gridProperties"] = {k: v for k, v in grid.items() if v is not None}
        return {"addSheet": {"properties": props}}


@dataclass
class StructureBatch:
    """Structure changes sent together in one spreadsheets.batchUpdate, applied in order."""

    requests: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.requests)

    def add_sheet(self, sheet: NewSheet) -> StructureBatch:
        self.requests.append(sheet.request())
        return self

    def delete_sheet(self, sheet_id: int) -> StructureBatch:
        self.requests.append({"deleteSheet": {"sheetId": sheet_id}})
        return self

    def grow(self, sheet_id: int, dimension: str, length: int) -> StructureBatch:
        """Append `length` ROWS or COLUMNS at the grid's end."""
        self.requests.append(
            {"appendDimension": {"sheetId": sheet_id, "dimension": dimension, "length": length}}
        )
        return self

    def shrink(self, sheet_id: int, dimension: str, start: int, end: int) -> StructureBatch:
        """Delete ROWS or COLUMNS [start, end) (0-based), with their cells."""
        span = {"sheetId": sheet_id, "dimension": dimension, "startIndex": start, "endIndex": end}
        self.requests.append({"deleteDimension": {"range": span}})
        return self

    def send(self, wb: Spreadsheet) -> dict:
        """One spreadsheets.batchUpdate; nothing is sent for an empty batch."""
        if not self.requests:
            return {}
        return wb.batch_update({"requests": self.requests})


def add_sheets(wb: Spreadsheet, sheets: Iterable[NewSheet]) -> list[int]:
    """Add sheets in one batchUpdate (none sent for no sheets); their ids, in order."""
    batch = StructureBatch()
    for sheet in sheets:
        batch.add_sheet(sheet)
    reply = batch.send(wb)
    return [r["addSheet"]["properties"]["sheetId"] for r in reply.get("replies", [])]


def delete_sheets(wb: Spreadsheet, sheet_ids: Iterable[int]) -> None:
    """Delete sheets in one batchUpdate (none sent for no sheets)."""
    batch = StructureBatch()
    for sheet_id in sheet_ids:
        batch.delete_sheet(sheet_id)
    batch.send(wb)


def replace_sheets(
    wb: Spreadsheet,
    new: Iterable[NewSheet],
    *,
    delete: Iterable[int],
    existing: Mapping[str, int],
    placeholder_prefix: str = "zeues-",
) -> dict:
    """Delete sheets and add `new` ones in a single batchUpdate.

    `existing` maps the workbook's titles to their ids. The API refuses to leave a
    spreadsheet without sheets, so a placeholder (a free title and id) is added first and
    deleted last. The new sheets get ids above a million that are not in use.
    """
    used = set(existing.values())
    free_ids = iter(i for i in range(1_000_001, 2_000_000) if i not in used)
    placeholder = next(free_ids)
    title = next(
        f"{placeholder_prefix}{n}"
        for n in range(1, 1000)
        if f"{placeholder_prefix}{n}" not in existing
    )
    batch = StructureBatch().add_sheet(NewSheet(title, sheet_id=placeholder))
    for sheet_id in delete:
        batch.delete_sheet(sheet_id)
    for sheet in new:
        batch.add_sheet(replace(sheet, sheet_id=next(free_ids)))
    return batch.delete_sheet(placeholder).send(wb)


# A request the API refused (not retried), for callers that must not import gspread.
SheetAPIError = APIError
