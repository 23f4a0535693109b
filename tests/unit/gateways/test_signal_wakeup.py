"""The self-pipe a signal handler wakes a main thread with, taking no lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from gateways.signal_wakeup import Wakeup


def test_a_set_before_the_wait_wakes_it_once() -> None:
    wake = Wakeup()
    wake.set()
    wake.set()

    assert wake.wait(0) is True
    assert wake.wait(0) is False


def test_a_wait_times_out_without_a_set() -> None:
    started = time.monotonic()

    assert Wakeup().wait(0.05) is False
    assert time.monotonic() - started >= 0.04


def test_a_set_from_another_thread_wakes_the_waiter() -> None:
    wake = Wakeup()
    timer = threading.Timer(0.05, wake.set)
    timer.start()
    try:
        assert wake.wait(10) is True
    finally:
        timer.cancel()


def test_a_handler_that_sets_it_while_the_main_thread_waits_on_it_does_not_hang() -> None:
    # threading.Event.set in a handler that lands inside Event.wait/clear deadlocks on the
    # event's own lock; the pipe takes none, so a burst of signals mid-wait is harmless.
    wake = Wakeup()
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: wake.set())
    try:
        for _ in range(200):
            os.kill(os.getpid(), signal.SIGUSR1)
            assert wake.wait(10) is True
    finally:
        signal.signal(signal.SIGUSR1, previous)


_MAIN_BLOCKS_SIGINT = """
import signal, sys, threading
from gateways.signal_wakeup import Wakeup

wake = Wakeup()
stopped = []
signal.signal(signal.SIGINT, lambda signum, frame: stopped.append(signum))
if sys.argv[1] == "wake":
    wake.wake_on_signals()
idle = threading.Event()
threading.Thread(target=idle.wait, daemon=True).start()  # takes SIGINT: the main blocks it
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
print("waiting", flush=True)
woke = wake.wait(20 if sys.argv[1] == "wake" else 1)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
print("woke" if woke else "timed out", stopped, flush=True)
"""


def _main_thread_waiting(how: str) -> str:
    """Run a process whose main thread waits on a Wakeup while another thread gets its
    SIGINT (the kernel picks any thread not blocking it); return what it printed."""
    child = subprocess.Popen(
        [sys.executable, "-c", _MAIN_BLOCKS_SIGINT, how], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "waiting\n"
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return out.strip()


def test_a_signal_another_thread_takes_wakes_the_main_threads_wait() -> None:
    assert _main_thread_waiting("wake") == f"woke [{int(signal.SIGINT)}]"


def test_without_it_the_main_thread_sleeps_through_that_signal() -> None:
    # What yard gateway did before wake_on_signals: the handler ran only after the wait.
    assert _main_thread_waiting("plain") == f"timed out [{int(signal.SIGINT)}]"
