"""pymongo and bson errors as yard's :class:`StoreError`, each with a sentence saying what it means.

Every pymongo or bson error raised inside :func:`translated` leaves it as a
StoreError ``from`` the original::

    PyMongoError                          -> StoreError
    ├── ConnectionFailure (AutoReconnect, ServerSelectionTimeoutError, NetworkTimeout...)
    ├── ConfigurationError (InvalidURI)
    ├── OperationFailure (WriteError, DuplicateKeyError, WriteConcernError, BulkWriteError...)
    ├── InvalidOperation, InvalidName, CollectionInvalid, ProtocolError, EncryptionError...
    BSONError (InvalidDocument, InvalidBSON, InvalidStringData, InvalidId)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from bson.errors import BSONError
from pymongo import errors

from yard_actors.errors import StoreError

__all__ = ["FOREIGN_ERRORS", "duplicates", "redacted", "translated"]

FOREIGN_ERRORS: Final = (errors.PyMongoError, BSONError)
_DUPLICATE_KEY: Final = 11000  # MongoDB's error code for a unique index's refusal

# What each kind of error means, most specific first; the last two catch the rest.
_MEANINGS: Final[tuple[tuple[type[Exception], str], ...]] = (
    (errors.DuplicateKeyError, "a unique index refused a second document with the same key"),
    (
        errors.ServerSelectionTimeoutError,
        "no MongoDB server answered in time; check that it runs and that the URL names it",
    ),
    (errors.ConnectionFailure, "the connection to MongoDB failed or timed out"),
    (errors.ConfigurationError, "the MongoDB URL or one of its options is invalid"),
    (errors.OperationFailure, "MongoDB refused the operation"),
    (errors.InvalidOperation, "pymongo refused the operation; the store may be closed"),
    (errors.PyMongoError, "pymongo failed"),
    (BSONError, "a document could not be converted to or from BSON"),
)


def _meaning(exc: BaseException) -> str:
    return next(meaning for kind, meaning in _MEANINGS if isinstance(exc, kind))


@contextlib.contextmanager
def translated(where: str, action: str) -> Iterator[None]:
    """Raise every pymongo or bson error inside the block as a StoreError ``from`` it."""
    try:
        yield
    except FOREIGN_ERRORS as exc:
        msg = f"The MongoDB order store {where} could not {action}: {_meaning(exc)} ({exc})"
        raise StoreError(msg) from exc


def duplicates(exc: errors.BulkWriteError) -> list[int]:
    """The indexes of the documents an unordered bulk insert refused as duplicates.

    Raises ``exc`` again if it refused anything for another reason, or its
    write concern failed: that is a failure, not a taken key.
    """
    details = exc.details or {}
    refused = details.get("writeErrors", [])
    if details.get("writeConcernErrors") or any(
        error.get("code") != _DUPLICATE_KEY for error in refused
    ):
        raise exc
    return sorted(int(error["index"]) for error in refused)


def redacted(url: str) -> str:
    """``url`` without its password, fit for logs and error messages."""
    parts = urlsplit(url)
    _, at, hosts = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"***@{hosts}" if at else hosts))
