"""Commands and market data as they reach the gateway: read and checked, or refused with a reason.

A message on ``orders`` must be ``[robot, NewOrder|CancelOrder]`` whose robot
is the topic; one on ``data`` ``[topic, Quote|Tick|Bar|SessionStatus]`` whose
topic is its symbol (``$session`` for a status). Anything else raises
:class:`~yard_actors.errors.DecodeError` with the codec's reason or one of
``bad_frames``, ``wrong_intake``, ``topic_mismatch`` (docs/wire.md section 2),
for the gateway to count and drop.
"""

from __future__ import annotations

from collections import Counter
from typing import Final

from gateways.drops import Drops
from gateways.exchange import MarketUpdate
from yard_actors.errors import DecodeError
from yard_actors.wire.codec import decode
from yard_actors.wire.endpoints import wrong_endpoint
from yard_actors.wire.events import Bar, CancelOrder, NewOrder, Quote, SessionStatus, Tick
from yard_actors.wire.names import SESSION_TOPIC

__all__ = ["read_command", "read_market", "take_command"]

_SHOWN: Final = 40  # bytes of a topic quoted in a refusal
_SESSION: Final = SESSION_TOPIC.encode()
_COMMANDS: Final = (NewOrder, CancelOrder)
_MARKET: Final = (Quote, Tick, Bar, SessionStatus)  # what the gateway reads of data


def read_command(frames: list[bytes]) -> NewOrder | CancelOrder:
    """The command in ``frames``; raise DecodeError (with a reason) if there is none."""
    if len(frames) != 2:
        msg = f"a command of {len(frames)} frames instead of [robot, command]"
        raise DecodeError("bad_frames", msg)
    command = decode(frames[1])
    if not isinstance(command, NewOrder | CancelOrder):
        raise DecodeError("wrong_intake", wrong_endpoint(command, "orders", _COMMANDS))
    if command.robot.encode() != frames[0]:
        msg = f"{type(command).__name__} of robot {command.robot} under {frames[0][:_SHOWN]!r}"
        raise DecodeError("topic_mismatch", msg)
    return command


def take_command(
    frames: list[bytes], drops: Drops, stats: Counter[str]
) -> NewOrder | CancelOrder | None:
    """:func:`read_command`, counted as the gateway counts: a command read counts in
    ``stats["commands"]``; one that does not decode is dropped (``drops``) and None returned."""
    try:
        command = read_command(frames)
    except DecodeError as exc:
        drops.drop("command", exc.reason, str(exc))
        return None
    stats["commands"] += 1
    return command


def read_market(frames: list[bytes]) -> MarketUpdate:
    """The market event in ``frames``; raise DecodeError (with a reason) if there is none."""
    if len(frames) != 2:
        msg = f"market data of {len(frames)} frames instead of [topic, event]"
        raise DecodeError("bad_frames", msg)
    event = decode(frames[1])
    if isinstance(event, SessionStatus):
        topic = _SESSION
    elif isinstance(event, Quote | Tick | Bar):
        topic = event.symbol.encode()
    else:
        raise DecodeError("wrong_intake", wrong_endpoint(event, "data", _MARKET))
    if frames[0] != topic:
        msg = f"a {type(event).__name__} of {topic.decode()} under {frames[0][:_SHOWN]!r}"
        raise DecodeError("topic_mismatch", msg)
    return event
