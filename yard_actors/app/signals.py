"""Ctrl-C and SIGTERM as a request to stop: the run ends where it is and says what it did.

Python's own SIGINT raises KeyboardInterrupt wherever the main thread is, in
the middle of starting an actor or closing a socket, and SIGTERM ends the
process with nothing printed. :class:`StopSignals` instead notes the first
SIGINT or SIGTERM; only a part marked with :meth:`StopSignals.cut_short`
(publishing the market, which may take hours at real-time speed) is ended
where it is, by an exception raised there; start-up and shutdown run to their
end, so the summary is of a system stopped in order. A second signal means
"now": the process exits at once, with ``128 + signum``, as a shell reports a
process a signal ended. :class:`SignalsInterrupt` is the simpler kind, for a
command that has no other thread to stop in order (``yard feed``): SIGTERM
raises KeyboardInterrupt as SIGINT does, and the command catches it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, Self

__all__ = ["BROKEN_PIPE", "SignalsInterrupt", "StopSignals", "silence_stdout"]

_STOPPING = (signal.SIGINT, signal.SIGTERM)

BROKEN_PIPE = 128 + signal.SIGPIPE
"""The exit code when the reader of stdout went away (``yard replay ... | head``), as a
shell reports a process SIGPIPE ended."""


class _CutShort(BaseException):  # not an Exception: no `except Exception` may swallow it
    """Raised inside :meth:`StopSignals.cut_short` by the first signal; caught there."""


class _Handling:
    """Install :meth:`_handle` for SIGINT and SIGTERM while the ``with`` block runs; restore
    the handlers after. Only the main thread may set handlers (and gets signals): on
    another (a test's), nothing is installed."""

    def __init__(self) -> None:
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Self:
        if _on_main_thread():
            for signum in _STOPPING:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        raise NotImplementedError


class StopSignals(_Handling):
    """Catch SIGINT and SIGTERM while the ``with`` block runs; restore the handlers after.

    Python runs signal handlers on the main thread; on another (a test's), this
    catches nothing. ``received`` is the first signal caught, or None.
    """

    def __init__(self, command: str = "yard") -> None:
        super().__init__()
        self.received: int | None = None
        self._command = command
        self._cutting = False

    @property
    def name(self) -> str | None:
        """The name of the signal received (``SIGINT``), or None."""
        return None if self.received is None else signal.Signals(self.received).name

    def cut_short(self, work: Callable[[], object]) -> bool:
        """Run ``work`` unless a signal came already; a signal during it ends it there.

        Returns whether ``work`` ran to its end. ``work`` must leave what it drives
        fit to be stopped wherever an exception leaves it (publishing does).
        """
        if self.received is not None:
            return False
        try:
            try:
                self._cutting = True
                work()
            finally:
                self._cutting = False
        except _CutShort:
            return False
        return self.received is None

    def exit_code(self, otherwise: int) -> int:
        """``otherwise`` if it is not 0 (a failure outranks a stop), else ``128 + signum``
        if a signal stopped the run."""
        if otherwise or self.received is None:
            return otherwise
        return 128 + self.received

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.received is not None:
            _say(f"{self._command}: {name} again: stopping at once, with no summary\n")
            os._exit(128 + signum)
        self.received = signum
        _say(f"{self._command}: {name}: stopping; the summary follows ({name} again: at once)\n")
        if self._cutting:
            raise _CutShort


class SignalsInterrupt(_Handling):
    """While the ``with`` block runs, SIGINT and SIGTERM both raise KeyboardInterrupt.

    ``received`` is the last one caught; :meth:`exit_code` maps the command's
    "interrupted" code (130) to ``128 + signum``, so SIGTERM gives 143.
    """

    def __init__(self) -> None:
        super().__init__()
        self.received: int | None = None

    def exit_code(self, code: int) -> int:
        if code == 128 + signal.SIGINT and self.received is not None:
            return 128 + self.received
        return code

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum
        raise KeyboardInterrupt


def silence_stdout() -> None:
    """Point stdout at /dev/null after a BrokenPipeError: the reader is gone, so nothing
    more is said, and the interpreter's last flush at exit does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _say(text: str) -> None:
    # os.write, not print: a handler may run while the main thread is inside a print to stderr
    with contextlib.suppress(OSError):  # stderr closed: nothing to say it on
        os.write(2, text.encode())
