"""How an intake hands what it admitted to the robots: journaled once, then one tell per robot.

A burst (what the intake drained from its socket in one go) is journaled in one
write before any robot sees any of it, then split by robot (:func:`.routing.by_robot`)
so each robot gets one :class:`~yard_actors.host.robot_actor.DeliverBatch`; a lone
message goes out as one :class:`~yard_actors.host.robot_actor.Deliver` to each of its
robots. On the data intake, the burst is first sifted for robots that are far behind
(:class:`~yard_actors.host.conflation.Conflation`), and each tell is counted in the
robot's :class:`~yard_actors.host.backlog.Backlog`. Runs on the intake's receive thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pykka

from yard_actors.host.conflation import Admitted, Conflation
from yard_actors.host.drops import Drops
from yard_actors.host.robot_actor import Deliver, DeliverBatch
from yard_actors.host.routing import RoutingTable, by_robot
from yard_actors.journal import Journal
from yard_actors.runtime import tell_here

__all__ = ["Delivery"]

_Tell = Callable[[pykka.ActorRef[Any], Any], None]


class Delivery:
    """Journals and tells one intake's bursts; ``delivered`` counts events told to robots.

    ``fans_out``: journal each event once with the group of robots it goes to (the data
    intake); otherwise as plain events, each robot a delivery. ``runs_turns``: a message
    for one robot alone may be handled on this thread (``tell_here``). ``conflation``:
    count and sift for robots that are behind (the data intake).
    """

    def __init__(
        self,
        *,
        journal: Journal | None,
        fans_out: bool,
        runs_turns: bool,
        conflation: Conflation | None,
        drops: Drops,
        routes: RoutingTable,
    ) -> None:
        self.delivered = 0
        self._journal = journal
        self._fans_out = fans_out and journal is not None
        self._runs_turns = runs_turns
        self._conflation = conflation
        self._drops = drops
        self._routes = routes

    def deliver(self, admitted: list[Admitted]) -> None:
        """Journal ``admitted`` (in arrival order) and tell each robot its share, in order."""
        if self._conflation is not None:
            admitted = self._conflation.sift(admitted, self._routes)
        if not admitted:
            return
        journal, fanned = self._journal, self._fans_out
        if journal is None:
            first = None
        elif fanned:
            first = journal.record_fanned([(p, fanout.group) for p, _, fanout in admitted])
        else:
            first = journal.record_events([p for p, _, _ in admitted])
        counted = self._conflation is not None
        if len(admitted) == 1:
            _, event, fanout = admitted[0]
            self._tell_each(fanout.robots, Deliver(event, first, fanned=fanned, counted=counted))
            return
        # sent_ns=0: in a DeliverBatch the batch's own stamp times the wait
        burst = [
            (Deliver(event, None if first is None else first + n, fanned=fanned, sent_ns=0), fanout)
            for n, (_, event, fanout) in enumerate(admitted)
        ]
        batches = by_robot(burst)
        journaled, alone = first is not None, len(batches) == 1
        for robot, messages in batches.items():
            batch = DeliverBatch(messages, journaled=journaled, counted=counted)
            self._tell_each((robot,), batch, len(messages), alone)

    def _tell_each(
        self,
        robots: tuple[pykka.ActorRef[Any], ...],
        message: Deliver | DeliverBatch,
        events: int = 1,
        alone: bool | None = None,
    ) -> None:
        # On the data intake, a message for one robot alone is handled on this thread when
        # the robot and its pool are idle (tell_here): tick-to-command then wakes no worker.
        # Not on the trades intake: there it made a max-speed `yard run` trade very
        # differently (trend-si 7-9 orders against 24-42), the kind of shift seen when the
        # exchange runs ahead of the robots, and fills are not the latency-bound path.
        one = len(robots) == 1 if alone is None else alone
        tell = tell_here if one and self._runs_turns else pykka.ActorRef.tell
        if self._conflation is not None:
            self._tell_counted(self._conflation, robots, message, events, tell)
            return
        for robot in robots:
            try:
                tell(robot, message)
            except pykka.ActorDeadError:
                self._drops.drop("robot_stopped", f"robot actor {robot} is no longer running")
                continue
            self.delivered += events

    def _tell_counted(
        self,
        conflation: Conflation,
        robots: tuple[pykka.ActorRef[Any], ...],
        message: Deliver | DeliverBatch,
        events: int,
        tell: _Tell,
    ) -> None:
        # _tell_each on the data intake: count each robot's backlog and note who is behind.
        # Counted before the tell: the robot may handle it at once (tell_here), counting it.
        backlogs, behind = conflation.backlogs, conflation.behind
        conflate_at = conflation.limits.conflate_at
        for robot in robots:
            backlog = backlogs.get(robot)
            if backlog is not None:
                backlog.told += events
            try:
                tell(robot, message)
            except pykka.ActorDeadError:
                if backlog is not None:
                    backlog.told -= events
                self._drops.drop("robot_stopped", f"robot actor {robot} is no longer running")
                continue
            self.delivered += events
            if backlog is not None and backlog.told - backlog.taken >= conflate_at:
                behind[robot] = backlog
