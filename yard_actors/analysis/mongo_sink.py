"""The analysis database in MongoDB (``yard analyze --db mongodb://host/db``).

Collections: ``events``, one document per robot and event seq (``robot``, ``seq``, ``ts``,
``kind``, ``event``, ``state``, ``full``, ``actions``: the same fields as the SQLite sink's
table, the JSON ones as subdocuments), with a unique index on ``(robot, seq)`` and one on
``(robot, ts)``; ``robots``, one document per robot with its summary and its ``metrics``.
The database is the URL's path, ``yard_analysis`` when it names none: never the run's order
store's, whose ``yard`` it would otherwise share. Each batch is one ``insert_many``.
Every pymongo and bson error leaves as a :class:`~yard_actors.errors.StoreError` ``from`` it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, Final

import attrs
import orjson
from bson.errors import BSONError
from pymongo import ASCENDING, MongoClient, errors
from pymongo.collection import Collection

from yard_actors.analysis.records import EventRow, RobotSummary, state_at
from yard_actors.errors import StoreError
from yard_actors.host.stores import without_credentials

__all__ = ["DEFAULT_DATABASE", "MongoSink"]

DEFAULT_DATABASE: Final = "yard_analysis"
_FOREIGN: Final = (errors.PyMongoError, BSONError)

Document = dict[str, Any]


class MongoSink:
    """Rows into a MongoDB database; connects and creates the indexes on opening.

    Raises StoreError if the server cannot be reached within pymongo's server selection
    timeout (30 s unless the URL sets ``serverSelectionTimeoutMS``). Use from one thread.
    """

    def __init__(self, url: str) -> None:
        self.url = without_credentials(url)
        self._client: MongoClient[Document] | None = None
        with self._translated("connect"):
            self._client = MongoClient(url)
            try:
                database = self._client.get_default_database(DEFAULT_DATABASE)
                self._where = f"database {database.name!r} at {self.url}"
                self._events: Collection[Document] = database["events"]
                self._robots: Collection[Document] = database["robots"]
                by_seq = [("robot", ASCENDING), ("seq", ASCENDING)]
                self._events.create_index(by_seq, unique=True)
                self._events.create_index([("robot", ASCENDING), ("ts", ASCENDING)])
            except BaseException:
                self._client.close()
                raise

    @property
    def where(self) -> str:
        return self.url

    def begin_robot(self, robot: str) -> None:
        with self._translated(f"clear robot {robot}"):
            self._events.delete_many({"robot": robot})
            self._robots.delete_many({"_id": robot})

    def add_events(self, rows: Sequence[EventRow]) -> None:
        if not rows:
            return
        documents = [
            {
                "robot": row.robot,
                "seq": row.seq,
                "ts": row.ts,
                "kind": row.kind,
                "event": orjson.loads(row.event),
                "state": row.state,
                "full": row.full,
                "actions": [orjson.loads(action) for action in row.actions],
            }
            for row in rows
        ]
        with self._translated(f"insert {len(documents)} rows"):
            self._events.insert_many(documents, ordered=True)

    def end_robot(self, summary: RobotSummary) -> None:
        document = attrs.asdict(summary)
        document["_id"] = document.pop("robot")
        document["class"] = document.pop("class_path")
        with self._translated(f"write the summary of robot {summary.robot}"):
            self._robots.replace_one({"_id": summary.robot}, document, upsert=True)

    def state_at(self, robot: str, seq: int) -> dict[str, Any] | None:
        with self._translated(f"read robot {robot}'s state at seq {seq}"):
            if self._events.find_one({"robot": robot, "seq": seq}, {"_id": 1}) is None:
                return None
            full = self._events.find_one(
                {"robot": robot, "seq": {"$lte": seq}, "full": True},
                {"seq": 1},
                sort=[("seq", -1)],
            )
            if full is None:
                return None
            rows = self._events.find(
                {"robot": robot, "seq": {"$gte": full["seq"], "$lte": seq}},
                {"state": 1, "full": 1},
                sort=[("seq", ASCENDING)],
            )
            return state_at((row["state"], bool(row["full"])) for row in rows)

    def documents(self, robot: str) -> list[Document]:
        """Every event document of ``robot``, in seq order (for tests and small robots)."""
        with self._translated(f"read robot {robot}'s rows"):
            return list(self._events.find({"robot": robot}, {"_id": 0}, sort=[("seq", 1)]))

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    @contextlib.contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        try:
            yield
        except _FOREIGN as exc:
            where = getattr(self, "_where", self.url)
            msg = f"The MongoDB analysis database {where} could not {action}: {exc}"
            raise StoreError(msg) from exc

    def __enter__(self) -> MongoSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
