"""Market-time pacing of the order gateway: commands and reports held until a pacer releases them.

In a market-time run (``yard run`` at full speed, :mod:`yard_actors.app.lockstep`) the
feed publishes an event only when everything the last one caused is done. For the
same day to give the same orders and fills every run, the gateway must meet each
command with the same market, and the commands of several robots in the same order,
whatever the threads do. So a paced gateway

1. applies market data as it takes it, storing what it causes but publishing none of
   it yet; the commands released earlier that wait for the market to reach their
   ``ts`` go before the event (``ts`` below the event's) or just after it (equal);
2. holds the commands it takes until the pacer, which knows that the robots have
   handled the event and sent all they will send for it, releases them; then applies
   them by robot name (each robot's in the order it sent them), each once the market
   has reached its ``ts`` (a robot's clock is the ``ts`` of the event it reacted to).
   A command ahead of the market waits, and so do that robot's later ones, for the
   data that reaches it (step 1), or for a flush, which applies all that waits (the
   end of the day);
3. publishes, at a release, every report held, in the order stored.

So a robot sees a quote before a fill the quote caused, and its orders meet the
market it saw. Written by the gateway's thread only; the counters are plain ints
that other threads read (one writer, an int store is atomic under the GIL).
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter

import zmq

from gateways.drops import Drops
from gateways.exchange import MarketUpdate
from gateways.incoming import read_market, take_command
from yard_actors.errors import DecodeError
from yard_actors.wire.events import CancelOrder, NewOrder

__all__ = ["FLUSH", "RELEASE", "PacedInput", "Pacer"]

RELEASE = b"release"
"""Apply the commands held, once the market has reached their ``ts``; publish the reports."""
FLUSH = b"flush"
"""Apply every command held whatever its ``ts`` (the market has ended); publish the reports."""

Command = NewOrder | CancelOrder


class PacedInput:
    """What a paced gateway took off its sockets and has not applied yet, and its counts.

    ``market_taken`` counts the messages taken off the data socket, once applied and
    what they caused stored; ``commands_taken`` those of the orders socket, as taken (bad
    ones too: they are dropped as they are taken); ``releases`` the releases done, each
    counted once what it applied is published. :attr:`changed` is notified after each
    count moved, for a pacer to wait on instead of looking again and again.
    """

    def __init__(self, drops: Drops, stats: Counter[str]) -> None:
        self._drops = drops
        self._stats = stats
        self.market: list[MarketUpdate] = []
        self.commands: list[Command] = []  # taken since the last release
        self.waiting: list[Command] = []  # released, ahead of the market
        self.market_taken = 0
        self._taking = 0
        self.commands_taken = 0
        self.releases = 0
        self.changed = threading.Condition()

    def notify(self) -> None:
        """Wake whoever waits on :attr:`changed`: a count moved."""
        with self.changed:
            self.changed.notify_all()

    def take_market(self, frames: list[bytes]) -> None:
        """Hold one message of the data socket; a bad one is dropped as the gateway drops it."""
        self._taking += 1
        try:
            self.market.append(read_market(frames))
        except DecodeError as exc:
            self._drops.drop("market", exc.reason, str(exc))

    def take_command(self, frames: list[bytes]) -> None:
        """Hold one message of the orders socket; a bad one is dropped as the gateway drops it."""
        self.commands_taken += 1
        command = take_command(frames, self._drops, self._stats)
        if command is not None:
            self.commands.append(command)

    def market_taken_now(self) -> list[MarketUpdate]:
        """The market data just taken, to apply; :meth:`applied` counts it once stored."""
        market, self.market = self.market, []
        return market

    def applied(self) -> None:
        self.market_taken += self._taking
        self._taking = 0

    def release(self) -> None:
        """Add the commands held to those waiting, by robot."""
        commands, self.commands = self.commands, []
        commands.sort(key=_robot)  # stable: each robot's stay in the order it sent them
        self.waiting.extend(commands)

    def due(self, clock: int, *, before: bool = False, flush: bool = False) -> list[Command]:
        """Take from ``waiting`` the commands due at ``clock`` (``ts <= clock``; ``< clock``
        with ``before``; all with ``flush``), in order; a robot's never pass its own."""
        if not self.waiting:
            return []
        due: list[Command] = []
        kept: list[Command] = []
        blocked: set[str] = set()
        for command in self.waiting:
            if command.robot not in blocked and (
                flush or command.ts < clock or (not before and command.ts == clock)
            ):
                due.append(command)
            else:
                blocked.add(command.robot)
                kept.append(command)
        self.waiting = kept
        return due


class Pacer:
    """The pacer's end of a paced gateway's pace socket: one thread's, as every socket.

    :meth:`release` and :meth:`flush` return at once; the gateway's
    :attr:`PacedInput.releases` counts each once it is done.
    """

    def __init__(self, context: zmq.Context[zmq.Socket[bytes]], url: str) -> None:
        self._socket = context.socket(zmq.PAIR)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.connect(url)

    def release(self) -> None:
        self._send(RELEASE)

    def flush(self) -> None:
        self._send(FLUSH)

    def _send(self, order: bytes) -> None:
        # Never blocking: a gateway whose thread ended closed the other end; the pacer
        # then sees no release done, and its wait gives up.
        with contextlib.suppress(zmq.Again):
            self._socket.send(order, zmq.NOBLOCK)

    def close(self) -> None:
        self._socket.close()


def _robot(command: Command) -> str:
    return command.robot
