"""The hand-off monitor: a pool grows a worker when its workers are held and actors wait."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pykka
import pytest

from tests.unit.runtime.actors import WAIT, Gate, WhereAmI, worker_names
from yard_actors.runtime import Pool, PooledActor
from yard_actors.runtime import pool as pool_module
from yard_actors.runtime.handoff import HANDOFF_S, IDLE_CHECK_S, Handoff, Turns
from yard_actors.testing import wait_until


class Holds(PooledActor):
    """Holds its worker on a Gate; answers anything else with its thread's name."""

    def on_receive(self, message: Any) -> str:
        if isinstance(message, Gate):
            message.hold()
        return threading.current_thread().name


def _grower(grows: list[int]) -> Callable[[], bool]:
    """A ``grow`` that notes each call in ``grows`` and always succeeds."""

    def grow() -> bool:
        grows.append(1)
        return True

    return grow


def _look(workers: list[Turns], *, waiting: bool, grows: list[int]) -> tuple[Handoff, bool]:
    handoff = Handoff(
        "test-handoff",
        workers=lambda: workers,
        waiting=lambda: waiting,
        grow=_grower(grows),
    )
    return handoff, handoff.look()


def test_a_look_grows_the_pool_only_when_every_worker_stayed_in_one_turn_and_someone_waits() -> (
    None
):
    first, second = Turns(), Turns()
    grows: list[int] = []
    handoff = Handoff(
        "test-handoff",
        workers=lambda: [first, second],
        waiting=lambda: True,
        grow=_grower(grows),
    )
    first.count = second.count = 1  # both in a turn
    handoff.look()  # the first look only notes the turns
    assert grows == []

    second.count = 3  # the second worker finished a turn and began another: not stuck
    assert handoff.look() is True  # but it may be a long one: look again soon
    assert grows == []
    assert handoff.interval == HANDOFF_S

    handoff.look()  # now both have stayed in the same turn since the last look
    assert grows == [1]


def test_the_monitor_backs_off_while_the_workers_run_many_short_turns() -> None:
    worker = Turns()
    grows: list[int] = []
    handoff, _ = _look([worker], waiting=True, grows=grows)
    intervals = []
    for _ in range(8):
        worker.count += 101  # fifty-odd short turns since the last look, in one now
        handoff.look()
        intervals.append(handoff.interval)

    assert intervals[-1] == IDLE_CHECK_S
    assert intervals == sorted(intervals)
    assert grows == []


def test_a_look_does_not_grow_the_pool_when_a_worker_is_idle_or_nobody_waits() -> None:
    busy, idle = Turns(), Turns()
    busy.count = 1
    grows: list[int] = []

    handoff, _ = _look([busy, idle], waiting=True, grows=grows)
    handoff.look()
    assert grows == []  # the idle worker (even count) will take what waits

    handoff, _ = _look([busy], waiting=False, grows=grows)
    handoff.look()
    assert grows == []  # held, but nobody is held up


def test_a_held_worker_gets_a_helper_so_a_quick_actor_is_served_meanwhile() -> None:
    with Pool(workers=1, max_workers=2, name="helped-pool") as pool:
        slow, quick = Holds.start_in(pool), Holds.start_in(pool)
        assert quick.ask("warm up", timeout=WAIT) == "helped-pool-0"
        gate = Gate()
        slow.tell(gate)
        assert gate.entered.wait(WAIT)

        where = quick.ask("where?", timeout=WAIT)  # served while the gate is still shut
        gate.opened.set()

        assert where == "helped-pool-1"
        assert pool.grown == 1
        assert pool.live_workers == 2


def test_a_pool_grows_no_further_than_max_workers() -> None:
    with Pool(workers=1, max_workers=2, name="capped-pool") as pool:
        first, second, third = (Holds.start_in(pool) for _ in range(3))
        gates = [Gate(), Gate()]
        first.tell(gates[0])
        assert gates[0].entered.wait(WAIT)
        second.tell(gates[1])  # the monitor adds the second worker, which is then held too
        assert gates[1].entered.wait(WAIT)

        answer = third.ask("where?", block=False)
        with pytest.raises(pykka.Timeout):
            answer.get(timeout=0.3)  # the monitor had ~100 looks: no third worker
        assert pool.live_workers == 2
        gates[0].opened.set()
        gates[1].opened.set()

        assert answer.get(timeout=WAIT).startswith("capped-pool-")
        assert pool.grown == 1


def test_an_added_worker_ends_after_idling_and_shutdown_joins_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pool_module, "RETIRE_S", 0.05)
    pool = Pool(workers=1, max_workers=3, name="retiring-pool")
    slow, quick = Holds.start_in(pool), Holds.start_in(pool)
    gate = Gate()
    slow.tell(gate)
    assert gate.entered.wait(WAIT)
    assert quick.ask("where?", timeout=WAIT) == "retiring-pool-1"
    gate.opened.set()

    wait_until(lambda: pool.live_workers == 1, timeout=WAIT, what="the added worker ending")
    assert worker_names(pool) == {"retiring-pool-0", "retiring-pool-handoff"}
    assert pool.shutdown(WAIT) is True
    assert worker_names(pool) == set()


def test_a_pool_whose_max_is_its_size_has_no_monitor_and_a_smaller_max_is_refused() -> None:
    with Pool(workers=1, max_workers=1, name="fixed-pool") as pool:
        ref = WhereAmI.start_in(pool)
        ref.tell("hello")
        assert ref.ask("where?", timeout=WAIT) == ["fixed-pool-0"]
        assert worker_names(pool) == {"fixed-pool-0"}

    with pytest.raises(ValueError, match="must be >= workers=2, was 1"):
        Pool(workers=2, max_workers=1)
