"""PooledActor beside ThreadingActor: Pykka's behaviour on both, then the pool's own guarantees."""

from __future__ import annotations

import hashlib
import inspect
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pykka
import pytest
from pykka._envelope import Envelope

from yard_actors.host.robot_actor import RobotActor
from yard_actors.runtime import (
    Pool,
    PoolDeadlockError,
    PooledActor,
    PoolError,
    configure_default_pool,
    default_pool,
    mailbox,
    shutdown_default_pool,
    tell_here,
)

WAIT = 5.0  # seconds any single wait in this module may take before the test fails


@pytest.fixture
def pool() -> Iterator[Pool]:
    pool = Pool(workers=2, name="test-pool")
    yield pool
    pykka.ActorRegistry.stop_all(timeout=WAIT)
    assert pool.shutdown(WAIT)


@pytest.fixture(params=["threading", "pooled"])
def base(request: pytest.FixtureRequest, pool: Pool) -> type[pykka.Actor]:
    """The runtime under test: ``ThreadingActor``, or ``PooledActor`` on the test pool."""
    if request.param == "threading":
        return pykka.ThreadingActor

    class OnTestPool(PooledActor):
        actor_pool = pool

    return OnTestPool


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


# --- Pykka's behaviour, on both runtimes ---------------------------------------------------------


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


# --- the pool's own guarantees ------------------------------------------------------------------


def worker_names(pool: Pool) -> set[str]:
    return {thread.name for thread in threading.enumerate() if thread.name.startswith(pool.name)}


def new_thread_names(before: set[threading.Thread]) -> set[str]:
    return {thread.name for thread in set(threading.enumerate()) - before}


def test_pooled_actors_run_on_the_pool_workers_not_on_threads_of_their_own(pool: Pool) -> None:
    class WhereAmI(PooledActor):
        actor_pool = pool

        def on_receive(self, message: Any) -> str:
            return threading.current_thread().name

    threads_before = set(threading.enumerate())
    refs = [WhereAmI.start() for _ in range(50)]

    names = {ref.ask("where?", timeout=WAIT) for ref in refs}

    assert names <= {"test-pool-0", "test-pool-1"}
    assert new_thread_names(threads_before) == {"test-pool-0", "test-pool-1"}


@pytest.mark.parametrize("how", ["tell", "tell and tell_here"])
def test_an_actor_never_handles_two_messages_at_once_and_keeps_each_senders_order(
    how: str,
) -> None:
    senders, per_sender = 8, 2_000

    class Checker(PooledActor):
        def __init__(self) -> None:
            super().__init__()
            self.inside = threading.Lock()
            self.overlaps = 0
            self.out_of_order = 0
            self.last: dict[int, int] = {}

        def on_receive(self, message: tuple[int, int]) -> None:
            if not self.inside.acquire(blocking=False):
                self.overlaps += 1
                return
            try:
                sender, seq = message
                if seq != self.last.get(sender, -1) + 1:
                    self.out_of_order += 1
                self.last[sender] = seq
            finally:
                self.inside.release()

        def report(self) -> tuple[int, int, int]:
            return self.overlaps, self.out_of_order, sum(self.last.values())

    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, so an overlap would have its chance
    try:
        with Pool(workers=4, batch=8, name="serial-pool") as pool:
            ref = Checker.start_in(pool)

            def send(sender: int) -> None:
                # with tell_here, odd senders run the actor's turns themselves when they can
                tell = tell_here if how != "tell" and sender % 2 else pykka.ActorRef.tell
                for seq in range(per_sender):
                    tell(ref, (sender, seq))

            threads = [threading.Thread(target=send, args=(n,)) for n in range(senders)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(WAIT)
            report = ref.proxy().report().get(timeout=WAIT)
    finally:
        sys.setswitchinterval(switch_interval)
    overlaps, out_of_order, seq_sum = report

    assert overlaps == 0
    assert out_of_order == 0
    assert seq_sum == senders * (per_sender - 1)


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


@pytest.fixture
def quick_is_20_ms(monkeypatch: pytest.MonkeyPatch) -> int:
    """A turn counts as quick under 20 ms: a busy CI box must not make a quick one slow."""
    monkeypatch.setattr(mailbox, "QUICK_TURN_NS", 20_000_000)
    return 20_000_000


@pytest.mark.usefixtures("quick_is_20_ms")
def test_tell_here_runs_an_idle_actors_turn_on_the_senders_thread(pool: Pool) -> None:
    ref = WhereAmI.start_in(pool)
    assert ref.ask("where?", timeout=WAIT) == []  # started, idle

    for n in range(3):
        tell_here(ref, n)

    here = threading.current_thread().name
    assert ref.ask("where?", timeout=WAIT) == [here, here, here]


def test_tell_here_leaves_an_actor_whose_last_turn_was_slow_to_the_pool(
    pool: Pool, quick_is_20_ms: int
) -> None:
    ref = WhereAmI.start_in(pool, sleep_s=2 * quick_is_20_ms / 1e9)
    assert ref.ask("where?", timeout=WAIT) == []

    tell_here(ref, "slow")  # quick so far: runs here, and takes 40 ms
    tell_here(ref, "after")  # its last turn was slow: a worker's
    threads = ref.ask("where?", timeout=WAIT)

    assert threads[0] == threading.current_thread().name
    assert threads[1] in worker_names(pool)


def test_tell_here_does_not_jump_actors_waiting_for_a_worker() -> None:
    with Pool(workers=1, name="one-worker") as pool:
        holder, waiting, quick = (WhereAmI.start_in(pool) for _ in range(3))
        for ref in (holder, waiting, quick):
            assert ref.ask("where?", timeout=WAIT) == []
        gate = Gate()
        holder.tell(gate)  # the only worker is held
        assert gate.entered.wait(WAIT)
        waiting.tell("queued")  # on the run queue, behind the held turn

        tell_here(quick, "mine")  # must queue behind `waiting`, not run here
        gate.opened.set()

        assert quick.ask("where?", timeout=WAIT) == ["one-worker-0"]
        assert waiting.ask("where?", timeout=WAIT) == ["one-worker-0"]


def test_tell_here_to_a_thread_actor_is_a_tell_and_to_a_stopped_one_raises() -> None:
    class OnThread(pykka.ThreadingActor):
        def on_receive(self, message: Any) -> str:
            return threading.current_thread().name

    ref = OnThread.start()
    tell_here(ref, "hello")
    assert ref.ask("where?", timeout=WAIT) != threading.current_thread().name
    ref.stop()

    with pytest.raises(pykka.ActorDeadError, match="not found"):
        tell_here(ref, "late")


def test_a_flooded_actor_delays_a_quiet_actor_by_at_most_one_batch() -> None:
    # The bound: a runnable actor waits behind at most one turn of each actor ahead of it in
    # the run queue, and a turn is at most `batch` messages. With one worker and the flooded
    # actor mid-turn, the quiet message waits for <= batch flood messages: <= 64 x 20 us =
    # 1.3 ms of work here. The clock check allows 0.5 s on top for a busy shared box; without
    # the batch limit the wait would be the whole flood, 100,000 x 20 us = 2 s.
    batch, flood, spin_ns = 64, 100_000, 20_000
    fast_forward = threading.Event()  # set once the quiet actor has been served
    handled = [0]

    class Flooded(PooledActor):
        def on_receive(self, message: Any) -> None:
            if isinstance(message, Gate):
                message.hold()
                return
            handled[0] += 1
            if not fast_forward.is_set():
                until = time.perf_counter_ns() + spin_ns
                while time.perf_counter_ns() < until:
                    pass

    class Quiet(PooledActor):
        def __init__(self) -> None:
            super().__init__()
            self.served = threading.Event()
            self.flood_handled_first = -1
            self.served_ns = 0

        def on_receive(self, message: Any) -> None:
            self.flood_handled_first = handled[0]
            self.served_ns = time.monotonic_ns()
            self.served.set()

    with Pool(workers=1, batch=batch, name="fair-pool") as pool:
        flooded, quiet = Flooded.start_in(pool), Quiet.start_in(pool)
        served = quiet.proxy().served.get(timeout=WAIT)
        gate = Gate()
        flooded.tell(gate)  # holds the only worker: everything below queues up behind it
        assert gate.entered.wait(WAIT)
        for number in range(flood):
            flooded.tell(number)
        quiet.tell("my turn?")
        assert pool.runnable == 1  # the quiet actor waits for the worker; the flood is running
        opened_ns = time.monotonic_ns()
        gate.opened.set()

        assert served.wait(WAIT)
        fast_forward.set()
        flood_handled_first = quiet.proxy().flood_handled_first.get(timeout=WAIT)
        delay_s = (quiet.proxy().served_ns.get(timeout=WAIT) - opened_ns) / 1e9
        assert flooded.stop(timeout=60) is True

    assert flood_handled_first <= batch - 1  # the gate was the turn's first message
    assert delay_s < batch * spin_ns / 1e9 + 0.5


def test_a_turn_is_cut_at_batch_even_for_a_message_told_from_inside_the_turn() -> None:
    batch, poke_at = 64, 1_000
    handled = [0]
    quiet_saw: list[int] = []
    done = threading.Event()

    class Quiet(PooledActor):
        def on_receive(self, message: Any) -> None:
            quiet_saw.append(handled[0])
            done.set()

    with Pool(workers=1, batch=batch, name="poke-pool") as pool:
        quiet = Quiet.start_in(pool)

        class Flooded(PooledActor):
            def on_receive(self, message: Any) -> None:
                handled[0] += 1
                if message == poke_at:
                    quiet.tell("poke")

        flooded = Flooded.start_in(pool)
        for number in range(1, 5_001):
            flooded.tell(number)
        assert done.wait(WAIT)
        assert flooded.stop(timeout=WAIT) is True

    assert poke_at <= quiet_saw[0] < poke_at + batch


def test_the_enqueue_time_is_visible_while_the_message_is_handled(pool: Pool) -> None:
    class Stamps(PooledActor):
        actor_pool = pool

        def on_receive(self, message: Any) -> tuple[int, int]:
            return self.actor_message_enqueued_ns, time.monotonic_ns()

    ref = Stamps.start()
    before = time.monotonic_ns()

    enqueued, handled = ref.ask("when?", block=True, timeout=WAIT)

    assert before <= enqueued <= handled


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
    assert new_thread_names(threads_before) == {"test-pool-0", "test-pool-1"}
    for hook in ("_create_actor_inbox", "_create_future", "_start_actor_loop"):
        assert getattr(pooled_robot_actor, hook) == getattr(PooledActor, hook)


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

    assert {ref.ask("where?", timeout=WAIT) for ref in refs} <= {"yard-pool-0", "yard-pool-1"}
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


# The pooled turn inlines these Pykka methods (PooledActor._actor_run_batch, Mailbox._reject_
# remaining, PooledActor._actor_loop_setup_pooled). If a Pykka upgrade changes them, re-read
# them, bring the copies in step, then update the digests.
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
