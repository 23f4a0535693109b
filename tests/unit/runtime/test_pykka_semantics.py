"""Pykka's behaviour on PooledActor as on ThreadingActor, and the Pykka loop the pool copies."""

from __future__ import annotations

import hashlib
import inspect
import threading
from typing import Any

import pykka
import pytest
from pykka._envelope import Envelope

from tests.unit.runtime.actors import WAIT, Gate, new_thread_names, recorder
from yard_actors.host.robot_actor import RobotActor
from yard_actors.runtime import Pool, PooledActor

# The `base` fixture (conftest.py) runs each test on ThreadingActor, then on PooledActor.


def test_tell_and_ask_are_handled_in_the_order_sent(base: type[pykka.Actor]) -> None:
    ref = recorder(base).start()
    for number in range(100):
        ref.tell(number)

    reply = ref.ask("last", timeout=WAIT)

    assert reply == ("echo", "last")
    assert ref.proxy().history().get(timeout=WAIT) == ["on_start", *range(100), "last"]


def test_a_proxy_calls_methods_and_gets_and_sets_attributes(base: type[pykka.Actor]) -> None:
    proxy = recorder(base).start().proxy()

    proxy.label = "blue"

    assert proxy.label.get(timeout=WAIT) == "blue"
    assert proxy.on_receive(7).get(timeout=WAIT) == ("echo", 7)


def test_the_registry_holds_an_actor_from_start_to_stop(base: type[pykka.Actor]) -> None:
    cls = recorder(base)
    ref = cls.start()

    found = pykka.ActorRegistry.get_by_urn(ref.actor_urn)

    assert found == ref
    assert pykka.ActorRegistry.get_by_class(cls) == [ref]
    pykka.ActorRegistry.broadcast("to all", target_class=cls)
    assert ref.proxy().history().get(timeout=WAIT)[-1] == "to all"
    assert ref.stop(timeout=WAIT) is True
    assert pykka.ActorRegistry.get_by_urn(ref.actor_urn) is None


def test_on_start_comes_first_and_on_stop_last(base: type[pykka.Actor]) -> None:
    ref = recorder(base).start()
    seen = ref.proxy().seen.get(timeout=WAIT)  # the actor's own list, read after it stops
    ref.tell("one")

    assert ref.stop(timeout=WAIT) is True

    assert seen == ["on_start", "one", "on_stop"]


def test_messages_told_in_init_wait_for_on_start(base: type[pykka.Actor]) -> None:
    class TellsItself(recorder(base)):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.actor_ref.tell("from init")

    ref = TellsItself.start()

    assert ref.proxy().history().get(timeout=WAIT) == ["on_start", "from init"]


def test_stop_handles_the_messages_queued_before_it(base: type[pykka.Actor]) -> None:
    ref = recorder(base).start()
    proxy = ref.proxy()
    stopped = proxy.stopped.get(timeout=WAIT)
    seen = proxy.seen.get(timeout=WAIT)  # the actor's own list, read after it stops
    gate = Gate()
    ref.tell(gate)
    assert gate.entered.wait(WAIT)
    for number in range(50):
        ref.tell(number)

    stop = ref.stop(block=False)
    gate.opened.set()

    assert stop.get(timeout=WAIT) is True
    assert stopped.is_set()
    assert seen == ["on_start", *range(50), "on_stop"]


def test_asks_queued_behind_a_stop_get_actor_dead_error(base: type[pykka.Actor]) -> None:
    ref = recorder(base).start()
    gate = Gate()
    ref.tell(gate)
    assert gate.entered.wait(WAIT)
    stop = ref.stop(block=False)
    late = ref.ask("too late", block=False)

    gate.opened.set()

    assert stop.get(timeout=WAIT) is True
    with pytest.raises(pykka.ActorDeadError, match="stopped before handling the message"):
        late.get(timeout=WAIT)


def test_tell_and_ask_after_stop_raise_actor_dead_error(base: type[pykka.Actor]) -> None:
    ref = recorder(base).start()
    assert ref.stop(timeout=WAIT) is True

    with pytest.raises(pykka.ActorDeadError, match="not found"):
        ref.tell("anyone?")
    with pytest.raises(pykka.ActorDeadError, match="not found"):
        ref.ask("anyone?", timeout=WAIT)
    assert ref.stop(timeout=WAIT) is False


def test_a_failing_tell_stops_that_actor_alone_and_calls_on_failure(
    base: type[pykka.Actor],
) -> None:
    cls = recorder(base)
    failing, healthy = cls.start(), cls.start()
    stopped = failing.proxy().stopped.get(timeout=WAIT)
    failures = failing.proxy().failed.get(timeout=WAIT)

    failing.tell(ValueError("the strategy divided by zero"))

    assert stopped.wait(WAIT)
    assert [str(exc) for exc in failures] == ["the strategy divided by zero"]
    assert failing.actor_stopped.wait(WAIT)
    assert pykka.ActorRegistry.get_all() == [healthy]
    assert healthy.ask("still there?", timeout=WAIT) == ("echo", "still there?")
    with pytest.raises(pykka.ActorDeadError):
        failing.ask("still there?", timeout=WAIT)


def test_a_failing_ask_returns_the_exception_and_the_actor_lives_on(
    base: type[pykka.Actor],
) -> None:
    ref = recorder(base).start()

    with pytest.raises(ValueError, match="bad quote"):
        ref.ask(ValueError("bad quote"), timeout=WAIT)

    assert ref.is_alive()
    assert ref.ask("next", timeout=WAIT) == ("echo", "next")


def test_an_ask_that_takes_too_long_raises_timeout(base: type[pykka.Actor]) -> None:
    ref = recorder(base).start()
    gate = Gate()
    ref.tell(gate)
    assert gate.entered.wait(WAIT)

    with pytest.raises(pykka.Timeout):
        ref.ask("are you busy?", timeout=0.05)

    gate.opened.set()
    assert ref.ask("now?", timeout=WAIT) == ("echo", "now?")


def test_a_failing_on_start_stops_the_actor(base: type[pykka.Actor]) -> None:
    class BadStart(recorder(base)):  # type: ignore[misc]
        def on_start(self) -> None:
            raise RuntimeError("no market data")

    ref = BadStart.start()

    assert ref.actor_stopped.wait(WAIT)
    assert pykka.ActorRegistry.get_all() == []


def test_a_base_exception_in_a_handler_stops_every_actor(base: type[pykka.Actor]) -> None:
    cls = recorder(base)
    failing, other = cls.start(), cls.start()

    failing.tell(SystemExit("operator pulled the plug"))

    assert failing.actor_stopped.wait(WAIT)
    assert other.actor_stopped.wait(WAIT)
    assert pykka.ActorRegistry.get_all() == []


def test_an_ask_that_races_the_teardown_is_answered_not_stranded(pool: Pool) -> None:
    class Quiet(PooledActor):
        actor_pool = pool

    ref = Quiet.start()
    assert ref.stop(timeout=WAIT) is True
    late = PooledActor._create_future()

    # What an ask does after passing its is_alive() check just before the actor stopped:
    ref.actor_inbox.put(Envelope("are you there?", reply_to=late))

    with pytest.raises(pykka.ActorDeadError, match="stopped before handling the message"):
        late.get(timeout=WAIT)


def test_the_pooled_robot_shape_runs_on_the_pool(pool: Pool) -> None:
    class RobotLike(pykka.ThreadingActor):
        def on_receive(self, message: Any) -> str:
            return threading.current_thread().name

    class PooledRobotLike(PooledActor, RobotLike):
        actor_pool = pool

    pooled_robot_actor = type("PooledRobotActor", (PooledActor, RobotActor), {})
    threads_before = set(threading.enumerate())

    ref = PooledRobotLike.start()

    assert ref.ask("where?", block=True, timeout=WAIT).startswith("test-pool-")
    # its two workers and the hand-off monitor that may add more (runtime/handoff.py)
    assert new_thread_names(threads_before) == {"test-pool-0", "test-pool-1", "test-pool-handoff"}
    for hook in ("_create_actor_inbox", "_create_future", "_start_actor_loop"):
        assert getattr(pooled_robot_actor, hook) == getattr(PooledActor, hook)


# The pooled turn inlines these Pykka methods (PooledActor._actor_run_batch, Mailbox._reject_
# remaining, PooledActor._actor_loop_setup_pooled), which is why setup.cfg pins Pykka's minor
# version. If a Pykka upgrade changes them, re-read them, bring the copies in step, then update
# the digests (docs/runtime.md, "Upgrading Pykka").
PYKKA_LOOP_DIGESTS = {
    "_actor_loop_setup": "2687bc37265693052fc47c55a875728b2ec8bc73fd10db65efbdc0d932f1ff2f",
    "_actor_loop_running": "4109f316d2be434e5a2a178eda154e0eb17919333986a4b505f33091e4987dbd",
    "_actor_loop_teardown": "1b35ca263372af740dcc818e13a5eec1ddfc56a99129e409b97522a5ed3af93b",
}


def test_pykkas_actor_loop_is_the_one_the_pooled_turn_copies() -> None:
    digests = {
        name: hashlib.sha256(inspect.getsource(getattr(pykka.Actor, name)).encode()).hexdigest()
        for name in PYKKA_LOOP_DIGESTS
    }

    assert digests == PYKKA_LOOP_DIGESTS
