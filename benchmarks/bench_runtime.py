"""Fan-out throughput and idle memory: PooledActor beside ThreadingActor and a bare dispatcher.

Each case starts ``N`` trivial counting actors, then this thread ``tell``s one
message to every actor, round after round, until ``--messages`` deliveries are
out (at least one round). The clock runs from the first ``tell`` to the moment the
last actor counted its last message; the figure is deliveries per second. Three
runtimes run in the same process, one after the other, for each ``N``:

* ``bare``: the pooled scheduling algorithm in plain Python (a deque per actor, a
  claim lock, a run queue, the same workers and batch) with no Pykka envelopes,
  refs or message dispatch: the ceiling for any pooled Pykka actor;
* ``pooled``: :class:`yard_actors.runtime.PooledActor` on a ``Pool(--workers)``;
* ``threading``: ``pykka.ThreadingActor``, one thread per actor.

The last column is the largest share of the machine's CPUs that other processes used
during one of the row's cases: a row run on a busy machine is suspect.

The memory table starts ``N`` idle actors (each has handled one message) in a fresh
child process per runtime and reports the growth of peak RSS (VmHWM) divided by ``N``::

    python benchmarks/bench_runtime.py                  # all cases, ~1 min on the 2-core box
    python benchmarks/bench_runtime.py --counts 1000 --runtimes pooled,bare
    python benchmarks/bench_runtime.py --no-rss --messages 50000

The last table times single operations on this thread with no workers running: an
inbox put on each runtime, and a pooled delivery (Pykka's ``tell`` plus the turn that
handles it) for fan-out (one message per turn) and for a burst (64 per turn).

This is a script, not a test: it prints figures, and exits 1 if a case lost messages.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import queue
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import cli
import pykka
from measure import machine, peak_rss_kb, timed
from pykka._envelope import Envelope

from yard_actors.runtime import DEFAULT_BATCH, Pool, PooledActor
from yard_actors.runtime.mailbox import Mailbox

FINISH_TIMEOUT_S = 300.0
A = TypeVar("A", bound=pykka.Actor)
RUNTIMES = ("bare", "pooled", "threading")


# --- the bare ceiling: the same scheduling, no Pykka ----------------------------------------------


class BareActor:
    """A counter behind a deque and a claim: what a PooledActor costs without Pykka."""

    __slots__ = ("claim", "count", "entries", "on_done", "run_queue", "target")

    def __init__(self, run_queue: queue.SimpleQueue[Any], target: int, on_done: Callable[[], None]):
        self.entries: deque[Any] = deque()
        self.claim = threading.Lock()
        self.run_queue = run_queue
        self.count = 0
        self.target = target
        self.on_done = on_done

    def tell(self, message: Any) -> None:
        self.entries.append(message)
        if self.claim.acquire(blocking=False):
            self.run_queue.put(self)

    def run_turn(self, batch: int) -> None:
        entries = self.entries
        for _ in range(batch):
            try:
                entries.popleft()
            except IndexError:
                break
            self.count += 1
            if self.count == self.target:
                self.on_done()
        self.claim.release()
        if entries and self.claim.acquire(blocking=False):
            self.run_queue.put(self)


def bare_case(actors: int, rounds: int, workers: int, batch: int) -> float:
    run_queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
    done, on_done = _countdown(actors)
    boxes = [BareActor(run_queue, rounds, on_done) for _ in range(actors)]

    def work() -> None:
        while (box := run_queue.get()) is not None:
            box.run_turn(batch)

    threads = [threading.Thread(target=work, name=f"bench-bare-{i}") for i in range(workers)]
    for thread in threads:
        thread.start()
    try:
        return _fan_out([box.tell for box in boxes], rounds, done)
    finally:
        for _ in threads:
            run_queue.put(None)
        for thread in threads:
            thread.join()


# --- Pykka actors -------------------------------------------------------------------------------


def counter_class(base: type[A]) -> type[A]:
    class Counter(base):  # type: ignore[valid-type, misc]
        def __init__(self, target: int, on_done: Callable[[], None]) -> None:
            super().__init__()
            self.count = 0
            self.target = target
            self.on_done = on_done

        def on_receive(self, message: Any) -> None:
            self.count += 1
            if self.count == self.target:
                self.on_done()

    return Counter


def start_counters(
    runtime: str, pool: Pool, actors: int, target: int, on_done: Callable[[], None]
) -> list[pykka.ActorRef[Any]]:
    if runtime == "pooled":
        pooled = counter_class(PooledActor)
        return [pooled.start_in(pool, target, on_done) for _ in range(actors)]
    threading_counter = counter_class(pykka.ThreadingActor)
    return [threading_counter.start(target, on_done) for _ in range(actors)]


def actor_case(runtime: str, actors: int, rounds: int, workers: int, batch: int) -> float:
    pool = Pool(workers, batch=batch, name="bench-pool")
    done, on_done = _countdown(actors)
    refs = start_counters(runtime, pool, actors, rounds, on_done)
    try:
        return _fan_out([ref.tell for ref in refs], rounds, done)
    finally:
        for future in [ref.stop(block=False) for ref in refs]:
            future.get(timeout=FINISH_TIMEOUT_S)
        pool.shutdown(FINISH_TIMEOUT_S)


def _countdown(actors: int) -> tuple[threading.Event, Callable[[], None]]:
    done = threading.Event()
    finished = itertools.count(1)  # next() is atomic under the GIL

    def on_done() -> None:
        if next(finished) == actors:
            done.set()

    return done, on_done


def _fan_out(tells: Sequence[Callable[[Any], None]], rounds: int, done: threading.Event) -> float:
    message = ("tick", 1)
    started = time.perf_counter()
    for _ in range(rounds):
        for tell in tells:
            tell(message)
    if not done.wait(FINISH_TIMEOUT_S):
        return float("nan")
    return len(tells) * rounds / (time.perf_counter() - started)


def run_case(runtime: str, actors: int, messages: int, workers: int, batch: int) -> float:
    rounds = max(1, messages // actors)
    if runtime == "bare":
        return bare_case(actors, rounds, workers, batch)
    return actor_case(runtime, actors, rounds, workers, batch)


def timed_case(runtime: str, actors: int, args: argparse.Namespace) -> tuple[float, float]:
    """Deliveries per second, and the share of all CPUs other processes (and the
    hypervisor, by steal) used meanwhile."""
    rate, use = timed(lambda: run_case(runtime, actors, args.messages, args.workers, args.batch))
    others = use.others_s + use.steal_s
    return rate, min(1.0, others / (use.wall_s * (os.cpu_count() or 1)))


# --- per-operation costs, on this thread alone ------------------------------------------------


def costs(repeat: int = 5, count: int = 20_000) -> dict[str, float]:
    """Nanoseconds per operation, best of ``repeat``, with no worker threads running.

    Pooled turns are driven right here (a stand-in pool whose run queue is a list), so
    the figures hold no thread switch and no GIL hand-over.
    """
    envelope = Envelope(("tick", 1))
    results: dict[str, float] = {}

    def best(name: str, setup: Callable[[], Callable[[], None]], per: int) -> None:
        times = []
        for _ in range(repeat):
            run = setup()
            began = time.perf_counter_ns()
            run()
            times.append((time.perf_counter_ns() - began) / per)
        results[name] = min(times)

    def puts(put: Callable[[Any], None]) -> Callable[[], None]:
        def run() -> None:
            for _ in range(count):
                put(envelope)

        return run

    def queue_put() -> Callable[[], None]:
        inbox: queue.Queue[Any] = queue.Queue()
        return puts(inbox.put)

    def mailbox_put() -> Callable[[], None]:
        box = _driven(1, [])[0].actor_inbox
        box.put(envelope)  # from now on the actor is queued: each claim attempt fails
        return puts(box.put)

    def delivery(actors: int, per_turn: int, rounds: int) -> Callable[[], Callable[[], None]]:
        def setup() -> Callable[[], None]:
            run_queue: list[Mailbox] = []
            refs = _driven(actors, run_queue)
            message = ("tick", 1)

            def run() -> None:
                for _ in range(rounds):
                    for ref in refs:
                        for _ in range(per_turn):
                            ref.tell(message)
                    for box in run_queue:
                        box.run_turn(DEFAULT_BATCH)
                    run_queue.clear()

            return run

        return setup

    best("queue.Queue.put (ThreadingActor inbox)", queue_put, count)
    best("Mailbox.put, actor busy (PooledActor inbox)", mailbox_put, count)
    best("pooled tell + handle, 1,000 actors x 1 msg", delivery(1_000, 1, 20), 20_000)
    best("pooled tell + handle, 1 actor x 64 msgs", delivery(1, 64, 300), 64 * 300)
    return results


class _HandDriven:
    """Stands in for a :class:`Pool` with no threads: the turns it is given wait in
    ``run_queue`` until this thread runs them, so a figure holds no thread switch."""

    def __init__(self, run_queue: list[Mailbox]) -> None:
        self.batch = DEFAULT_BATCH
        self.admit = self.schedule = run_queue.append
        self._run_queue = run_queue

    def queue_is_empty(self) -> bool:
        return not self._run_queue

    def run_here(self, runnable: Mailbox) -> None:
        runnable.run_turn(self.batch)

    def forget(self, runnable: Mailbox) -> None:
        pass


def _driven(actors: int, run_queue: list[Mailbox]) -> list[pykka.ActorRef[Any]]:
    """Started pooled counters whose turns this thread runs from ``run_queue``."""
    counter = counter_class(PooledActor)
    pool: Any = _HandDriven(run_queue)  # duck-typed: what a Mailbox asks of its Pool
    refs = [counter.start_in(pool, 10**9, lambda: None) for _ in range(actors)]
    for box in run_queue:
        box.run_turn(DEFAULT_BATCH)  # on_start
    run_queue.clear()
    return refs


# --- memory, one child process per case ---------------------------------------------------------


def rss_child(runtime: str, actors: int, workers: int) -> dict[str, float]:
    """Start ``actors`` actors here, each handles one message; report the peak RSS growth."""
    pool = Pool(workers, name="bench-pool")
    start_counters(runtime, pool, 1, 1, lambda: None)[0].stop()  # imports and pool warmed up
    done, on_done = _countdown(actors)
    before_kb = peak_rss_kb()
    refs = start_counters(runtime, pool, actors, 1, on_done)
    for ref in refs:
        ref.tell("wake")
    done.wait(FINISH_TIMEOUT_S)
    after_kb = peak_rss_kb()
    pykka.ActorRegistry.stop_all(timeout=FINISH_TIMEOUT_S)
    pool.shutdown(FINISH_TIMEOUT_S)
    per_actor_kb = (after_kb - before_kb) / actors
    return {"before_kb": before_kb, "after_kb": after_kb, "per_actor_kb": per_actor_kb}


def measure_rss(runtime: str, actors: int, workers: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--rss-child", runtime, str(actors)]
    command += ["--workers", str(workers)]
    out = subprocess.run(command, check=True, capture_output=True, text=True)  # noqa: S603
    figures: dict[str, float] = json.loads(out.stdout)
    return figures


# --- the script ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = cli.base_parser(__doc__)
    add = parser.add_argument
    add(
        "--counts",
        type=cli.comma_ints,
        default="1,10,100,1000,5000",
        help="actor counts, comma-separated",
    )
    add(
        "--runtimes",
        type=cli.comma_names(RUNTIMES),
        default=",".join(RUNTIMES),
        help="any of bare,pooled,threading",
    )
    add("--messages", type=int, default=200_000, help="deliveries per case (>= 1 round)")
    add("--workers", type=int, default=2, help="pool workers (bare and pooled)")
    add("--batch", type=int, default=64, help="messages per actor turn (bare and pooled)")
    add(
        "--rss-counts",
        type=cli.comma_ints,
        default="1000,5000",
        help="actor counts for the memory table",
    )
    add("--no-rss", action="store_true", help="skip the memory table")
    add("--no-costs", action="store_true", help="skip the per-operation costs")
    add("--rss-child", nargs=2, metavar=("RUNTIME", "ACTORS"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def print_throughput(args: argparse.Namespace, runtimes: list[str]) -> bool:
    """Print the fan-out table; False if a case timed out (lost messages)."""
    compare = {"bare", "pooled", "threading"} <= set(runtimes)
    header = f"{'actors':>7}" + "".join(f"{name + ' /s':>15}" for name in runtimes)
    print(header + ("  pooled/threading  pooled/bare" if compare else "") + "  others' CPU")
    complete = True
    for actors in args.counts:
        line, others = f"{actors:>7}", 0.0  # the busiest case's share: a row above ~10% is suspect
        rates: dict[str, float] = {}
        for name in runtimes:
            rates[name], busy = timed_case(name, actors, args)
            others = max(others, busy)
            line += f"{rates[name]:>15,.0f}"
        complete = complete and not any(math.isnan(rate) for rate in rates.values())
        if compare:
            line += f"{rates['pooled'] / rates['threading']:>17.1f}x"
            line += f"{rates['pooled'] / rates['bare']:>12.2f}"
        print(f"{line}{others:>13.0%}", flush=True)
    return complete


def print_memory(args: argparse.Namespace, runtimes: list[str]) -> None:
    print(
        f"\n{'runtime':>10}{'actors':>8}{'peak RSS before':>17}{'after':>11}{'per idle actor':>16}"
    )
    for actors in args.rss_counts:
        for name in (name for name in runtimes if name != "bare"):
            fig = measure_rss(name, actors, args.workers)
            print(
                f"{name:>10}{actors:>8}{fig['before_kb'] / 1024:>14.1f} MB"
                f"{fig['after_kb'] / 1024:>8.1f} MB{fig['per_actor_kb']:>13.1f} KB",
                flush=True,
            )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.rss_child:
        print(json.dumps(rss_child(args.rss_child[0], int(args.rss_child[1]), args.workers)))
        return 0
    runtimes = args.runtimes
    info = machine()
    print(
        f"python {info['python']}, pykka {info['pykka']}, {info['nproc']} CPUs "
        f"({info['cpu']}), yard {info['yard']}; workers={args.workers} batch={args.batch} "
        f"deliveries/case={args.messages}"
    )
    complete = print_throughput(args, runtimes)
    if not args.no_rss:
        print_memory(args, runtimes)
    if not args.no_costs:
        print(f"\n{'per operation, this thread alone (best of 5)':<46}{'ns':>8}")
        for name, ns in costs().items():
            print(f"{name:<46}{ns:>8.0f}")
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
