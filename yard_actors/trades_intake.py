"""The trades intake: every report for a host's robots, exactly once, over two paths.

Reports (acceptances, rejections, cancel replies, fills) reach a host by

* the **fast path**: the gateway's PUB socket, topic = robot name; and, with a
  MongoDB order store,
* the **change-stream path**: a change stream on the store's ``trades``
  collection filtered by the host's robot names, resumed after a restart from
  the last token this host saved (at most ``_SAVE_EVERY_S`` behind the last
  fill it forwarded: what a restart delivers again, the seq windows drop).

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
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import orjson
import zmq

from yard_actors.codec import encode
from yard_actors.errors import YardError
from yard_actors.frames import receive
from yard_actors.intake import IntakeActor, IntakeKind, Route
from yard_actors.journal import Journal
from yard_actors.seqs import SeqWindow

__all__ = ["SEQS_TOPIC", "TradesIntake", "TradesRoute", "seen_seqs"]

logger = logging.getLogger(__name__)

SEQS_TOPIC = "$seqs"
_ASK_AGAIN_S = 0.5  # a robot behind the heartbeat is asked for at most this often
_RESUME_FILE = "trades-resume-token.json"
_SAVE_EVERY_S = 0.1  # while fills come, the resume token is saved at most this often
_ids = itertools.count(1)


@attrs.frozen
class TradesRoute(Route):
    """Route a robot's reports, knowing which seqs its journal already holds."""

    seen: tuple[int, ...] = ()


class TradesIntake(IntakeActor):
    """The trades intake with dedup and catch-up; ``store`` enables the change-stream path.

    ``recovery`` is the gateway's recovery endpoint (ROUTER); ``store`` is a
    ``mongodb://`` URL whose ``trades`` change stream this intake watches.
    """

    _poll_ms = 200

    def __init__(
        self,
        url: str,
        *,
        context: zmq.Context[zmq.Socket[bytes]],
        journal: Journal | None,
        recovery: str | None = None,
        store: str | None = None,
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
        self._watcher: _FillWatcher | None = None
        self._watch_in: zmq.Socket[bytes] | None = None
        if store is not None and store.startswith("mongodb://"):
            watch_url = f"inproc://yard-fill-watch-{next(_ids)}"
            self._watch_in = context.socket(zmq.PULL)
            self._watch_in.setsockopt(zmq.LINGER, 0)
            self._watch_in.bind(watch_url)
            token_file = None if journal is None else journal.path / _RESUME_FILE
            self._watcher = _FillWatcher(store, context, watch_url, token_file)

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
            self._drop("bad_heartbeat", f"{payload[:80]!r} is not JSON")
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
        self._recovery.send_multipart((b"replay", robot.encode(), str(window.watermark).encode()))

    def _on_replayed(self) -> None:
        assert self._recovery is not None
        while True:
            try:
                frames = receive(self._recovery)
            except zmq.Again:
                return
            if len(frames) < 2 or frames[0] != b"reports":
                self._drop("bad_replay", f"{len(frames)} frames, first {frames[0][:20]!r}")
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


class _FillWatcher:
    """Watches the store's trades collection on its own thread and forwards fills inproc.

    pymongo's change stream blocks in its own calls, so it cannot share the
    intake's ZeroMQ poll; it runs here and hands each fill over as a
    ``[robot, payload]`` message, exactly as the fast path would.
    """

    def __init__(
        self,
        store_url: str,
        context: zmq.Context[zmq.Socket[bytes]],
        push_url: str,
        token_file: Path | None,
    ) -> None:
        self._store_url = store_url
        self._context = context
        self._push_url = push_url
        self._token_file = token_file
        self._lock = threading.Lock()
        self._robots: dict[str, int] = {}  # robot -> watermark when it was added
        self._catch_up: list[tuple[str, int]] = []
        self._pushed: dict[str, int] = {}  # highest seq forwarded per robot (watcher thread)
        self._unsaved: Any = None  # the last token not saved yet (watcher thread)
        self._saved_at = float("-inf")
        self._changed = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="yard-fill-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._changed.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def watch(self, robot: str, watermark: int) -> None:
        """Add a robot: catch it up from the store, then follow its fills."""
        with self._lock:
            self._robots[robot] = watermark
            self._catch_up.append((robot, watermark))
        self._changed.set()

    def _run(self) -> None:
        from gateways.store import open_store  # noqa: PLC0415 - the framework's only store use

        push = self._context.socket(zmq.PUSH)
        push.setsockopt(zmq.LINGER, 0)
        push.connect(self._push_url)
        store = None
        try:
            store = open_store(self._store_url)
            token = self._load_token()
            while not self._stopping.is_set():
                self._changed.wait(timeout=0.5)
                if self._stopping.is_set():
                    return
                token = self._follow(store, push, token)
        except YardError:
            logger.exception("the fill watcher on %s stopped", self._store_url)
        finally:
            push.close()
            if store is not None:
                store.close()

    def _follow(self, store: Any, push: zmq.Socket[bytes], token: Any) -> Any:
        """Watch the robots known now until the set changes or the intake stops."""
        with self._lock:
            self._changed.clear()
            robots = sorted(self._robots)
            catch_up, self._catch_up = self._catch_up, []
        if not robots:
            return token
        watch = store.watch_fills(robots, resume_after=token)
        try:
            for robot, watermark in catch_up:  # after the watch opened: nothing falls between
                self._pushed[robot] = max(self._pushed.get(robot, 0), watermark)
                self._sweep(store, push, [robot])
            next_sweep = time.monotonic() + self._sweep_every(len(robots))
            while not self._changed.is_set() and not self._stopping.is_set():
                item = watch.next(timeout=0.2)
                if item is not None:
                    fill, token = item
                    self._push(push, fill.robot, fill)
                    self._save_token(token, now=time.monotonic())
                elif self._unsaved is not None:  # quiet for a moment: save what was held
                    self._save_token(self._unsaved)
                if time.monotonic() >= next_sweep:
                    # A change stream may drop events (a server failover past its
                    # oplog window, a reconnect); the store itself has them all.
                    self._sweep(store, push, robots)
                    next_sweep = time.monotonic() + self._sweep_every(len(robots))
            return watch.resume_token or token
        finally:
            if self._unsaved is not None:
                self._save_token(self._unsaved)
            watch.close()

    @staticmethod
    def _sweep_every(robots: int) -> float:
        return max(1.0, robots * 0.002)  # one query per robot: keep it to ~500 a second

    def _push(self, push: zmq.Socket[bytes], robot: str, report: Any) -> None:
        push.send_multipart((robot.encode(), encode(report)))
        if report.seq > self._pushed.get(robot, 0):
            self._pushed[robot] = report.seq

    def _sweep(self, store: Any, push: zmq.Socket[bytes], robots: Sequence[str]) -> None:
        """Forward every report the store has beyond the highest this watcher forwarded."""
        for robot in robots:
            for record in store.reports(robot, after_seq=self._pushed.get(robot, 0)):
                self._push(push, robot, record.report)

    def _load_token(self) -> Any:
        if self._token_file is None or not self._token_file.exists():
            return None
        return json.loads(self._token_file.read_text())

    def _save_token(
        self, token: Mapping[str, Any] | Sequence[Any] | None, now: float = 0.0
    ) -> None:
        """Save the token to resume after, at most every ``_SAVE_EVERY_S`` while fills come.

        ``now`` (monotonic) given: a fill was just forwarded, and saving may
        wait. A token saved late only makes a restarted watch deliver again
        fills the robots' journals already hold, which their seq windows drop.
        """
        if self._token_file is None or token is None:
            return
        if now and now - self._saved_at < _SAVE_EVERY_S:
            self._unsaved = token
            return
        temporary = self._token_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(token, default=str))
        os.replace(temporary, self._token_file)
        self._unsaved = None
        self._saved_at = now or time.monotonic()


def seen_seqs(payloads: Sequence[Any]) -> tuple[int, ...]:
    """The report seqs among a robot's journaled events, for :class:`TradesRoute`."""
    return tuple(event.seq for event in payloads if getattr(event, "seq", 0))
