"""The gateway's recovery endpoint, served on a thread of its own: paged, bounded and fair.

Recovery answers are reads of whole histories, asked for by any peer. Served
on the order thread, 50 full-history replays from a peer that never read held
an order's round trip up for seconds and took the gateway's memory to hundreds
of MB. So the recovery thread answers them, apart from the orders:

* **Paged**: a request is a job (:mod:`.recovery_jobs`) that reads the store
  a page at a time and sends one reply message per page; it reads the next
  page only once the last one is sent. No history is ever held whole.
* **Flow-controlled**: the ROUTER has ``ROUTER_MANDATORY`` and a send queue of
  :data:`~.recovery_limits.SEND_QUEUE` messages per peer, and every send is
  non-blocking. A page a peer's full queue cannot take waits, and is tried
  again every few ms; a peer that takes nothing for ``stall_s`` is not
  reading: its page, its job and its waiting requests are discarded, counted
  (``dropped_recovery_not_reading``, ``recovery_requests_discarded``) and
  logged rate-limited. A peer that went away (``EHOSTUNREACH``) likewise
  (``dropped_recovery_peer_gone``).
* **Limited per peer and in all**: requests wait in a queue per peer
  (:mod:`.recovery_peers`), at most ``peer_requests``
  (``dropped_recovery_peer_busy`` past it) and ``queued_bytes`` over all
  peers (``dropped_recovery_busy``). A replay for a
  robot whose replay from the same peer is waiting is merged into it, which
  then starts from the lower seq (``recovery_merged``): a host behind asks
  again every half second. (Not into one under way: it may have read its last
  page already, and would miss what was stored since.)
* **Fair**: up to ``active_peers`` peers are answered at once, one step each
  in turn (one page read, or a few dozen order reads).

**Whose robot**: on a keyed ROUTER each request carries its sender's key name.
A host's ``register`` (:mod:`.registration`) waits its turn like any request, so
one sent before a replay is answered first; a replay or resolve for a robot
the asking key does not own is dropped when its turn comes
(``dropped_recovery_not_owner``, :mod:`.owners`).

What a resolve must write (an order lost in transit, a refusal never heard of)
goes to the gateway's order thread, the store's one writer, over an inproc
pipe (:attr:`RecoveryServer.inbox`, read by that thread): so every report has
one seq and the order of writes is the order thread's, as before. The pipe
sends are non-blocking too; a job whose message the order thread cannot take
yet waits (not counted against its peer).

The store is read through the gateway's store object (``store()``: the one in
use, swapped after an outage), whose calls any thread may make: SQLite's are
serialised with the gateway's writes behind the store's lock (a page read
holds it for about a millisecond, and waits for a batch of the order thread to
end), MongoDB's client is thread-safe. Either way a read sees every report the
gateway published. While the store is down (``store_down()``) a request is
dropped when its turn comes (``dropped_recovery_store_down``), as is a job
whose read fails: the host asks again.

Threads: :meth:`RecoveryServer.start` starts the recovery thread, which owns
the ROUTER (made and bound by :class:`~.endpoints.GatewaySockets`, which closes
it once this thread has ended, with a linger: :data:`~.recovery_limits.CLOSE_LINGER_MS`)
and the pipe's sending end. The gateway's thread owns :attr:`inbox` and
calls :meth:`RecoveryServer.stop`, which never blocks on the thread's stop pipe.
The recovery thread counts into the gateway's ``stats`` under keys no other
thread writes (``replays``, ``resolves``, ``registrations``, ``recovery_*``,
``dropped_recovery_*``). An unexpected error ends it;
:attr:`~RecoveryServer.failure` holds it and the gateway stops on it.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Final

import zmq

from gateways.drops import Drops
from gateways.owners import Owners
from gateways.recovery import Replay
from gateways.recovery_jobs import StoreSource, ToGateway, ToPeer, replay_job, resolve_job
from gateways.recovery_limits import RecoveryLimits
from gateways.recovery_peers import Peer, Waiting
from gateways.registration import Register, Request, read_request, refusal, register_job
from yard_actors.errors import DecodeError, StoreError
from yard_actors.net import is_keyed, receive_keyed
from yard_actors.wire.frames import holds_more, receive

__all__ = ["RecoveryServer"]

logger = logging.getLogger(__name__)

_NOBLOCK: Final = int(zmq.NOBLOCK)
_RETRY_MS: Final = 5  # how soon a page a full queue refused is offered again
_TAKE: Final = 200  # requests read off the ROUTER between two rounds of answering
_PIPE_QUEUE: Final = 64  # messages the pipe to the order thread holds
_MIN_COST: Final = 256  # bytes a waiting request is counted at, at least
_STALLED_KEPT: Final = 4096  # peers remembered as dropped for not reading


class RecoveryServer:
    """Answers ``recovery`` (a bound ROUTER) on its own thread; see the module docstring.

    ``store`` gives the store in use, ``store_down`` whether it is down;
    ``stats`` is the gateway's counter. Made on the gateway's constructor thread;
    :meth:`start` it, then read :attr:`inbox` and :meth:`stop` it from the
    gateway's thread.
    """

    def __init__(
        self,
        context: zmq.Context[zmq.Socket[bytes]],
        router: zmq.Socket[bytes],
        *,
        store: StoreSource,
        store_down: Callable[[], bool],
        stats: Counter[str],
        limits: RecoveryLimits,
        owners: Owners,
    ) -> None:
        self._context = context
        self._router = router
        self._keyed = is_keyed(router)  # its peers are known by their keys (:mod:`.owners`)
        self._owners = owners
        self._store = store
        self._store_down = store_down
        self._stats = stats
        self._limits = limits
        self._drops = Drops("order gateway", stats)
        self._peers: OrderedDict[bytes, Peer] = OrderedDict()
        self._stalled: OrderedDict[bytes, None] = OrderedDict()
        self._waiting = 0  # requests waiting, of all peers
        self._waiting_bytes = 0
        self._stopping = threading.Event()
        self.failure: BaseException | None = None
        url = f"inproc://yard-recovery-{id(self)}"
        self.inbox = self._pipe_end(zmq.PULL)  # the gateway's thread's
        self.inbox.bind(f"{url}-writes")
        self._outbox = self._pipe_end(zmq.PUSH)
        self._outbox.connect(f"{url}-writes")
        self._stop_url = f"{url}-stop"
        self._stop_in = self._pipe_end(zmq.PAIR)
        self._stop_in.bind(self._stop_url)
        self._thread = threading.Thread(target=self._run, name="yard-recovery", daemon=True)

    def _pipe_end(self, kind: int) -> zmq.Socket[bytes]:
        socket = self._context.socket(kind)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.SNDHWM if kind == zmq.PUSH else zmq.RCVHWM, _PIPE_QUEUE)
        return socket

    def start(self) -> None:
        """Start the recovery thread (the barrier that hands it the ROUTER)."""
        self._thread.start()

    def gauges(self) -> dict[str, int]:
        """Peers with requests, and the requests waiting (count, bytes); from any thread."""
        return {
            "recovery_peers": len(self._peers),
            "recovery_waiting": self._waiting,
            "recovery_waiting_bytes": self._waiting_bytes,
        }

    def stop(self, timeout: float = 10.0) -> bool:
        """End the recovery thread, close :attr:`inbox`; from the gateway's thread.

        True if the thread ended within ``timeout`` s; it ends between two steps,
        so only a store read that hangs holds it. The ROUTER stays open for
        :class:`~.endpoints.GatewaySockets` to close.
        """
        self._stopping.set()
        if self._thread.is_alive():
            stopper = self._context.socket(zmq.PAIR)
            stopper.setsockopt(zmq.LINGER, 0)
            stopper.connect(self._stop_url)
            # Never blocking: the thread may see _stopping and close its end first, and a
            # send to a closed PAIR waits forever (then libzmq aborted as stop's caller closed it)
            with contextlib.suppress(zmq.Again):
                stopper.send(b"stop", _NOBLOCK)
            self._thread.join(timeout)
            stopper.close()
        self.inbox.close()
        return not self._thread.is_alive()

    # --- the recovery thread -----------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._serve()
        except BaseException as exc:
            self.failure = exc
            logger.exception("order gateway: its recovery thread stopped on an unexpected error")
        finally:
            self._outbox.close()
            self._stop_in.close()

    def _serve(self) -> None:
        poller = zmq.Poller()
        poller.register(self._router, zmq.POLLIN)
        poller.register(self._stop_in, zmq.POLLIN)
        while not self._stopping.is_set():
            ready = dict(poller.poll(self._wait_ms()))
            if self._stop_in in ready:
                return
            if self._router in ready:
                self._take()
            self._round()

    def _active(self) -> list[Peer]:
        return list(itertools.islice(self._peers.values(), self._limits.active_peers))

    def _wait_ms(self) -> int | None:
        active = self._active()
        if not active:
            return None
        return _RETRY_MS if all(peer.held is not None for peer in active) else 0

    def _take(self) -> None:
        for _ in range(_TAKE):
            if not holds_more(self._router):
                return
            frames, key = (
                receive_keyed(self._router) if self._keyed else (receive(self._router), None)
            )
            try:
                request = read_request(frames, key)
            except DecodeError as exc:
                self._drops.drop("recovery", exc.reason, str(exc))
                continue
            self._admit(request, max(_MIN_COST, sum(len(frame) for frame in frames)))

    def _admit(self, request: Request, cost: int) -> None:
        peer = self._peers.get(request.identity)
        if peer is None:
            peer = self._peers[request.identity] = Peer(request.identity)
        if isinstance(request, Replay) and peer.merged(request):
            self._stats["recovery_merged"] += 1
            return
        what = f"a {type(request).__name__.lower()} for robot {request.robot}"
        if len(peer.queue) + (peer.request is not None) >= self._limits.peer_requests:
            detail = f"{what}: its peer has {self._limits.peer_requests} requests under way"
            self._drops.drop("recovery", "peer_busy", detail)
        elif self._waiting_bytes + cost > self._limits.queued_bytes:
            detail = f"{what}: {self._waiting_bytes} bytes of requests wait already"
            self._drops.drop("recovery", "busy", detail)
        else:
            waiting = Waiting(request, cost)
            peer.queue.append(waiting)
            if isinstance(request, Replay):
                peer.replays[request.robot] = waiting
            self._waiting += 1
            self._waiting_bytes += cost
        if peer.idle:
            del self._peers[peer.identity]

    def _round(self) -> None:
        """One step for each active peer, in turn."""
        for peer in self._active():
            if self._stopping.is_set():
                return
            self._step(peer)
            if peer.idle and self._peers.get(peer.identity) is peer:
                del self._peers[peer.identity]

    def _step(self, peer: Peer) -> None:
        if peer.held is not None:
            if not self._deliver(peer, peer.held):
                return
            peer.held = None
        if peer.job is None and not self._start(peer):
            return
        assert peer.job is not None
        try:
            step = next(peer.job)
        except StopIteration:
            peer.job = peer.request = None
            self._peers.move_to_end(peer.identity)  # the next peer waiting gets a turn
            return
        except StoreError as exc:
            self._store_failed(peer, str(exc))
            return
        if step is not None and not self._deliver(peer, step):
            peer.held = step

    def _start(self, peer: Peer) -> bool:
        """Begin the peer's next request; False if there is none or it was dropped."""
        if not peer.queue:
            return False
        waiting = peer.queue.popleft()
        self._waiting -= 1
        self._waiting_bytes -= waiting.cost
        request = waiting.request
        if isinstance(request, Replay) and peer.replays.get(request.robot) is waiting:
            del peer.replays[request.robot]
        refused = refusal(self._owners, request)  # in turn: after a registration sent before
        if refused is not None:
            self._drops.drop("recovery", "not_owner", refused)
            return False
        if self._store_down():
            self._store_failed(peer, "the order store is down", request)
            return False
        page = self._limits.page_reports
        if isinstance(request, Register):
            self._stats["registrations"] += 1
            peer.job = register_job(self._store, self._owners, request, self._drops)
        elif isinstance(request, Replay):
            self._stats["replays"] += 1
            peer.job = replay_job(self._store, request, page)
        else:
            self._stats["resolves"] += 1
            peer.job = resolve_job(self._store, request, page, self._drops)
        peer.request = request
        return True

    def _store_failed(self, peer: Peer, why: str, request: Request | None = None) -> None:
        request = request or peer.request
        assert request is not None
        detail = f"a {type(request).__name__.lower()} for robot {request.robot}: {why}; ask again"
        self._drops.drop("recovery", "store_down", detail)
        peer.job = peer.request = None

    def _deliver(self, peer: Peer, step: ToPeer | ToGateway) -> bool:
        """Send ``step`` without blocking; False if it must wait (or the peer was dropped)."""
        try:
            if isinstance(step, ToGateway):
                self._outbox.send_multipart(step.frames, _NOBLOCK)
                return True
            self._router.send_multipart([peer.identity, *step.frames], _NOBLOCK)
        except zmq.Again:
            if isinstance(step, ToPeer):
                self._refused(peer)
            return False
        except zmq.ZMQError as exc:
            if exc.errno != errno.EHOSTUNREACH:
                raise
            self._drop(peer, "peer_gone", "it is no longer connected")
            return False
        peer.blocked_since = None
        self._stalled.pop(peer.identity, None)
        self._stats["recovery_pages"] += 1
        return True

    def _refused(self, peer: Peer) -> None:
        """The peer's queue is full: drop it if it has been for ``stall_s`` (or was before)."""
        now = time.monotonic()
        if peer.blocked_since is None:
            peer.blocked_since = now
        stalled_for = now - peer.blocked_since
        if peer.identity in self._stalled or stalled_for >= self._limits.stall_s:
            self._drop(peer, "not_reading", f"its queue has been full for {stalled_for:.1f} s")

    def _drop(self, peer: Peer, reason: str, why: str) -> None:
        """Discard everything of ``peer``: the page held, its job, its waiting requests."""
        discarded = len(peer.queue) + (peer.request is not None)
        self._waiting -= len(peer.queue)
        self._waiting_bytes -= sum(waiting.cost for waiting in peer.queue)
        peer.queue.clear()
        peer.replays.clear()
        peer.job = peer.request = peer.held = None
        self._peers.pop(peer.identity, None)
        self._stats["recovery_requests_discarded"] += discarded
        if reason == "not_reading":
            self._stalled[peer.identity] = None
            if len(self._stalled) > _STALLED_KEPT:
                self._stalled.popitem(last=False)
        detail = f"peer {peer.identity.hex()}: {why}; {discarded} requests' replies discarded"
        self._drops.drop("recovery", reason, detail)
