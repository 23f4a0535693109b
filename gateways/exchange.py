"""The exchange adapter protocol: what the order gateway drives, paper or real.

The order gateway owns the order store and the robots' report numbers; an
adapter owns the conversation with one exchange. Keeping that conversation
behind five calls lets the paper exchange (:mod:`gateways.paper`) and a real
connector be swapped without the gateway noticing.

The contract a connector must keep:

* **Business refusals are reports, never exceptions.** An order the exchange
  refuses comes back as an :class:`~yard_actors.wire.events.OrderRejected` with the
  exchange's reason as a sentence; a cancel that comes too late is a
  :class:`~yard_actors.wire.events.CancelReply` with ``cancelled=False``.
* **Only a broken link raises**, and then :class:`~yard_actors.errors.GatewayError`,
  with the library's own exception as its cause (``raise GatewayError(msg) from exc``),
  so the gateway can report the link down and reconnect.
* **Reports come in the order the exchange produced them**: an order's
  acceptance or rejection before any of its fills, and no fill of an order
  after its final report (filled, cancelled, rejected).
* **A fill's ``trade_id`` is unique per exchange, across restarts too,** and
  stable: the store takes a fill it already holds again as a no-op, so
  replaying fills after a reconnect is harmless; a different fill under a
  stored trade id is refused (:class:`~gateways.store.base.TradeClashError`)
  and lost to the robots, so an adapter that numbers its fills continues after
  the store's highest number when it restarts (:meth:`ExchangeAdapter.restore`).
* **A restart loses nothing the store holds**: :meth:`ExchangeAdapter.restore`
  takes up the orders the store says are working before the gateway serves.
* **``seq`` is left 0**: the gateway numbers each robot's reports as it stores them.
* **Timestamps are the exchange's event time** in integer nanoseconds.
* **One thread**: every call comes from the gateway's thread, so an adapter
  needs no locks on its own state. A connector with a socket thread of its own
  queues what arrives there and hands it over from :meth:`ExchangeAdapter.poll`;
  it never calls the gateway back. No call may block for long: the gateway
  polls its sockets between them.
"""

from __future__ import annotations

from typing import Protocol, TypeAlias, runtime_checkable

from gateways.store.base import OrderStore, Report
from yard_actors.wire.events import Bar, CancelOrder, NewOrder, Quote, SessionStatus, Tick

__all__ = ["ExchangeAdapter", "MarketUpdate"]

MarketUpdate: TypeAlias = Quote | Tick | Bar | SessionStatus


@runtime_checkable
class ExchangeAdapter(Protocol):
    """What the order gateway drives. All calls come from the gateway's one thread."""

    def submit(self, order: NewOrder) -> list[Report]:
        """Send ``order``; return what the exchange answered at once (accept/reject, fills).

        An exchange that answers asynchronously returns [] and hands the reports
        over from :meth:`poll` when they arrive.
        """
        ...

    def cancel(self, cancel: CancelOrder) -> list[Report]:
        """Ask to cancel a working order; return the immediate reports, if any."""
        ...

    def on_market(self, event: MarketUpdate) -> list[Report]:
        """Tell the adapter the market moved; return the reports it caused (resting fills).

        A real connector, whose fills come from the exchange, usually returns [].
        """
        ...

    def restore(self, store: OrderStore) -> list[Report]:
        """Take up the orders ``store`` holds open, once, before the gateway serves.

        Called by the gateway's constructor, on the thread that builds it (its
        own thread has not started), after the store's crash repair and before
        any other call. Read the store (``store.open_orders()``: the non-final
        orders, oldest first; what else the adapter needs, such as the ids it
        gave out), never write it: return the reports the restart causes (an
        order the exchange no longer holds, cancelled with the reason), and the
        gateway stores and publishes them like any others. A real connector asks
        its broker which orders are working and reports what changed while the
        gateway was down; the paper exchange, whose book lived in memory,
        rebuilds it from the store.
        """
        ...

    def poll(self, now_ns: int) -> list[Report]:
        """Return reports that arrived asynchronously or became due by ``now_ns``.

        A real connector drains what its socket delivered; the paper exchange
        releases orders and cancels whose latency has passed. Never blocks.
        """
        ...
