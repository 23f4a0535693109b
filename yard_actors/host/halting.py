"""The kill switch, and the wait for a robot's cancels: until the gateway has answered them.

A ``halt`` control makes a robot cancel every working order and stop trading
(:mod:`yard_actors.robot.lifecycle`); what it cancels is done only when the gateway says so.
So :func:`halt_robots` (``Host.halt``) tells every robot ``halt`` at once, waits until each
has handled it (its mailbox is FIFO: a ``Ping`` answered after the control means the
control was handled, and the cancels it caused sent), then waits until no robot holds a
working order in its book and no cancel of its awaits an answer (:mod:`.in_flight`), or
until the time given is up. Working orders leave a robot's book when the gateway's answer
reaches it (a ``CancelReply``, an ``OrderRejected``, or the fills that complete them), so
an empty book is the gateway's confirmation, as the robot itself heard it.

These run on the caller's thread (the REPL's, the control server's) under the host's
supervision lock; they read the figures each robot's actor publishes (``RobotStats``)
and never touch a robot's state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import pykka

from yard_actors.host.hosted import Hosted
from yard_actors.host.in_flight import InFlight
from yard_actors.host.robot_actor import Ping
from yard_actors.robot.lifecycle import RobotStatus

__all__ = ["HaltReport", "halt_robots", "handled", "open_orders", "wait_cancels_answered"]

logger = logging.getLogger(__name__)

_POLL_S = 0.005  # how often the robots' published figures are read while waiting
_HALTABLE = frozenset({RobotStatus.RUNNING.value, RobotStatus.PAUSED.value})


@attrs.frozen(kw_only=True)
class HaltReport:
    """What :meth:`Host.halt` did.

    ``robots``: robots halted now (those halted already included); ``cancelled``: working
    orders the gateway confirmed final (cancelled, or filled before the cancel arrived);
    ``unconfirmed``: working orders left with no answer when the wait ran out (0 unless it
    did); ``seconds``: how long the call took.
    """

    cancelled: int
    robots: int
    unconfirmed: int
    seconds: float

    def __str__(self) -> str:
        robots = _plural(self.robots, "robot")
        cancels = _plural(self.cancelled, "cancel")
        if not self.unconfirmed:
            return (
                f"halted {robots}; the gateway confirmed {cancels}, no working order is left "
                f"({self.seconds:.2f} s)"
            )
        return (
            f"halted {robots}; the gateway confirmed {cancels}, but "
            f"{_plural(self.unconfirmed, 'working order')} had no answer after "
            f"{self.seconds:.1f} s: robots() shows them as open; check the gateway, then "
            "halt() again"
        )


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def handled(robots: Sequence[Hosted], deadline: float) -> list[str]:
    """Wait until each robot handled what was told it before; the names of those that did not
    by ``deadline`` (monotonic): busy far behind, or stopped."""
    futures: list[tuple[str, pykka.Future[Any]]] = []
    late: list[str] = []
    for hosted in robots:
        try:
            futures.append((hosted.name, hosted.ref.ask(Ping(), block=False)))
        except pykka.ActorDeadError:
            late.append(hosted.name)
    for name, future in futures:
        try:
            future.get(timeout=max(0.0, deadline - time.monotonic()))
        except (pykka.Timeout, pykka.ActorDeadError):
            late.append(name)
    return late


def open_orders(robots: Sequence[Hosted], in_flight: InFlight) -> int:
    """Working orders in the robots' books, or cancels of theirs awaiting an answer (the more)."""
    cancelling = in_flight.cancelling()
    return sum(max(h.stats.open_orders, cancelling[h.name]) for h in robots)


def wait_cancels_answered(robots: Sequence[Hosted], in_flight: InFlight, deadline: float) -> int:
    """Wait until no robot has a working order nor a cancel awaiting an answer, or until
    ``deadline`` (monotonic); return how many are left (0: all answered)."""
    while True:
        left = open_orders(robots, in_flight)
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(_POLL_S)


def halt_robots(
    robots: Sequence[Hosted],
    in_flight: InFlight,
    *,
    halt: Callable[[Hosted], None],
    timeout: float,
) -> HaltReport:
    """Halt every robot (``halt(hosted)`` sends its control) and wait for the gateway's answers.

    Robots already halted, failed or stopped get no control (their lifecycle would refuse
    it: their orders were cancelled when they got there), but their working orders are
    waited for too. Returns within about ``timeout`` seconds.
    """
    start = time.monotonic()
    deadline = start + timeout
    # Orders answered before the robot is seen to handle its halt count too: what was
    # open before the halt, or after it if a robot sent more meanwhile.
    before = open_orders(robots, in_flight)
    for hosted in robots:
        if hosted.stats.status in _HALTABLE:
            halt(hosted)
    late = handled(robots, deadline)
    if late:
        logger.warning(
            "halt: robots %s had not handled the halt within %g s (far behind?); their "
            "working orders are waited for with the rest",
            ", ".join(late),
            timeout,
        )
    to_cancel = max(before, open_orders(robots, in_flight))
    left = wait_cancels_answered(robots, in_flight, deadline)
    halted = sum(1 for h in robots if h.stats.status == RobotStatus.HALTED.value)
    report = HaltReport(
        cancelled=max(0, to_cancel - left),
        robots=halted,
        unconfirmed=left,
        seconds=time.monotonic() - start,
    )
    logger.log(logging.WARNING if left else logging.INFO, "halt: %s", report)
    return report
