"""``PooledActor``: a Pykka actor whose turns run on a shared :class:`Pool`.

Subclass it as you would ``pykka.ThreadingActor``. Pykka's ``Actor.start``,
``ActorRef``, proxies, futures and the ``ActorRegistry`` are used unchanged; the
class only fills Pykka's three runtime hooks:

* ``_create_actor_inbox`` -> a :class:`~yard_actors.runtime.mailbox.Mailbox`
  (deque + run-queue claim) instead of a ``queue.Queue`` read by a thread;
* ``_create_future`` -> :class:`PooledFuture`, a ``ThreadingFuture`` that refuses to
  block a pool's last free worker (:class:`~yard_actors.runtime.pool.PoolDeadlockError`);
* ``_start_actor_loop`` -> admit the actor to its pool, whose worker runs ``on_start``
  as the actor's first turn.

Each envelope is handled by :meth:`PooledActor._actor_run_batch`, whose loop body is
Pykka 4.5's ``Actor._actor_loop_running`` for one envelope, calling Pykka's own
``_handle_receive``, ``_handle_failure``, ``on_failure`` and ``_stop``. The one
deliberate difference: a ``BaseException`` (``SystemExit``, ``KeyboardInterrupt``)
from a handler stops this actor and asks all others to stop *without waiting*
(``ActorRegistry.stop_all(block=False)``); Pykka's blocking ``stop_all`` would wait on
a worker for actors that need that worker to stop.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

import pykka
from pykka._envelope import Envelope

from yard_actors.runtime.default_pool import default_pool
from yard_actors.runtime.mailbox import Entries, Mailbox
from yard_actors.runtime.pool import Pool, PoolError, current_pool

if TYPE_CHECKING:
    from pykka._actor import ActorInbox

__all__ = ["PooledActor", "PooledFuture", "tell_here"]

pykka_logger = logging.getLogger("pykka")  # Pykka's own messages keep Pykka's logger name

T = TypeVar("T")

_pending = threading.local()  # .pool: the pool start_in() passes to the actor being built


class PooledFuture(pykka.ThreadingFuture[T]):
    """A ``ThreadingFuture`` that will not let a pool's last free worker block on it.

    ``get`` from a pool worker, on a reply not yet set, raises
    :class:`~yard_actors.runtime.pool.PoolDeadlockError` when every other worker of
    that pool is already blocked in such a ``get``: nobody would be left to run the
    actor that owes the reply. From any other thread it is a plain ``ThreadingFuture``.
    """

    def get(self, *, timeout: float | None = None) -> Any:
        pool = current_pool()
        if pool is None or self._result is not None or self._get_hook is not None:
            return super().get(timeout=timeout)
        with pool.blocking("a pooled actor's reply"):
            return super().get(timeout=timeout)


class PooledActor(pykka.Actor):
    """A Pykka actor run by a pool's workers; serial per actor, ``batch`` messages per turn.

    Choose the pool with the class attribute ``actor_pool`` (None: the default pool)
    or per start with :meth:`start_in`. Hooks run on one of the pool's worker
    threads, never two at once for one actor; ``__init__`` runs on the caller's.

    ``actor_message_enqueued_ns`` holds, while an envelope is handled (``on_receive``
    or a proxy call), the ``time.monotonic_ns()`` at which it was put in the mailbox:
    ``time.monotonic_ns() - self.actor_message_enqueued_ns`` is its wait.
    """

    actor_pool: ClassVar[Pool | None] = None
    actor_message_enqueued_ns: int = 0

    @classmethod
    def start_in(cls, pool: Pool, *args: Any, **kwargs: Any) -> pykka.ActorRef[Self]:
        """Start the actor on ``pool`` rather than its class's; the arguments go to ``__init__``.

        The pool goes to the first pooled actor constructed on this thread during the
        call: an ``__init__`` that starts other actors should call ``super().__init__()``
        first (as Pykka asks anyway).
        """
        _pending.pool = pool
        try:
            return cls.start(*args, **kwargs)
        finally:
            _pending.pool = None

    @staticmethod
    def _create_actor_inbox() -> ActorInbox:
        pool: Pool | None = getattr(_pending, "pool", None)
        _pending.pool = None
        return Mailbox(pool)

    @staticmethod
    def _create_future() -> pykka.Future[Any]:
        return PooledFuture()

    def _start_actor_loop(self) -> None:
        mailbox = self.actor_inbox
        if not isinstance(mailbox, Mailbox):
            msg = f"{self} has a {type(mailbox).__name__} inbox; a PooledActor needs its Mailbox"
            raise TypeError(msg)
        pool = mailbox.pool or type(self).actor_pool or default_pool()
        try:
            mailbox.open(
                self.actor_ref,
                pool,
                setup=self._actor_loop_setup_pooled,
                run_batch=self._actor_run_batch,
            )
        except PoolError:
            pykka.ActorRegistry.unregister(self.actor_ref)  # start() registered it already
            self.actor_stopped.set()
            mailbox.close()  # asks told from __init__ get ActorDeadError, not silence
            raise

    def _actor_loop_setup_pooled(self) -> None:
        # The first turn: Pykka's setup (on_start), plus the BaseException path of its loop.
        try:
            self._actor_loop_setup()
        except BaseException:
            self._actor_stop_everything()

    def _actor_run_batch(self, entries: Entries, batch: int) -> bool:
        """Handle up to ``batch`` envelopes from ``entries``; True once the actor has stopped.

        The loop body is Pykka 4.5's ``Actor._actor_loop_running``, inlined for speed (keep
        them in step: a test pins that method's source, so an upgrade that changes it is
        noticed). Runs on the worker that holds the actor's claim.
        """
        stopped = self.actor_stopped
        pop = entries.popleft
        for _ in range(batch):
            if stopped.is_set():
                return True
            if not entries:  # only this worker pops while the actor lives: no race
                return False
            envelope, self.actor_message_enqueued_ns = pop()
            try:
                response = self._handle_receive(envelope.message)
                if envelope.reply_to is not None:
                    envelope.reply_to.set(response)
            except Exception:
                if envelope.reply_to is not None:
                    pykka_logger.info(
                        "Exception returned from %s to caller:", self, exc_info=sys.exc_info()
                    )
                    envelope.reply_to.set_exception()
                else:
                    self._handle_failure(*sys.exc_info())
                    try:
                        self.on_failure(*sys.exc_info())
                    except Exception:
                        self._handle_failure(*sys.exc_info())
            except BaseException:
                self._actor_stop_everything()
        return stopped.is_set()

    def _actor_stop_everything(self) -> None:
        pykka_logger.debug("%r in %s. Stopping all actors.", sys.exc_info()[1], self)
        self._stop()
        pykka.ActorRegistry.stop_all(block=False)


def tell_here(ref: pykka.ActorRef[Any], message: Any) -> None:
    """``ref.tell(message)``, but an idle pooled actor may handle it at once on this thread.

    It does when nothing waits on its pool's run queue and its last turn took
    under ``QUICK_TURN_NS`` (:meth:`Mailbox.put_here`). For a sender that feeds
    one actor and would otherwise only wait (a data intake with one robot on the
    symbol): one thread hop fewer per message. The actor's guarantees hold (one
    thread at a time, order per sender, ``batch`` messages a turn, the rest handed
    to the pool); the sender is busy for the turn. Any other actor gets a plain
    ``tell``. Raises ``ActorDeadError`` as ``tell`` does.
    """
    inbox = ref.actor_inbox
    if type(inbox) is not Mailbox:
        ref.tell(message)
        return
    if ref.actor_stopped.is_set():
        msg = f"{ref} not found"
        raise pykka.ActorDeadError(msg)
    inbox.put_here(Envelope(message))
