"""The ``requests`` transport adapter that answers Google's URLs from the SQLite file."""

from __future__ import annotations

import logging
import os
import time
from datetime import timedelta
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from . import api
from .errors import REASONS, ApiError, simulated
from .store import LocalSheetStore

log = logging.getLogger(__name__)

SHEETS_URL = "https://sheets.googleapis.com/"
DRIVE_URL = "https://www.googleapis.com/"


def _read_timeout(timeout: Any) -> float | None:
    """The read part of a requests ``timeout`` (float, (connect, read) tuple or urllib3 Timeout)."""
    if timeout is None:
        return None
    if isinstance(timeout, tuple):
        timeout = timeout[1] if len(timeout) > 1 else timeout[0]
    read = getattr(timeout, "read_timeout", timeout)
    try:
        return None if read is None else float(read)
    except (TypeError, ValueError):
        return None


class LocalSheetsAdapter(BaseAdapter):
    """Serves the Sheets v4 API (and Drive ``files.get``) from a local SQLite file.

    Mount it on ``https://sheets.googleapis.com/`` of a ``requests.Session`` and hand the
    session to ``gspread.Client(auth=None, session=...)``.
    """

    def __init__(self, path: str | os.PathLike[str], store: LocalSheetStore | None = None) -> None:
        super().__init__()
        self.store = store or LocalSheetStore(path)

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        started = time.monotonic()
        method = (request.method or "GET").upper()
        url = request.url or ""
        try:
            call = api.route(method, url)
        except ApiError as exc:
            self.store.record("unknown", method != "GET", failure=str(exc.code))
            return self._response(request, exc.code, exc.body(), started)
        try:
            faults, fate, result = self.store.call(
                call.spreadsheet_id,
                call.kind,
                call.write,
                lambda book: api.execute(book, call, url, request.body),
            )
        except Exception as exc:  # noqa: BLE001 - a backend bug answers as Google's would
            log.exception("local sheet backend failed on %s %s", method, url)
            error = ApiError(500, f"Internal error encountered. ({type(exc).__name__}: {exc})")
            return self._response(request, 500, error.body(), started)
        if fate == "outage":
            raise requests.exceptions.ConnectionError(
                f"HTTPSConnectionPool(host='{api.SHEETS_HOST}', port=443): Max retries exceeded "
                f"with url: {url} (Caused by NewConnectionError: [Errno 111] Connection refused "
                "- local sheet backend: simulated outage)",
                request=request,
            )
        if isinstance(fate, int):
            status, body = fate, simulated(fate, call.write).body()
        elif isinstance(result, ApiError):
            status, body = result.code, result.body()
        else:
            assert isinstance(result, bytes)
            status, body = 200, result
        latency = faults.latency_ms / 1000
        read_timeout = _read_timeout(timeout)
        if latency:
            if read_timeout is not None and latency > read_timeout:
                # The call has landed; only the answer is lost, as with a real timeout.
                time.sleep(read_timeout)
                self.store.count_failure("timeout")
                raise requests.exceptions.ReadTimeout(
                    f"HTTPSConnectionPool(host='{api.SHEETS_HOST}', port=443): Read timed out. "
                    f"(read timeout={read_timeout})",
                    request=request,
                )
            time.sleep(latency)
        return self._response(request, status, body, started)

    def _response(
        self, request: requests.PreparedRequest, status: int, body: bytes, started: float
    ) -> requests.Response:
        resp = requests.Response()
        resp.status_code = status
        resp.reason = "OK" if status == 200 else REASONS.get(status, "Error")
        resp._content = body
        resp.headers = CaseInsensitiveDict(
            {"Content-Type": "application/json; charset=UTF-8", "Content-Length": str(len(body))}
        )
        resp.encoding = "utf-8"
        resp.url = request.url or ""
        resp.request = request
        resp.connection = self
        resp.elapsed = timedelta(seconds=time.monotonic() - started)
        return resp

    def close(self) -> None:
        self.store.close()


def local_session(path: str | os.PathLike[str]) -> requests.Session:
    """A ``requests.Session`` whose Google API calls go to the local SQLite workbook."""
    session = requests.Session()
    adapter = LocalSheetsAdapter(path)
    session.mount(SHEETS_URL, adapter)
    session.mount(DRIVE_URL, adapter)
    return session
