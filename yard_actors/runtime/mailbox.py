"""One pooled actor's mailbox: a deque, a run-queue claim, and the actor's turn.

The mailbox is the actor's ``actor_inbox``, so Pykka's ``ActorRef.tell`` and
``ask`` put envelopes in it from any thread. A put appends to the deque (atomic
under the GIL, no lock) and stamps it with ``time.monotonic_ns()``; then, if the
actor is idle, it takes the actor's *claim* and puts the mailbox on its pool's
run queue. The claim is a plain ``threading.Lock`` used as a test-and-set flag:
``acquire(blocking=False)`` never waits, and whoever wins it owns the right to
have the actor run. So an actor is on the run queue at most once and is run by
at most one worker at a time: its messages are handled serially, in the order
the deque holds them (per sender, the order that sender put them).

A worker runs one *turn*: up to ``batch`` envelopes, then it releases the claim
and, if envelopes arrived meanwhile, re-claims and re-queues the mailbox behind
the other runnable actors. Releasing before the re-check closes the lost-wakeup
window: a put either sees the claim free and schedules the actor itself, or it
appended before the release and the worker's re-check sees its envelope.

``put_here`` lets the sender run the turn itself when it wins the claim, the
pool's run queue is empty and the actor's last turn was quick (see
``docs/runtime.md``, "Running a turn on the sender's thread"); the claim makes
it as exclusive as a worker's turn.

When the actor has stopped (``actor_stopped`` is set), the worker keeps the claim
for ever, marks the mailbox dead and answers what is left, as Pykka's
``_actor_loop_teardown`` does: the stop request gets ``None``, other asks get
``ActorDeadError``, tells are dropped. A put that races with this sees the dead
flag and answers its own envelope the same way, so no ask is left hanging.

The mailbox is a :class:`~yard_actors.runtime.pool.Runnable` for its pool and uses
only the pool's public methods; it does not know the actor class. :meth:`Mailbox.open`
takes the actor's ref and the two callables a turn needs (the first turn's setup and
the per-envelope loop), bound once, so a turn pays no extra lookup.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable
from time import monotonic_ns
from typing import TYPE_CHECKING, Any, TypeAlias

from pykka import ActorDeadError, messages

from yard_actors.runtime.pool import Pool

if TYPE_CHECKING:
    from pykka import ActorRef
    from pykka._envelope import Envelope

__all__ = ["QUICK_TURN_NS", "Entries", "Mailbox"]

#: What the mailbox holds: each envelope with the ``time.monotonic_ns()`` of its put.
Entries: TypeAlias = "deque[tuple[Envelope[Any], int]]"

# A turn shorter than this may run on the sender's thread (Mailbox.put_here): long enough
# for any robot that answers a quote, short enough that an intake stays near its socket.
QUICK_TURN_NS = 1_000_000


class Mailbox:
    """The inbox of one :class:`~yard_actors.runtime.PooledActor`; see the module docstring.

    ``put``, ``empty`` and ``qsize`` are safe from any thread. ``get`` and the turn
    are for the worker that holds the claim.
    """

    __slots__ = (
        "_append",
        "_claim",
        "_dead",
        "_entries",
        "_queue_is_empty",
        "_quick",
        "_run_batch",
        "_run_here",
        "_schedule",
        "_setup",
        "_try_claim",
        "actor_ref",
        "pool",
    )

    def __init__(self, pool: Pool | None) -> None:
        self.pool = pool  # start_in's pool, or None: at start, the class's pool or the default
        self._entries: Entries = deque()
        self._claim = threading.Lock()
        self._claim.acquire()  # held until the actor starts: messages told in __init__ wait
        # Bound methods kept at hand: put() runs once per message, on the sender's thread.
        self._append = self._entries.append
        self._try_claim = self._claim.acquire
        self._dead = False
        self._quick = True  # the last turn took under QUICK_TURN_NS (see put_here)
        self.actor_ref: ActorRef[Any] | None = None  # set when the actor starts
        # Set by open(); until then the claim is held, so none of these can be reached.
        self._schedule: Callable[[Mailbox], None] = _not_started
        self._queue_is_empty: Callable[[], bool] = _not_started
        self._run_here: Callable[[Mailbox], None] = _not_started
        self._setup: Callable[[], None] | None = None  # the first turn's; None once run
        self._run_batch: Callable[[Entries, int], bool] = _not_started

    def put(self, envelope: Envelope[Any], /) -> None:
        """Queue ``envelope`` and schedule the actor if it is idle; never blocks."""
        self._append((envelope, monotonic_ns()))
        if self._dead:
            self._reject_remaining()
        elif self._try_claim(False):  # positional: a keyword costs ~80 ns in this C call
            self._schedule(self)

    def put_here(self, envelope: Envelope[Any], /) -> None:
        """As :meth:`put`, but run the turn on this thread if that is cheap and fair.

        For a sender whose own thread would only wait for the reply or the next
        message anyway (an intake with one robot to feed): the turn runs at once,
        saving the hand-off to a worker, which costs a thread wake-up (~50 µs
        across CPUs here) and two GIL hand-overs. The claim is taken as in
        :meth:`put`, so the actor still runs on one thread at a time. The actor
        goes to the run queue instead if other actors wait there (no jumping the
        queue), or if its last turn took :data:`QUICK_TURN_NS` or more (a slow
        or blocking actor must not hold up the sender, which is then not
        reading its socket).
        """
        self._append((envelope, monotonic_ns()))
        if self._dead:
            self._reject_remaining()
        elif self._try_claim(False):
            if self._quick and self._queue_is_empty():
                self._run_here(self)
            else:
                self._schedule(self)

    def get(self) -> Envelope[Any]:
        """Take the oldest envelope without waiting; raise ``queue.Empty`` if there is none."""
        try:
            return self._entries.popleft()[0]
        except IndexError:
            raise queue.Empty from None

    def empty(self) -> bool:
        return not self._entries

    def qsize(self) -> int:
        """Envelopes waiting, as ``queue.Queue.qsize`` (the host's table reads it)."""
        return len(self._entries)

    def open(
        self,
        actor_ref: ActorRef[Any],
        pool: Pool,
        *,
        setup: Callable[[], None],
        run_batch: Callable[[Entries, int], bool],
    ) -> None:
        """Bind the started actor and have ``pool`` admit it and queue its first turn.

        On the thread that starts the actor. The first turn calls ``setup`` (which runs
        ``on_start``); every turn calls ``run_batch(entries, batch)``, which handles up to
        ``batch`` envelopes from the left of ``entries`` and returns True once the actor
        has stopped. Raises :class:`~yard_actors.runtime.pool.PoolError` if the pool is
        shut down; then call :meth:`close`.
        """
        self.actor_ref = actor_ref
        self.pool = pool
        self._setup = setup
        self._run_batch = run_batch
        self._schedule = pool.schedule
        self._queue_is_empty = pool.queue_is_empty
        self._run_here = pool.run_here
        pool.admit(self)  # the claim is still held from __init__

    def run_turn(self, batch: int) -> None:
        """Run ``on_start`` if due, then up to ``batch`` envelopes; for the claim's holder only."""
        if self._setup is not None:
            setup, self._setup = self._setup, None
            setup()
        began = monotonic_ns()
        stopped = self._run_batch(self._entries, batch)
        self._quick = monotonic_ns() - began < QUICK_TURN_NS
        if stopped:
            self.close()
            return
        self._claim.release()
        if self._entries and self._try_claim(False):
            self._schedule(self)

    def close(self) -> None:
        """Answer what is queued and refuse what comes: the actor has stopped or never started."""
        # The claim stays held: a dead actor is never scheduled again.
        self._dead = True
        self._reject_remaining()
        # Drop the bound methods, which hold the actor: let it be collected, as a thread's would.
        self._setup, self._run_batch = None, _not_started
        if self.pool is not None:
            self.pool.forget(self)

    def _reject_remaining(self) -> None:
        # Pykka's _actor_loop_teardown, safe against puts racing with it (popleft is atomic).
        entries = self._entries
        while True:
            try:
                envelope = entries.popleft()[0]
            except IndexError:
                return
            if envelope.reply_to is None:
                continue
            if isinstance(envelope.message, messages._ActorStop):
                envelope.reply_to.set(None)
            else:
                msg = f"{self.actor_ref} stopped before handling the message"
                envelope.reply_to.set_exception(
                    exc_info=(ActorDeadError, ActorDeadError(msg), None)
                )


def _not_started(*_args: object) -> Any:
    msg = "a mailbox was used before its actor started or after it stopped; a bug in yard"
    raise AssertionError(msg)
