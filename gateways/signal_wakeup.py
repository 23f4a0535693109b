"""Wake a main thread from a signal handler, or from another thread, without a lock.

A Python signal handler runs on the main thread between two bytecodes, wherever it
is: inside ``threading.Event.wait`` or ``clear`` too, which hold the event's inner
lock. A handler that calls ``Event.set()`` then waits for a lock its own thread holds,
and the process hangs for good (a host's second SIGUSR1 did, once in CI). A
:class:`Wakeup` is a self-pipe instead: :meth:`set` writes one byte (no Python lock;
safe in a handler and from any thread), :meth:`wait` waits for a byte with ``select``
and drains them. The processes yard starts (``yard run --role host``, ``yard
gateway``) wait on one in their main thread.

A handler alone does not wake that wait: the kernel gives a process's signal to any
of its threads that does not block it (ZeroMQ's, the gateway's, a store's), CPython's C
handler then only notes it, and the main thread runs the Python handler when it next
runs Python, which a ``select`` with no timeout never lets it do (a SIGINT to ``yard
gateway`` went unheard until its health timer fired, a minute later, in 2 of 60 tries).
:meth:`Wakeup.wake_on_signals` makes the C handler itself write to the pipe
(:func:`signal.set_wakeup_fd`), whichever thread it runs on.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal

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

    def wake_on_signals(self) -> None:
        """Wake :meth:`wait` on every signal with a Python handler, whichever thread the
        kernel delivers it to. Call on the main thread, after installing the handlers;
        the process keeps it (one waiter per process)."""
        signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)

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
