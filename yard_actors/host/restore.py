"""Restoring a robot from the journal: replay its history into it before it starts.

A host restarted on the same journal directory adds its robots again; each new
instance is handed everything its name handled in earlier runs, so it resumes
with the positions, orders and state it had, and the trades intake learns which
report seqs it has already seen (so they are not delivered twice). A robot that
was a different class under the same name is refused. A journaled event that
raises on the way (see :func:`~yard_actors.journal.replay.replay_into`) fails that
robot alone: it is logged with the robot, the journal seq and the exception, and
the robot starts failed, so the host and its other robots start as usual. Events its
journal marks quarantined (an event that failed it twice, ``docs/supervision.md``) are
skipped, as every replay skips them.

The first restore reads the whole journal once, for every robot in it: reading
it once per robot would cost minutes for a 1,000-robot host. A robot removed
and added again in this process is read on its own, current segment included.
Called from the host's controlling thread only.

A restored robot may be ahead of what was sent. A robot journals a run of events
before it handles them (a watermark, or deliveries), and sends a command before
journaling it, so a host killed mid-run leaves events the robot never handled, or a
command sent but not journaled; the replay handles those events and produces
commands the journal does not hold. The restore journals them (the journal then
holds exactly what the robot produced, so ``yard replay`` stays faithful) but does
not send the orders among them, which would reach the exchange late and stale: it
hands the host every order the restored robot awaits a first report for, and the
host asks the gateway about them at once (``resolve``): one it never had comes back
``lost in transit``, one it had gets its reports again. A cancel among them is sent:
late, it still only withdraws what the robot meant to withdraw, and it closes the loop.
"""

from __future__ import annotations

import logging

import attrs

from yard_actors.errors import RobotError
from yard_actors.host.trades_intake import seen_seqs
from yard_actors.journal import Journal, RobotJournal, read_robot, read_robots, robots_in
from yard_actors.journal.replay import ReplayResult, replay_into
from yard_actors.robot.book import OrderState
from yard_actors.robot.robot import Robot
from yard_actors.wire.codec import encode
from yard_actors.wire.events import CancelOrder, Command

__all__ = ["Restored", "Restorer"]

logger = logging.getLogger(__name__)


@attrs.frozen(kw_only=True)
class Restored:
    """What a restore leaves for the host to know and do as the robot starts.

    ``seen``: the report seqs its journal holds (not to deliver again). ``unanswered``:
    its orders with no report yet (to ask the gateway about). ``cancels``: encoded
    cancels the replay produced beyond the journal (journaled now; to send).
    """

    seen: tuple[int, ...] = ()
    unanswered: tuple[str, ...] = ()
    cancels: tuple[bytes, ...] = ()


class Restorer:
    """Replays robots' journaled histories from ``journal``'s directory into new instances."""

    def __init__(self, journal: Journal, *, refuse_divergence: bool = False) -> None:
        """``refuse_divergence``: a robot that replays its journal differently is refused
        (RobotError) rather than started with a warning (``yard run --resume``)."""
        self._journal = journal
        self._refuse_divergence = refuse_divergence
        self._earlier: dict[str, RobotJournal] | None = None  # read on the first restore
        self._removed: set[str] = set()

    def restore(self, robot: Robot, robot_class: str) -> Restored:
        """Replay the robot's journal into it; journal what it produced beyond the journal.

        Returns what the host must know or do before starting it (:class:`Restored`).

        ``robot_class`` is the class path the host journals for it. Raises
        :class:`RobotError` if the journal has the name under another class (or, with
        ``refuse_divergence``, if the robot replays it differently); never for
        an event of its history (the robot is failed instead, and that is logged).
        """
        history = self._history(robot.name)
        if history.spec is None:
            return Restored()
        if history.spec.get("class") != robot_class:
            msg = (
                f"robot {robot.name!r} was a {history.spec.get('class')} in the journal at "
                f"{self._journal.path}, not a {robot_class}; pick another name or restore=False"
            )
            raise RobotError(msg)
        result = replay_into(robot, history)
        if result.failure is not None:
            logger.error(
                "robot %s failed restoring from the journal at %s: %s; it starts failed, "
                "the host's other robots are unaffected",
                robot.name,
                self._journal.path,
                result.failure,
            )
        ahead = self._journal_ahead(robot.name, result)
        logger.info("robot %s restored from %d journaled events", robot.name, len(result.events))
        return Restored(
            seen=seen_seqs(result.events),
            unanswered=tuple(
                order.client_order_id
                for order in robot.open_orders()
                if order.state is OrderState.PENDING
            ),
            cancels=tuple(encode(c) for c in ahead if type(c) is CancelOrder),
        )

    def _journal_ahead(self, name: str, result: ReplayResult) -> list[Command]:
        """Journal the commands the replay produced past the journal's last; return them.

        Only when the journal's commands are where the replay's begin and no event raised:
        any other difference is a robot that is not deterministic (or a replay that failed),
        logged and left as it is.
        """
        divergence = result.divergence
        if divergence is None:
            return []
        if divergence.journaled is not None or result.failure is not None:
            if self._refuse_divergence:  # its code or params changed: its history is not its own
                msg = (
                    f"robot {name!r} replays its journal at {self._journal.path} differently, "
                    f"so it cannot continue it: {divergence}; its code or params changed "
                    "since. Start it on a fresh journal, or put back the code it ran"
                )
                raise RobotError(msg)
            logger.warning("robot %s replayed differently: %s", name, divergence)
            return []
        ahead = list(result.commands[divergence.index :])
        for command in ahead:
            self._journal.record_command(name, encode(command))
        logger.warning(
            "robot %s: its replay produced %d commands past the journal's last (its host "
            "stopped mid-run): journaled now; its orders are asked about at the gateway, "
            "not sent",
            name,
            len(ahead),
        )
        return ahead

    def removed(self, name: str) -> None:
        """Note that robot ``name`` ran in this process and was removed from the host."""
        self._removed.add(name)

    def _history(self, name: str) -> RobotJournal:
        if name in self._removed:  # it ran in this process too: read the current segment as well
            self._journal.flush()
            return read_robot(self._journal.path, name)
        if self._earlier is None:
            self._journal.flush()
            path = self._journal.path
            self._earlier = read_robots(path, robots_in(path))
        return self._earlier.get(name) or RobotJournal(robot=name, spec=None, entries=())
