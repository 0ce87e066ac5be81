"""The Sheets gateway: the only way in and out of the workbook.

`open_workbook()` gives the gspread `Spreadsheet` of the configured backend: Google's API
when ZEUES_SHEET_ID is set, the local Sheets backend otherwise. The same gspread calls run
against both. Every request goes through `RetryingHTTPClient`: rate limits (429), server
errors (5xx), timeouts and dropped connections are retried with exponential backoff and
jitter, then fail with `SheetUnavailableError`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

import gspread
import requests
from django.conf import settings
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient
from gspread.utils import ValueInputOption, ValueRenderOption

from spools.workbook import HeaderMap, quote_sheet

log = logging.getLogger(__name__)

RETRYABLE_STATUS = {429, 500, 502, 503, 504}
SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]


class SheetUnavailableError(Exception):
    """The workbook could not be reached after the bounded retries."""


class RetryingHTTPClient(HTTPClient):
    """gspread's HTTP client with bounded exponential backoff (full jitter)."""

    retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 32.0

    def __init__(self, auth: Any, session: requests.Session | None = None) -> None:
        super().__init__(auth, session)
        self.retries = settings.ZEUES_SHEET_RETRIES
        self.backoff_base = settings.ZEUES_SHEET_BACKOFF_BASE
        self.backoff_max = settings.ZEUES_SHEET_BACKOFF_MAX
        self.timeout = settings.ZEUES_SHEET_TIMEOUT

    def backoff_delay(self, attempt: int) -> float:
        """Full jitter: a random wait up to base·2^attempt, capped."""
        return random.uniform(0, min(self.backoff_max, self.backoff_base * (2**attempt)))

    def request(self, method: str, endpoint: str, **kwargs: Any) -> requests.Response:
        attempt = 0
        while True:
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
    from spools.local_sheet import local_session

    return gspread.Client(
        auth=None, session=local_session(settings.ZEUES_LOCAL_SHEET), http_client=RetryingHTTPClient
    )


def get_client() -> gspread.Client:
    """One client per configuration and thread (requests sessions are not thread-safe)."""
    key = (
        settings.ZEUES_SHEET_ID,
        settings.ZEUES_LOCAL_SHEET,
        settings.ZEUES_SHEET_RETRIES,
        settings.ZEUES_SHEET_BACKOFF_BASE,
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
    from spools.local_sheet import LOCAL_SPREADSHEET_ID

    return LOCAL_SPREADSHEET_ID


def open_workbook() -> gspread.Spreadsheet:
    """The gspread `Spreadsheet` of the configured backend (stable entry point)."""
    return get_client().open_by_key(spreadsheet_id())


# --- reading and writing without a metadata call ----------------------------------------
# Pulls and flushes talk to the values endpoints directly: opening a Spreadsheet object
# costs a metadata read, and the pull's budget is one request.


def read_ranges(ranges: Iterable[str]) -> list[list[list]]:
    """One values.batchGet of unformatted values (dates as serial numbers).

    Returns one list of rows per range, in order; empty ranges give [].
    """
    ranges = list(ranges)
    reply = get_client().http_client.values_batch_get(
        spreadsheet_id(),
        ranges,
        params={
            "valueRenderOption": ValueRenderOption.unformatted,
            "dateTimeRenderOption": "SERIAL_NUMBER",
            "majorDimension": "ROWS",
        },
    )
    return [vr.get("values", []) for vr in reply.get("valueRanges", [])]


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
    data = []
    for rng, value in updates.items():
        values = value if isinstance(value, list) else [[value]]
        data.append({"range": rng, "values": values, "majorDimension": "ROWS"})
    if not data:
        return {}
    return get_client().http_client.values_batch_update(
        spreadsheet_id(), {"valueInputOption": ValueInputOption.raw, "data": data}
    )
