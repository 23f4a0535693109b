"""The self-pipe a signal handler wakes a main thread with, taking no lock."""

from __future__ import annotations

import os
import signal
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
