"""A robot actor's side of a restart: the rebuild under way, and the messages waiting for it.

A restart happens inside the robot's own actor, so its routes and mailbox stay in place
and no other robot pauses: the actor starts :func:`~.restart.rebuild` on a thread of its
own (reading and replaying a journal of a million events takes seconds, which must not
hold a pool worker other robots share), and while it runs the actor takes the events
that reach it off its mailbox and keeps them here, in order, unhandled and unjournaled.
The rebuild's result comes back as a :class:`Rebuilt` message; the actor swaps the new
robot in, then hands it what waited, in order, then its mailbox as usual. So no event is
lost or handled twice: the replay gives the new robot exactly what the old one took (its
deliveries and watermarks say so), and what it had not taken comes after.

An ask (a snapshot, a traceback, a ``Ping`` from ``wait_idle``) that reaches the actor
during a rebuild waits for the rebuild (up to :data:`ASK_WAIT_S`) so that its answer
speaks of the restarted robot with what waited handled, as it would without a restart.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import logging
import threading
import time
from typing import Any

import pykka

from yard_actors.errors import RobotError
from yard_actors.host.restart import Intensity, Rebuilt, Supervisor, rebuild
from yard_actors.robot.robot import Robot

__all__ = ["ASK_WAIT_S", "RebuildDone", "Restart", "RestartGate", "ask_restart"]

logger = logging.getLogger(__name__)

#: How long an ask that reaches a robot mid-rebuild waits for the rebuild before it is
#: answered from the robot as it is (failed, or running as before an on-demand restart).
ASK_WAIT_S = 10.0
_JOIN_S = 2.0  # for a rebuild thread called off at stop to end


class Restart:
    """Restart the robot now (``Host.restart``); ``done`` gets the sentence saying how it went."""

    __slots__ = ("done", "sender")

    def __init__(self, sender: str, done: pykka.Future[str]) -> None:
        self.sender = sender
        self.done = done


class RebuildDone:
    """From the rebuild thread to the actor: the rebuild ``future`` is done."""

    __slots__ = ("future",)

    def __init__(self, future: concurrent.futures.Future[Rebuilt]) -> None:
        self.future = future


def ask_restart(ref: pykka.ActorRef[Any], name: str, *, sender: str, timeout: float) -> str:
    """Tell robot ``ref`` to restart; wait up to ``timeout`` s for the sentence saying how.

    A rebuild that takes longer goes on; the sentence then says so. Raises
    :class:`RobotError` if the robot's actor has stopped.
    """
    done: pykka.ThreadingFuture[str] = pykka.ThreadingFuture()
    try:
        ref.tell(Restart(sender, done))
    except pykka.ActorDeadError:
        msg = f"cannot restart robot {name!r}: its actor has stopped; remove it and add it again"
        raise RobotError(msg) from None
    try:
        return str(done.get(timeout=timeout))
    except pykka.Timeout:
        return (
            f"{name} is restarting: the replay of its journal takes longer than {timeout:g} s; "
            "robots() shows it running again when it is done"
        )


class RestartGate:
    """One robot actor's restarts: the rebuild thread, and what waits for its result.

    Used by the actor's thread only (the rebuild thread only sets the future and tells the
    actor). ``supervisor`` None: the host restarts nothing.
    """

    def __init__(self, name: str, supervisor: Supervisor | None) -> None:
        self.name = name
        self.supervisor = supervisor
        self.intensity = None if supervisor is None else Intensity(supervisor.config)
        self.waiting: collections.deque[Any] = collections.deque()  # messages, in order
        self.cause = ""  # why the rebuild under way was started
        self.sender = ""
        self.done: list[pykka.Future[str]] = []  # on-demand restarts awaiting the outcome
        self._future: concurrent.futures.Future[Rebuilt] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def rebuilding(self) -> bool:
        return self._future is not None

    @property
    def supervised(self) -> bool:
        """The host restarts this robot when it fails (a supervisor, a journal, restarts)."""
        supervisor = self.supervisor
        return (
            supervisor is not None
            and supervisor.journal is not None
            and supervisor.config.max_restarts > 0
        )

    def refusal(self) -> str | None:
        """Whether a failed robot may be restarted now; the sentence saying why not, if not.

        Takes a restart from the intensity window when it may.
        """
        if self.supervisor is None or self.intensity is None:
            return "not restarted: the host has no supervisor"
        if self.supervisor.journal is None:
            return "not restarted: the host keeps no journal to rebuild it from"
        if self.supervisor.config.max_restarts == 0:
            return "not restarted: [supervision] max_restarts is 0"
        return self.intensity.allow()

    def begin(
        self, ref: pykka.ActorRef[Any], robot: Robot, *, cause: str, sender: str = ""
    ) -> None:
        """Start rebuilding ``robot`` afresh on a thread of its own; the actor gets a
        :class:`RebuildDone` when it is done."""
        assert self.supervisor is not None
        assert self.intensity is not None
        self.cause, self.sender = cause, sender
        future: concurrent.futures.Future[Rebuilt] = concurrent.futures.Future()
        self._future = future
        supervisor, intensity, stop = self.supervisor, self.intensity, self._stop
        robot_class = type(robot)

        def run() -> None:
            try:
                future.set_result(rebuild(supervisor, self.name, robot_class, intensity, stop))
            except BaseException as exc:  # rebuild() catches what it expects; this is a bug
                future.set_exception(exc)
            with contextlib.suppress(pykka.ActorDeadError):  # the host stopped meanwhile
                ref.tell(RebuildDone(future))

        self._thread = threading.Thread(target=run, name=f"yard-restart-{self.name}", daemon=True)
        self._thread.start()
        logger.warning("robot %s: restarting (%s); events wait for it", self.name, cause)

    def take(self, future: concurrent.futures.Future[Rebuilt] | None = None) -> Rebuilt | None:
        """The rebuild's result once it is done (``future``: the one a message says is done).

        None if ``future`` is not the rebuild under way (its result was taken already).
        """
        current = self._future
        if current is None or (future is not None and future is not current):
            return None
        self._future = None
        self._thread = None
        try:
            return current.result()
        except Exception as exc:
            return Rebuilt(robot=None, error=f"the rebuild failed: {type(exc).__name__}: {exc}")

    def wait(self, timeout: float = ASK_WAIT_S) -> Rebuilt | None:
        """Block until the rebuild under way is done and take its result; None on timeout."""
        current = self._future
        if current is None:
            return None
        try:
            current.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            logger.warning(
                "robot %s: an ask waited %g s for its restart, which goes on; answered "
                "from the robot as it is",
                self.name,
                timeout,
            )
            return None
        except Exception:  # noqa: S110 - take() turns it into the rebuild's error
            pass
        return self.take()

    def settle(self, sentence: str) -> None:
        """Answer every on-demand restart awaiting the outcome with ``sentence``."""
        done, self.done = self.done, []
        for future in done:
            future.set(sentence)

    def stop(self) -> None:
        """Call off a rebuild under way (the actor stops); wait briefly for its thread."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(_JOIN_S)
        self.settle(f"{self.name} stopped before its restart was done")


def restart_note(rebuilt: Rebuilt, *, cause: str, sender: str, restarts: int) -> dict[str, Any]:
    """The journal's ``X`` record for a restart: why, who asked, when, and what it replayed."""
    result = rebuilt.result
    return {
        "ts": time.time_ns(),  # wall clock: an audit line, never an input of the robot
        "cause": cause,
        "sender": sender,
        "restarts": restarts,
        "events": 0 if result is None else len(result.events),
        "quarantined": list(rebuilt.quarantined),
        "seconds": round(rebuilt.seconds, 6),
    }
