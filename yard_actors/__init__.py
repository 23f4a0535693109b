"""yard: an actor-model host for algorithmic trading robots.

Import what you need from here: ``from yard_actors import Robot, Host, Quote``.

The names load on first use (PEP 562), so a process that needs only the wire
vocabulary — the order gateway, the feed — imports ``yard_actors.wire`` without
loading Pykka, the host or the journal. Layers and where each name lives:
``docs/architecture.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from yard_actors.errors import (
        ConfigError,
        DecodeError,
        GatewayError,
        JournalError,
        RobotError,
        YardError,
    )
    from yard_actors.host.host import Host
    from yard_actors.journal import FlushPolicy, JournalConfig
    from yard_actors.journal.replay import ReplayFailure, ReplayResult, replay
    from yard_actors.net import Security
    from yard_actors.robot import HandlerResult, Robot, RobotStatus
    from yard_actors.robot.risk import RiskLimits
    from yard_actors.runtime import Pool, PooledActor
    from yard_actors.wire.codec import decode, encode
    from yard_actors.wire.events import (
        Bar,
        CancelOrder,
        CancelReply,
        Command,
        Control,
        ControlAction,
        Event,
        Fill,
        NewOrder,
        OrderAccepted,
        OrderRejected,
        Quote,
        SessionState,
        SessionStatus,
        Side,
        SystemStatus,
        Tick,
        TimeInForce,
        Timer,
    )
    from yard_actors.wire.instruments import Instrument, InstrumentTable

_EVENTS = "yard_actors.wire.events"
_ERRORS = "yard_actors.errors"
# Each public name and the module it lives in: the one place that maps the two.
_HOME: dict[str, str] = {
    **dict.fromkeys(
        (
            "Bar",
            "CancelOrder",
            "CancelReply",
            "Command",
            "Control",
            "ControlAction",
            "Event",
            "Fill",
            "NewOrder",
            "OrderAccepted",
            "OrderRejected",
            "Quote",
            "SessionState",
            "SessionStatus",
            "Side",
            "SystemStatus",
            "Tick",
            "TimeInForce",
            "Timer",
        ),
        _EVENTS,
    ),
    **dict.fromkeys(
        ("ConfigError", "DecodeError", "GatewayError", "JournalError", "RobotError", "YardError"),
        _ERRORS,
    ),
    "decode": "yard_actors.wire.codec",
    "encode": "yard_actors.wire.codec",
    "Instrument": "yard_actors.wire.instruments",
    "InstrumentTable": "yard_actors.wire.instruments",
    "HandlerResult": "yard_actors.robot",
    "Robot": "yard_actors.robot",
    "RobotStatus": "yard_actors.robot",
    "RiskLimits": "yard_actors.robot.risk",
    "FlushPolicy": "yard_actors.journal",
    "JournalConfig": "yard_actors.journal",
    "ReplayFailure": "yard_actors.journal.replay",
    "ReplayResult": "yard_actors.journal.replay",
    "replay": "yard_actors.journal.replay",
    "Pool": "yard_actors.runtime",
    "PooledActor": "yard_actors.runtime",
    "Host": "yard_actors.host.host",
    "MailboxLimits": "yard_actors.host.backlog",
    "SupervisionConfig": "yard_actors.host.supervision_config",
    "Security": "yard_actors.net",
}

__all__ = [
    "Bar",
    "CancelOrder",
    "CancelReply",
    "Command",
    "ConfigError",
    "Control",
    "ControlAction",
    "DecodeError",
    "Event",
    "Fill",
    "FlushPolicy",
    "GatewayError",
    "HandlerResult",
    "Host",
    "Instrument",
    "InstrumentTable",
    "JournalConfig",
    "JournalError",
    "MailboxLimits",
    "NewOrder",
    "OrderAccepted",
    "OrderRejected",
    "Pool",
    "PooledActor",
    "Quote",
    "ReplayFailure",
    "ReplayResult",
    "RiskLimits",
    "Robot",
    "RobotError",
    "RobotStatus",
    "Security",
    "SessionState",
    "SessionStatus",
    "Side",
    "SupervisionConfig",
    "SystemStatus",
    "Tick",
    "TimeInForce",
    "Timer",
    "YardError",
    "decode",
    "encode",
    "replay",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        msg = f"module 'yard_actors' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
