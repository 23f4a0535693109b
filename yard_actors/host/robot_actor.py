"""The Pykka actor that hosts one robot.

Each robot gets its own mailbox: events reach it by ``tell`` from the intakes,
in the order each intake saw them, and are handled one at a time, on the
robot's own thread (``threads`` runtime) or a pool worker (``pooled``; a quote
for this robot alone may be handled on the data intake's thread, see
:func:`~yard_actors.runtime.tell_here`). For each event the actor (in this order):

1. first delivers the robot's timers due at or before the event's ``ts``
   (:func:`~yard_actors.robot.timers.fire_due_timers`), each journaled as an event of
   its own and handled as below, so a replay reads them back from the journal;
2. journals the delivery (write-ahead: the event is on disk before it is handled);
   for a run of events the data intake fanned out, one watermark covers the run;
3. hands it to :meth:`Robot.handle`, which never raises for user errors;
4. sends each command on the host's :class:`OrderLink` (which notes each order as in
   flight until its first report, and each cancel until its answer, :mod:`.in_flight`),
   then journals it.

Nothing here touches another robot's state; a failing robot fails alone. The messages
the actor takes are in :mod:`.robot_messages`, and which robot and backlog each actor
ref stands for, for the data intake, in :mod:`.robot_refs`; both are re-exported here.

What the data intake tells a robot is *counted* (:mod:`.backlog`): the actor adds what
it takes off its mailbox, so the intake knows how far behind the robot is and conflates
its quotes when it is far behind (:mod:`.conflation`). When the host stops, counted
market data not yet handled is shed, not journaled (so not replayed), and counted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any, cast

import attrs
import pykka

from yard_actors.errors import GatewayError
from yard_actors.host.backlog import Backlog
from yard_actors.host.latency import Histogram, record_run
from yard_actors.host.order_link import OrderLink
from yard_actors.host.restart import Supervisor
from yard_actors.host.restart_gate import RebuildDone, Restart
from yard_actors.host.restarting import RestartingActor, RunSeqs
from yard_actors.host.robot_messages import (
    Deliver,
    DeliverBatch,
    Ping,
    SnapshotAsk,
    TracebackAsk,
    ask_snapshot,
    ask_traceback,
)
from yard_actors.host.robot_refs import backlog_of, register_ref, robot_name
from yard_actors.journal import Journal
from yard_actors.robot.robot import Robot, RobotStatus
from yard_actors.robot.timers import fire_due_timers
from yard_actors.wire.codec import encode
from yard_actors.wire.events import Bar, Command, Control, Event, NewOrder, Quote, Tick, Timer

__all__ = [
    "Deliver",
    "DeliverBatch",
    "Ping",
    "RobotActor",
    "RobotStats",
    "ask_snapshot",
    "ask_traceback",
    "backlog_of",
    "publish_state",
    "robot_name",
]

logger = logging.getLogger(__name__)
_clock = time.monotonic_ns

# A robot whose last run took this long per event is slow: its runs are cut at _SLOW_RUN
# events, so a stop (which sheds what is left, see Backlog.shedding) waits for a few of its
# events, not a whole burst of them. A quick robot's runs stay whole: one watermark each.
_SLOW_EVENT_NS = 1_000_000
_SLOW_RUN = 8
_ANY_RUN = 1 << 62
_MARKET_DATA = (Quote, Tick, Bar)  # what changes no figure but upnl, open orders and held
_PAUSED = RobotStatus.PAUSED
_FAILED = RobotStatus.FAILED


@attrs.define(kw_only=True)
class RobotStats:
    """Figures the actor publishes for the host's table; written only by the actor's thread.

    ``open_orders``: the robot's working orders (those with a cancel requested included);
    ``upnl``: its open positions marked as :meth:`Robot.unrealized_pnl` does (robot/marks.py),
    kept current while it holds a position; ``held``: new orders held while it was paused;
    ``params``: its params object (immutable, or a dict the robot replaces, never changes),
    for the host to check a ``set_params`` against; ``refusal``: why its last control was
    refused. ``restarts`` and ``quarantined`` are the supervisor's counts.
    """

    events_in: int = 0
    commands_out: int = 0
    unsent: int = 0
    status: str = RobotStatus.RUNNING.value
    position: dict[str, int] = attrs.field(factory=dict)
    pnl: str = "0"
    upnl: str = "0"
    open_orders: int = 0
    held: int = 0
    restarts: int = 0
    quarantined: int = 0
    params: Any = None
    refusal: str | None = None
    error: str | None = None
    wait: Histogram = attrs.field(factory=Histogram)  # ns from intake to handling, per event
    handling: Histogram = attrs.field(factory=Histogram)  # ns per event: handle, journal, send
    backlog: Backlog = attrs.field(factory=Backlog)  # market data waiting; see backlog.py


class RobotActor(RestartingActor, pykka.ThreadingActor):
    """Runs one :class:`Robot`; send it :class:`Deliver` messages with ``tell``.

    ``supervisor``: the host's, to restart the robot from its journal when it fails
    (:mod:`.restarting`); None, a failed robot stays failed.
    """

    stats: RobotStats

    def __init__(
        self,
        robot: Robot,
        *,
        journal: Journal | None,
        order_link: OrderLink | None,
        stats: RobotStats | None = None,
        supervisor: Supervisor | None = None,
    ) -> None:
        super().__init__()
        self.robot = robot
        self.stats = stats if stats is not None else RobotStats()
        self._journal = journal
        self._order_link = order_link
        self._name = robot.name
        self._sent_ns = 0  # when the message being handled was sent: each event's wait
        self._backlog = self.stats.backlog
        self._run_cap = _SLOW_RUN  # events per journaled run: few until it has shown it is quick
        # it holds a position: its upnl is marked after every run
        self._exposed = any(self.stats.position.values())
        self._init_restarts(robot, supervisor)  # restarting.py
        register_ref(self.actor_ref, robot.name, self._backlog)

    def on_receive(self, message: Any) -> Any:
        # An exception from a delivery fails the robot, not the actor (a try costs nothing
        # until something raises, in Python 3.11).
        if self._rebuilding:
            return self._while_rebuilding(message)
        if type(message) is Deliver:
            counted = message.counted
            if counted and self._backlog.shedding:
                self._shed(1)
            else:
                self._sent_ns = message.sent_ns
                try:
                    self._deliver(message)
                except Exception as exc:
                    self._crashed(exc)
                if counted:
                    self._backlog.taken += 1
                if self._failure is not None:
                    self._supervise()
            return None
        if type(message) is DeliverBatch:
            self._sent_ns = message.sent_ns
            taken = self._backlog.taken
            try:
                self._deliver_batch(message)
            except Exception as exc:
                self._crashed(exc)
            if message.counted:  # all of it is off the mailbox, whatever happened inside
                self._backlog.taken = taken + len(message.messages)
            if self._failure is not None:
                self._supervise()
            return None
        if type(message) is Restart:
            self._restart_on_demand(message)
            return None
        return self._answer(message)

    def _answer(self, message: Any) -> Any:
        if type(message) is SnapshotAsk:
            return self.robot.snapshot()
        if type(message) is TracebackAsk:
            return self.robot.failure_traceback
        if type(message) is Ping:
            return None
        if type(message) is RebuildDone:  # a rebuild whose result an ask took already
            return None
        logger.warning("robot %s ignored an unknown message %r", self._name, message)
        return None

    def on_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        """Runs on the actor's thread as it stops for an exception nothing caught.

        A backstop (deliveries are caught in :meth:`on_receive`): the host's table then
        shows the robot failed, not a dead actor ``running``.
        """
        logger.error("robot %s actor crashed: %s", self._name, exception_value)
        self.stats.status = RobotStatus.FAILED.value
        self.stats.error = f"its actor stopped: {exception_type.__name__}: {exception_value}"

    def _crashed(self, exc: Exception) -> None:
        """Fail the robot for ``exc``, which escaped the handling of its events (a bug).

        The actor lives on, so ``host.failure`` still answers and the failed robot ignores
        what follows, as after a handler's error; its working orders are cancelled.
        """
        logger.error(
            "robot %s: %s escaped the handling of its events; the robot is failed",
            self._name,
            type(exc).__name__,
            exc_info=exc,
        )
        self._note_crash(f"{type(exc).__name__} in yard: {exc}")
        try:
            commands = self.robot.mark_failed(f"{type(exc).__name__} in yard: {exc}", exc)
            if commands:
                self._emit(commands)
        except Exception:
            logger.exception("robot %s: its working orders could not be cancelled", self._name)
        self._publish_state()

    def _deliver(self, message: Deliver) -> None:
        event = message.event
        if type(event) is not Control:  # a control's ts is a wall clock, not the data's
            fire_due_timers(self.robot, event.ts, self._deliver_timer)
        journal = self._journal
        seq = message.seq
        if journal is not None:
            if seq is None:
                seq = journal.record_event(encode(event))
                journal.record_delivery(self._name, seq)
            elif message.fanned:
                journal.record_watermark(self._name, seq)
            else:
                journal.record_delivery(self._name, seq)
        self._handle(event, seq)

    def _deliver_timer(self, timer: Timer) -> None:
        journal = self._journal
        seq = None
        if journal is not None:
            seq = journal.record_event(encode(timer))
            journal.record_delivery(self._name, seq)
        self._handle(timer, seq)

    def _handle(self, event: Event, seq: int | None) -> None:
        self._handle_run((event,), (seq,))

    def _handle_run(self, events: Iterable[Event], seqs: Sequence[int | None]) -> None:
        """Hand events to the robot one by one; journal and send what each one emits.

        The per-event path of every delivery, so the lookups are made once per run and
        the clock is read once per event (one event's end is the next one's start).
        """
        stats = self.stats
        robot = self.robot
        handle = robot.handle
        self._run_seqs, self._run_start = seqs, stats.events_in  # which event fails, if one does
        stamps = [_clock()]
        stamp = stamps.append
        for event in events:
            # robot._status, not the status property: twice per event, the call costs 5%
            was = robot._status
            commands = handle(event)
            stats.events_in += 1
            if commands:
                self._emit(commands)
                stats.open_orders = robot.open_order_count
            if type(event) not in _MARKET_DATA or robot._status is not was:
                self._publish_state()  # a report, a control, a timer: figures changed
            elif was is _PAUSED:
                stats.held = robot.held.count  # market data it handled may have held orders
            stamp(_clock())
        if self._exposed:  # its unrealised P&L moves with every quote, tick and bar
            stats.upnl = str(robot.unrealized_pnl())
        record_run(stats.wait, stats.handling, self._sent_ns, stamps)
        slow = stamps[-1] - stamps[0] >= _SLOW_EVENT_NS * (len(stamps) - 1)
        self._run_cap = _SLOW_RUN if slow else _ANY_RUN

    def _emit(self, commands: list[Command]) -> None:
        # Sent, then journaled: the event that caused a command is on disk already, so a
        # crash between the two leaves a command that a restore replays, journals and asks
        # the gateway about (restore.py); the journal's write stays off tick-to-command.
        journal = self._journal
        remaining: dict[str, int] | None = None  # what is left of each order, for a cancel
        for command in commands:
            payload = encode(command)
            if type(command) is NewOrder:
                self._send(payload, command.client_order_id)
            else:
                if remaining is None:
                    remaining = {o.client_order_id: o.remaining for o in self.robot.open_orders()}
                self._send_cancel(payload, command.client_order_id, remaining)
            if journal is not None:
                journal.record_command(self._name, payload)
        self.stats.commands_out += len(commands)

    def _shed(self, events: int) -> None:
        """Drop ``events`` counted events unhandled and unjournaled: the host is stopping."""
        backlog = self._backlog
        backlog.shed += events
        backlog.taken += events

    def _deliver_batch(self, batch: DeliverBatch) -> None:
        messages = batch.messages
        journal = self._journal
        backlog = self._backlog if batch.counted else None
        if journal is None or not (batch.journaled or _journaled_alike(messages)):
            for message in messages:
                if backlog is not None:
                    if backlog.shedding:
                        self._shed(len(messages) - messages.index(message))
                        return
                    backlog.taken += 1
                self._deliver(message)
            return
        fanned = messages[0].fanned
        # Runs in which no timer can fall due are journaled in one write (fanned events: one
        # watermark); an event that may have timers due before it goes alone, after them.
        # Counted market data left when the host starts stopping is shed between runs.
        start = 0
        while start < len(messages):
            if backlog is not None and backlog.shedding:
                self._shed(len(messages) - start)
                return
            end = min(self._quiet_run(messages, start), start + self._run_cap)
            if end == start:
                self._deliver(messages[start])
                start += 1
                if backlog is not None:
                    backlog.taken += 1
                continue
            if fanned:
                journal.record_watermark(self._name, cast(int, messages[end - 1].seq))
            else:
                journal.record_deliveries(
                    self._name, [cast(int, m.seq) for m in messages[start:end]]
                )
            self._handle_run(
                [message.event for message in messages[start:end]], RunSeqs(messages, start)
            )
            if backlog is not None:
                backlog.taken += end - start
            start = end

    def _quiet_run(self, messages: list[Deliver], start: int) -> int:
        """The end of the run from ``start`` that no timer can interrupt, whatever it does."""
        horizon = self.robot.timer_horizon(messages[start].event.ts)
        if horizon is None:
            return len(messages)
        end = start
        while end < len(messages) and messages[end].event.ts < horizon:
            end += 1
        return end

    def _send(self, payload: bytes, client_order_id: str) -> None:
        if self._order_link is None:
            return
        try:
            self._order_link.send(self._name, payload, client_order_id)
        except GatewayError as exc:
            self.stats.unsent += 1
            logger.error("robot %s: command not sent: %s", self._name, exc)

    def _send_cancel(self, payload: bytes, client_order_id: str, remaining: dict[str, int]) -> None:
        if self._order_link is None:
            return
        left = remaining.get(client_order_id)
        try:
            self._order_link.send_cancel(self._name, payload, client_order_id, left)
        except GatewayError as exc:  # it stays in flight: sent again after reply_timeout
            self.stats.unsent += 1
            logger.error("robot %s: cancel not sent (it is tried again): %s", self._name, exc)

    def _publish_state(self) -> None:
        self._exposed = publish_state(self.stats, self.robot)
        if self.robot._status is _FAILED:
            self._note_failure()


def publish_state(stats: RobotStats, robot: Robot) -> bool:
    """Copy ``robot``'s state into ``stats`` (its actor's thread, or before the actor starts).

    Returns whether the robot holds a position, so its unrealised P&L moves with quotes.
    """
    stats.status = robot.status.value
    stats.position = robot.positions()
    stats.pnl = str(robot.pnl)
    stats.upnl = str(robot.unrealized_pnl())
    stats.open_orders = robot.open_order_count
    stats.held = robot.held.count
    params = robot.params
    stats.params = dict(params) if isinstance(params, dict) else params
    stats.refusal = robot.last_refusal
    stats.error = robot.error
    return any(stats.position.values())


def _journaled_alike(messages: list[Deliver]) -> bool:
    """Every message has its seq and the same ``fanned``: the batch journals as one run."""
    fanned = messages[0].fanned
    return all(m.seq is not None and m.fanned is fanned for m in messages)
