"""The change-stream path of the trades intake: a thread that follows the store's fills.

The host does not open the order store itself: it is handed an
:data:`OpenFillSource` (see :mod:`yard_actors.host.stores`), and this watcher
calls it on its own thread, follows the fills of the host's robots on the
store's change stream, sweeps the store now and then for anything the stream
dropped, and forwards each fill to the trades intake over ``inproc``, where the
seq windows drop what came both ways.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Protocol

import zmq

from yard_actors.errors import StoreError
from yard_actors.wire.codec import encode
from yard_actors.wire.events import Fill

__all__ = [
    "FIRST_DELAY_S",
    "MAX_DELAY_S",
    "FillSource",
    "FillStream",
    "FillWatcher",
    "OpenFillSource",
    "StoredReport",
]

logger = logging.getLogger(__name__)

FIRST_DELAY_S: Final = 0.1
"""After the store first fails, the watcher opens it again this soon; then twice as late..."""
MAX_DELAY_S: Final = 5.0
"""... up to this long apart."""

_SAVE_EVERY_S = 0.1  # while fills come, the resume token is saved at most this often
_LOG_FIRST_TRIES: Final = 3  # failed tries logged in full, then one in this many:
_LOG_EVERY_TRIES: Final = 12  # at the longest delay, about once a minute


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

    The thread lives as long as the intake: when the store fails (a server
    restarted, a network cut) or anything else goes wrong, it logs why
    (rate-limited; a traceback for what is not a StoreError), closes the
    store and opens it anew after 0.1 s, 0.2 s, 0.4 s... (at most
    ``max_delay_s`` apart). Meanwhile fills still reach the robots by the fast
    path. Once a watch is open again it resumes after the last token (or, if
    the server no longer has that point, from now) and sweeps every robot's
    reports beyond what it forwarded, so nothing stored meanwhile is missed.
    :attr:`failures` counts the tries that failed.
    """

    def __init__(
        self,
        open_source: OpenFillSource,
        where: str,
        context: zmq.Context[zmq.Socket[bytes]],
        push_url: str,
        token_file: Path | None,
        *,
        max_delay_s: float = MAX_DELAY_S,
    ) -> None:
        self._open = open_source
        self._where = where
        self._context = context
        self._push_url = push_url
        self._token_file = token_file
        self._max_delay = max_delay_s
        self._lock = threading.Lock()
        self._robots: dict[str, int] = {}  # robot -> watermark when it was added
        self._catch_up: list[tuple[str, int]] = []
        self.failures = 0  # tries that failed, ever (watcher thread writes, anyone reads)
        self._failing = 0  # tries failed since the last that worked (watcher thread)
        self._delay = FIRST_DELAY_S
        self._token: Any = None  # where to resume the stream (watcher thread)
        self._sweep_all = True  # after (re)opening the store: every robot (watcher thread)
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

    def is_alive(self) -> bool:
        """Whether the watcher's thread runs: from start until :meth:`stop`, whatever fails."""
        return self._thread.is_alive()

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
        try:
            self._token = self._load_token()
            while not self._stopping.is_set():
                try:
                    self._watch_store(push)
                except zmq.ContextTerminated:
                    return  # the host is stopping
                except Exception as exc:  # logged (a traceback if unexpected), tried again
                    if self._stopping.is_set():
                        return
                    self._failed(exc)
                    self._stopping.wait(self._delay)
                    self._delay = min(self._delay * 2, self._max_delay)
        finally:
            push.close()

    def _watch_store(self, push: zmq.Socket[bytes]) -> None:
        """Open the store and follow it until the intake stops; raise what fails."""
        store = self._open()
        self._sweep_all = True  # what was stored while no watch was open
        try:
            while not self._stopping.is_set():
                self._follow(store, push)
                self._changed.wait(timeout=0.5)
        finally:
            with contextlib.suppress(Exception):  # a store that failed may fail to close too
                store.close()

    def _failed(self, exc: Exception) -> None:
        self.failures += 1
        self._failing += 1
        if self._failing > _LOG_FIRST_TRIES and self._failing % _LOG_EVERY_TRIES:
            return
        if isinstance(exc, StoreError):
            logger.warning(
                "the fill watcher on %s lost the store (try %d; again in %.1f s; fills still "
                "come by the gateway's trades endpoint): %s",
                *(self._where, self._failing, self._delay, exc),
            )
        else:
            logger.error(
                "the fill watcher on %s failed unexpectedly (try %d; again in %.1f s)",
                *(self._where, self._failing, self._delay),
                exc_info=exc,
            )

    def _following(self) -> None:
        """A watch is open and the sweep done: the store answers again."""
        if self._failing:
            logger.warning(
                "the fill watcher on %s follows the store again after %d failed tries",
                *(self._where, self._failing),
            )
        self._failing = 0
        self._delay = FIRST_DELAY_S

    def _follow(self, store: FillSource, push: zmq.Socket[bytes]) -> None:
        """Watch the robots known now until the set changes or the intake stops."""
        with self._lock:
            self._changed.clear()
            robots = sorted(self._robots)
            catch_up, self._catch_up = self._catch_up, []
        for robot, watermark in catch_up:
            self._pushed[robot] = max(self._pushed.get(robot, 0), watermark)
        if not robots:
            return
        watch = self._open_watch(store, robots)
        try:
            # After the watch opened: nothing falls between the sweep and the stream.
            self._sweep(store, push, robots if self._sweep_all else [r for r, _ in catch_up])
            self._sweep_all = False
            self._following()
            next_sweep = time.monotonic() + self._sweep_every(len(robots))
            while not self._changed.is_set() and not self._stopping.is_set():
                item = watch.next(timeout=0.2)
                if item is not None:
                    fill, self._token = item
                    self._push(push, fill.robot, fill)
                    self._save_token(self._token, now=time.monotonic())
                elif self._unsaved is not None:  # quiet for a moment: save what was held
                    self._save_token(self._unsaved)
                if time.monotonic() >= next_sweep:
                    # A change stream may drop events (a server failover past its
                    # oplog window, a reconnect); the store itself has them all.
                    self._sweep(store, push, robots)
                    next_sweep = time.monotonic() + self._sweep_every(len(robots))
            self._token = watch.resume_token or self._token
        finally:
            if self._unsaved is not None:
                self._save_token(self._unsaved)
            with contextlib.suppress(Exception):  # closing a failed stream may fail too
                watch.close()

    def _open_watch(self, store: FillSource, robots: Sequence[str]) -> FillStream:
        """The watch, resumed after the token if the server still has that point, else from now.

        A token the server refuses (its change log moved past it, or it was
        restarted without it) is dropped: the sweep that follows brings what
        was stored since. If the store refuses a fresh watch too, it is down:
        the first error is raised.
        """
        try:
            return store.watch_fills(robots, resume_after=self._token)
        except StoreError as exc:
            if self._token is None:
                raise
            try:
                watch = store.watch_fills(robots)
            except StoreError:
                raise exc from None
            logger.warning(
                "the fill watcher on %s cannot resume after its token (%s); it follows from "
                "now, and sweeps the store for what came between",
                *(self._where, exc),
            )
            self._token, self._sweep_all = None, True
            return watch

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
        """The saved token; None without one, or if it cannot be read (the sweep covers)."""
        if self._token_file is None or not self._token_file.exists():
            return None
        try:
            return json.loads(self._token_file.read_text())
        except (OSError, ValueError) as exc:
            logger.warning(
                "the fill watcher on %s cannot read its saved token %s (%s); it follows from "
                "now, and sweeps the store for what came before",
                *(self._where, self._token_file, exc),
            )
            return None

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
