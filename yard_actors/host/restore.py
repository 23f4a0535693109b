"""Restoring a robot from the journal: replay its history into it before it starts.

A host restarted on the same journal directory adds its robots again; each new
instance is handed everything its name handled in earlier runs, so it resumes
with the positions, orders and state it had, and the trades intake learns which
report seqs it has already seen (so they are not delivered twice). A robot that
was a different class under the same name is refused.

The first restore reads the whole journal once, for every robot in it: reading
it once per robot would cost minutes for a 1,000-robot host. A robot removed
and added again in this process is read on its own, current segment included.
Called from the host's controlling thread only.
"""

from __future__ import annotations

import logging

from yard_actors.errors import RobotError
from yard_actors.host.trades_intake import seen_seqs
from yard_actors.journal import Journal, RobotJournal, read_robot, read_robots, robots_in
from yard_actors.journal.replay import replay_into
from yard_actors.robot.robot import Robot

__all__ = ["Restorer"]

logger = logging.getLogger(__name__)


class Restorer:
    """Replays robots' journaled histories from ``journal``'s directory into new instances."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._earlier: dict[str, RobotJournal] | None = None  # read on the first restore
        self._removed: set[str] = set()

    def restore(self, robot: Robot, robot_class: str) -> tuple[int, ...]:
        """Replay the robot's journal into it; return the report seqs it has already seen.

        ``robot_class`` is the class path the host journals for it. Raises
        :class:`RobotError` if the journal has the name under another class.
        """
        history = self._history(robot.name)
        if history.spec is None:
            return ()
        if history.spec.get("class") != robot_class:
            msg = (
                f"robot {robot.name!r} was a {history.spec.get('class')} in the journal at "
                f"{self._journal.path}, not a {robot_class}; pick another name or restore=False"
            )
            raise RobotError(msg)
        result = replay_into(robot, history)
        if result.divergence is not None:
            logger.warning("robot %s replayed differently: %s", robot.name, result.divergence)
        logger.info("robot %s restored from %d journaled events", robot.name, len(result.events))
        return seen_seqs(result.events)

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
