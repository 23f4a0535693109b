"""A paper exchange: robots' orders matched against the market data, deterministically.

:class:`PaperExchange` is an :class:`~gateways.exchange.ExchangeAdapter` with no
outside world: it keeps the latest quote of each symbol and the robots' own
resting orders, and fills them by these rules, so that the same calls with the
same :class:`PaperConfig` give the same reports, every time. Its settings are
:mod:`gateways.paper_config` (re-exported here), its book of each symbol
:mod:`gateways.paper_book`, the refusals that need no book
:mod:`gateways.paper_checks`, its restart :mod:`gateways.paper_restore`.

Clock
    Market time is the largest ``ts`` seen in :meth:`~PaperExchange.on_market`
    or passed to :meth:`~PaperExchange.poll` (which must therefore be on the
    market data's clock). An order or cancel takes effect at ``ts + latency_ns``:
    with no latency at once, inside ``submit``/``cancel``; otherwise those return
    [] and the command takes effect, in order of due time then arrival, in the
    first ``on_market``/``poll`` that brings market time to its due time, before
    that market event is applied (so it meets the book as it stood then). A
    command already due when sent takes effect at once. Every report of a
    command carries its due time; a fill the market causes carries the event's.

Matching (own book only: robots' orders never trade with each other)
    * An order that takes effect and is marketable (a buy priced at or above the
      best ask, a sell at or below the best bid, or a market order) fills at the
      best opposite price (price improvement), capped by the displayed size left.
    * A resting order the market later reaches (a quote whose ask is at or below
      a resting buy, whose bid is at or above a resting sell) fills at its own
      limit price, capped by that quote's displayed opposite size.
    * A trade print (:class:`~yard_actors.wire.events.Tick`) at or through a resting
      order's price fills it at its limit price, capped by the print's qty; the
      print's aggressor side is not looked at, and its qty caps each side apart.
    * A bar (:class:`~yard_actors.wire.events.Bar`) is a print of its ``volume`` at its
      ``close``, at its ``ts``, and fills resting orders by the rule for prints. Its
      open, high and low are not traded against: where in the period and in what size
      they traded is unknown, and filling every order the range touched would flatter
      a robot. Bars never fill an order on arrival (that needs a quote's displayed size).
    * Displayed size and print qty are used once: a quote's size left after
      fills is what later orders can take until the next quote replaces it, and
      the orders reached share it in price then time priority (time = order of
      acceptance). Resting fills of a quote or print go buys first, then sells.
    * A market order is IOC, whatever its ``tif`` says (unless FOK): what it
      cannot fill now is cancelled with ``"market order: no more liquidity"``.
      IOC fills what is available now and cancels the rest (``"IOC: no more
      liquidity at the limit price"``); FOK fills all now or is rejected
      (``"FOK: only N of M available"``); DAY and GTC rest until
      filled or cancelled (there is no end-of-day expiry). Partial fills leave
      the rest working.

Refusals (:class:`~yard_actors.wire.events.OrderRejected`, checked in this order)
    a ``client_order_id`` already used on this exchange (working, or among the last
    :data:`~gateways.paper_book.FINAL_ORDERS_KEPT` final ones: the gateway's order
    store refuses any repeat before the exchange sees it), a symbol not in the
    instrument table, a qty that is not positive, a price off the tick grid, a
    session that is not open (:mod:`gateways.paper_checks` says which session and
    when). Session state gates new orders only: cancels and market-data fills go
    on. A cancel of an order that is unknown, another robot's, or already final
    gets ``cancelled=False`` (a final order no longer remembered is unknown, as
    after a restart).

Restart (:meth:`PaperExchange.restore`, called by the gateway once, before it serves)
    The book lives in memory; ``restore`` rebuilds it from the order store: the
    orders accepted rest again in their time priority, the pending ones are sent
    again, what cannot rest is cancelled (:mod:`gateways.paper_restore` says which).

Ids: the n-th accepted order is ``PX{n}``, the n-th fill ``P{n}``, from 1 on a
new exchange and after the highest the store holds once restored
(:meth:`~gateways.store.base.OrderStore.highest_trade_number`), so that a fill
after a restart never takes the trade id of one before it (the store would
refuse it) and the same run on a new store gives the same ids. Each fill pays
``fee_per_lot * qty``. Not thread-safe: the gateway's one thread calls it.
"""

from __future__ import annotations

import bisect
import heapq
from decimal import Decimal

from gateways.exchange import MarketUpdate
from gateways.paper_book import FinalOrders, Market, Status, WorkingOrder, book_key, reaches
from gateways.paper_checks import IOC_REST, MARKET_ORDER_REST, OrderChecks
from gateways.paper_config import PaperConfig
from gateways.paper_restore import (
    ORDER_PREFIX,
    RESTING,
    TRADE_PREFIX,
    acceptance,
    order_number,
    restore_refusal,
)
from gateways.store.base import OrderRecord, OrderState, OrderStore, Report
from yard_actors.wire.events import (
    CancelOrder,
    CancelReply,
    Fill,
    NewOrder,
    OrderAccepted,
    OrderRejected,
    Quote,
    SessionStatus,
    Side,
    Tick,
    TimeInForce,
)
from yard_actors.wire.instruments import InstrumentTable

__all__ = ["ORDER_PREFIX", "TRADE_PREFIX", "PaperConfig", "PaperExchange"]


def _cancel_reply(cid: str, robot: str, ts: int, cancelled: bool, reason: str) -> CancelReply:
    return CancelReply(ts=ts, client_order_id=cid, robot=robot, cancelled=cancelled, reason=reason)


class PaperExchange:
    """Matches robots' orders against market data by the rules in the module docstring."""

    def __init__(
        self, config: PaperConfig | None = None, instruments: InstrumentTable | None = None
    ) -> None:
        self._config = PaperConfig() if config is None else config
        self._instruments = InstrumentTable() if instruments is None else instruments
        self._clock = 0
        self._checks = OrderChecks(self._instruments, require_session=self._config.require_session)
        self._checks_refusal = self._checks.refusal  # bound once: it runs on every order
        self._markets: dict[str, Market] = {}
        self._orders: dict[str, WorkingOrder] = {}  # working: taken, not yet final
        self._final = FinalOrders()
        self._in_flight: list[tuple[int, int, NewOrder | CancelOrder]] = []  # a heap
        self._arrivals = 0
        self._accepted = 0  # also the time priority of the order it accepted
        self._trades = 0

    # --- the adapter's calls ---------------------------------------------------------

    def submit(self, order: NewOrder) -> list[Report]:
        return self._send(order)

    def cancel(self, cancel: CancelOrder) -> list[Report]:
        return self._send(cancel)

    def on_market(self, event: MarketUpdate) -> list[Report]:
        reports = self._advance(event.ts)
        if isinstance(event, SessionStatus):
            self._checks.on_status(event)
        elif isinstance(event, Quote):
            reports += self._on_quote(event)
        elif isinstance(event, Tick):
            reports += self._on_print(event.symbol, event.price, event.qty, event.ts)
        else:  # a Bar: a print of its volume at its close
            reports += self._on_print(event.symbol, event.close, event.volume, event.ts)
        return reports

    def poll(self, now_ns: int) -> list[Report]:
        return self._advance(now_ns)

    def restore(self, store: OrderStore) -> list[Report]:
        """Rebuild the book from ``store`` (see Restart in the module docstring).

        Return the cancels of what cannot rest and the answers to the pending
        orders sent again; raise StoreError if the store cannot be read.
        """
        self._trades = max(self._trades, store.highest_trade_number(TRADE_PREFIX))
        self._accepted = max(self._accepted, store.highest_exchange_order_number(ORDER_PREFIX))
        held = {*self._orders, *(cmd.client_order_id for _, _, cmd in self._in_flight)}
        records = [r for r in store.open_orders() if r.client_order_id not in held]
        reports: list[Report] = []
        for record in sorted((r for r in records if r.state in RESTING), key=acceptance):
            reports += self._reinstate(record)
        for record in records:
            if record.state is OrderState.PENDING:
                reports += self._send(record.order)
        return reports

    # --- the clock -------------------------------------------------------------------

    def _send(self, command: NewOrder | CancelOrder) -> list[Report]:
        if not self._config.latency_ns:
            return self._take_effect(command, command.ts)
        self._arrivals += 1
        due = command.ts + self._config.latency_ns
        heapq.heappush(self._in_flight, (due, self._arrivals, command))
        return self._advance(self._clock)

    def _advance(self, ts: int) -> list[Report]:
        self._clock = max(self._clock, ts)
        reports: list[Report] = []
        while self._in_flight and self._in_flight[0][0] <= self._clock:
            due, _, command = heapq.heappop(self._in_flight)
            reports += self._take_effect(command, due)
        return reports

    def _take_effect(self, command: NewOrder | CancelOrder, ts: int) -> list[Report]:
        if isinstance(command, NewOrder):
            return self._activate(command, ts)
        return self._cancel(command, ts)

    # --- orders and cancels taking effect --------------------------------------------

    def _activate(self, order: NewOrder, ts: int) -> list[Report]:
        refusal = self._refusal(order) or self._fok_refusal(order)
        if refusal is not None:
            cid = order.client_order_id
            if cid not in self._orders and self._final.get(cid) is None:
                self._final.add(cid, order.robot, Status.REJECTED)
            return [
                OrderRejected(
                    ts=ts, client_order_id=order.client_order_id, robot=order.robot, reason=refusal
                )
            ]
        self._accepted += 1
        working = WorkingOrder(order, order.qty, priority=self._accepted)
        self._orders[order.client_order_id] = working
        reports: list[Report] = [
            OrderAccepted(
                ts=ts,
                client_order_id=order.client_order_id,
                robot=order.robot,
                exchange_order_id=f"PX{self._accepted}",
            )
        ]
        reports += self._fill_on_arrival(working, ts)
        if working.status is not Status.WORKING:
            return reports
        if order.price is None or order.tif is TimeInForce.IOC:
            self._end(working, Status.CANCELLED)
            reason = MARKET_ORDER_REST if order.price is None else IOC_REST
            reports.append(_cancel_reply(order.client_order_id, order.robot, ts, True, reason))
        else:
            self._rest(working)
        return reports

    def _rest(self, working: WorkingOrder) -> None:
        market = self._markets.get(working.order.symbol)
        if market is None:
            market = self._markets[working.order.symbol] = Market()
        book = market.buys if working.order.side is Side.BUY else market.sells
        bisect.insort(book, working, key=book_key)

    def _reinstate(self, record: OrderRecord) -> list[Report]:
        """Rest an order the store has accepted again, or cancel it if it cannot rest."""
        order = record.order
        priority = order_number(record)
        if not priority:  # not numbered by a paper exchange: behind those that are
            self._accepted += 1
            priority = self._accepted
        working = WorkingOrder(order, record.remaining, priority=priority)
        self._orders[order.client_order_id] = working
        refusal = restore_refusal(order, self._instruments)
        if refusal is None:
            self._rest(working)
            return []
        self._end(working, Status.CANCELLED)
        return [_cancel_reply(order.client_order_id, order.robot, record.updated_ts, True, refusal)]

    def _fok_refusal(self, order: NewOrder) -> str | None:
        if order.tif is not TimeInForce.FOK:
            return None
        available = self._available(order)[1]
        if available < order.qty:
            return f"FOK: only {available} of {order.qty} available"
        return None

    def _fill_on_arrival(self, working: WorkingOrder, ts: int) -> list[Report]:
        """Fill what the current quote's displayed size left lets ``working`` take now."""
        order = working.order
        price, available = self._available(order)
        qty = min(available, order.qty)
        if not qty:
            return []
        market = self._markets[order.symbol]
        if order.side is Side.BUY:
            market.ask_left -= qty
        else:
            market.bid_left -= qty
        return [self._fill(working, price, qty, ts)]

    def _refusal(self, order: NewOrder) -> str | None:
        """Say why the exchange refuses ``order`` as it stands now, or return None."""
        cid = order.client_order_id
        if cid in self._orders or self._final.get(cid) is not None:
            when = "is already working" if cid in self._orders else "was already used"
            return f"client_order_id {cid} {when}: give each order a new id"
        return self._checks_refusal(order)

    def _available(self, order: NewOrder) -> tuple[Decimal, int]:
        """The best opposite price and the displayed size left there that ``order`` reaches."""
        market = self._markets.get(order.symbol)
        if market is None or market.quote is None:
            return Decimal(0), 0
        if order.side is Side.BUY:
            price, left = market.quote.ask, market.ask_left
        else:
            price, left = market.quote.bid, market.bid_left
        return price, (left if reaches(order.side, order.price, price) else 0)

    def _cancel(self, cancel: CancelOrder, ts: int) -> list[Report]:
        cid = cancel.client_order_id
        working = self._orders.get(cid)
        robot, status = (
            (working.order.robot, working.status) if working else self._final.get(cid) or ("", None)
        )
        if status is None:
            refusal = f"order {cid} is not known to this exchange"
        elif robot != cancel.robot:
            refusal = f"order {cid} belongs to another robot: only its own robot may cancel it"
        elif working is None:
            refusal = f"order {cid} is already {status.value}: there is nothing to cancel"
        else:
            self._end(working, Status.CANCELLED)
            market = self._markets[working.order.symbol]
            book = market.buys if working.order.side is Side.BUY else market.sells
            book.remove(working)
            return [_cancel_reply(cid, cancel.robot, ts, True, "")]
        return [_cancel_reply(cid, cancel.robot, ts, False, refusal)]

    # --- the market reaching resting orders ------------------------------------------

    def _on_quote(self, quote: Quote) -> list[Report]:
        market = self._markets.get(quote.symbol)
        if market is None:
            market = self._markets[quote.symbol] = Market()
        market.quote = quote
        if not market.buys and not market.sells:  # nothing rests: the whole size is left
            market.ask_left, market.bid_left = quote.ask_size, quote.bid_size
            return []
        fills, market.ask_left = self._cross(market.buys, quote.ask, quote.ask_size, quote.ts)
        sells, market.bid_left = self._cross(market.sells, quote.bid, quote.bid_size, quote.ts)
        return fills + sells

    def _on_print(self, symbol: str, price: Decimal, qty: int, ts: int) -> list[Report]:
        """A trade of ``qty`` at ``price`` in the market: the resting orders it reaches fill."""
        market = self._markets.get(symbol)
        if market is None:
            return []
        fills = self._cross(market.buys, price, qty, ts)[0]
        return fills + self._cross(market.sells, price, qty, ts)[0]

    def _cross(
        self, book: list[WorkingOrder], price: Decimal, size: int, ts: int
    ) -> tuple[list[Report], int]:
        """Fill the resting orders of ``book`` that ``price`` reaches, at their limits.

        ``size`` is shared in book order; returns the fills and the size left.
        """
        fills: list[Report] = []
        if not book:
            return fills, size
        for working in book:
            limit = working.order.price
            if not size or not reaches(working.order.side, limit, price):
                break  # the book is best first: nothing after this one is reached either
            assert limit is not None  # only limit orders rest
            qty = min(size, working.remaining)
            fills.append(self._fill(working, limit, qty, ts))
            size -= qty
        if fills:  # only a fill ends a resting order here
            book[:] = [working for working in book if working.status is Status.WORKING]
        return fills, size

    def _end(self, working: WorkingOrder, status: Status) -> None:
        """``working`` is final: only its robot and how it ended are kept, and not for ever."""
        working.status = status
        cid = working.order.client_order_id
        del self._orders[cid]
        self._final.add(cid, working.order.robot, status)

    # --- reports ---------------------------------------------------------------------

    def _fill(self, working: WorkingOrder, price: Decimal, qty: int, ts: int) -> Fill:
        self._trades += 1
        working.remaining -= qty
        if not working.remaining:
            self._end(working, Status.FILLED)
        order = working.order
        return Fill(
            ts=ts,
            trade_id=f"P{self._trades}",
            client_order_id=order.client_order_id,
            robot=order.robot,
            symbol=order.symbol,
            side=order.side,
            price=price,
            qty=qty,
            fee=self._config.fee_per_lot * qty,
        )
