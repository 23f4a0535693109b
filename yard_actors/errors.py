"""yard's own exceptions.

The tree, in one place::

    YardError
    ├── DecodeError      a message on the wire or in a journal is malformed (has ``reason``)
    ├── JournalError     a journal cannot be written, or is corrupt before its tail
    ├── ConfigError      a host or robot configuration is invalid; names file, key and problem
    ├── RobotError       a robot cannot be added, found or built
    ├── GatewayError     the order link or a socket failed (pyzmq errors are raised ``from`` it)
    ├── PoolError        a pooled-runtime pool misused (after shutdown, from its own worker)
    │   └── PoolDeadlockError  every worker would block on another pooled actor's reply
    └── StoreError       the order store failed or refused a write (backend errors ``from`` it)
        └── TransitionError  an order state change the lifecycle table does not allow

Business refusals are never exceptions: they are
:class:`~yard_actors.wire.events.OrderRejected` events.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DecodeError",
    "GatewayError",
    "JournalError",
    "PoolDeadlockError",
    "PoolError",
    "RobotError",
    "StoreError",
    "TransitionError",
    "YardError",
]


class YardError(Exception):
    """The base of every error yard raises on purpose."""


class DecodeError(YardError):
    """A message could not be decoded; ``reason`` is a short stable code for counting.

    Reasons: ``oversized``, ``not_json``, ``not_object``, ``bad_version``,
    ``unknown_type``, ``missing_field``, ``unknown_field``, ``bad_field``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class JournalError(YardError):
    """A journal could not be written, or is damaged somewhere other than its torn tail."""


class ConfigError(YardError):
    """A configuration is invalid; the message names the file (if any), the key and the problem."""


class RobotError(YardError):
    """A robot could not be built, added or found."""


class GatewayError(YardError):
    """A link to the order gateway or a ZeroMQ socket failed."""


class StoreError(YardError):
    """The order store could not do what was asked; the backend's error is its ``__cause__``."""


class TransitionError(StoreError):
    """An order state change that the lifecycle table refuses; nothing was written."""


class PoolError(YardError):
    """A pool was used in a way it cannot honour: after shutdown, from its own worker, etc."""


class PoolDeadlockError(PoolError):
    """A worker was about to block on a pooled reply while every other worker is blocked too."""
