"""How a :class:`~yard_actors.journal.Journal` flushes its records and how big a segment grows."""

from __future__ import annotations

import enum

import attrs

__all__ = ["FlushPolicy", "JournalConfig"]


class FlushPolicy(enum.Enum):
    """When written records are handed to the operating system (a process crash loses none)."""

    EVERY_EVENT = "every_event"
    EVERY_N = "every_n"
    INTERVAL = "interval"


def _policy(instance: object, attribute: attrs.Attribute[FlushPolicy], value: object) -> None:
    if not isinstance(value, FlushPolicy):
        allowed = ", ".join(f"FlushPolicy.{policy.name}" for policy in FlushPolicy)
        msg = f"{attribute.name} must be one of {allowed}, was {value!r}"
        raise TypeError(msg)


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if type(value) is not int or value <= 0:
        msg = f"{attribute.name} must be positive, was {value!r}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class JournalConfig:
    """How often a :class:`Journal` flushes, whether it fsyncs, and how big a segment grows.

    ``INTERVAL`` flushes when a record arrives at least ``interval_ms`` after the last flush,
    and a one-shot timer thread flushes records left behind when traffic stops; the timer ends
    after one interval, and :meth:`Journal.close` stops it.
    """

    flush: FlushPolicy = attrs.field(default=FlushPolicy.EVERY_EVENT, validator=_policy)
    every_n: int = attrs.field(default=100, validator=_positive)
    interval_ms: int = attrs.field(default=50, validator=_positive)
    fsync: bool = False
    segment_bytes: int = attrs.field(default=64 * 1024 * 1024, validator=_positive)
