"""A tablet's live list: what a committed change removes from it, adds to it, or re-syncs.

Each open list (operación, acción, trabajador) remembers the rows it shows. Given the spools
that just changed, `LiveList.changes` reads them as they are now and says, row by row, what
the screen must do; `render_changes` turns that into the out-of-band swaps htmx applies,
with the same row template the page uses. No socket is needed to ask either.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.template.loader import render_to_string

from occupation import selectors
from spools.lifecycle import Accion, Operacion
from spools.models import Spool, Worker

# Past this many spools changed at once (an office edit of a whole column), the list is
# re-synced with one request instead of receiving rows one by one.
RESYNC_OVER = 50


@dataclass(frozen=True)
class RowChange:
    """One changed spool on one list: its row on screen goes, and/or a fresh row comes."""

    tag: str
    remove: bool  # the list showed it: that row is deleted first
    spool: Spool | None = None  # the row to add (at the end of its list), if any
    blocked: bool = False  # added to the locked list (REPARACIÓN TOMAR), not selectable

    @property
    def target(self) -> str:
        return "#blocked-list" if self.blocked else "#spool-list"


@dataclass(frozen=True)
class ListChanges:
    rows: list[RowChange] = field(default_factory=list)
    resync: int = 0  # how many spools changed, when too many to send row by row

    def __bool__(self) -> bool:
        return bool(self.rows) or self.resync > 0


class LiveList:
    """The rows one tablet's list shows, kept up to date change after change."""

    def __init__(self, operacion: Operacion, accion: Accion, worker: Worker) -> None:
        self.operacion = operacion
        self.accion = accion
        self.worker = worker
        self.shown, self.blocked_shown = self._on_screen()

    def changes(self, tags: list[str]) -> ListChanges:
        """What the changed spools `tags` do to this list; empty when they do not touch it."""
        if len(tags) > RESYNC_OVER:
            self.shown, self.blocked_shown = self._on_screen()
            return ListChanges(resync=len(tags))
        now = {
            s.tag: s
            for s in selectors.eligible(self.operacion, self.accion, self.worker, tags=tags)
        }
        blocked_now = {s.tag: s for s in self._blocked().filter(tag__in=tags)}
        rows = []
        for tag in tags:
            was = tag in self.shown or tag in self.blocked_shown
            self.shown.discard(tag)
            self.blocked_shown.discard(tag)
            if tag in now:
                self.shown.add(tag)
                rows.append(RowChange(tag, was, now[tag]))
            elif tag in blocked_now:
                self.blocked_shown.add(tag)
                rows.append(RowChange(tag, was, blocked_now[tag], blocked=True))
            elif was:
                rows.append(RowChange(tag, remove=True))
        return ListChanges(rows)

    def _blocked(self) -> QuerySet[Spool]:
        return selectors.blocked_in_list(self.operacion, self.accion)

    def _on_screen(self) -> tuple[set[str], set[str]]:
        """The rows the page shows (at most LIST_LIMIT), to know what a change removes."""
        tags = {
            s.tag
            for s in selectors.eligible(
                self.operacion, self.accion, self.worker, limit=selectors.LIST_LIMIT
            )
        }
        return tags, set(self._blocked().values_list("tag", flat=True))


def render_changes(changes: ListChanges, rows: dict | None = None) -> str:
    """The out-of-band swaps that apply `changes` on the tablet's page. `rows`: what the
    page's rows are rendered with besides the spool (e.g. "Definir uniones" and where its
    Volver leads), so a pushed row reads like a loaded one."""
    return render_to_string("occupation/_live_changes.html", {"changes": changes, **(rows or {})})
