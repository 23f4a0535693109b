"""The robot actor's restarts: what it does when its robot fails, and while it is rebuilt.

A mixin of :class:`~yard_actors.host.robot_actor.RobotActor`, apart so the actor's module
keeps to delivering events; the rules are in ``docs/supervision.md``, the rebuild in
:mod:`.restart` and the waiting in :mod:`.restart_gate`. Everything here runs on the
actor's thread.

The actor notes a failure as its robot turns failed (``_publish_state``: a handler raised)
or as an error escapes the handling (``_crashed``), with the journal seq of the event being
handled; once the message is done it calls :meth:`RestartingActor._supervise`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import pykka

from yard_actors.errors import JournalError
from yard_actors.host.restart import Failure, Rebuilt, Supervisor
from yard_actors.host.restart_gate import RebuildDone, Restart, RestartGate, restart_note
from yard_actors.host.robot_messages import Deliver, DeliverBatch
from yard_actors.journal import Journal
from yard_actors.robot.robot import Robot, RobotStatus

__all__ = ["RestartingActor", "RunSeqs"]

logger = logging.getLogger(__name__)


class _Figures(Protocol):
    """What this side reads and writes of the actor's ``RobotStats``.

    A protocol, not the class: ``robot_actor.py`` imports this module, not the reverse.
    """

    events_in: int
    status: str
    error: str | None
    restarts: int
    quarantined: int


class RestartingActor:
    """The restart side of a robot actor; the actor calls :meth:`_init_restarts` first."""

    # the actor's own, set in its __init__
    robot: Robot
    stats: _Figures
    actor_ref: pykka.ActorRef[Any]
    _journal: Journal | None
    _name: str

    def _init_restarts(self, robot: Robot, supervisor: Supervisor | None) -> None:
        # A failure not yet seen to, and where in the run being handled each event's
        # journal seq is, to say which event failed.
        self._gate = RestartGate(robot.name, supervisor)
        self._rebuilding = False
        self._failure: Failure | None = None
        self._failure_seen = robot.status is RobotStatus.FAILED  # restored failed: left so
        self._run_seqs: Sequence[int | None] = ()
        self._run_start = 0

    if TYPE_CHECKING:  # the actor's methods this side calls

        def on_receive(self, message: Any) -> Any: ...
        def _answer(self, message: Any) -> Any: ...
        def _publish_state(self) -> None: ...
        def _shed(self, events: int) -> None: ...

    def _note_failure(self) -> None:
        """As the robot's state is published: note its failure, with the event's seq, if new."""
        if self.robot.status is RobotStatus.FAILED and not self._failure_seen:
            self._failure_seen = True
            at = self.stats.events_in - 1 - self._run_start  # in the run being handled
            seq = self._run_seqs[at] if 0 <= at < len(self._run_seqs) else None
            self._failure = Failure(seq=seq, reason=str(self.robot.error))

    def _note_crash(self, reason: str) -> None:
        """An error escaped the handling: the robot fails at no event known here."""
        if not self._failure_seen:
            self._failure_seen = True
            self._failure = Failure(seq=None, reason=reason)

    def on_stop(self) -> None:
        """Call off a rebuild under way; the events that waited for it are shed, unhandled."""
        self._gate.stop()
        for message in self._gate.waiting:
            if message.counted:
                self._shed(len(message.messages) if type(message) is DeliverBatch else 1)
        self._gate.waiting.clear()

    def _supervise(self, *, counted: bool = False) -> None:
        """The robot failed: restart it if its intensity allows, or leave it failed, saying why.

        ``counted``: the failure's event was counted already (by the rebuild's replay).
        """
        failure, self._failure = self._failure, None
        assert failure is not None
        gate = self._gate
        if not counted and gate.intensity is not None:
            gate.intensity.failed_at(failure.seq)
        refusal = gate.refusal()
        if refusal is not None:
            if gate.supervised:  # a host that restarts robots says why it did not
                self.stats.error = f"{refusal}: {failure.reason}"
                logger.error("robot %s %s", self._name, self.stats.error)
            gate.settle(f"{self._name}: {refusal}: {failure.reason}")
            return
        self._begin_rebuild(f"failed at journal seq {failure.seq}: {failure.reason}", "")

    def _restart_on_demand(self, message: Restart) -> None:
        gate = self._gate
        if gate.supervisor is None or gate.supervisor.journal is None:
            message.done.set(f"{self._name} not restarted: the host keeps no journal")
            return
        gate.done.append(message.done)
        self._begin_rebuild(f"asked by {message.sender or 'an unnamed sender'}", message.sender)

    def _begin_rebuild(self, cause: str, sender: str) -> None:
        self._rebuilding = True
        self.stats.status = "restarting"
        self._gate.begin(self.actor_ref, self.robot, cause=cause, sender=sender)

    def _while_rebuilding(self, message: Any) -> Any:
        """Keep events for the rebuilt robot; an ask waits for the rebuild (restart_gate.py)."""
        kind = type(message)
        gate = self._gate
        if kind is Deliver or kind is DeliverBatch:
            gate.waiting.append(message)
            return None
        if kind is Restart:  # answered with the outcome of the restart under way
            gate.done.append(message.done)
            return None
        if kind is RebuildDone:
            rebuilt = gate.take(message.future)
            if rebuilt is not None:
                self._restarted(rebuilt)
            return None
        rebuilt = gate.wait()
        if rebuilt is not None:
            self._restarted(rebuilt)
        return self._answer(message)

    def _restarted(self, rebuilt: Rebuilt) -> None:
        """Swap the rebuilt robot in, then hand it the events that waited, in order."""
        self._rebuilding = False
        gate = self._gate
        if rebuilt.robot is None:
            self.stats.status = self.robot.status.value
            self.stats.error = f"not restarted: {rebuilt.error}"
            logger.error("robot %s %s", self._name, self.stats.error)
            gate.settle(f"{self._name} {self.stats.error}")
        else:
            self._swap(rebuilt)
        while gate.waiting and not self._rebuilding:
            self.on_receive(gate.waiting.popleft())

    def _swap(self, rebuilt: Rebuilt) -> None:
        robot = rebuilt.robot
        gate = self._gate
        assert robot is not None
        assert gate.intensity is not None
        self.robot = robot
        self.stats.restarts += 1
        self.stats.quarantined = len(gate.intensity.quarantined)
        if self._journal is not None:
            note = restart_note(
                rebuilt, cause=gate.cause, sender=gate.sender, restarts=self.stats.restarts
            )
            try:
                self._journal.record_restart(self._name, note)
            except JournalError as exc:  # an audit line: the restart stands without it
                logger.error("robot %s: its restart could not be journaled: %s", self._name, exc)
        if gate.supervisor is not None:
            gate.supervisor.await_first_reports(robot)
        failure = rebuilt.failure
        self._failure_seen = failure is not None
        self._publish_state()
        events = 0 if rebuilt.result is None else len(rebuilt.result.events)
        quarantined = f", {len(rebuilt.quarantined)} quarantined" if rebuilt.quarantined else ""
        outcome = "" if failure is None else f", and failed again: {failure.reason}"
        sentence = (
            f"{self._name} restarted from {events} journaled events in "
            f"{rebuilt.seconds:.3f} s{quarantined}{outcome}"
        )
        log = logger.warning if failure is None else logger.error
        log("robot %s: %s (%s)", self._name, sentence, gate.cause)
        gate.settle(sentence)
        if failure is not None:  # its replay failed it: counted there, and maybe quarantined
            self._failure = failure
            self._supervise(counted=True)


class RunSeqs(Sequence[int | None]):
    """The journal seqs of a run of a batch's messages, read only when an event fails."""

    __slots__ = ("_messages", "_start")

    def __init__(self, messages: list[Deliver], start: int) -> None:
        self._messages = messages
        self._start = start

    def __len__(self) -> int:
        return len(self._messages) - self._start

    def __getitem__(self, index: Any) -> Any:
        return self._messages[self._start + index].seq
