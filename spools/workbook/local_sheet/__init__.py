"""A local implementation of the Google Sheets v4 API that gspread uses.

It plugs into ``requests`` as a transport adapter, so the real gspread client runs unchanged
against a SQLite file shared by every process::

    client = gspread.Client(auth=None, session=local_session(path))
    sh = client.open_by_key(LOCAL_SPREADSHEET_ID)

``LocalSheetStore(path)`` exposes the call counters and the runtime faults (outage, latency,
injected 429/500/503) that every process using the same file obeys.
"""

from .adapter import LocalSheetsAdapter, local_session
from .store import LOCAL_SPREADSHEET_ID, Faults, LocalSheetStore

__all__ = [
    "LOCAL_SPREADSHEET_ID",
    "Faults",
    "LocalSheetStore",
    "LocalSheetsAdapter",
    "local_session",
]
