"""The pool's lifecycle: shutdown, refusals, the deadlock check, start_in, the default pool."""

from __future__ import annotations

import threading
from typing import Any

import pykka
import pytest

from tests.unit.runtime.actors import WAIT, Gate, recorder, worker_names
from yard_actors.runtime import (
    Pool,
    PoolDeadlockError,
    PooledActor,
    PoolError,
    configure_default_pool,
    default_pool,
    shutdown_default_pool,
)


def test_shutdown_stops_the_pools_actors_and_joins_its_workers() -> None:
    pool = Pool(workers=3, name="closing-pool")
    refs = [recorder(PooledActor).start_in(pool) for _ in range(10)]
    stopped = [ref.proxy().stopped.get(timeout=WAIT) for ref in refs]
    for ref in refs:
        ref.tell("last words")

    assert pool.shutdown(WAIT) is True

    assert all(event.is_set() for event in stopped)
    assert not any(ref.is_alive() for ref in refs)
    assert not pool.running
    assert worker_names(pool) == set()


def test_shutdown_gives_up_in_time_on_a_busy_actor_and_can_be_called_again() -> None:
    pool = Pool(workers=1, name="busy-pool")
    ref = recorder(PooledActor).start_in(pool)
    gate = Gate()
    ref.tell(gate)
    assert gate.entered.wait(WAIT)

    assert pool.shutdown(timeout=0.05) is False
    assert pool.running

    gate.opened.set()
    assert pool.shutdown(WAIT) is True
    assert not ref.is_alive()


def test_a_shut_down_pool_refuses_new_actors_and_leaves_no_trace() -> None:
    pool = Pool(workers=1, name="closed-pool")
    assert pool.shutdown(WAIT) is True

    with pytest.raises(PoolError, match="pool closed-pool is shut down"):
        recorder(PooledActor).start_in(pool)

    assert pykka.ActorRegistry.get_all() == []


def test_a_worker_cannot_shut_down_its_own_pool(pool: Pool) -> None:
    class ShutsDown(PooledActor):
        actor_pool = pool

        def on_receive(self, message: Any) -> None:
            pool.shutdown(WAIT)

    with pytest.raises(PoolError, match="from its own worker thread"):
        ShutsDown.start().ask("close", timeout=WAIT)


def test_a_blocking_ask_that_would_take_the_last_free_worker_raises() -> None:
    class Answers(PooledActor):
        def on_receive(self, message: Any) -> str:
            return "answer"

    class AsksAround(PooledActor):
        def on_receive(self, other: pykka.ActorRef[Any]) -> Any:
            return other.ask("question", timeout=WAIT)

    with Pool(workers=1, name="lone-pool") as pool:
        answers, asks = Answers.start_in(pool), AsksAround.start_in(pool)

        with pytest.raises(PoolDeadlockError, match="no worker would be left"):
            asks.ask(answers, timeout=WAIT)


def test_a_blocking_ask_between_pooled_actors_works_while_a_worker_is_free(pool: Pool) -> None:
    class Answers(PooledActor):
        actor_pool = pool

        def on_receive(self, message: Any) -> str:
            return "answer"

    class AsksAround(PooledActor):
        actor_pool = pool

        def on_receive(self, other: pykka.ActorRef[Any]) -> Any:
            return other.ask("question", timeout=WAIT)

    assert AsksAround.start().ask(Answers.start(), timeout=WAIT) == "answer"


def test_start_in_overrides_the_class_pool(pool: Pool) -> None:
    class WhereAmI(PooledActor):
        actor_pool = pool

        def on_receive(self, message: Any) -> str:
            return threading.current_thread().name

    with Pool(workers=1, name="other-pool") as other:
        ref = WhereAmI.start_in(other)

        assert ref.ask("where?", timeout=WAIT) == "other-pool-0"


def test_actors_that_name_no_pool_share_the_default_pool() -> None:
    class WhereAmI(PooledActor):
        def on_receive(self, message: Any) -> str:
            return threading.current_thread().name

    refs = [WhereAmI.start() for _ in range(3)]

    assert all(ref.ask("where?", block=True, timeout=WAIT).startswith("yard-pool-") for ref in refs)
    assert shutdown_default_pool(WAIT) is True
    assert not any(ref.is_alive() for ref in refs)


def test_the_default_pool_cannot_be_resized_while_it_runs() -> None:
    class Idle(PooledActor):
        pass

    Idle.start()
    configure_default_pool(workers=default_pool().workers)  # the same size is fine

    with pytest.raises(PoolError, match="shut it down before setting workers=7"):
        configure_default_pool(workers=7)

    assert shutdown_default_pool(WAIT) is True


def test_a_pool_refuses_sizes_it_cannot_run() -> None:
    with pytest.raises(ValueError, match="at least one worker, was given workers=0"):
        Pool(workers=0)
    with pytest.raises(ValueError, match="must be >= 1, was 0"):
        Pool(batch=0)
