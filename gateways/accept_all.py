"""A stand-in order gateway for demos: it accepts every order and fills what the market crosses.

It binds the orders (PULL) and trades (PUB) endpoints like a real gateway and
watches the data endpoint (SUB) for the best bid and offer. A limit buy fills
at its price once the best ask is at or below it, a market order at the best
opposite price; cancels of working orders succeed. Fill sizes are not capped
and there is no store: the full paper exchange and order store replace this.

It runs its own thread, the only one that touches its sockets; stop it with
:meth:`AcceptAllGateway.stop`.
"""

from __future__ import annotations

import logging
import threading
from decimal import Decimal
from typing import Any

import zmq

from yard_actors.codec import decode, encode
from yard_actors.errors import DecodeError, GatewayError
from yard_actors.events import (
    CancelOrder,
    CancelReply,
    Fill,
    NewOrder,
    OrderAccepted,
    Quote,
    Side,
)

__all__ = ["AcceptAllGateway"]

logger = logging.getLogger(__name__)


class AcceptAllGateway:
    """Accepts every order; fills resting orders when the quotes cross them."""

    def __init__(
        self,
        context: zmq.Context[zmq.Socket[bytes]],
        *,
        orders: str,
        trades: str,
        data: str,
        symbols: tuple[str, ...] = ("Si", "RTS"),
    ) -> None:
        self._context = context
        self._orders = context.socket(zmq.PULL)
        self._trades = context.socket(zmq.PUB)
        self._data = context.socket(zmq.SUB)
        for socket in (self._orders, self._trades, self._data):
            socket.setsockopt(zmq.LINGER, 0)
        try:
            self._orders.bind(orders)
            self._trades.bind(trades)
            self._data.connect(data)
        except zmq.ZMQError as exc:
            self._close()
            msg = f"demo gateway cannot open its endpoints ({orders}, {trades}, {data}): {exc}"
            raise GatewayError(msg) from exc
        for symbol in symbols:
            self._data.subscribe(symbol.encode())
        self._stop_url = f"inproc://yard-accept-all-stop-{id(self)}"
        self._stop_pull = context.socket(zmq.PAIR)
        self._stop_pull.bind(self._stop_url)
        self._working: dict[str, NewOrder] = {}
        self._quotes: dict[str, Quote] = {}
        self._trade_seq = 0
        self.orders_in = 0
        self.fills_out = 0
        self._thread = threading.Thread(target=self._run, name="yard-accept-all", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        stopper = self._context.socket(zmq.PAIR)
        stopper.setsockopt(zmq.LINGER, 0)
        stopper.connect(self._stop_url)
        stopper.send(b"stop")
        self._thread.join(timeout=5)
        stopper.close()

    def _close(self) -> None:
        for socket in (self._orders, self._trades, self._data):
            socket.close()

    def _run(self) -> None:
        poller = zmq.Poller()
        for socket in (self._orders, self._data, self._stop_pull):
            poller.register(socket, zmq.POLLIN)
        try:
            while True:
                ready = dict(poller.poll())
                if self._stop_pull in ready:
                    return
                if self._data in ready:
                    self._on_data(self._data.recv_multipart())
                if self._orders in ready:
                    self._on_order(self._orders.recv_multipart())
        finally:
            self._close()
            self._stop_pull.close()

    def _on_data(self, frames: list[bytes]) -> None:
        try:
            event = decode(frames[-1])
        except DecodeError:
            return
        if type(event) is not Quote:
            return
        self._quotes[event.symbol] = event
        for order in list(self._working.values()):
            if order.symbol == event.symbol:
                self._try_fill(order, event)

    def _on_order(self, frames: list[bytes]) -> None:
        try:
            command = decode(frames[-1])
        except DecodeError as exc:
            logger.warning("demo gateway dropped a command: %s", exc)
            return
        self.orders_in += 1
        if type(command) is NewOrder:
            self._publish(
                OrderAccepted(
                    ts=command.ts,
                    client_order_id=command.client_order_id,
                    robot=command.robot,
                    exchange_order_id=f"x{self.orders_in}",
                )
            )
            self._working[command.client_order_id] = command
            quote = self._quotes.get(command.symbol)
            if quote is not None:
                self._try_fill(command, quote)
        elif type(command) is CancelOrder:
            done = self._working.pop(command.client_order_id, None) is not None
            self._publish(
                CancelReply(
                    ts=command.ts,
                    client_order_id=command.client_order_id,
                    robot=command.robot,
                    cancelled=done,
                    reason="" if done else "order is no longer working",
                )
            )

    def _try_fill(self, order: NewOrder, quote: Quote) -> None:
        price: Decimal | None
        if order.side is Side.BUY:
            price = quote.ask if order.price is None or quote.ask <= order.price else None
        else:
            price = quote.bid if order.price is None or quote.bid >= order.price else None
        if price is None:
            return
        if order.price is not None:
            price = order.price
        del self._working[order.client_order_id]
        self._trade_seq += 1
        self.fills_out += 1
        self._publish(
            Fill(
                ts=max(order.ts, quote.ts),
                trade_id=f"T{self._trade_seq}",
                client_order_id=order.client_order_id,
                robot=order.robot,
                symbol=order.symbol,
                side=order.side,
                price=price,
                qty=order.qty,
                fee=Decimal("0.5") * order.qty,
            )
        )

    def _publish(self, event: Any) -> None:
        self._trades.send_multipart((event.robot.encode(), encode(event)))
