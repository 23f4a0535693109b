"""Intake actors: where messages from ZeroMQ enter the host.

One intake of each kind serves all robots of a host, so the host keeps one
upstream subscription per topic however many robots want it, and fans out
inside the process: one decoded, immutable event goes to every robot that
routes it, journaled once. The data intake journals it with the group of robots
it goes to (:meth:`Journal.record_fanned`), so each robot journals one watermark
per burst, not a delivery per event; trades and control journal plain events,
each robot a delivery, as they go to one robot each. (Controls come as
calls on the control endpoint instead: :mod:`.control_server`.)

An intake is a Pykka actor for its control surface (routes, stats, stop) and
owns one receive thread for its socket, because a Pykka thread blocks on its
mailbox and cannot also poll a socket. The sockets are created in the caller's
thread (so a bind error reaches :meth:`IntakeActor.start`'s caller) and handed
to the receive thread, which is the only one that touches them afterwards.
Routing changes reach the receive thread over an ``inproc`` PAIR pipe; an
unroute on the data intake also waits there until the receive thread has
journaled and told what it took under the old routes (see ``_fence``).

A malformed message is counted by reason, logged, and dropped (:mod:`.drops`);
the intake and the robots keep running. What differs by kind (socket, events
taken, their topics) is in :mod:`.intake_kinds`. The data intake counts what it
tells each robot (:mod:`.backlog`) and conflates the quotes of a robot that is far
behind, before journaling them (:mod:`.conflation`). The messages an intake takes from
the host (routes, stats, settle) are in :mod:`.intake_messages`, re-exported here.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pykka
import zmq

from yard_actors.errors import DecodeError
from yard_actors.host.backlog import MailboxLimits
from yard_actors.host.conflation import Admitted, Conflation
from yard_actors.host.delivery import Delivery
from yard_actors.host.drops import Drops
from yard_actors.host.intake_kinds import ACCEPTS, IntakeKind, open_socket, topic_of
from yard_actors.host.intake_messages import (
    Announce,
    IntakeStats,
    Route,
    SettleAsk,
    StatsAsk,
    Unroute,
    ask_stats,
    settle,
)
from yard_actors.host.robot_refs import backlog_of
from yard_actors.host.routing import RoutingTable
from yard_actors.host.statuses import LastStatuses
from yard_actors.host.unrouted import Unrouted
from yard_actors.journal import Journal
from yard_actors.net import LOCAL_ONLY, Security
from yard_actors.wire.codec import decode
from yard_actors.wire.endpoints import wrong_endpoint
from yard_actors.wire.frames import holds_more, receive
from yard_actors.wire.names import RESERVED_PREFIX

__all__ = ["IntakeActor", "IntakeKind", "IntakeStats", "Route", "Unroute", "ask_stats", "settle"]

logger = logging.getLogger(__name__)

# Messages drained per poll before the pipe is looked at again; a burst is journaled in one
# write and reaches each robot as one message. 4,000 measured +20% deliveries/s with 1,000
# robots over 50 symbols, but while the intake gathers a burst the exchange runs ahead of the
# robots, and a max-speed `yard run` traded very differently (trend-si: 34-53 orders -> 5-9).
_BATCH = 1000
_RESERVED = RESERVED_PREFIX.encode()
_FENCE_MS = 2000  # how long an unroute waits for the receive thread to finish a burst
_HELD_POLL_MS = 5  # while quotes are held, how soon an idle intake looks for robots caught up
# Market data ZeroMQ may queue ahead of the data intake: about a quarter second of what it
# reads. Past it the feed's side holds or drops (a PUB's own high-water mark), where before
# the host held up to a million messages (~350 MB) of ever staler data, never conflated.
_DATA_RCVHWM = 10_000
_ids = itertools.count(1)


class IntakeActor(pykka.ThreadingActor):
    """Receives one kind of message from one endpoint and fans it out to robot actors.

    ``bind=False`` connects (data and trades: the feed and the gateway bind);
    ``bind=True`` binds (a test's intake). ``security``: the
    host's keys for ``tcp://`` (:mod:`yard_actors.net`). ``limits``: the data intake's
    per-robot :class:`MailboxLimits` (default: :class:`MailboxLimits()`).
    """

    def __init__(
        self,
        kind: IntakeKind,
        url: str,
        *,
        context: zmq.Context[zmq.Socket[bytes]],
        journal: Journal | None,
        bind: bool = False,
        security: Security = LOCAL_ONLY,
        limits: MailboxLimits | None = None,
    ) -> None:
        super().__init__()
        self.kind = kind
        self._journal = journal
        self._accepts = ACCEPTS[kind]
        self._routes = RoutingTable()
        self._fans_out = kind is IntakeKind.DATA and journal is not None
        self._received = 0
        self._statuses = LastStatuses()  # a feed's repeated status reaches no robot twice
        self._socket, self.url = open_socket(context, kind, url, bind=bind, security=security)
        if kind is IntakeKind.DATA:  # libzmq applies it to the pipe connect made (>= 4.2)
            self._socket.setsockopt(zmq.RCVHWM, _DATA_RCVHWM)
        self._drops = Drops(f"{kind.value} intake on {self.url}")
        self._unrouted = Unrouted(
            f"{kind.value} intake on {self.url}",
            lambda topic: self._routes.fanout(topic) is not None,
        )
        self._conflation = (
            Conflation(limits or MailboxLimits(), f"{kind.value} intake on {self.url}")
            if kind is IntakeKind.DATA
            else None
        )
        self._delivery = Delivery(
            journal=journal,
            fans_out=self._fans_out,
            runs_turns=kind is IntakeKind.DATA,
            conflation=self._conflation,
            drops=self._drops,
            routes=self._routes,
        )
        self._pipe, self._loop_pipe = _pipes(
            context, f"inproc://yard-intake-{kind.value}-{next(_ids)}"
        )
        self._thread = threading.Thread(
            target=self._receive_loop, name=f"yard-intake-{kind.value}", daemon=True
        )

    # --- the actor's side (its own thread) -------------------------------------------

    def on_start(self) -> None:
        self._thread.start()

    def on_stop(self) -> None:
        self._pipe.send(b"stop")
        self._thread.join(timeout=5)
        if self._thread.is_alive():
            logger.error("%s intake on %s: receive thread did not stop", self.kind.value, self.url)
        elif self._conflation is not None:
            self._conflation.drop_held()
        self._pipe.close()

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Route):
            self._route(message.topic, message.robot)
        elif type(message) is Unroute:
            self._unroute(message.topic, message.robot)
        elif type(message) is StatsAsk:
            return self._stats()
        elif type(message) is SettleAsk:
            return self._fence(b"settle", message.timeout_ms)
        elif type(message) is Announce:  # after the routes' subscriptions: the pipe keeps order
            self._pipe.send_multipart((b"sub", message.topic.encode()))
        return None

    def _route(self, topic: str, robot: pykka.ActorRef[Any]) -> None:
        if self._conflation is not None and (backlog := backlog_of(robot)) is not None:
            self._conflation.follow(robot, backlog)
        new = self._routes.add(topic, robot)
        if new is not None:
            self._pipe.send_multipart((b"sub", new))

    def _unroute(self, topic: str, robot: pykka.ActorRef[Any]) -> None:
        if self._conflation is not None:  # the host unroutes all of a robot's topics at once
            self._conflation.forget(robot)
        gone = self._routes.remove(topic, robot)
        if gone is not None:
            self._pipe.send_multipart((b"unsub", gone))
        if self._fans_out:
            self._fence()

    def _fence(self, order: bytes = b"fence", timeout_ms: int = _FENCE_MS) -> bool:
        """Wait until the receive thread has journaled and told what it took; True if it did.

        ``fence``: what it took before an unroute; otherwise an event it took just before
        could be journaled after the robot was removed and added again, its old group
        naming the new robot, which never gets it. ``settle``: also all its socket holds
        now (:meth:`Host.wait_idle`), unless the feed keeps it full for ``timeout_ms``.
        """
        if not self._thread.is_alive():
            return True
        while self._pipe.poll(0):  # the late answer to an earlier fence that timed out
            self._pipe.recv()
        self._pipe.send_multipart((order, str(timeout_ms).encode()))
        if not self._pipe.poll(timeout_ms):
            logger.error(
                "%s intake on %s: the receive thread did not finish its burst within %d ms",
                self.kind.value,
                self.url,
                timeout_ms,
            )
            return False
        return self._pipe.recv() == b"fenced"

    def _stats(self) -> IntakeStats:
        return IntakeStats(
            kind=self.kind.value,
            url=self.url,
            received=self._received,
            delivered=self._delivery.delivered,
            unrouted=self._unrouted.count,
            dropped=self._drops.by_reason(),
        )

    # --- the receive thread ---------------------------------------------------------------

    # Hooks for a subclass (the trades intake), all run on the receive thread.

    def _extra_sockets(self) -> list[tuple[zmq.Socket[bytes], Callable[[], None]]]:
        """More sockets for the receive loop to poll, each with what to do when it is ready."""
        return []

    def _consumed(self, topic: bytes, payload: bytes) -> bool:
        """Handle a message of the intake's own (not an event for robots); True if it was one."""
        return False

    def _fresh(self, event: Any) -> bool:
        """False for an event a robot already has; it is then dropped as a duplicate."""
        return True

    def _idle(self) -> None:
        """Runs when the loop's poll times out (every ``_poll_ms``)."""

    _poll_ms: int | None = None

    def _receive_loop(self) -> None:
        socket, pipe = self._socket, self._loop_pipe
        poller = zmq.Poller()
        poller.register(socket, zmq.POLLIN)
        poller.register(pipe, zmq.POLLIN)
        extra = self._extra_sockets()
        for other, _ in extra:
            poller.register(other, zmq.POLLIN)
        conflation = self._conflation
        try:
            while True:
                holding = conflation is not None and conflation.holding
                ready = dict(poller.poll(_HELD_POLL_MS if holding else self._poll_ms))
                if pipe in ready and not self._obey(pipe.recv_multipart()):
                    return
                if socket in ready:
                    self._drain(socket)
                for other, handle in extra:
                    if other in ready:
                        handle()
                if not ready:
                    if holding:
                        self._deliver([])  # releases the quotes of robots that caught up
                    self._idle()
        except zmq.ZMQError as exc:
            logger.error("%s intake on %s stopped: %s", self.kind.value, self.url, exc)
        finally:
            socket.close()
            pipe.close()
            for other, _ in extra:
                other.close()

    def _obey(self, order: list[bytes]) -> bool:
        if order[0] == b"sub":
            self._socket.subscribe(order[1])
        elif order[0] == b"unsub":
            self._socket.unsubscribe(order[1])
        elif order[0] == b"fence":  # every burst taken so far is journaled and told
            self._loop_pipe.send(b"fenced")
        elif order[0] == b"settle":  # and what the socket holds now, and the held quotes
            self._loop_pipe.send(self._settle(int(order[1]) / 2000))
        return order[0] != b"stop"

    def _settle(self, within_s: float) -> bytes:
        # Drain the socket until it is empty, or until within_s (half the asker's timeout: a
        # feed that never pauses keeps it full for ever); then hand on the held quotes.
        deadline = time.monotonic() + within_s
        while holds_more(self._socket):
            if time.monotonic() > deadline:
                return b"still busy"
            self._drain(self._socket)
        if self._conflation is not None and self._conflation.holding:
            self._deliver(self._conflation.settle(self._routes))
        return b"fenced"

    def _take_frames(self, batch: list[list[bytes]]) -> None:
        """Admit and deliver messages that came from elsewhere than the main socket."""
        admitted = [item for frames in batch if (item := self._admit(frames)) is not None]
        self._deliver(admitted)

    def _drain(self, socket: zmq.Socket[bytes]) -> None:
        """Take what the socket holds (up to a batch), journal it in one write, then fan out.

        Under load a burst becomes one journal write and one mailbox message per
        robot instead of one per event; a lone message goes out alone, at once.
        """
        admitted: list[Admitted] = []
        for taken in range(_BATCH):
            try:
                frames = receive(socket)
            except zmq.Again:
                break
            item = self._admit(frames)
            if item is not None:
                admitted.append(item)
            if taken == 0 and not holds_more(socket):
                break  # a lone message: asking is cheaper than the zmq.Again that says so
        self._deliver(admitted)

    def _deliver(self, admitted: list[Admitted]) -> None:
        self._delivery.deliver(admitted)

    def _admit(self, frames: list[bytes]) -> Admitted | None:
        """Check one message; return (payload, event, fanout) or None if it goes no further."""
        self._received += 1
        if len(frames) != 2:
            self._drops.drop("bad_frames", f"{len(frames)} frames instead of [topic, payload]")
            return None
        topic, payload = frames
        reserved = topic[:1] == _RESERVED
        if reserved and self._consumed(topic, payload):
            return None
        fanout = self._routes.fanout(topic)
        if fanout is None:
            self._unrouted.note(topic)
            return None
        event = self._event(topic, payload)
        if event is None:
            return None
        if reserved:  # a status, which a feed repeats for late joiners
            untold = self._statuses.not_yet_told(event, fanout)
            if untold is None:
                self._drops.count("repeated")  # expected, like a duplicate: counted, not logged
                return None
            fanout = untold
        return payload, event, fanout

    def _event(self, topic: bytes, payload: bytes) -> Any:
        """Decode and check a routed message: the event, or None (dropped, counted, logged)."""
        try:
            event = decode(payload)
        except DecodeError as exc:
            self._drops.drop(exc.reason, str(exc))
            return None
        if not isinstance(event, self._accepts):
            self._drops.drop("wrong_intake", wrong_endpoint(event, self.kind.value, self._accepts))
            return None
        if topic_of(event).encode() != topic:
            name = type(event).__name__
            self._drops.drop(
                "topic_mismatch", f"topic {topic!r} is not the {name}'s {topic_of(event)!r}"
            )
            return None
        if not self._fresh(event):
            self._drops.count("duplicate")  # expected with two paths: counted, not logged
            return None
        return event


def _pipes(
    context: zmq.Context[zmq.Socket[bytes]], url: str
) -> tuple[zmq.Socket[bytes], zmq.Socket[bytes]]:
    """The PAIR pipe from the actor's thread (first) to the receive thread (second)."""
    pipe = context.socket(zmq.PAIR)
    pipe.setsockopt(zmq.LINGER, 0)
    pipe.bind(url)
    loop_pipe = context.socket(zmq.PAIR)
    loop_pipe.setsockopt(zmq.LINGER, 0)
    loop_pipe.connect(url)
    return pipe, loop_pipe
