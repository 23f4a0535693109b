"""Supervision calls from two threads (the console's, the control server's) run one at a time."""

from __future__ import annotations

import threading

from yard_actors.host.supervision import Supervision, supervised


class Calls(Supervision):
    """Two supervised calls: one that waits inside until let go, one that calls another."""

    def __init__(self) -> None:
        self._supervising = threading.RLock()
        self.inside = threading.Event()
        self.let_go = threading.Event()
        self.entered: list[str] = []

    @supervised
    def slow(self, who: str) -> str:
        self.entered.append(who)
        self.inside.set()
        assert self.let_go.wait(5), "the test never let the call go"
        return who

    @supervised
    def nested(self) -> str:
        return self.quick("nested")

    @supervised
    def quick(self, who: str) -> str:
        self.entered.append(who)
        return who


def test_a_second_call_waits_for_the_first_to_return() -> None:
    calls = Calls()
    first = threading.Thread(target=calls.slow, args=("first",))
    second = threading.Thread(target=calls.quick, args=("second",))
    first.start()
    assert calls.inside.wait(5)
    second.start()
    second.join(timeout=0.2)  # it cannot get in while the first holds the lock

    held_out = second.is_alive()
    calls.let_go.set()
    first.join(timeout=5)
    second.join(timeout=5)

    assert held_out
    assert calls.entered == ["first", "second"]


def test_a_call_may_make_another_on_its_own_thread() -> None:
    calls = Calls()

    assert calls.nested() == "nested"
