"""The order gateway: commands in from hosts, the store as the record, reports out to robots.

One gateway serves many hosts. For every command it receives (orders
endpoint, ZeroMQ PULL, ``[robot, NewOrder|CancelOrder]``) it first writes the
store, then asks the exchange adapter; every report the adapter returns is
written to the store under the robot's next report ``seq`` and only then
published (trades endpoint, PUB, topic = robot name). So whatever a robot has
seen is in the store, and whatever is in the store a robot can get again:

* on its recovery endpoint (ROUTER) the gateway answers ``[b"replay", robot,
  after_seq]`` with the robot's reports after ``after_seq``;
* every ``heartbeat_ms`` it publishes ``$seqs``: each robot's last report seq,
  so a host notices a report it missed (a restart, a slow subscription, a
  dropped message) and asks for it.

A repeated ``client_order_id`` (a retry, a replay after a crash) never makes a
second order: the store refuses it and the gateway drops the command.

Everything runs on the gateway's one thread, which owns the sockets, the store
calls and the exchange adapter; :meth:`OrderGateway.stop` ends it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any, Final, cast

import orjson
import zmq

from gateways.exchange import ExchangeAdapter
from gateways.store.base import OrderState, OrderStore, Report, ReportRecord
from yard_actors.errors import DecodeError, GatewayError, StoreError, TransitionError
from yard_actors.wire.codec import decode, encode
from yard_actors.wire.events import (
    CancelOrder,
    CancelReply,
    Fill,
    NewOrder,
    OrderAccepted,
    OrderRejected,
    Quote,
    SessionStatus,
    Tick,
)
from yard_actors.wire.frames import receive, send
from yard_actors.wire.names import (
    RECOVERY_REPLAY,
    RECOVERY_REPORTS,
    SEQS_TOPIC,
    SESSION_TOPIC,
)

__all__ = ["OrderGateway"]

logger = logging.getLogger(__name__)

_BATCH = 500
_EVENTS: Final = int(zmq.EVENTS)  # plain ints: pyzmq converts its enums on every call
_POLLIN: Final = int(zmq.POLLIN)


class OrderGateway:
    """Binds ``orders`` (PULL), ``trades`` (PUB) and ``recovery`` (ROUTER); connects ``data``.

    ``data`` (a feed's PUB) feeds the exchange adapter with market data and
    session status; leave it None for an adapter with its own market view.
    """

    def __init__(
        self,
        *,
        store: OrderStore,
        exchange: ExchangeAdapter,
        orders: str,
        trades: str,
        recovery: str | None = None,
        data: str | None = None,
        symbols: Iterable[str] = (),
        context: zmq.Context[zmq.Socket[bytes]] | None = None,
        heartbeat_ms: int = 500,
    ) -> None:
        self._store = store
        self._exchange = exchange
        self._own_context = context is None
        self._context = context if context is not None else zmq.Context()
        self._heartbeat_ms = heartbeat_ms
        self._sockets: list[zmq.Socket[bytes]] = []
        self.stats: Counter[str] = Counter()
        repair = getattr(store, "repair", None)
        if repair is not None:  # complete fills a crash left half-written (MongoDB)
            repair()
        self._last_seqs = dict(store.last_seqs())
        self._market_ts = 0
        self._outgoing: list[ReportRecord] = []  # written to the store, not yet published
        try:
            self._orders = self._open(zmq.PULL, orders, bind=True)
            self._trades = self._open(zmq.PUB, trades, bind=True)
            self._recovery = (
                None if recovery is None else self._open(zmq.ROUTER, recovery, bind=True)
            )
            self._data = None if data is None else self._open(zmq.SUB, data, bind=False)
        except GatewayError:
            self._close_sockets()
            raise
        if self._data is not None:
            self._data.subscribe(SESSION_TOPIC.encode())
            for symbol in symbols:
                self._data.subscribe(symbol.encode())
        self.endpoints = {
            "orders": self._orders.getsockopt_string(zmq.LAST_ENDPOINT),
            "trades": self._trades.getsockopt_string(zmq.LAST_ENDPOINT),
        }
        if self._recovery is not None:
            self.endpoints["recovery"] = self._recovery.getsockopt_string(zmq.LAST_ENDPOINT)
        self._stop_url = f"inproc://yard-gateway-stop-{id(self)}"
        self._stop_in = self._context.socket(zmq.PAIR)
        self._stop_in.bind(self._stop_url)
        self._thread = threading.Thread(target=self._run, name="yard-order-gateway", daemon=True)
        self._thread.start()

    def _open(self, kind: int, url: str, *, bind: bool) -> zmq.Socket[bytes]:
        socket = self._context.socket(kind)
        socket.setsockopt(zmq.LINGER, 0)
        if kind in (zmq.PULL, zmq.SUB):
            socket.setsockopt(zmq.RCVHWM, 1_000_000)
        if kind == zmq.PUB:
            socket.setsockopt(zmq.SNDHWM, 1_000_000)
        try:
            if bind:
                socket.bind(url)
            else:
                socket.connect(url)
        except zmq.ZMQError as exc:
            socket.close()
            msg = f"order gateway cannot {'bind' if bind else 'connect'} {url}: {exc}"
            raise GatewayError(msg) from exc
        self._sockets.append(socket)
        return socket

    def stop(self, timeout: float = 5.0) -> None:
        """Finish the command being handled, close every socket; idempotent."""
        if self._thread.is_alive():
            stopper = self._context.socket(zmq.PAIR)
            stopper.setsockopt(zmq.LINGER, 0)
            stopper.connect(self._stop_url)
            stopper.send(b"stop")
            self._thread.join(timeout)
            stopper.close()
        if not self._stop_in.closed:
            self._stop_in.close()
        if self._own_context:
            self._context.term()

    def _close_sockets(self) -> None:
        for socket in self._sockets:
            socket.close()

    # --- the gateway's thread --------------------------------------------------------------

    def _run(self) -> None:
        poller = zmq.Poller()
        for socket in (self._orders, self._data, self._recovery, self._stop_in):
            if socket is not None:
                poller.register(socket, zmq.POLLIN)
        beat = self._heartbeat_ms / 1000
        next_beat = time.monotonic() + beat
        try:
            while True:
                wait_ms = max(0, int((next_beat - time.monotonic()) * 1000))
                ready = dict(poller.poll(wait_ms))
                if self._stop_in in ready:
                    return
                if self._data is not None and self._data in ready:
                    self._drain(self._data, self._on_market)
                if self._orders in ready:
                    self._drain(self._orders, self._on_command)
                if self._recovery is not None and self._recovery in ready:
                    self._drain(self._recovery, self._on_recovery)
                self._publish_all(self._exchange.poll(self._market_ts))
                self._send_written()
                if time.monotonic() >= next_beat:  # the gateway's own pacing, not robot time
                    self._heartbeat()
                    next_beat = time.monotonic() + beat
        except Exception:
            logger.exception("order gateway stopped on an unexpected error")
            raise
        finally:
            self._close_sockets()

    def _drain(self, socket: zmq.Socket[bytes], handle: Any) -> None:
        """Handle what the socket holds (up to a batch) in one store transaction, then publish.

        Nothing is published before the transaction that wrote it commits, so a
        robot never sees a report the store could lose. The store begins the
        transaction at its first write: a drain that wrote nothing commits nothing.
        """
        with self._store.batch():
            for _ in range(_BATCH):
                # Asking costs a fifth of the zmq.Again that receiving from an empty
                # socket raises, and that raise came between a fill and its commit.
                if not cast(int, socket.getsockopt(_EVENTS)) & _POLLIN:
                    break
                handle(receive(socket))
        self._send_written()

    def _send_written(self) -> None:
        outgoing, self._outgoing = self._outgoing, []
        for record in outgoing:
            self._last_seqs[record.robot] = record.seq
            send(self._trades, record.robot.encode(), record.payload or encode(record.report))
        self.stats["reports"] += len(outgoing)

    def _on_market(self, frames: list[bytes]) -> None:
        try:
            event = decode(frames[-1])
        except DecodeError:
            self.stats["bad_market_data"] += 1
            return
        if isinstance(event, Quote | Tick | SessionStatus):
            self._market_ts = max(self._market_ts, event.ts)
            self._publish_all(self._exchange.on_market(event))

    def _on_command(self, frames: list[bytes]) -> None:
        if len(frames) != 2:
            self._refuse_input("bad_frames", f"{len(frames)} frames instead of [robot, command]")
            return
        try:
            command = decode(frames[1])
        except DecodeError as exc:
            self._refuse_input(exc.reason, str(exc))
            return
        if not isinstance(command, NewOrder | CancelOrder) or command.robot.encode() != frames[0]:
            self._refuse_input("not_a_command", f"{type(command).__name__} under {frames[0]!r}")
            return
        self.stats["commands"] += 1
        if isinstance(command, NewOrder):
            self._on_new_order(command)
        else:
            self._publish_all(self._exchange.cancel(command))

    def _on_new_order(self, order: NewOrder) -> None:
        if not self._store.add_pending(order):
            self.stats["duplicate_orders"] += 1
            logger.info("order gateway ignored a repeated order %s", order.client_order_id)
            return
        self._publish_all(self._exchange.submit(order))

    def _refuse_input(self, reason: str, detail: str) -> None:
        self.stats[f"dropped_{reason}"] += 1
        logger.warning("order gateway dropped a command (%s): %s", reason, detail)

    def _publish_all(self, reports: Iterable[Report]) -> None:
        for report in reports:
            try:
                stored = self._record(report)
            except TransitionError as exc:
                self.stats["store_refused"] += 1
                logger.error("order gateway: the store refused %r: %s", report, exc)
                continue
            except StoreError:
                logger.exception("order gateway: the store failed; %r not sent", report)
                raise
            if stored is not None:
                self._outgoing.append(stored)

    def _record(self, report: Report) -> ReportRecord | None:
        """Write ``report`` and the order's new state; return its record (None: a repeat)."""
        store, coid = self._store, report.client_order_id
        if isinstance(report, Fill):
            applied = store.apply_fill(report)
            return None if applied is None else applied[1]
        if isinstance(report, OrderAccepted):
            store.transition(
                coid, OrderState.ACCEPTED, ts=report.ts, exchange_order_id=report.exchange_order_id
            )
        elif isinstance(report, OrderRejected):
            if store.order(coid) is not None:
                store.transition(coid, OrderState.REJECTED, ts=report.ts, reason=report.reason)
        elif isinstance(report, CancelReply) and report.cancelled:
            store.transition(coid, OrderState.CANCELLED, ts=report.ts, reason=report.reason)
        return store.add_report(report.robot, report)

    def _on_recovery(self, frames: list[bytes]) -> None:
        if len(frames) != 4 or frames[1] != RECOVERY_REPLAY:
            self.stats["dropped_bad_recovery"] += 1
            return
        identity, _, robot, after = frames
        try:
            after_seq = int(after)
            records = self._store.reports(robot.decode(), after_seq=after_seq)
        except (ValueError, UnicodeDecodeError):
            self.stats["dropped_bad_recovery"] += 1
            return
        payloads = [encode(record.report) for record in records]
        self._recovery.send_multipart([identity, RECOVERY_REPORTS, robot, *payloads])  # type: ignore[union-attr]
        self.stats["replays"] += 1

    def _heartbeat(self) -> None:
        if self._last_seqs:
            send(self._trades, SEQS_TOPIC.encode(), orjson.dumps(self._last_seqs))
