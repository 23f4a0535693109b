"""Registering robots under a host's key, on the recovery endpoint: request, checks, answer.

A host sends ``[register, robot...]`` on its ``recovery`` DEALER when it starts a robot
(docs/wire.md 1b); the gateway's ROUTER reads it with the sender's identity in front and
the name of its key on the frame. The recovery thread answers it in its turn, after the
requests the peer sent before and before those it sent after, so a replay that follows a
registration on the same connection finds the robot registered. The answer is one
message, ``[registered, key, robot, verdict, robot, verdict...]``: an empty verdict for
a robot now the key's, else the sentence saying why it is not (:mod:`.owners`).

On a recovery endpoint without keys nobody can be told apart: every robot is answered
with an empty verdict under an empty key, and nothing is stored (ownership is not
enforced there).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Final, TypeAlias

import attrs

from gateways.drops import Drops
from gateways.owners import Owners
from gateways.recovery import Replay, Resolve, parse_request
from gateways.recovery_jobs import Step, StoreSource, ToPeer
from yard_actors.errors import DecodeError
from yard_actors.wire.names import MAX_REGISTER_ROBOTS, RECOVERY_REGISTER, RECOVERY_REGISTERED

__all__ = ["Register", "Request", "read_register", "read_request", "refusal", "register_job"]

_MAX_NAME: Final = 128  # a wire "name": 1 to 128 characters (docs/wire.md section 3)
_SHOWN: Final = 40  # bytes of a bad frame quoted in a drop's log line


@attrs.frozen(kw_only=True)
class Register:
    """Register ``robots`` under ``key`` (None: a peer without keys) and answer ``identity``."""

    identity: bytes
    key: str | None
    robots: tuple[str, ...]

    @property
    def robot(self) -> str:
        """The robots, for a log line (as a replay's or a resolve's one robot)."""
        shown = ", ".join(self.robots[:3])
        return shown if len(self.robots) <= 3 else f"{shown} and {len(self.robots) - 3} more"


Request: TypeAlias = Replay | Resolve | Register


def read_request(frames: list[bytes], key: str | None) -> Request:
    """Any request off the ROUTER, sent with ``key``; DecodeError (with a reason) if malformed."""
    if len(frames) >= 2 and frames[1] == RECOVERY_REGISTER:
        return read_register(frames, key)
    return parse_request(frames, key)


def refusal(owners: Owners, request: Request) -> str | None:
    """Why ``request``'s key may not ask it (a replay or resolve of another key's robot)."""
    if isinstance(request, Register) or owners.may_act(request.key, request.robot):
        return None
    owner = owners.owner(request.robot)
    whose = "which no key registered" if owner is None else f"which is key {owner}'s"
    kind = type(request).__name__.lower()
    return f"key {request.key} asked for a {kind} of robot {request.robot}, {whose}"


def read_register(frames: list[bytes], key: str | None) -> Register:
    """``[identity, register, robot...]`` as a :class:`Register`; DecodeError if malformed."""
    names = frames[2:]
    if not 0 < len(names) <= MAX_REGISTER_ROBOTS:
        msg = f"a register request names {len(names)} robots; name 1 to {MAX_REGISTER_ROBOTS}"
        raise DecodeError("bad_frames", msg)
    return Register(identity=frames[0], key=key, robots=tuple(_name(frame) for frame in names))


def _name(frame: bytes) -> str:
    try:
        name = frame.decode()
    except UnicodeDecodeError:
        name = ""
    if not 0 < len(name) <= _MAX_NAME:
        msg = f"robot must be 1 to {_MAX_NAME} characters of UTF-8, was {frame[:_SHOWN]!r}"
        raise DecodeError("bad_robot", msg)
    return name


def register_job(
    store: StoreSource, owners: Owners, request: Register, drops: Drops
) -> Iterator[Step]:
    """Register the robots (one store write), then yield the answer for the asker.

    Each refusal is counted (``dropped_recovery_register_refused``) and logged
    rate-limited in ``drops``, the recovery thread's.
    """
    if request.key is None:
        verdicts = [(robot, "") for robot in request.robots]
    else:
        verdicts = owners.register(store(), request.key, request.robots, time.time_ns())
    for _, verdict in verdicts:
        if verdict:
            drops.drop("recovery", "register_refused", f"key {request.key}: {verdict}")
    answer = [RECOVERY_REGISTERED, (request.key or "").encode()]
    for robot, verdict in verdicts:
        answer += [robot.encode(), verdict.encode()]
    yield ToPeer(answer)
