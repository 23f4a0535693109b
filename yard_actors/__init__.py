"""yard: an actor-model host for algorithmic trading robots.

Import what you need from here: ``from yard_actors import Robot, Host, Quote``.
"""

from yard_actors.codec import decode, encode
from yard_actors.errors import (
    ConfigError,
    DecodeError,
    GatewayError,
    JournalError,
    RobotError,
    YardError,
)
from yard_actors.events import (
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
from yard_actors.host import Host
from yard_actors.instruments import Instrument, InstrumentTable
from yard_actors.journal import FlushPolicy, JournalConfig
from yard_actors.replay import ReplayResult, replay
from yard_actors.robot import Robot, RobotStatus
from yard_actors.runtime import Pool, PooledActor

__all__ = [
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
    "Host",
    "Instrument",
    "InstrumentTable",
    "JournalConfig",
    "JournalError",
    "NewOrder",
    "OrderAccepted",
    "OrderRejected",
    "Pool",
    "PooledActor",
    "Quote",
    "ReplayResult",
    "Robot",
    "RobotError",
    "RobotStatus",
    "SessionState",
    "SessionStatus",
    "Side",
    "SystemStatus",
    "Tick",
    "TimeInForce",
    "Timer",
    "YardError",
    "decode",
    "encode",
    "replay",
]
