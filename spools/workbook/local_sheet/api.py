"""Routing: an HTTP request for the Sheets v4 API → the handler that answers it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from . import sheets_api, values_api
from .errors import ApiError, bad_request, not_found
from .store import Book

SHEETS_HOST = "sheets.googleapis.com"
DRIVE_HOST = "www.googleapis.com"
_SHEETS_PREFIX = "/v4/spreadsheets/"
_DRIVE_PREFIX = "/drive/v3/files/"


@dataclass(frozen=True)
class Call:
    """One API call: which endpoint (``kind``), on what, and whether it writes."""

    kind: str
    write: bool
    spreadsheet_id: str = ""
    range: str = ""


_WRITES = {
    "spreadsheets.batchUpdate",
    "values.update",
    "values.batchUpdate",
    "values.append",
    "values.clear",
    "values.batchClear",
}
_METHODS = {
    "spreadsheets.get": "GET",
    "spreadsheets.batchUpdate": "POST",
    "values.get": "GET",
    "values.batchGet": "GET",
    "values.update": "PUT",
    "values.batchUpdate": "POST",
    "values.append": "POST",
    "values.clear": "POST",
    "values.batchClear": "POST",
    "drive.files.get": "GET",
}


def route(method: str, url: str) -> Call:
    """Name the endpoint of a request; unknown endpoints are a Google-shaped 404."""
    parts = urlsplit(url)
    path = parts.path
    kind, sid, rng = "", "", ""
    if parts.hostname == DRIVE_HOST and path.startswith(_DRIVE_PREFIX):
        kind, sid = "drive.files.get", unquote(path[len(_DRIVE_PREFIX) :])
    elif parts.hostname == SHEETS_HOST and path.startswith(_SHEETS_PREFIX):
        rest = path[len(_SHEETS_PREFIX) :]
        if "/" not in rest:
            if rest.endswith(":batchUpdate"):
                kind, sid = "spreadsheets.batchUpdate", rest[: -len(":batchUpdate")]
            elif ":" not in rest:
                kind, sid = "spreadsheets.get", rest
        else:
            sid, tail = rest.split("/", 1)
            if tail in ("values:batchGet", "values:batchUpdate", "values:batchClear"):
                kind = "values." + tail.split(":", 1)[1]
            elif tail.startswith("values/"):
                encoded = tail[len("values/") :]
                method_kind = {"GET": "values.get", "PUT": "values.update"}.get(method.upper())
                for verb in ("append", "clear"):
                    if encoded.endswith(":" + verb):
                        encoded, method_kind = encoded[: -len(verb) - 1], "values." + verb
                        break
                kind, rng = method_kind or "", unquote(encoded)
        sid = unquote(sid)
    if not kind or _METHODS[kind] != method.upper():
        raise ApiError(404, f"Method not found: {method.upper()} {path}")
    return Call(kind, kind in _WRITES, sid, rng)


def _params(query: str) -> tuple[dict[str, Any], list[str]]:
    multi = parse_qs(query, keep_blank_values=True)
    single = {k: v[0] for k, v in multi.items()}
    return single, multi.get("ranges", [])


def _body(raw: bytes | str | None) -> dict:
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise bad_request("Invalid JSON payload received.") from None
    if not isinstance(body, dict):
        raise bad_request("Invalid JSON payload received. Expected an object.")
    return body


def _drive_file(book: Book, call: Call, params: dict) -> dict:
    row = book.con.execute(
        "SELECT id, title, created, modified FROM spreadsheet WHERE id=?", (call.spreadsheet_id,)
    ).fetchone()
    if row is None:
        raise ApiError(404, f"File not found: {call.spreadsheet_id}.")
    sid, title, created, modified = row
    meta = {
        "kind": "drive#file",
        "id": sid,
        "name": title,
        "mimeType": "application/vnd.google-apps.spreadsheet",
        "createdTime": created,
        "modifiedTime": modified,
    }
    if params.get("fields"):
        meta = sheets_api.apply_field_mask(meta, sheets_api.parse_field_mask(params["fields"]))
    return meta


def execute(book: Book, call: Call, url: str, raw_body: bytes | str | None) -> bytes:
    """Answer one call against the workbook (inside the caller's transaction).

    Raises ApiError for an error reply; the caller rolls back whatever was done.
    """
    params, ranges = _params(urlsplit(url).query)
    if call.kind == "drive.files.get":
        return _encode(_drive_file(book, call, params))
    body = _body(raw_body)
    exists = book.con.execute(
        "SELECT 1 FROM spreadsheet WHERE id=?", (call.spreadsheet_id,)
    ).fetchone()
    if not exists:
        raise not_found()
    kind = call.kind
    result: dict | str
    if kind == "spreadsheets.get":
        result = sheets_api.spreadsheets_get(book, params, ranges)
    elif kind == "spreadsheets.batchUpdate":
        result = sheets_api.batch_update(book, body)
    elif kind == "values.get":
        result = values_api.values_get(book, call.range, params)
    elif kind == "values.batchGet":
        result = values_api.values_batch_get(book, ranges, params)
    elif kind == "values.update":
        result = values_api.values_update(book, call.range, params, body)
    elif kind == "values.batchUpdate":
        result = values_api.values_batch_update(book, body)
    elif kind == "values.append":
        result = values_api.values_append(book, call.range, params, body)
    elif kind == "values.clear":
        result = values_api.values_clear(book, call.range)
    else:
        result = values_api.values_batch_clear(book, body)
    return _encode(result)


def _encode(result: dict | str) -> bytes:
    if isinstance(result, str):
        return result.encode()
    return json.dumps(result, ensure_ascii=False).encode()
