"""The SQLite file behind the local backend: workbook, call counters and faults.

One file is shared by every process. Each API call runs in one ``BEGIN IMMEDIATE``
transaction, so concurrent calls from threads and processes are applied one at a time.
A sheet row is one SQLite row holding its cells as a JSON array (trailing empties trimmed,
empty cells inside as ``""``) plus its formatted/unformatted renderings: a whole-sheet read is
one range scan that copies stored JSON into the reply. Row positions live in a separate small
table, so inserting, deleting or sorting rows never rewrites row data.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from .cells import NUMBERS, encode_row
from .errors import ApiError

T = TypeVar("T")

LOCAL_SPREADSHEET_ID = "zeues-local"
DEFAULT_SHEET_TITLE = "Hoja 1"
DEFAULT_ROWS = 1000
DEFAULT_COLS = 26
SPREADSHEET_TITLE = "ZEUES (local)"
LOCALE = "es_CL"
TIME_ZONE = "America/Santiago"
BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spreadsheet (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, locale TEXT NOT NULL, time_zone TEXT NOT NULL,
    created TEXT NOT NULL, modified TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sheet (
    sheet_id INTEGER PRIMARY KEY, spreadsheet_id TEXT NOT NULL, title TEXT NOT NULL,
    idx INTEGER NOT NULL, row_count INTEGER NOT NULL, col_count INTEGER NOT NULL,
    props TEXT NOT NULL DEFAULT '{}'
);
-- Where each sheet row sits: moving rows (insert/delete/sort) rewrites only these small
-- entries, never the row data.
CREATE TABLE IF NOT EXISTS rowpos (
    sheet_id INTEGER NOT NULL, r INTEGER NOT NULL, rid INTEGER NOT NULL,
    PRIMARY KEY (sheet_id, r)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rowdata (
    rid INTEGER PRIMARY KEY,
    n INTEGER NOT NULL,      -- cells stored (last non-empty + 1)
    lead INTEGER NOT NULL,   -- index of the first non-empty cell
    kind INTEGER NOT NULL,   -- cells.TEXT / NUMBERS / DATES / FORMULAS
    data TEXT NOT NULL,      -- the stored cells
    unf TEXT,                -- UNFORMATTED_VALUE rendering when it differs from data
    fmt TEXT                 -- FORMATTED_VALUE rendering when it differs from data
);
CREATE TABLE IF NOT EXISTS counter (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS fault (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Sheet:
    sheet_id: int
    title: str
    index: int
    rows: int
    cols: int
    props: dict = field(default_factory=dict)

    def properties(self) -> dict:
        """The ``SheetProperties`` object as Google returns it (defaults omitted)."""
        grid = {"rowCount": self.rows, "columnCount": self.cols}
        grid.update(self.props.get("gridProperties", {}))
        out: dict[str, Any] = {
            "sheetId": self.sheet_id,
            "title": self.title,
            "index": self.index,
            "sheetType": "GRID",
            "gridProperties": grid,
        }
        for key, value in self.props.items():
            if key != "gridProperties":
                out[key] = value
        return out


@dataclass
class Faults:
    """The runtime faults, as stored in the file and obeyed by every process."""

    outage: bool = False
    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 503

    def active(self) -> dict:
        """Only the faults in force ({} when the backend behaves)."""
        out: dict[str, Any] = {}
        if self.outage:
            out["outage"] = True
        if self.latency_ms:
            out["latency_ms"] = self.latency_ms
        if self.error_rate:
            out["error_rate"] = self.error_rate
            out["error_status"] = self.error_status
        return out


class Book:
    """The workbook inside one transaction; rows are cached and written back on flush."""

    def __init__(self, con: sqlite3.Connection, spreadsheet_id: str) -> None:
        self.con = con
        self.spreadsheet_id = spreadsheet_id
        self._sheets: list[Sheet] | None = None
        self._rows: dict[int, dict[int, list]] = {}
        self._rids: dict[int, dict[int, int | None]] = {}
        self._dirty: dict[int, set[int]] = {}
        self._locale: str | None = None
        self.wrote = False

    # ---- the spreadsheet's locale -------------------------------------------------------
    @property
    def locale(self) -> str:
        """How numbers are typed and shown (``es_CL`` writes ``1,5``, ``en_US`` ``1.5``)."""
        if self._locale is None:
            row = self.con.execute(
                "SELECT locale FROM spreadsheet WHERE id=?", (self.spreadsheet_id,)
            ).fetchone()
            self._locale = row[0] if row else LOCALE
        return self._locale

    def set_locale(self, locale: str) -> None:
        """A new locale; the stored FORMATTED_VALUE renderings are redone in it."""
        if locale == self.locale:
            return
        self.flush()
        self.wrote = True
        self.con.execute(
            "UPDATE spreadsheet SET locale=? WHERE id=?", (locale, self.spreadsheet_id)
        )
        self._locale = locale
        for sheet in self.sheets():
            self._rerender(sheet.sheet_id)

    def _rerender(self, sheet_id: int) -> None:
        """Re-encode the rows whose rendering depends on the locale (those holding numbers)."""
        self.forget_rows(sheet_id)
        rows = self.con.execute(
            "SELECT d.rid, d.data " + self._JOIN + "AND d.kind >= ?", (sheet_id, NUMBERS)
        ).fetchall()
        self.con.executemany(
            "UPDATE rowdata SET n=?, lead=?, kind=?, data=?, unf=?, fmt=? WHERE rid=?",
            [(*encode_row(json.loads(data), self.locale), rid) for rid, data in rows],
        )

    # ---- sheets -------------------------------------------------------------------------
    def sheets(self) -> list[Sheet]:
        if self._sheets is None:
            cur = self.con.execute(
                "SELECT sheet_id, title, idx, row_count, col_count, props FROM sheet "
                "WHERE spreadsheet_id=? ORDER BY idx",
                (self.spreadsheet_id,),
            )
            self._sheets = [Sheet(a, b, c, d, e, json.loads(f)) for a, b, c, d, e, f in cur]
        return self._sheets

    def sheet_by_title(self, title: str) -> Sheet | None:
        sheets = self.sheets()
        for s in sheets:
            if s.title == title:
                return s
        folded = title.casefold()
        for s in sheets:
            if s.title.casefold() == folded:
                return s
        return None

    def sheet_by_id(self, sheet_id: int) -> Sheet | None:
        for s in self.sheets():
            if s.sheet_id == sheet_id:
                return s
        return None

    def first_visible_sheet(self) -> Sheet:
        sheets = self.sheets()
        for s in sheets:
            if not s.props.get("hidden"):
                return s
        return sheets[0]

    def save_sheet(self, s: Sheet) -> None:
        self.wrote = True
        self.con.execute(
            "INSERT OR REPLACE INTO sheet (sheet_id, spreadsheet_id, title, idx, row_count, "
            "col_count, props) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (s.sheet_id, self.spreadsheet_id, s.title, s.index, s.rows, s.cols, _dumps(s.props)),
        )

    def reindex(self, ordered: list[Sheet]) -> None:
        for i, s in enumerate(ordered):
            s.index = i
            self.save_sheet(s)
        self._sheets = list(ordered)

    def new_sheet_id(self) -> int:
        used = {s.sheet_id for s in self.sheets()}
        used.update(r[0] for r in self.con.execute("SELECT sheet_id FROM sheet"))
        while True:
            candidate = random.randint(1, 2**31 - 1)
            if candidate not in used:
                return candidate

    def drop_sheet(self, s: Sheet) -> None:
        self.delete_row_range(s.sheet_id, 0, 2**62)
        self.con.execute("DELETE FROM sheet WHERE sheet_id=?", (s.sheet_id,))
        self.reindex([x for x in self.sheets() if x.sheet_id != s.sheet_id])

    def copy_cells(self, src: int, dst: int) -> None:
        self.flush()
        self.wrote = True
        rows = self.con.execute(
            "SELECT p.r, d.n, d.lead, d.kind, d.data, d.unf, d.fmt FROM rowpos p "
            "JOIN rowdata d ON d.rid = p.rid WHERE p.sheet_id=?",
            (src,),
        ).fetchall()
        base = self._next_rid()
        self.con.executemany(
            "INSERT INTO rowdata (rid, n, lead, kind, data, unf, fmt) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(base + i, *row[1:]) for i, row in enumerate(rows)],
        )
        self.con.executemany(
            "INSERT INTO rowpos (sheet_id, r, rid) VALUES (?, ?, ?)",
            [(dst, row[0], base + i) for i, row in enumerate(rows)],
        )

    def _next_rid(self) -> int:
        return self.con.execute("SELECT COALESCE(MAX(rid), 0) + 1 FROM rowdata").fetchone()[0]

    # ---- rows ---------------------------------------------------------------------------
    _JOIN = "FROM rowpos p JOIN rowdata d ON d.rid = p.rid WHERE p.sheet_id=? "

    def prefetch(self, sheet_id: int, rows: Iterable[int]) -> None:
        cache = self._rows.setdefault(sheet_id, {})
        rids = self._rids.setdefault(sheet_id, {})
        wanted = sorted({r for r in rows if r not in cache})
        if not wanted:
            return
        lo, hi = wanted[0], wanted[-1]
        if hi - lo + 1 <= 4 * len(wanted):
            # Dense enough: one range scan beats a long IN list.
            cur = self.con.execute(
                "SELECT p.r, p.rid, d.data " + self._JOIN + "AND p.r BETWEEN ? AND ?",
                (sheet_id, lo, hi),
            )
            found = [row for row in cur if row[0] not in cache]
        else:
            found = []
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                marks = ",".join("?" * len(chunk))
                found += self.con.execute(
                    f"SELECT p.r, p.rid, d.data {self._JOIN} AND p.r IN ({marks})",
                    (sheet_id, *chunk),
                ).fetchall()
        for r, rid, data in found:
            cache[r] = json.loads(data)
            rids[r] = rid
        for r in wanted:
            cache.setdefault(r, [])

    def row(self, sheet_id: int, r: int) -> list:
        """The row's cells (mutable); call ``touch`` after changing them."""
        cache = self._rows.setdefault(sheet_id, {})
        if r not in cache:
            self.prefetch(sheet_id, [r])
        return cache[r]

    def set_row(self, sheet_id: int, r: int, cells: list) -> None:
        if r not in self._rows.setdefault(sheet_id, {}):
            self.prefetch(sheet_id, [r])  # learn its rid, if it is stored
        self._rows[sheet_id][r] = cells
        self.touch(sheet_id, r)

    def touch(self, sheet_id: int, r: int) -> None:
        self._dirty.setdefault(sheet_id, set()).add(r)

    def flush(self) -> None:
        """Write the changed rows back (trimmed; an emptied row is deleted)."""
        for sheet_id, rows in self._dirty.items():
            if not rows:
                continue
            self.wrote = True
            cache = self._rows[sheet_id]
            rids = self._rids.setdefault(sheet_id, {})
            deletes, updates, inserts = [], [], []
            for r in rows:
                cells = cache[r]
                while cells and cells[-1] == "" and cells[-1].__class__ is str:
                    cells.pop()
                rid = rids.get(r)
                if not cells:
                    if rid is not None:
                        deletes.append((rid, sheet_id, r))
                        rids[r] = None
                elif rid is not None:
                    updates.append((*encode_row(cells, self.locale), rid))
                else:
                    inserts.append((r, encode_row(cells, self.locale)))
            if deletes:
                self.con.executemany("DELETE FROM rowdata WHERE rid=?", [d[:1] for d in deletes])
                self.con.executemany(
                    "DELETE FROM rowpos WHERE sheet_id=? AND r=?", [d[1:] for d in deletes]
                )
            if updates:
                self.con.executemany(
                    "UPDATE rowdata SET n=?, lead=?, kind=?, data=?, unf=?, fmt=? WHERE rid=?",
                    updates,
                )
            if inserts:
                base = self._next_rid()
                self.con.executemany(
                    "INSERT INTO rowdata (rid, n, lead, kind, data, unf, fmt) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(base + i, *enc) for i, (_r, enc) in enumerate(inserts)],
                )
                self.con.executemany(
                    "INSERT INTO rowpos (sheet_id, r, rid) VALUES (?, ?, ?)",
                    [(sheet_id, r, base + i) for i, (r, _enc) in enumerate(inserts)],
                )
                for i, (r, _enc) in enumerate(inserts):
                    rids[r] = base + i
        self._dirty.clear()

    def forget_rows(self, sheet_id: int) -> None:
        """Drop the cache after rows were moved in SQL."""
        self._rows.pop(sheet_id, None)
        self._rids.pop(sheet_id, None)
        self._dirty.pop(sheet_id, None)

    def _start_row_move(self, sheet_id: int) -> None:
        """Before SQL that moves or deletes rows: pending rows stored, the cache dropped."""
        self.flush()
        self.forget_rows(sheet_id)
        self.wrote = True

    def scan(self, sheet_id: int, r0: int, r1: int) -> list[tuple]:
        """(r, n, kind, data, unf, fmt) of the stored rows in [r0, r1], in order."""
        self.flush()
        return self.con.execute(
            "SELECT p.r, d.n, d.kind, d.data, d.unf, d.fmt "
            + self._JOIN
            + "AND p.r BETWEEN ? AND ? ORDER BY p.r",
            (sheet_id, r0, r1),
        ).fetchall()

    def row_numbers(self, sheet_id: int, r0: int, r1: int) -> list[int]:
        self.flush()
        return [
            r
            for (r,) in self.con.execute(
                "SELECT r FROM rowpos WHERE sheet_id=? AND r BETWEEN ? AND ? ORDER BY r",
                (sheet_id, r0, r1),
            )
        ]

    def shift_rows(self, sheet_id: int, start: int, delta: int) -> None:
        """Move every row at or below ``start`` by ``delta`` (two steps: the key is unique)."""
        self._start_row_move(sheet_id)
        self.con.execute(
            "UPDATE rowpos SET r = -1 - (r + ?) WHERE sheet_id=? AND r >= ?",
            (delta, sheet_id, start),
        )
        self.con.execute("UPDATE rowpos SET r = -1 - r WHERE sheet_id=? AND r < 0", (sheet_id,))

    def delete_row_range(self, sheet_id: int, r0: int, r1: int) -> None:
        self._start_row_move(sheet_id)
        self.con.execute(
            "DELETE FROM rowdata WHERE rid IN "
            "(SELECT rid FROM rowpos WHERE sheet_id=? AND r BETWEEN ? AND ?)",
            (sheet_id, r0, r1),
        )
        self.con.execute(
            "DELETE FROM rowpos WHERE sheet_id=? AND r BETWEEN ? AND ?", (sheet_id, r0, r1)
        )

    def permute_rows(self, sheet_id: int, r0: int, order: list[int | None]) -> None:
        """Row ``r0 + i`` becomes the row that was at ``order[i]`` (None: blank)."""
        self._start_row_move(sheet_id)
        r1 = r0 + len(order) - 1
        rid_at = dict(
            self.con.execute(
                "SELECT r, rid FROM rowpos WHERE sheet_id=? AND r BETWEEN ? AND ?",
                (sheet_id, r0, r1),
            ).fetchall()
        )
        self.con.execute(
            "DELETE FROM rowpos WHERE sheet_id=? AND r BETWEEN ? AND ?", (sheet_id, r0, r1)
        )
        self.con.executemany(
            "INSERT INTO rowpos (sheet_id, r, rid) VALUES (?, ?, ?)",
            [
                (sheet_id, r0 + i, rid_at[src])
                for i, src in enumerate(order)
                if src is not None and src in rid_at
            ],
        )

    def rewrite_all_rows(self, sheet_id: int, fn: Any, min_n: int = 0) -> None:
        """Apply ``fn(cells) -> cells`` to every stored row with more than ``min_n`` cells."""
        self.flush()
        self.forget_rows(sheet_id)
        cache = self._rows.setdefault(sheet_id, {})
        rids = self._rids.setdefault(sheet_id, {})
        for r, rid, data in self.con.execute(
            "SELECT p.r, p.rid, d.data " + self._JOIN + "AND d.n > ?", (sheet_id, min_n)
        ).fetchall():
            cache[r] = fn(json.loads(data))
            rids[r] = rid
            self.touch(sheet_id, r)
        self.flush()

    def col_extent(self, sheet_id: int, r0: int, r1: int) -> tuple[int, int]:
        """(first, last) non-empty column over the stored rows in [r0, r1]."""
        self.flush()
        lo, hi = self.con.execute(
            "SELECT MIN(d.lead), MAX(d.n) " + self._JOIN + "AND p.r BETWEEN ? AND ?",
            (sheet_id, r0, r1),
        ).fetchone()
        return (lo or 0), (hi or 1) - 1

    def touch_modified(self) -> None:
        self.con.execute(
            "UPDATE spreadsheet SET modified=? WHERE id=?", (_now(), self.spreadsheet_id)
        )


class LocalSheetStore:
    """The local backend's SQLite file: workbook state, call counters and runtime faults.

    Every process that opens the same path sees the same workbook, counters and faults.
    """

    _init_lock = threading.Lock()
    _initialized: set[str] = set()

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._local = threading.local()
        self._ensure_schema()

    # ---- connection & transactions ------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        con.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        con.execute("PRAGMA synchronous=NORMAL")
        return con

    def _con(self) -> sqlite3.Connection:
        # One connection per thread and process: sqlite3 objects must not cross a fork.
        con = getattr(self._local, "con", None)
        if con is None or self._local.pid != os.getpid():
            con = self._connect()
            self._local.con = con
            self._local.pid = os.getpid()
        return con

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; rolls back on any exception."""
        con = self._con()
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def _ensure_schema(self) -> None:
        key = f"{os.getpid()}:{os.path.abspath(self.path)}"
        with self._init_lock:
            if key in self._initialized and os.path.exists(self.path):
                return
            directory = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(directory, exist_ok=True)
            con = self._con()
            deadline = time.monotonic() + BUSY_TIMEOUT_S
            while True:
                try:
                    # WAL lets readers run while a writer holds the lock; it sticks to the file.
                    con.execute("PRAGMA journal_mode=WAL")
                    break
                except sqlite3.OperationalError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            with self.transaction() as tx:
                # executescript() would commit the open transaction; run statements one by one.
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        tx.execute(statement)
                self._ensure_spreadsheet(tx)
            self._initialized.add(key)

    @staticmethod
    def _ensure_spreadsheet(con: sqlite3.Connection) -> None:
        if con.execute("SELECT 1 FROM spreadsheet WHERE id=?", (LOCAL_SPREADSHEET_ID,)).fetchone():
            return
        now = _now()
        con.execute(
            "INSERT INTO spreadsheet (id, title, locale, time_zone, created, modified) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (LOCAL_SPREADSHEET_ID, SPREADSHEET_TITLE, LOCALE, TIME_ZONE, now, now),
        )
        con.execute(
            "INSERT INTO sheet (sheet_id, spreadsheet_id, title, idx, row_count, col_count, props)"
            " VALUES (0, ?, ?, 0, ?, ?, '{}')",
            (LOCAL_SPREADSHEET_ID, DEFAULT_SHEET_TITLE, DEFAULT_ROWS, DEFAULT_COLS),
        )

    # ---- counters & faults --------------------------------------------------------------
    def call(
        self, spreadsheet_id: str, kind: str, write: bool, handler: Callable[[Book], T]
    ) -> tuple[Faults, str | int | None, T | ApiError | None]:
        """One API call in one transaction: count it, decide its fate, apply it.

        Returns (faults in force, fate, result). The fate is None when the call was served,
        "outage" or an injected HTTP status when it was refused before touching the workbook.
        A handler's ApiError is returned as the result, with everything it did rolled back.
        """
        names = ["writes" if write else "reads", f"kind:{kind}"]
        con = self._con()
        con.execute("BEGIN IMMEDIATE")
        try:
            faults = self._read_faults(con)
            fate: str | int | None = None
            if faults.outage:
                fate = "outage"
            elif faults.error_rate and random.random() < faults.error_rate:
                fate = faults.error_status
            if fate is not None:
                self._bump(con, [*names, "failed", f"fail:{fate}"])
                con.execute("COMMIT")
                return faults, fate, None
            self._bump(con, names)
            self._ensure_spreadsheet(con)
            book = Book(con, spreadsheet_id)
            result = handler(book)
            book.flush()
            if book.wrote:
                book.touch_modified()
            con.execute("COMMIT")
            return faults, None, result
        except ApiError as exc:
            con.execute("ROLLBACK")
            self.record(kind, write, failure=str(exc.code))
            return faults, None, exc
        except BaseException:
            con.execute("ROLLBACK")
            self.record(kind, write, failure="500")
            raise

    def record(self, kind: str, write: bool, failure: str | None = None) -> None:
        """Count a call that was not served through ``call`` (e.g. an unknown URL)."""
        names = ["writes" if write else "reads", f"kind:{kind}"]
        if failure is not None:
            names += ["failed", f"fail:{failure}"]
        with self.transaction() as con:
            self._bump(con, names)

    def count_failure(self, reason: str) -> None:
        with self.transaction() as con:
            self._bump(con, ["failed", f"fail:{reason}"])

    @staticmethod
    def _bump(con: sqlite3.Connection, names: list[str]) -> None:
        con.executemany(
            "INSERT INTO counter (name, n) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET n = n + 1",
            [(n,) for n in names],
        )

    @staticmethod
    def _read_faults(con: sqlite3.Connection) -> Faults:
        raw = dict(con.execute("SELECT name, value FROM fault").fetchall())
        return Faults(
            outage=raw.get("outage") == "1",
            latency_ms=int(raw.get("latency_ms", "0")),
            error_rate=float(raw.get("error_rate", "0")),
            error_status=int(raw.get("error_status", "503")),
        )

    def _set_faults(self, **values: Any) -> None:
        with self.transaction() as con:
            con.executemany(
                "INSERT OR REPLACE INTO fault (name, value) VALUES (?, ?)",
                [(k, str(v)) for k, v in values.items()],
            )

    def faults(self) -> Faults:
        """The faults in force now."""
        with self.transaction() as con:
            return self._read_faults(con)

    def status(self) -> dict[str, Any]:
        """Call counts since the last reset and the faults in force."""
        with self.transaction() as con:
            counts = dict(con.execute("SELECT name, n FROM counter").fetchall())
            faults = self._read_faults(con)
        return {
            "path": self.path,
            "reads": counts.get("reads", 0),
            "writes": counts.get("writes", 0),
            "failed": counts.get("failed", 0),
            "by_kind": {k[5:]: v for k, v in sorted(counts.items()) if k.startswith("kind:")},
            "failures": {k[5:]: v for k, v in sorted(counts.items()) if k.startswith("fail:")},
            "faults": faults.active(),
        }

    def reset_counters(self) -> None:
        """Zero every call counter."""
        with self.transaction() as con:
            con.execute("DELETE FROM counter")

    def set_outage(self, on: bool) -> None:
        """Every call fails as an unreachable service (ConnectionError) while on."""
        self._set_faults(outage="1" if on else "0")

    def set_latency(self, ms: int) -> None:
        """Add ``ms`` milliseconds to every call (0 clears)."""
        if ms < 0:
            raise ValueError("latency must be >= 0 ms")
        self._set_faults(latency_ms=int(ms))

    def set_errors(self, rate: float, status: int = 503) -> None:
        """Fail that fraction of calls with 429, 500 or 503, applying nothing (rate 0 clears)."""
        if not 0 <= rate <= 1:
            raise ValueError("error rate must be between 0 and 1")
        if status not in (429, 500, 503):
            raise ValueError("error status must be 429, 500 or 503")
        self._set_faults(error_rate=float(rate), error_status=int(status))

    def clear_faults(self) -> None:
        """No outage, no latency, no injected errors."""
        with self.transaction() as con:
            con.execute("DELETE FROM fault")

    def reset(self) -> None:
        """Wipe the workbook back to a fresh spreadsheet with one empty "Hoja 1"."""
        with self.transaction() as con:
            con.execute("DELETE FROM rowpos")
            con.execute("DELETE FROM rowdata")
            con.execute("DELETE FROM sheet")
            con.execute("DELETE FROM spreadsheet")
            self._ensure_spreadsheet(con)

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
