"""The MongoDB order store's collection of robot owners: which host key may act for which robot.

``robot_owners``: one document per robot that a key registered, ``{_id: robot, owner:
key name, since_ts}``; the unique ``_id`` keeps one owner per robot. Written by the
gateway when a host registers its robots (:mod:`gateways.owners`), read at its start.
:class:`~gateways.store.mongo.MongoOrderStore` calls these under its lock, translating
pymongo's errors.

A claim is one unordered insert of a document per robot: the ones whose robot is taken
are refused by the index (and keep their owner), the others are written; then the owners
are read back. No multi-document transaction is needed: a robot's owner is one document.
"""

from __future__ import annotations

from collections.abc import Sequence

from pymongo import errors
from pymongo.collection import Collection

from gateways.store.mongo_documents import Document
from gateways.store.mongo_errors import duplicates

__all__ = ["all_owners", "claim_owners"]


def claim_owners(
    owners: Collection[Document], owner: str, robots: Sequence[str], ts: int
) -> dict[str, str]:
    """Make ``owner`` the owner of each of ``robots`` that has none; each robot's owner now."""
    names = list(dict.fromkeys(robots))
    if not names:
        return {}
    documents = [{"_id": robot, "owner": owner, "since_ts": ts} for robot in names]
    try:
        owners.insert_many(documents, ordered=False)
    except errors.BulkWriteError as exc:
        duplicates(exc)  # raises it again unless every refusal is a robot already taken
    found = owners.find({"_id": {"$in": names}}, {"owner": 1})
    return {str(document["_id"]): str(document["owner"]) for document in found}


def all_owners(owners: Collection[Document]) -> dict[str, str]:
    """Every robot that has an owner, with its owner."""
    return {str(document["_id"]): str(document["owner"]) for document in owners.find({})}
