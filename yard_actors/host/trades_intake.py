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
once. What did not come is asked for: when a robot is added (a restarted
host's robot asks for everything after what its journal holds), and when the
gateway's ``$seqs`` heartbeat shows a robot is behind, the intake asks the
gateway's recovery endpoint (or, with MongoDB, the store) for the missing
reports. Replayed reports go through the same checks and the same journal as
live ones.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import orjson
import zmq

from yard_actors.host.fill_watch import FillWatcher, OpenFillSource
from yard_actors.host.intake import IntakeActor, IntakeKind, Route
from yard_actors.host.seqs import SeqWindow
from yard_actors.journal import Journal
from yard_actors.wire.frames import receive
from yard_actors.wire.names import RECOVERY_REPLAY, RECOVERY_REPORTS, SEQS_TOPIC

__all__ = ["TradesIntake", "TradesRoute", "seen_seqs"]

logger = logging.getLogger(__name__)

_ASK_AGAIN_S = 0.5  # a robot behind the heartbeat is asked for at most this often
_RESUME_FILE = "trades-resume-token.json"
_ids = itertools.count(1)


@attrs.frozen
class TradesRoute(Route):
    """Route a robot's reports, knowing which seqs its journal already holds."""

    seen: tuple[int, ...] = ()


class TradesIntake(IntakeActor):
    """The trades intake with dedup and catch-up; ``fills`` enables the change-stream path.

    ``recovery`` is the gateway's recovery endpoint (ROUTER); ``fills`` opens
    the order store whose change stream this intake follows, and ``fills_from``
    names it in logs (the URL, without credentials).
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
    ) -> None:
        super().__init__(IntakeKind.TRADES, url, context=context, journal=journal)
        self._socket.subscribe(SEQS_TOPIC.encode())
        self._windows: dict[str, SeqWindow] = {}
        self._asked: dict[str, float] = {}
        self._recovery: zmq.Socket[bytes] | None = None
        if recovery is not None:
            self._recovery = context.socket(zmq.DEALER)
            self._recovery.setsockopt(zmq.LINGER, 0)
            self._recovery.connect(recovery)
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
            self._pipe.send_multipart((b"catch-up", message.topic.encode()))
            if self._watcher is not None:
                self._watcher.watch(message.topic, self._windows[message.topic].watermark)
            return result
        return super().on_receive(message)

    # --- the receive thread --------------------------------------------------------------

    def _extra_sockets(self) -> list[tuple[zmq.Socket[bytes], Callable[[], None]]]:
        extra: list[tuple[zmq.Socket[bytes], Callable[[], None]]] = []
        if self._recovery is not None:
            extra.append((self._recovery, self._on_replayed))
        if self._watch_in is not None:
            extra.append((self._watch_in, self._on_watched))
        return extra

    def _obey(self, order: list[bytes]) -> bool:
        if order[0] == b"catch-up":
            self._ask_for(order[1].decode(), force=True)
            return True
        return super()._obey(order)

    def _fresh(self, event: Any) -> bool:
        seq = event.seq
        if not seq:
            return True  # not numbered by a gateway: nothing to compare it with
        window = self._windows.get(event.robot)
        return window is None or window.add(seq)

    def _consumed(self, topic: bytes, payload: bytes) -> bool:
        if topic != SEQS_TOPIC.encode():
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
        return True

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

    def _on_replayed(self) -> None:
        assert self._recovery is not None
        while True:
            try:
                frames = receive(self._recovery)
            except zmq.Again:
                return
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
