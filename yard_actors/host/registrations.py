"""A keyed host's robots, registered with the order gateway under the host's key.

Over CURVE the gateway lets a key act only for the robots it owns (docs/wire.md 1b), so
a host whose ``orders`` connection is keyed registers each robot when it adds it:
``[register, robot]`` on ``recovery``, answered by ``[registered, key, robot, verdict]``.
:func:`register_robot` (the caller's thread, in :meth:`Host.add_robot`) asks and waits:

* **registered**: the robot starts; its commands, recovery requests and trades
  subscription are the host's from now on. Registering again a robot the key owns (a
  host restarted) is granted again.
* **refused** (another key owns the name, or one that begins alike): nothing starts;
  ``add_robot`` raises RobotError with the gateway's sentence, and it is logged.
* **no answer** within the wait (the gateway not up yet, or restarting): the robot
  starts, with a warning, and the request is sent again (after 2, 4, 8... s, at most
  30 s apart) until the gateway answers. Orders it sends before are refused by the
  gateway and resolved once registered (``lost in transit``); a late yes subscribes
  its reports again and asks for what it missed; a late no halts it (a journaled
  ``halt``) and is logged. Once one registration has gone unanswered that long, robots
  added after it do not wait: a gateway away holds up no host's start.

:class:`Registrations` is shared by the caller's thread and the trades intake's receive
thread, which owns the recovery DEALER: it sends what is due and takes the answers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Final

import attrs
import pykka
import zmq

from yard_actors.errors import DecodeError, RobotError
from yard_actors.net import Security, speaks_curve
from yard_actors.wire.names import MAX_REGISTER_ROBOTS, RECOVERY_REGISTER

__all__ = ["Registrations", "SendRegistrations", "Verdict", "register_robot", "registrations_for"]

logger = logging.getLogger(__name__)

_FIRST_AGAIN_S: Final = 2.0  # an unanswered registration is sent again after this, doubling
_MOST_AGAIN_S: Final = 30.0


class SendRegistrations:
    """Tell the trades intake to send the registrations due now (its thread owns the socket)."""


@attrs.frozen
class Verdict:
    """The gateway's answer about one robot: ``refusal`` is empty if it is now ``key``'s."""

    key: str
    refusal: str


@attrs.define
class _Asked:
    sent_at: float | None = None
    attempts: int = 0
    verdict: Verdict | None = None
    waited_out: bool = False  # add_robot went on without an answer


class Registrations:
    """The robots asked for and the gateway's answers; any thread (see the module docstring).

    ``on_late_refusal(robot)`` is called on the receive thread for a robot refused after
    ``add_robot`` went on without an answer; the host halts it there.
    """

    def __init__(self, on_late_refusal: Callable[[str], None]) -> None:
        self._on_late_refusal = on_late_refusal
        self._asked: dict[str, _Asked] = {}
        self._changed = threading.Condition()

    # --- the caller's thread -----------------------------------------------------------------

    def ask(self, robot: str) -> None:
        """Have ``robot`` registered: sent at the intake's next :meth:`due`."""
        with self._changed:
            self._asked[robot] = _Asked()

    def wait(self, robot: str, timeout: float) -> Verdict | None:
        """The gateway's answer about ``robot``, waiting up to ``timeout`` s; None if none came.

        Does not wait while the registration of a robot whose waiter gave up is unanswered:
        the gateway is away, and a host adding many robots must not wait for each.
        """
        with self._changed:
            if self._gateway_silent():
                timeout = 0.0
            asked = self._asked.get(robot)
            self._changed.wait_for(lambda: asked is None or asked.verdict is not None, timeout)
            if asked is None:
                return None
            if asked.verdict is None:
                asked.waited_out = True
                return None
            if asked.verdict.refusal:
                del self._asked[robot]  # settled: nothing is sent again
            return asked.verdict

    def _gateway_silent(self) -> bool:
        return any(a.waited_out and a.verdict is None for a in self._asked.values())

    def forget(self, robot: str) -> None:
        """Ask nothing more about ``robot`` (it was removed); a late answer is ignored."""
        with self._changed:
            self._asked.pop(robot, None)
            self._changed.notify_all()

    # --- the trades intake's receive thread ----------------------------------------------------

    def due(self, now: float) -> list[list[bytes]]:
        """The ``register`` requests to send now: robots never sent, and those unanswered
        long enough to be sent again."""
        with self._changed:
            robots = [name for name, asked in self._asked.items() if _is_due(asked, now)]
            for name in robots:
                asked = self._asked[name]
                asked.sent_at = now
                asked.attempts += 1
        names = [name.encode() for name in robots]
        return [
            [RECOVERY_REGISTER, *names[start : start + MAX_REGISTER_ROBOTS]]
            for start in range(0, len(names), MAX_REGISTER_ROBOTS)
        ]

    def send_due(self, recovery: zmq.Socket[bytes]) -> None:
        """Send what :meth:`due` says on the ``recovery`` DEALER, without blocking."""
        for request in self.due(time.monotonic()):
            try:
                recovery.send_multipart(request, zmq.NOBLOCK)
            except zmq.Again:  # the gateway away and the queue full: sent again later
                return

    def take_answer(self, frames: list[bytes]) -> list[str]:
        """Take a ``[registered, key, robot, verdict...]`` answer; return the robots that are
        registered late (``add_robot`` went on without it): the intake subscribes them again.

        Raises DecodeError for a malformed answer. A robot refused late is logged and
        handed to ``on_late_refusal``.
        """
        if len(frames) < 2 or len(frames) % 2:
            msg = (
                f"a registration answer of {len(frames)} frames, "
                "not [registered, key, robot, verdict...]"
            )
            raise DecodeError("bad_registration", msg)
        try:
            key = frames[1].decode()
            pairs = [(frames[i].decode(), frames[i + 1].decode()) for i in range(2, len(frames), 2)]
        except UnicodeDecodeError as exc:
            msg = f"a registration answer that is not UTF-8: {exc}"
            raise DecodeError("bad_registration", msg) from exc
        late: list[str] = []
        refused: list[tuple[str, str]] = []
        with self._changed:
            for robot, refusal in pairs:
                asked = self._asked.get(robot)
                if asked is None or asked.verdict is not None:
                    continue  # removed since, or a repeat of an answer taken already
                asked.verdict = Verdict(key=key, refusal=refusal)
                if not asked.waited_out:
                    continue  # add_robot takes it
                if refusal:
                    refused.append((robot, refusal))
                    del self._asked[robot]
                else:
                    late.append(robot)
            self._changed.notify_all()
        for robot in late:
            logger.info("robot %s: registered with the gateway under key %s, late", robot, key)
        for robot, refusal in refused:
            logger.error(
                "robot %s: the gateway refused to register it under this host's key, late: %s; "
                "it is halted",
                robot,
                refusal,
            )
            try:
                self._on_late_refusal(robot)
            except Exception:
                logger.exception("robot %s: could not be halted", robot)
        return late


def _is_due(asked: _Asked, now: float) -> bool:
    if asked.verdict is not None:
        return False
    if asked.sent_at is None:
        return True
    again: float = min(_MOST_AGAIN_S, _FIRST_AGAIN_S * 2.0 ** (asked.attempts - 1))
    return now - asked.sent_at >= again


def registrations_for(
    orders: str, recovery: str | None, security: Security, on_late_refusal: Callable[[str], None]
) -> Registrations | None:
    """The registrations of a host whose ``orders`` connection is keyed; None for another.

    A keyed one without a ``recovery`` endpoint cannot register, and a yard gateway refuses
    its robots' orders: it says so at start (a warning, not an error: a gateway of another
    make, or the test kit's, may not ask for registrations).
    """
    if not speaks_curve(orders, security):
        return None
    if recovery is None:
        logger.warning(
            "this host has keys on %s but no recovery endpoint, where a keyed host registers "
            "its robots: a yard gateway refuses their orders; give the host the gateway's "
            "recovery endpoint (endpoints.recovery, Host(recovery=...))",
            orders,
        )
        return None
    return Registrations(on_late_refusal)


def register_robot(
    intake: pykka.ActorRef[Any], registrations: Registrations, robot: str, timeout: float
) -> None:
    """Register ``robot`` with the gateway through the trades ``intake``; see the module
    docstring. Raises RobotError, logged, if the gateway refuses it."""
    registrations.ask(robot)
    intake.tell(SendRegistrations())
    verdict = registrations.wait(robot, timeout)
    if verdict is None:
        logger.warning(
            "robot %s: the gateway has not answered its registration within %g s; it starts "
            "unregistered, and the gateway refuses its orders until it answers (asked again "
            "meanwhile)",
            robot,
            timeout,
        )
    elif verdict.refusal:
        msg = (
            f"robot {robot} cannot run on this host: the gateway refused to register it "
            f"under this host's key {verdict.key}: {verdict.refusal}"
        )
        logger.error("%s", msg)
        raise RobotError(msg)
    else:
        logger.info("robot %s: registered with the gateway under key %s", robot, verdict.key)
