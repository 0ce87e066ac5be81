"""The outbox: what must still be written to the workbook (filled by the lifecycle issue)."""

from __future__ import annotations


def pending_count() -> int:
    return 0
