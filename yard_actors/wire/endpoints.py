"""Where each message type travels: its endpoint and who sends it, for refusals to name.

A receiver that gets a valid message on the wrong endpoint drops it (``wrong_intake``,
``docs/wire.md`` section 2). Saying only that it "does not belong here" leaves the sender
guessing; the host's intakes and the order gateway both name where it does belong, from
this one table, so the two cannot word it differently. The endpoint names are those of
``docs/wire.md`` section 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from yard_actors.wire import events

__all__ = ["belongs_on", "wrong_endpoint"]

_FEED: Final = "on data, published by the feed"
_ORDERS: Final = "on orders, sent by a host to the gateway"
_TRADES: Final = "on trades, published by the gateway"

_HOME: Final[Mapping[str, str]] = {
    "Quote": _FEED,
    "Tick": _FEED,
    "Bar": _FEED,
    "SessionStatus": _FEED,
    "SystemStatus": "on data (from the feed) or trades (from the gateway)",
    "NewOrder": _ORDERS,
    "CancelOrder": _ORDERS,
    "OrderAccepted": _TRADES,
    "OrderRejected": _TRADES,
    "CancelReply": _TRADES,
    "Fill": _TRADES,
    "Control": "on no endpoint: a controller makes a call on control (docs/wire.md 4c)",
    "Timer": "on no endpoint: the host makes it for its robots",
}


def belongs_on(event: events.Event | type) -> str:
    """Where a message of this type belongs: ``"on trades, published by the gateway"``."""
    kind = event if isinstance(event, type) else type(event)
    return _HOME.get(kind.__name__, "on no endpoint yard knows")


def wrong_endpoint(event: events.Event, endpoint: str, takes: tuple[type, ...]) -> str:
    """The refusal of ``event`` arriving on ``endpoint``, which takes only ``takes``.

    For example ``"a Fill on data, which takes Quote, Tick, SessionStatus, SystemStatus;
    a Fill belongs on trades, published by the gateway"``.
    """
    name = type(event).__name__
    article = "an" if name[0] in "AEIOU" else "a"
    taken = ", ".join(kind.__name__ for kind in takes)
    return (
        f"{article} {name} on {endpoint}, which takes {taken}; "
        f"{article} {name} belongs {belongs_on(event)}"
    )
