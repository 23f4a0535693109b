"""Wake a main thread from a signal handler, or from another thread, without a lock.

A Python signal handler runs on the main thread between two bytecodes, wherever it
is: inside ``threading.Event.wait`` or ``clear`` too, which hold the event's inner
lock. A handler that calls ``Event.set()`` then waits for a lock its own thread holds,
and the process hangs for good (a host's second SIGUSR1 did, once in CI). A
:class:`Wakeup` is a self-pipe instead: :meth:`set` writes one byte (no Python lock;
safe in a handler and from any thread), :meth:`wait` waits for a byte with ``select``
and drains them. The processes yard starts (``yard run --role host``, ``yard
gateway``) wait on one in their main thread.
"""

from __future__ import annotations

import contextlib
import os
import select

__all__ = ["Wakeup"]


class Wakeup:
    """An Event-like wake-up for one waiting thread.

    Its pipe is not closed: a thread or handler may still set it after its waiter is
    done, and a closed descriptor's number may belong to another file by then. One is
    made per command run (two descriptors).
    """

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    def set(self) -> None:
        """Wake the waiter (or its next wait): from a signal handler or any thread."""
        with contextlib.suppress(BlockingIOError, OSError):  # full: a wake-up is pending anyway
            os.write(self._write, b"\0")

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` s (None: for ever) for :meth:`set`; True if it came.

        Every wake-up pending is taken: several sets before a wait wake it once.
        """
        while True:
            try:
                ready, _, _ = select.select([self._read], [], [], timeout)
                break
            except InterruptedError:  # a signal: PEP 475 retries, but be explicit
                continue
        if not ready:
            return False
        with contextlib.suppress(BlockingIOError):
            while os.read(self._read, 4096):
                pass
        return True
