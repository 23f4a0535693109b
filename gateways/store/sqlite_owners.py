"""The SQLite order store's table of robot owners: which host key may act for which robot.

``robot_owners``: one row per robot that a key registered (``robot`` the primary key, so
a robot has one owner; ``owner`` the key's name; ``since_ts`` when). Written by the
gateway when a host registers its robots (:mod:`gateways.owners`), read at its start.
:class:`~gateways.store.sqlite.SQLiteOrderStore` runs these statements on its
connection, under its lock and in its transactions.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Final

__all__ = ["INSERT_OWNER", "OWNERS_SCHEMA", "all_owners", "owners_of"]

OWNERS_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS robot_owners (
    robot    TEXT PRIMARY KEY,
    owner    TEXT NOT NULL,
    since_ts INTEGER NOT NULL
) WITHOUT ROWID;
"""

INSERT_OWNER: Final = "INSERT OR IGNORE INTO robot_owners (robot, owner, since_ts) VALUES (?, ?, ?)"
"""A robot's owner, if it has none yet (a taken robot keeps its owner)."""

_CHUNK: Final = 500  # robots per IN (...): well under SQLite's limit on bound values


def owners_of(db: sqlite3.Connection, robots: Sequence[str]) -> dict[str, str]:
    """The owner of each of ``robots`` that has one."""
    found: dict[str, str] = {}
    for start in range(0, len(robots), _CHUNK):
        chunk = robots[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        # S608: the query is built of "?" marks only; the names are bound.
        query = f"SELECT robot, owner FROM robot_owners WHERE robot IN ({marks})"  # noqa: S608
        found.update(db.execute(query, chunk).fetchall())
    return found


def all_owners(db: sqlite3.Connection) -> dict[str, str]:
    """Every robot that has an owner, with its owner."""
    return dict(db.execute("SELECT robot, owner FROM robot_owners").fetchall())
