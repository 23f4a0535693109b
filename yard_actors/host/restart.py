"""Restarting a robot from its journal: intensity, quarantine, and the rebuild itself.

A robot whose handler raised is failed (its working orders cancelled, :mod:`.robot_actor`).
Its host then restarts it as OTP does: a fresh instance of its class, built from the spec
the host journaled for it, its state rebuilt by replaying its history from the journal
(not from the failed instance's memory), then live events again. The rules are in
``docs/supervision.md``; this module holds the parts with no actor in them:

* :class:`Intensity`, one per robot: at most ``max_restarts`` restarts within ``within_s``
  seconds (a monotonic clock: supervision is outside the robot's handling, whose only clock
  is its events); and how often each journaled event failed the robot, so that one which
  failed it twice is quarantined;
* :func:`rebuild`, run on a thread of its own (:mod:`.restart_gate`), never on a pool
  worker that other robots share: it reads the robot's history, replays it into a fresh
  instance, and quarantines an event that fails it a second time, then replays again;
* :class:`Supervisor`, one per host: what a rebuild needs from the host (journal,
  instruments, settings, the orders in flight).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable

import attrs

from yard_actors.host.in_flight import InFlight
from yard_actors.host.supervision_config import SupervisionConfig
from yard_actors.journal import Journal, RobotJournal, read_robot
from yard_actors.journal.replay import ReplayResult, build_robot, replay_into
from yard_actors.robot.book import OrderState
from yard_actors.robot.robot import Robot
from yard_actors.wire.instruments import InstrumentTable

__all__ = ["Failure", "Intensity", "Rebuilt", "Supervisor", "rebuild"]

logger = logging.getLogger(__name__)


@attrs.frozen(kw_only=True)
class Failure:
    """A robot's failure: the journal seq of the event that failed it (None: not one event)."""

    seq: int | None
    reason: str


class Intensity:
    """One robot's restarts within the window, and its failures by journal seq.

    Written by the robot's actor, and by its rebuild thread while the actor waits for it;
    never by both at once.
    """

    def __init__(
        self, config: SupervisionConfig, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self._clock = clock
        self._restarts: collections.deque[float] = collections.deque()
        self._failures: collections.Counter[int] = collections.Counter()
        self.quarantined: list[int] = []  # seqs, in the order they were quarantined

    def allow(self) -> str | None:
        """Take one restart if the window has room; else the sentence saying why not."""
        now = self._clock()
        window = self.config.within_s
        while self._restarts and now - self._restarts[0] >= window:
            self._restarts.popleft()
        if len(self._restarts) >= self.config.max_restarts:
            return f"failed {len(self._restarts) + 1} times within {window:g} s; not restarted"
        self._restarts.append(now)
        return None

    def failed_at(self, seq: int | None) -> bool:
        """Count a failure at journal ``seq``; True when it is the event's second: quarantine it."""
        if seq is None or seq in self.quarantined:
            return False
        self._failures[seq] += 1
        return self._failures[seq] >= 2

    def quarantine(self, seq: int) -> None:
        self.quarantined.append(seq)


@attrs.frozen(kw_only=True)
class Rebuilt:
    """What a rebuild gave: the new robot (None if there is none, ``error`` says why)."""

    robot: Robot | None
    result: ReplayResult | None = None
    quarantined: tuple[int, ...] = ()  # seqs quarantined by this rebuild
    seconds: float = 0.0
    error: str | None = None

    @property
    def failure(self) -> Failure | None:
        """Where the rebuilt robot failed in its replay (or in ``on_start``), if it did."""
        if self.result is None or self.result.failed_at is None:
            return None
        failed = self.result.failed_at
        return Failure(seq=failed.seq, reason=failed.error)


@attrs.frozen(kw_only=True)
class Supervisor:
    """What a host's robots need to be restarted: its journal, instruments and settings.

    ``journal`` None: a host without a journal cannot rebuild a robot, so it restarts none.
    """

    journal: Journal | None
    instruments: InstrumentTable
    config: SupervisionConfig
    in_flight: InFlight | None = None

    def await_first_reports(self, robot: Robot) -> None:
        """Note the rebuilt robot's orders with no report yet as in flight.

        Its replay may have produced orders its failed predecessor never sent (events it
        ignored once failed): like a restored robot's, they are asked about at the gateway
        after ``reply_timeout`` (``lost in transit``), never sent late. Orders really in
        flight are only re-armed.
        """
        if self.in_flight is None:
            return
        for order in robot.open_orders():
            if order.state is OrderState.PENDING:
                self.in_flight.sent(robot.name, order.client_order_id)


def rebuild(
    supervisor: Supervisor,
    name: str,
    robot_class: type[Robot],
    intensity: Intensity,
    stop: threading.Event,
) -> Rebuilt:
    """Build robot ``name`` afresh and replay its journaled history into it.

    Runs on a restart thread (any thread but the robot actor's pool). An event at which
    the replay fails the robot for the second time (live, then here; or in two replays)
    is quarantined: journaled as such, and the replay done again without it. Never raises:
    a rebuild that cannot be done says why in :attr:`Rebuilt.error`.
    """
    started = time.monotonic()
    journal = supervisor.journal
    if journal is None:
        return Rebuilt(robot=None, error="the host keeps no journal to rebuild it from")
    try:
        # up to the end of what is written now: the robot's own records all precede it
        history = read_robot(journal.path, name, until=journal.end())
        if history.spec is None:
            return Rebuilt(robot=None, error=f"the journal at {journal.path} has no spec of it")
        quarantined: list[int] = []
        while True:
            robot = build_robot(
                dict(history.spec), robot_class=robot_class, instruments=supervisor.instruments
            )
            result = replay_into(robot, history, stop=stop)
            failed = result.failed_at
            if result.stopped or failed is None or not intensity.failed_at(failed.seq):
                break
            assert failed.seq is not None  # failed_at() is False for None
            history = _quarantine(journal, history, failed.seq, failed.error)
            intensity.quarantine(failed.seq)
            quarantined.append(failed.seq)
    except Exception as exc:  # a journal that cannot be read, a class that cannot be built
        logger.exception("robot %s: the rebuild from its journal failed", name)
        return Rebuilt(robot=None, error=f"the rebuild failed: {type(exc).__name__}: {exc}")
    return Rebuilt(
        robot=robot,
        result=result,
        quarantined=tuple(quarantined),
        seconds=time.monotonic() - started,
    )


def _quarantine(journal: Journal, history: RobotJournal, seq: int, error: str) -> RobotJournal:
    journal.record_quarantine(history.robot, seq)
    logger.error(
        "robot %s: the event at journal seq %d failed it twice (%s); it is quarantined: "
        "skipped from now on, live and in every replay of the robot",
        history.robot,
        seq,
        error,
    )
    return attrs.evolve(history, quarantined=history.quarantined | {seq})
