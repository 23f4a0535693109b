"""The pool's scheduling: workers, serial turns, order, fairness, batches, tell_here."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import pykka
import pytest

from tests.unit.runtime.actors import WAIT, Gate, WhereAmI, new_thread_names, worker_names
from yard_actors.runtime import Pool, PooledActor, tell_here


def test_pooled_actors_run_on_the_pool_workers_not_on_threads_of_their_own(pool: Pool) -> None:
    class WhereAmI(PooledActor):
        actor_pool = pool

        def on_receive(self, message: Any) -> str:
            return threading.current_thread().name

    threads_before = set(threading.enumerate())
    refs = [WhereAmI.start() for _ in range(50)]

    names = {ref.ask("where?", timeout=WAIT) for ref in refs}

    # The pool's workers (two, or a few more if its hand-off monitor added some on a busy
    # box) and its monitor: far from a thread per actor.
    new = new_thread_names(threads_before)
    assert names <= new
    assert {"test-pool-0", "test-pool-1", "test-pool-handoff"} <= new
    assert all(name.startswith("test-pool-") for name in new)
    assert len(new) <= pool.max_workers + 1


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
    threads = ref.ask("where?", block=True, timeout=WAIT)

    assert threads[0] == threading.current_thread().name
    assert threads[1] in worker_names(pool)


def test_tell_here_does_not_jump_actors_waiting_for_a_worker() -> None:
    with Pool(workers=1, max_workers=1, name="one-worker") as pool:  # no hand-off
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

    with Pool(workers=1, batch=batch, max_workers=1, name="fair-pool") as pool:  # no hand-off
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

    with Pool(workers=1, batch=batch, max_workers=1, name="poke-pool") as pool:
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
