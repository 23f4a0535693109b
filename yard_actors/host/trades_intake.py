"""The trades intake: every report for a host's robots, exactly once, over two paths.

Reports (acceptances, rejections, cancel replies, fills) reach a host by

* the **fast path**: the gateway's PUB socket, topic = robot name; and, with a
  MongoDB order store,
* the **change-stream path**: a change stream on the store's ``trades``
  collection filtered by the host's robot names, followed by a
  :class:`~yard_actors.host.fill_watch.FillWatcher` and resumed after a restart
  from the last token this host saved (what a restart delivers again, the seq
  windows drop).

Each report carries its robot's report ``seq``; a :class:`SeqWindow` per robot
drops what was already delivered, so a fill that comes both ways is handled
once, and delivers in seq order: a report with a gap before it (the gateway's
``trades`` queue, or this socket's, overflowed while the host was behind) is
dropped and the gap asked for at once; the replay brings both in order (with
no recovery endpoint to ask, reports are delivered as they come). What
did not come is asked for: when a robot is added (a restarted host's robot asks
for everything after what its journal holds), and when the gateway's ``$seqs``
heartbeat shows a robot is behind, the intake asks the gateway's recovery
endpoint (or, with MongoDB, the store) for the missing reports. Replayed reports
go through the same checks and the same journal as live ones.

Orders nobody answered are asked about too (``resolve``, ``docs/wire.md`` 4a): the
intake clears an order from the host's :class:`~yard_actors.host.in_flight.InFlight` at
the first report about it, and from its receive loop (when idle, and at each heartbeat)
sends ``[resolve, robot, client_order_id...]`` for the orders unanswered for
``reply_timeout``, again every ``reply_timeout`` until answered; at once for a restored
robot's orders its journal holds no reply for; and at once for the orders sent before the
order link's connection dropped, when it comes back (a gateway restarted). The gateway
answers through its store: an order it never had becomes an ``OrderRejected`` ``lost in
transit``, one it has gets its reports again; both come as ordinary reports, journaled
before the robot handles them, so a replay of the journal stays exact. Cancels nobody
answered are sent again instead, on the order link, at the same moments (a cancel is
idempotent; asking about it would not make it arrive). The asking and the sending again
are :mod:`.unanswered`'s; this intake tells it when.

A keyed host registers each robot with the gateway under its key (:mod:`.registrations`)
on the recovery DEALER, before the robot's first replay; the answers come there too.
Keyed, the gateway answers the ``$seqs`` subscription with the host's own heartbeat
(topic ``$seqs/<key>/``: its robots' seqs only), taken here as ``$seqs`` is.

The gateway's own ``SystemStatus`` (its order store down, or back: ``docs/wire.md`` 4b)
comes on ``$system`` and goes to every robot, journaled like any report.
"""

from __future__ import annotations

import itertools
import logging
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import orjson
import zmq

from yard_actors import net
from yard_actors.errors import DecodeError
from yard_actors.host.fill_watch import FillWatcher, OpenFillSource
from yard_actors.host.in_flight import InFlight
from yard_actors.host.intake import IntakeActor, IntakeKind
from yard_actors.host.intake_messages import Route
from yard_actors.host.order_link import OrderLink
from yard_actors.host.registrations import Registrations, SendRegistrations
from yard_actors.host.seqs import SeqWindow
from yard_actors.host.unanswered import Unanswered
from yard_actors.journal import Journal
from yard_actors.net import GATEWAY, LOCAL_ONLY, Security
from yard_actors.wire.events import SystemStatus
from yard_actors.wire.frames import receive
from yard_actors.wire.names import (
    OWNER_SEQS_PREFIX,
    RECOVERY_REGISTERED,
    RECOVERY_REPLAY,
    RECOVERY_REPORTS,
    SEQS_TOPIC,
    SYSTEM_TOPIC,
)

__all__ = ["TradesIntake", "TradesRoute", "seen_seqs"]

logger = logging.getLogger(__name__)

_ASK_AGAIN_S = 0.5  # a robot behind the heartbeat is asked for at most this often
_RESUME_FILE = "trades-resume-token.json"
_ids = itertools.count(1)
#: Reports ZeroMQ may queue ahead of the trades intake's thread: the gateway's own queue
#: per subscriber (``gateways.endpoints.TRADES_QUEUE``). A host that falls further behind
#: loses the rest at its socket (and at the gateway's queue) and gets them back, in seq
#: order and once each, by the ``$seqs`` heartbeat and a paged replay
#: (tests/integration/test_trades_catch_up.py). So a host's trades backlog costs it at most
#: about 12 MB (some 600 B a queued report of 170 B, ZeroMQ's own share included, measured
#: with 20,000 queued); a million would hold 600-900 MB, for nothing a replay cannot bring.
TRADES_RCVHWM = 20_000


@attrs.frozen
class TradesRoute(Route):
    """Route a robot's reports, knowing which seqs its journal already holds.

    ``unanswered``: its orders with no report in its journal (a restored robot), asked
    about at once.
    """

    seen: tuple[int, ...] = ()
    unanswered: tuple[str, ...] = ()


class TradesIntake(IntakeActor):
    """The trades intake with dedup and catch-up; ``fills`` enables the change-stream path.

    ``recovery`` is the gateway's recovery endpoint (ROUTER); ``fills`` opens
    the order store whose change stream this intake follows, and ``fills_from``
    names it in logs (the URL, without credentials). ``in_flight`` holds the orders the
    host sent that await a first report, and ``link_events`` is the order link's socket
    monitor (:attr:`OrderLink.events_url`); without ``recovery`` nobody can be asked
    about an unanswered order, and it is only logged. ``order_link`` sends unanswered
    cancels again; without it they are only logged. ``security``: the host's keys for
    ``tcp://`` (:mod:`yard_actors.net`), on the trades and recovery sockets alike.
    """

    _poll_ms = 200

    def __init__(
        self,
        url: str,
        *,
        context: zmq.Context[zmq.Socket[bytes]],
        journal: Journal | None,
        recovery: str | None = None,
        fills: OpenFillSource | None = None,
        fills_from: str = "the order store",
        in_flight: InFlight | None = None,
        link_events: str | None = None,
        order_link: OrderLink | None = None,
        security: Security = LOCAL_ONLY,
        registrations: Registrations | None = None,
    ) -> None:
        super().__init__(
            IntakeKind.TRADES, url, context=context, journal=journal, security=security
        )
        self._socket.setsockopt(zmq.RCVHWM, TRADES_RCVHWM)  # libzmq >= 4.2: the pipe too
        self._socket.subscribe(SEQS_TOPIC.encode())  # keyed: the gateway sends its own robots'
        self._registrations = registrations  # keyed: robots registered under the host's key
        self._socket.subscribe(SYSTEM_TOPIC.encode())  # a route to it subscribes nothing
        self._windows: dict[str, SeqWindow] = {}
        self._asked: dict[str, float] = {}
        self._in_flight = in_flight
        self._link_events: zmq.Socket[bytes] | None = None
        if link_events is not None:
            self._link_events = context.socket(zmq.PAIR)
            self._link_events.setsockopt(zmq.LINGER, 0)
            self._link_events.connect(link_events)
        self._recovery: zmq.Socket[bytes] | None = None
        if recovery is not None:
            self._recovery = context.socket(zmq.DEALER)
            self._recovery.setsockopt(zmq.LINGER, 0)
            net.connect(self._recovery, recovery, security, server=GATEWAY)
        self._unanswered = Unanswered(self._recovery, order_link, in_flight)
        self._watcher: FillWatcher | None = None
        self._watch_in: zmq.Socket[bytes] | None = None
        if fills is not None:
            watch_url = f"inproc://yard-fill-watch-{next(_ids)}"
            self._watch_in = context.socket(zmq.PULL)
            self._watch_in.setsockopt(zmq.LINGER, 0)
            self._watch_in.bind(watch_url)
            token_file = None if journal is None else journal.path / _RESUME_FILE
            self._watcher = FillWatcher(fills, fills_from, context, watch_url, token_file)

    # --- the actor's side ----------------------------------------------------------------

    def on_start(self) -> None:
        super().on_start()
        if self._watcher is not None:
            self._watcher.start()

    def on_stop(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
        super().on_stop()

    def on_receive(self, message: Any) -> Any:
        if type(message) is TradesRoute:
            # The window is in place before the route, so the receive thread never
            # sees the robot's reports without it.
            self._windows[message.topic] = SeqWindow(message.seen)
            result = super().on_receive(message)
            if self._in_flight is not None:
                for client_order_id in message.unanswered:
                    self._in_flight.sent(message.topic, client_order_id)
            unanswered = [c.encode() for c in message.unanswered]
            self._pipe.send_multipart((b"catch-up", message.topic.encode(), *unanswered))
            if self._watcher is not None:
                self._watcher.watch(message.topic, self._windows[message.topic].watermark)
            return result
        if type(message) is SendRegistrations:
            self._pipe.send(b"register")
            return None
        return super().on_receive(message)

    # --- the receive thread --------------------------------------------------------------

    def _extra_sockets(self) -> list[tuple[zmq.Socket[bytes], Callable[[], None]]]:
        extra: list[tuple[zmq.Socket[bytes], Callable[[], None]]] = []
        if self._recovery is not None:
            extra.append((self._recovery, self._on_replayed))
        if self._watch_in is not None:
            extra.append((self._watch_in, self._on_watched))
        if self._link_events is not None:
            extra.append((self._link_events, self._on_link_event))
        return extra

    def _obey(self, order: list[bytes]) -> bool:
        if order[0] == b"catch-up":
            robot = order[1].decode()
            self._ask_for(robot, force=True)
            if len(order) > 2:  # after the replay it asks for, so the gateway answers in turn
                self._resolve({robot: [c.decode() for c in order[2:]]}, "restored unanswered")
            return True
        if order[0] == b"register":
            self._send_registrations()
            return True
        return super()._obey(order)

    def _idle(self) -> None:
        self._resolve_overdue()
        self._send_registrations()

    def _fresh(self, event: Any) -> bool:
        if type(event) is SystemStatus:
            return True  # the gateway's own status: not numbered, about no order
        seq = event.seq
        window = self._windows.get(event.robot)
        if seq and window is not None and self._recovery is not None and window.ahead(seq):
            # A gap before it (the gateway's queue or ours overflowed): the replay asked for
            # now brings the gap and this report after it, in order; counted as a duplicate.
            # With no recovery endpoint nobody can fill a gap (the change stream alone brings
            # fills, not replies): then a report is delivered as it comes.
            self._ask_for(event.robot)
            fresh = False
        else:  # seq 0: not numbered by a gateway, nothing to compare it with
            fresh = not seq or window is None or window.add(seq)
        if self._in_flight is not None:
            self._in_flight.reported(event, fresh=fresh)
        return fresh

    def _consumed(self, topic: bytes, payload: bytes) -> bool:
        # keyed, the gateway answers $seqs with the host's own heartbeat, $seqs/<its key>/
        if topic != SEQS_TOPIC.encode() and not topic.startswith(OWNER_SEQS_PREFIX.encode()):
            return False
        try:
            last_seqs = orjson.loads(payload)
        except orjson.JSONDecodeError:
            self._drops.drop("bad_heartbeat", f"{payload[:80]!r} is not JSON")
            return True
        if isinstance(last_seqs, dict):
            for robot, window in list(self._windows.items()):
                last = last_seqs.get(robot)
                if type(last) is int and window.missing(last):
                    self._ask_for(robot)
        self._resolve_overdue()  # a busy trades socket leaves the loop no idle moment
        self._send_registrations()
        return True

    def _send_registrations(self) -> None:
        """Send the registrations due (new, or unanswered for a while; :mod:`.registrations`)."""
        if self._registrations is not None and self._recovery is not None:
            self._registrations.send_due(self._recovery)

    def _on_registered(self, frames: list[bytes]) -> None:
        """The gateway's answer to a registration; a robot registered late subscribes again
        (the gateway refused its subscription until then) and asks for what it missed."""
        if self._registrations is None:
            return
        try:
            late = self._registrations.take_answer(frames)
        except DecodeError as exc:
            self._drops.drop(exc.reason, str(exc))
            return
        for robot in late:
            if robot in self._windows:
                self._socket.unsubscribe(robot.encode())
                self._socket.subscribe(robot.encode())
                self._ask_for(robot, force=True)

    def _ask_for(self, robot: str, *, force: bool = False) -> None:
        window = self._windows.get(robot)
        if window is None or self._recovery is None:
            return
        now = time.monotonic()
        if not force and now - self._asked.get(robot, 0.0) < _ASK_AGAIN_S:
            return
        self._asked[robot] = now
        self._recovery.send_multipart(
            (RECOVERY_REPLAY, robot.encode(), str(window.watermark).encode())
        )

    def _resolve_overdue(self) -> None:
        self._unanswered.resolve_overdue()

    def _resolve(self, orders: dict[str, list[str]], why: str) -> None:
        self._unanswered.resolve(orders, why)

    def _on_link_event(self) -> None:
        """The order link's connection dropped or came back (its socket monitor)."""
        assert self._link_events is not None
        while True:
            try:
                frames = self._link_events.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            # [u16 event + u32 value, endpoint], native byte order; parsed here because
            # zmq.utils.monitor imports asyncio: 45 ms and 6 MB for every host
            self._unanswered.link_event(int.from_bytes(frames[0][:2], sys.byteorder))

    def _on_replayed(self) -> None:
        assert self._recovery is not None
        while True:
            try:
                frames = receive(self._recovery)
            except zmq.Again:
                return
            if frames[0] == RECOVERY_REGISTERED:
                self._on_registered(frames)
                continue
            if len(frames) < 2 or frames[0] != RECOVERY_REPORTS:
                self._drops.drop("bad_replay", f"{len(frames)} frames, first {frames[0][:20]!r}")
                continue
            robot = frames[1]
            self._take_frames([[robot, payload] for payload in frames[2:]])

    def _on_watched(self) -> None:
        assert self._watch_in is not None
        batch = []
        for _ in range(1000):
            try:
                batch.append(receive(self._watch_in))
            except zmq.Again:
                break
        self._take_frames(batch)


def seen_seqs(payloads: Sequence[Any]) -> tuple[int, ...]:
    """The report seqs among a robot's journaled events, for :class:`TradesRoute`."""
    return tuple(event.seq for event in payloads if getattr(event, "seq", 0))
