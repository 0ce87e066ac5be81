"""What /healthz reports: database, channel layer and workbook sync, no secrets."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.utils import timezone

from spools.models import SyncErrorKind, SyncState
from spools.workbook.gateway import backend_name


def _iso(dt) -> str | None:
    return dt.isoformat() if dt else None


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # noqa: BLE001 - health must report, not crash
        return f"error: {type(exc).__name__}"


def check_channel_layer() -> str:
    if not settings.REDIS_URL:
        return "ok (memoria, un proceso)"
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1).ping()
        return "ok"
    except redis.RedisError as exc:
        return f"error: {type(exc).__name__}"


def pending_outbox() -> int:
    from spools.workbook.outbox import pending_count

    return pending_count()


def sheet_error(state: SyncState) -> dict:
    """The workbook's trouble as /healthz publishes it: a short classified text (kind, HTTP
    status, since when), never the error's own text — a connection error names the
    spreadsheet in its URL. The full text stays in SyncState.last_error and the log. A
    structure error's text is shown: it only names the missing column and the sheet."""
    if state.structure_error:
        kind, status, detail = SyncErrorKind.ESTRUCTURA, None, state.structure_error
        since = state.last_error_since if state.last_error_kind == kind else None
    elif state.last_error:
        kind = SyncErrorKind(state.last_error_kind or SyncErrorKind.OTRO)
        status, detail = state.last_error_status, ""
        since = state.last_error_since or state.last_error_at
    else:
        return {"last_error": None, "last_error_kind": None, "last_error_since": None}
    text = kind.label + (f" ({status})" if status else "")
    if since:
        text += f" desde {timezone.localtime(since):%d-%m-%Y %H:%M}"
    if detail:
        text += f": {detail}"
    return {"last_error": text, "last_error_kind": kind.value, "last_error_since": _iso(since)}


def health() -> tuple[dict, bool]:
    """The report, and whether the app can serve (the database answers)."""
    database = check_database()
    layer = check_channel_layer()
    sheet: dict = {"backend": backend_name()}
    if database == "ok":
        state = SyncState.get()
        sheet.update(
            outbox_pending=pending_outbox(),
            last_pull_at=_iso(state.last_pull_at),
            last_flush_at=_iso(state.last_flush_at),
            **sheet_error(state),
            structure_error=state.structure_error or None,
        )
    else:
        sheet.update(outbox_pending=None, last_pull_at=None, last_flush_at=None, last_error=None)
    ok = database == "ok"
    degraded = not layer.startswith("ok") or bool(sheet.get("last_error"))
    status = "error" if not ok else ("degraded" if degraded else "ok")
    return {"status": status, "database": database, "channel_layer": layer, "sheet": sheet}, ok
