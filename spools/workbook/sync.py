"""The sync cycle: flush the outbox to the workbook and pull the workbook into the mirror.

One cycle costs at most one read (one values.batchGet locating rows, columns and the
Metadata tail — the whole Operaciones sheet, and Uniones when the workbook has it, when a
pull is due or a note is to be appended, which serves both) and one write (one values.batchUpdate with every pending
cell, union row and Metadata row). Rarely more: when TAG_SPOOL, N_UNION or ID moved column
since the last cycle, when the Metadata or Uniones grid must grow, when whether the workbook
has a Uniones sheet is not known or is asked again (one metadata read, see
spools.workbook.pull), or when Uniones vanished and the read is made again without it. The
flush's steps (plan the read, locate, build the write, commit) are spools.workbook.flush.

Exactly once: each Metadata row carries its event's ID; the read shows which IDs already
landed (a flush that died between its two calls, or a request that timed out after
landing), and those are not written again. The re-read tail starts before the last row a
write is *known* to have filled, so it always covers a write whose outcome was lost. Cells
are idempotent (same text, same place).

Every flush checks both headers in its one read: with a required column missing, nothing
is written anywhere (SyncState.structure_error says which, and actions answer 503).

One writer: only the holder of a database lease runs cycles, so any number of processes
may try. A command that needs the workbook up to date (`export_workbook`,
`sync_sheets --once`) does not flush beside the holder: it files a SyncRequest and waits
for a cycle that began after it — run by the holder, or by itself when the lease is free
(`sync_now`). Two flushers writing in an order nobody controls once put a stale row over
a newer one.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import DateTimeField, ExpressionWrapper, Max, Q
from django.db.models.functions import Now
from django.utils import timezone

from spools.models import OutboxEntry, SyncErrorKind, SyncLease, SyncRequest, SyncState
from spools.signals import spools_changed
from spools.workbook import flush as flush_steps
from spools.workbook import gateway as sheets
from spools.workbook.columns import UNIONES, MissingColumnError
from spools.workbook.flush import LeaseLost, ReadPlan  # LeaseLost: raised by commit, caught here
from spools.workbook.pull import (
    PullResult,
    apply_pull,
    check_uniones_sheet,
    note_uniones_sheet,
    pull_workers,
    uniones_check_due,
    workers_due,
)

log = logging.getLogger(__name__)

LEASE_NAME = "sheets-sync"
LEASE_SECONDS = 20  # renewed every loop turn and right before each write
MAX_ENTRIES_PER_FLUSH = 1000
IDLE_POLL_SECONDS = 0.25
REQUEST_POLL_SECONDS = 0.05
REQUEST_MAX_AGE = timedelta(minutes=10)  # a request whose maker died is forgotten then
DEFAULT_SYNC_TIMEOUT = 60.0


@dataclass
class CycleResult:
    pulled: PullResult | None = None
    entries_flushed: int = 0
    cells_written: int = 0
    metadata_written: int = 0
    metadata_already_there: int = 0
    unions_written: int = 0
    error: str = ""
    pull_error: str = ""
    lease_lost: bool = False
    changed_tags: list[str] = field(default_factory=list)

    @property
    def did_anything(self) -> bool:
        return bool(self.pulled or self.entries_flushed)


# --- lease ---------------------------------------------------------------------------------


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def acquire_lease(holder: str, seconds: int = LEASE_SECONDS) -> bool:
    """Take or renew the sync lease; False while another live holder has it.

    Expiry is computed and compared with the database's clock, so processes on hosts whose
    clocks disagree still agree on when a lease has run out.
    """
    until = ExpressionWrapper(Now() + timedelta(seconds=seconds), output_field=DateTimeField())
    with transaction.atomic():
        taken = (
            SyncLease.objects.filter(name=LEASE_NAME)
            .filter(Q(holder=holder) | Q(expires_at__lt=Now()))
            .update(holder=holder, expires_at=until)
        )
        if taken:
            return True
        if SyncLease.objects.filter(name=LEASE_NAME).exists():
            return False
    try:
        with transaction.atomic():
            SyncLease.objects.create(name=LEASE_NAME, holder=holder, expires_at=timezone.now())
            SyncLease.objects.filter(name=LEASE_NAME).update(expires_at=until)
        return True
    except IntegrityError:
        return False


def release_lease(holder: str) -> None:
    SyncLease.objects.filter(name=LEASE_NAME, holder=holder).delete()


class WorkbookBusy(Exception):
    """Another process keeps renewing the sync lease: a web process or a sync worker runs."""

    def __init__(self, holder: str) -> None:
        super().__init__(
            f"La sincronización con el libro está activa (turno: {holder}). Detenga el proceso "
            "web y el worker (sync_sheets) y vuelva a ejecutar el comando."
        )


@contextlib.contextmanager
def exclusive_workbook(
    wait: float, progress: Callable[[str], None] = lambda _: None
) -> Iterator[None]:
    """Hold the sync lease while a tool changes the workbook's layout (migrate_workbook):
    no process flushes or pulls meanwhile, nor starts half-way (a thread renews the lease).
    A lease left by a stopped process runs out within LEASE_SECONDS; one still renewed after
    `wait` seconds raises WorkbookBusy naming its holder."""
    holder = holder_id()
    deadline = time.monotonic() + wait
    told = False
    while not acquire_lease(holder):
        if time.monotonic() >= deadline:
            raise WorkbookBusy(_lease_holder() or "otro proceso")
        if not told:
            progress(f"Esperando el turno de sincronización (lo tiene {_lease_holder()})…")
            told = True
        time.sleep(0.5)
    stop = threading.Event()
    renewer = threading.Thread(target=_keep_lease, args=(holder, stop), daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        release_lease(holder)


def _keep_lease(holder: str, stop: threading.Event) -> None:
    try:
        while not stop.wait(LEASE_SECONDS / 4):
            if not acquire_lease(holder):
                log.error("the sync lease was lost while the workbook was held exclusively")
    finally:
        close_old_connections()


# --- the cycle -------------------------------------------------------------------------------


def pull_due(state: SyncState) -> bool:
    return state.last_pull_at is None or (
        timezone.now() - state.last_pull_at >= timedelta(seconds=settings.ZEUES_PULL_INTERVAL)
    )


class SyncFailed(Exception):
    """A cycle asked for by `sync_now` failed, or none came in time."""


def run_cycle(
    *, pull_now: bool = False, flush: bool = True, holder: str | None = None
) -> CycleResult:
    """One flush + pull cycle by `holder`, who holds the lease. Without a holder, the cycle
    takes the lease for itself and gives it back after, or does nothing while another
    process holds it."""
    if holder is None:
        holder = holder_id()
        if not acquire_lease(holder):
            return CycleResult(error="Otro proceso tiene el turno de sincronización.")
        try:
            return run_cycle(pull_now=pull_now, flush=flush, holder=holder)
        finally:
            release_lease(holder)
    requests = _open_requests()
    pull_now = pull_now or any(r.pull for r in requests)
    result = _run_cycle(pull_now=pull_now, flush=flush, holder=holder)
    _settle_requests(requests, result)
    return result


def _run_cycle(*, pull_now: bool, flush: bool, holder: str) -> CycleResult:
    state = SyncState.get()
    entries = (
        list(
            OutboxEntry.objects.filter(flushed_at__isnull=True).order_by("id")[
                :MAX_ENTRIES_PER_FLUSH
            ]
        )
        if flush
        else []
    )
    # A pending note makes the one read the whole Operaciones sheet (its Notas cell is
    # merged, see flush.plan): that read is a pull's, so the pull is applied too.
    do_pull = pull_now or pull_due(state) or flush_steps.reads_whole_sheet(entries)
    result = CycleResult()
    if not entries and not do_pull:
        return result
    try:
        if do_pull:
            result.pulled = PullResult()
            if workers_due(state):
                pull_workers(state, result.pulled)
        started = timezone.now()
        _cycle(state, entries, do_pull, result, holder)
        if state.last_error_at and state.last_error_at >= started and state.last_error:
            # This flush refused some entries (their row is gone): say so until a clean one.
            _note_kind(state, SyncErrorKind.OTRO)
        else:
            _clear_error(state)
    except LeaseLost as exc:
        result.error = str(exc)
        result.lease_lost = True
        log.warning("%s; the new holder will write", exc)
        return result  # nothing of this cycle is saved: the holder's state wins
    except MissingColumnError as exc:
        state.structure_error = str(exc)
        _note_kind(state, SyncErrorKind.ESTRUCTURA)
        result.error = str(exc)
        log.error("Workbook structure: %s", exc)
    except (sheets.SheetUnavailableError, sheets.SheetAPIError) as exc:
        result.error = str(exc)
        state.last_error = str(exc)[:2000]
        state.last_error_at = timezone.now()
        _note_kind(state, *classify_error(exc))
        log.warning("Sync cycle failed, will retry: %s", exc)
    except Exception as exc:  # noqa: BLE001 - anything else is reported, never silent
        log.exception("Sync cycle crashed")
        result.error = f"{type(exc).__name__}: {exc}"[:2000]
        state.last_error = result.error
        state.last_error_at = timezone.now()
        _note_kind(state, SyncErrorKind.OTRO)
    if result.pull_error and not result.error:
        state.last_error = f"La lectura del libro falló: {result.pull_error}"
        state.last_error_at = timezone.now()
        _note_kind(state, SyncErrorKind.OTRO)
    state.save()
    return result


# The gateway words the last failure of its retries into SheetUnavailableError's text:
# "(HTTP 429: …)", "(ReadTimeout: …)", "(ConnectionError: …)"; the first one is the reason.
_UNAVAILABLE_REASON = re.compile(r"\((?:HTTP (\d{3})|(\w+)):")


def classify_error(exc: Exception) -> tuple[SyncErrorKind, int | None]:
    """The kind of a workbook error and its HTTP status, if any: what /healthz publishes
    (the text may name the spreadsheet, and stays in SyncState.last_error and the log)."""
    if isinstance(exc, MissingColumnError):
        return SyncErrorKind.ESTRUCTURA, None
    if isinstance(exc, sheets.SheetAPIError):
        status = exc.response.status_code
        return _kind_of_status(status), status
    if isinstance(exc, sheets.SheetUnavailableError):
        m = _UNAVAILABLE_REASON.search(str(exc))
        if m and m[1]:
            return _kind_of_status(int(m[1])), int(m[1])
        if m and m[2].endswith("Timeout"):
            return SyncErrorKind.TIEMPO, None
        if m and m[2].endswith("ConnectionError"):
            return SyncErrorKind.CONEXION, None
    return SyncErrorKind.OTRO, None


def _kind_of_status(status: int) -> SyncErrorKind:
    if status == 429:
        return SyncErrorKind.CUOTA
    if status in (401, 403):
        return SyncErrorKind.ACCESO
    if status == 408:
        return SyncErrorKind.TIEMPO
    return SyncErrorKind.SERVIDOR if status >= 500 else SyncErrorKind.OTRO


def _note_kind(state: SyncState, kind: SyncErrorKind, status: int | None = None) -> None:
    """Record the error's kind; `last_error_since` moves only when the kind changes, so it
    says since when the workbook has been failing that way."""
    if state.last_error_kind != kind or state.last_error_since is None:
        state.last_error_since = timezone.now()
    state.last_error_kind = kind
    state.last_error_status = status


def _clear_error(state: SyncState) -> None:
    state.last_error = ""
    if state.structure_error:  # a pull can note a missing column and still succeed
        _note_kind(state, SyncErrorKind.ESTRUCTURA)
    else:
        state.last_error_kind, state.last_error_status, state.last_error_since = "", None, None


def _cycle(
    state: SyncState,
    entries: list[OutboxEntry],
    do_pull: bool,
    result: CycleResult,
    holder: str | None = None,
) -> None:
    """The flush's steps (spools.workbook.flush), the pull folded into their one read."""
    if uniones_check_due(state, pulling=do_pull):
        check_uniones_sheet(state)
    read_plan, replies = _read(state, entries, do_pull)
    if do_pull:
        _apply_pull(read_plan, replies, state, result)
    entries += late_entries(state, entries, read_plan, do_pull)
    located = flush_steps.locate(read_plan, replies, state)
    writes = flush_steps.build(located, entries)
    result.cells_written = writes.cells_written
    result.unions_written = writes.unions_written
    result.metadata_written = writes.metadata_written
    result.metadata_already_there = writes.metadata_already_there
    flush_steps.commit(writes, entries, state, holder=holder, renew_lease=acquire_lease)
    if entries:
        result.entries_flushed = len(entries)


def late_entries(
    state: SyncState, entries: list[OutboxEntry], read_plan: ReadPlan, do_pull: bool
) -> list[OutboxEntry]:
    """Changes committed while the cycle's read was on its way, that this read already
    covers: they join this write instead of waiting a whole cycle (a read and a write at
    500 ms each made a change wait up to 2 s). Taken in order, up to the first one the read
    does not cover (its later changes must not be written before it); rows are still
    located from this read, taken after every change it writes was planned or committed."""
    if not entries or len(entries) >= MAX_ENTRIES_PER_FLUSH:
        return []
    planned = {e.pk for e in entries}
    candidates = (
        OutboxEntry.objects.filter(flushed_at__isnull=True, pk__gt=min(planned))
        .exclude(pk__in=planned)
        .order_by("id")[: MAX_ENTRIES_PER_FLUSH - len(entries)]
    )
    covered = set(read_plan.ranges)
    joined: list[OutboxEntry] = []
    for entry in candidates:
        if not set(flush_steps.plan(state, [entry], do_pull).ranges) <= covered:
            break
        joined.append(entry)
    return joined


def _read(
    state: SyncState, entries: list[OutboxEntry], do_pull: bool
) -> tuple[ReadPlan, list[dict]]:
    """The cycle's one read; made again without Uniones when that sheet has vanished."""
    read_plan = flush_steps.plan(state, entries, do_pull)
    try:
        return read_plan, sheets.read_value_ranges(read_plan.ranges)
    except sheets.SheetAPIError as exc:
        if not (state.uniones_sheet and sheets.is_missing_sheet_error(exc, UNIONES)):
            raise
    log.warning("the %s sheet is gone from the workbook; reading without it", UNIONES)
    note_uniones_sheet(state, False)
    read_plan = flush_steps.plan(state, entries, do_pull)
    return read_plan, sheets.read_value_ranges(read_plan.ranges)


def _apply_pull(
    read_plan: ReadPlan, replies: list[dict], state: SyncState, result: CycleResult
) -> None:
    assert result.pulled is not None
    operaciones = flush_steps.pulled_rows(read_plan, replies)
    uniones = flush_steps.pulled_uniones(read_plan, replies)
    try:
        apply_pull(operaciones, uniones, state, result.pulled)
    except MissingColumnError:
        raise  # the structure is broken: reported as such, and nothing is written
    except Exception as exc:  # noqa: BLE001 - a pull that fails must not stop the flush
        log.exception("pull failed; flushing anyway")
        result.pull_error = f"{type(exc).__name__}: {exc}"[:2000]
    result.changed_tags += result.pulled.changed_tags


def forget_workbook_positions() -> None:
    """The workbook was replaced or reshaped (load_demo, import_workbook, and
    migrate_workbook once it adds sheets and columns): where the flusher found the TAG,
    N_UNION and ID columns and the last Metadata row means nothing in the new one, and
    whether it has a Uniones sheet is asked again at the next cycle."""
    state = SyncState.get()
    fresh = SyncState()
    for name in (
        "tag_column",
        "metadata_id_column",
        "metadata_last_row",
        "union_tag_column",
        "union_n_column",
        "uniones_sheet",
        "uniones_checked_at",
    ):
        setattr(state, name, getattr(fresh, name))
    state.save()


# --- asking for a cycle: one writer, whoever asks ---------------------------------------------


def _open_requests() -> list[SyncRequest]:
    requests = list(SyncRequest.objects.filter(served_at__isnull=True, error=""))
    expired = [r.pk for r in requests if r.created_at < timezone.now() - REQUEST_MAX_AGE]
    if expired:  # their makers died waiting
        SyncRequest.objects.filter(pk__in=expired).delete()
    return [r for r in requests if r.pk not in expired]


def _settle_requests(requests: list[SyncRequest], result: CycleResult) -> None:
    """Mark served the requests this cycle (begun after them) satisfied; a failed cycle
    tells them why. A cycle that lost the lease answers nothing: the new holder will."""
    if not requests or result.lease_lost:
        return
    first_left = (
        OutboxEntry.objects.filter(flushed_at__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )
    for request in requests:
        if result.error:
            error = result.error
        elif request.pull and result.pull_error:
            error = f"La lectura del libro falló: {result.pull_error}"
        elif first_left is not None and first_left <= request.outbox_upto:
            continue  # more than one cycle's worth was pending: the next cycle goes on
        else:
            SyncRequest.objects.filter(pk=request.pk).update(served_at=timezone.now())
            continue
        SyncRequest.objects.filter(pk=request.pk).update(error=error[:2000])


def sync_now(
    *,
    pull: bool,
    timeout: float = DEFAULT_SYNC_TIMEOUT,
    progress: Callable[[str], None] = lambda _: None,
) -> int:
    """Have everything pending now written to the workbook (and, with `pull`, the workbook
    read into the mirror) by a cycle that begins after this call, without ever flushing
    beside the lease holder: the holder runs that cycle, or this process does when the lease
    is free. Returns how many pending entries that made land; raises SyncFailed when the
    cycle failed or none came within `timeout` seconds."""
    upto = OutboxEntry.objects.aggregate(m=Max("id"))["m"] or 0
    pending = OutboxEntry.objects.filter(flushed_at__isnull=True, id__lte=upto).count()
    if pending:
        progress(f"Escribiendo {pending} cambios pendientes en el libro…")
    request = SyncRequest.objects.create(pull=pull, outbox_upto=upto)
    holder = holder_id()
    deadline = time.monotonic() + timeout
    try:
        while True:
            if acquire_lease(holder):
                try:
                    _serve_until_settled(request, holder, deadline)
                finally:
                    release_lease(holder)
            request.refresh_from_db()
            if request.served_at:
                return pending
            if request.error:
                raise SyncFailed(request.error)
            if time.monotonic() > deadline:
                raise SyncFailed(
                    f"Nadie sincronizó con el libro en {timeout:g} s "
                    f"(turno: {_lease_holder() or 'libre'})."
                )
            time.sleep(REQUEST_POLL_SECONDS)
    finally:
        SyncRequest.objects.filter(pk=request.pk).delete()


def _serve_until_settled(request: SyncRequest, holder: str, deadline: float) -> None:
    """This process holds the lease: run cycles until the request is answered."""
    while time.monotonic() <= deadline and acquire_lease(holder):
        result = run_cycle(holder=holder)
        if result.lease_lost:
            return
        request.refresh_from_db()
        if request.served_at or request.error:
            return


def _lease_holder() -> str:
    lease = SyncLease.objects.filter(name=LEASE_NAME, expires_at__gte=Now()).first()
    return lease.holder if lease else ""


def flush_until_empty(
    progress: Callable[[str], None] = lambda _: None, timeout: float = DEFAULT_SYNC_TIMEOUT
) -> int:
    """Write everything pending now (commands, tests), through the lease holder. Returns
    entries written."""
    return sync_now(pull=False, timeout=timeout, progress=progress)


# --- the loop: the sync worker, or a thread of the web process ------------------------------

_wake = threading.Event()
_thread: threading.Thread | None = None
_thread_lock = threading.Lock()


def kick() -> None:
    """Ask the local sync loop to run a cycle now (after an action commits)."""
    _wake.set()


def sync_loop(
    stop: threading.Event,
    *,
    on_cycle: Callable[[CycleResult], None] | None = None,
    holder: str | None = None,
) -> None:
    """Flush and pull until `stop` is set; back off while the workbook fails.

    Office edits brought in by a pull reach open pages like any action: whichever process
    holds the lease (a web process or the sync worker) sends `spools_changed`.
    """
    holder = holder or holder_id()
    backoff = 0.0
    try:
        while not stop.is_set():
            try:
                if acquire_lease(holder):
                    result = run_cycle(holder=holder)
                    if result.changed_tags:
                        spools_changed.send(sender=None, tags=result.changed_tags)
                    if on_cycle and result.did_anything:
                        on_cycle(result)
                    backoff = min(max(1.0, backoff * 2), 30.0) if result.error else 0.0
            except Exception:  # noqa: BLE001 - the loop must outlive any one bad cycle
                log.exception("Sync cycle crashed")
                backoff = min(max(1.0, backoff * 2), 30.0)
            finally:
                close_old_connections()
            if backoff:
                stop.wait(backoff)  # a kick does not cut a backoff short
            else:
                _wake.wait(timeout=IDLE_POLL_SECONDS)
                _wake.clear()
    finally:
        try:
            release_lease(holder)
        except Exception:  # noqa: BLE001 - best effort at shutdown; the lease expires anyway
            log.debug("could not release the sync lease", exc_info=True)
        close_old_connections()


def start_background_sync(on_cycle: Callable[[CycleResult], None] | None = None) -> None:
    """Start the sync loop in a daemon thread of this process (once)."""
    global _thread
    with _thread_lock:
        if _thread is not None and _thread.is_alive():
            return
        stop = threading.Event()
        holder = f"{holder_id()}:web"
        _thread = threading.Thread(
            target=sync_loop,
            args=(stop,),
            kwargs={"on_cycle": on_cycle, "holder": holder},
            name="zeues-sync",
            daemon=True,
        )
        _thread.start()

        def shutdown() -> None:
            # A restarted process must not wait for its predecessor's lease to expire.
            stop.set()
            try:
                release_lease(holder)
            except Exception:  # noqa: BLE001 - at exit; the lease expires anyway
                log.debug("could not release the sync lease at exit", exc_info=True)

        atexit.register(shutdown)
