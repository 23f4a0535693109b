"""The change-stream path of the trades intake: a thread that follows the store's fills.

The host does not open the order store itself: it is handed an
:data:`OpenFillSource` (see :mod:`yard_actors.host.stores`), and this watcher
calls it on its own thread, follows the fills of the host's robots on the
store's change stream, sweeps the store now and then for anything the stream
dropped, and forwards each fill to the trades intake over ``inproc``, where the
seq windows drop what came both ways.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import zmq

from yard_actors.errors import YardError
from yard_actors.wire.codec import encode
from yard_actors.wire.events import Fill

__all__ = ["FillSource", "FillStream", "FillWatcher", "OpenFillSource", "StoredReport"]

logger = logging.getLogger(__name__)

_SAVE_EVERY_S = 0.1  # while fills come, the resume token is saved at most this often


class FillStream(Protocol):
    """A change stream of fills: what ``FillSource.watch_fills`` returns."""

    @property
    def resume_token(self) -> Mapping[str, Any] | None: ...

    def next(self, timeout: float) -> tuple[Fill, Mapping[str, Any]] | None: ...

    def close(self) -> None: ...


class StoredReport(Protocol):
    """A report as the store keeps it: the report itself, numbered per robot."""

    @property
    def report(self) -> Any: ...


class FillSource(Protocol):
    """What the watcher needs of an order store: its fills as they come, and its reports."""

    def watch_fills(
        self, robots: Sequence[str], *, resume_after: Mapping[str, Any] | None = None
    ) -> FillStream: ...

    def reports(self, robot: str, *, after_seq: int = 0) -> Sequence[StoredReport]: ...

    def close(self) -> None: ...


OpenFillSource = Callable[[], FillSource]
"""Opens a connection to the store; called once, on the watcher's own thread."""


class FillWatcher:
    """Watches the store's trades collection on its own thread and forwards fills inproc.

    pymongo's change stream blocks in its own calls, so it cannot share the
    intake's ZeroMQ poll; it runs here and hands each fill over as a
    ``[robot, payload]`` message, exactly as the fast path would.
    """

    def __init__(
        self,
        open_source: OpenFillSource,
        where: str,
        context: zmq.Context[zmq.Socket[bytes]],
        push_url: str,
        token_file: Path | None,
    ) -> None:
        self._open = open_source
        self._where = where
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
        push = self._context.socket(zmq.PUSH)
        push.setsockopt(zmq.LINGER, 0)
        push.connect(self._push_url)
        store = None
        try:
            store = self._open()
            token = self._load_token()
            while not self._stopping.is_set():
                self._changed.wait(timeout=0.5)
                if self._stopping.is_set():
                    return
                token = self._follow(store, push, token)
        except YardError:
            logger.exception("the fill watcher on %s stopped", self._where)
        finally:
            push.close()
            if store is not None:
                store.close()

    def _follow(self, store: FillSource, push: zmq.Socket[bytes], token: Any) -> Any:
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

    def _sweep(self, store: FillSource, push: zmq.Socket[bytes], robots: Sequence[str]) -> None:
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
