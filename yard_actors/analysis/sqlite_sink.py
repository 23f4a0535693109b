"""The analysis database as one SQLite file (``analysis.sqlite``): the default sink.

Tables: ``robots`` (one row per robot: class, spec, counts, replay verdict, store check),
``events`` (one row per robot and event seq: ts, kind, the event, the state after it, the
commands it sent; key ``(robot, seq)``, indexed by ``(robot, ts)``), ``metrics`` (the
report's figures per robot). JSON columns are text; decimals in them are strings, as on the
wire. ``full`` is 1 where ``state`` is the whole snapshot, 0 where it holds the top-level keys
that changed since the robot's previous row (:mod:`.records`). Each batch is one transaction
(``executemany``); the file is never the run's order store.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from yard_actors.analysis.records import EventRow, RobotSummary, state_at
from yard_actors.errors import StoreError

__all__ = ["FILE_NAME", "SQLiteSink"]

FILE_NAME = "analysis.sqlite"
"""The file ``yard analyze`` writes in its output folder."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS robots (
    robot TEXT PRIMARY KEY,
    class TEXT NOT NULL,
    spec TEXT,
    events INTEGER NOT NULL,
    commands INTEGER NOT NULL,
    first_ts INTEGER,
    last_ts INTEGER,
    full_every INTEGER NOT NULL,
    divergence TEXT,
    store_check TEXT
);
CREATE TABLE IF NOT EXISTS events (
    robot TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    kind TEXT NOT NULL,
    event TEXT NOT NULL,
    state TEXT NOT NULL,
    full INTEGER NOT NULL,
    actions TEXT NOT NULL,
    PRIMARY KEY (robot, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_by_time ON events (robot, ts);
CREATE TABLE IF NOT EXISTS metrics (
    robot TEXT PRIMARY KEY,
    figures TEXT NOT NULL
);
"""
_INSERT = "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_LAST_FULL = "SELECT MAX(seq) FROM events WHERE robot = ? AND seq <= ? AND full = 1"
_HAS_ROW = "SELECT 1 FROM events WHERE robot = ? AND seq = ?"
_STATES = "SELECT state, full FROM events WHERE robot = ? AND seq BETWEEN ? AND ? ORDER BY seq"


class SQLiteSink:
    """Rows into one SQLite file; create it and its tables if missing. Use from one thread."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")  # a re-run rewrites what a crash lost
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            msg = f"Cannot open the analysis database {self.path}: {exc}."
            raise StoreError(msg) from exc
        self._closed = False

    @property
    def where(self) -> str:
        return str(self.path)

    def begin_robot(self, robot: str) -> None:
        self._write(
            f"clearing robot {robot}",
            [
                ("DELETE FROM events WHERE robot = ?", [(robot,)]),
                ("DELETE FROM robots WHERE robot = ?", [(robot,)]),
                ("DELETE FROM metrics WHERE robot = ?", [(robot,)]),
            ],
        )

    def add_events(self, rows: Sequence[EventRow]) -> None:
        values = [
            (
                row.robot,
                row.seq,
                row.ts,
                row.kind,
                row.event.decode(),
                orjson.dumps(row.state).decode(),
                int(row.full),
                _json_list(row.actions),
            )
            for row in rows
        ]
        self._write(f"{len(values)} rows", [(_INSERT, values)])

    def end_robot(self, summary: RobotSummary) -> None:
        robot = (
            summary.robot,
            summary.class_path,
            None if summary.spec is None else orjson.dumps(summary.spec).decode(),
            summary.events,
            summary.commands,
            summary.first_ts,
            summary.last_ts,
            summary.full_every,
            summary.divergence,
            summary.store_check,
        )
        figures = (summary.robot, orjson.dumps(summary.metrics).decode())
        self._write(
            f"the summary of robot {summary.robot}",
            [
                ("INSERT INTO robots VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [robot]),
                ("INSERT INTO metrics VALUES (?, ?)", [figures]),
            ],
        )

    def state_at(self, robot: str, seq: int) -> dict[str, Any] | None:
        try:
            if self._db.execute(_HAS_ROW, (robot, seq)).fetchone() is None:
                return None
            (full_seq,) = self._db.execute(_LAST_FULL, (robot, seq)).fetchone()
            rows = self._db.execute(_STATES, (robot, full_seq, seq)).fetchall()
        except sqlite3.Error as exc:
            msg = f"Cannot read robot {robot}'s state at seq {seq} from {self.path}: {exc}."
            raise StoreError(msg) from exc
        return state_at((orjson.loads(state), bool(full)) for state, full in rows)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._db.close()

    def _write(self, what: str, statements: list[tuple[str, Sequence[Sequence[Any]]]]) -> None:
        """Run ``statements`` as one transaction; nothing of them is kept if one fails."""
        try:
            self._db.execute("BEGIN")
            for sql, values in statements:
                self._db.executemany(sql, values)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            msg = f"Cannot write {what} to the analysis database {self.path}: {exc}."
            raise StoreError(msg) from exc

    def __enter__(self) -> SQLiteSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _json_list(items: Sequence[bytes]) -> str:
    return (b"[" + b",".join(items) + b"]").decode()
