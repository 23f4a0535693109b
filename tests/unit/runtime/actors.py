"""Test actors and helpers shared by the runtime tests: a gate to hold a turn, recorders."""

from __future__ import annotations

import threading
import time
from typing import Any

import pykka

from yard_actors.runtime import Pool, PooledActor

WAIT = 5.0  # seconds any single wait in these tests may take before the test fails


class Gate:
    """A message whose handler holds its actor (and its worker) until the test opens it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()

    def hold(self) -> None:
        self.entered.set()
        assert self.opened.wait(WAIT), "the test never opened the gate"


def recorder(base: type[pykka.Actor]) -> type[Any]:
    """An actor that records its hooks and messages, answers asks and opens gates."""

    class Recorder(base):  # type: ignore[valid-type, misc]
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[Any] = []
            self.stopped = threading.Event()
            self.failed: list[BaseException | None] = []

        def on_start(self) -> None:
            self.seen.append("on_start")

        def on_stop(self) -> None:
            self.seen.append("on_stop")
            self.stopped.set()

        def on_failure(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
            self.failed.append(exc_value)
            self.stopped.set()

        def on_receive(self, message: Any) -> Any:
            if isinstance(message, Gate):
                message.hold()
                return None
            if isinstance(message, BaseException):
                raise message
            self.seen.append(message)
            return ("echo", message)

        def history(self) -> list[Any]:
            return list(self.seen)

    return Recorder


def worker_names(pool: Pool) -> set[str]:
    return {thread.name for thread in threading.enumerate() if thread.name.startswith(pool.name)}


def new_thread_names(before: set[threading.Thread]) -> set[str]:
    return {thread.name for thread in set(threading.enumerate()) - before}


class WhereAmI(PooledActor):
    """Answers an ask with the name of the thread that handled the messages told before it."""

    def __init__(self, sleep_s: float = 0.0) -> None:
        super().__init__()
        self.threads: list[str] = []
        self.sleep_s = sleep_s

    def on_receive(self, message: Any) -> Any:
        if message == "where?":
            return list(self.threads)
        if isinstance(message, Gate):
            message.hold()
            return None
        self.threads.append(threading.current_thread().name)
        time.sleep(self.sleep_s)  # a test actor may sleep; a robot must not
        return None
