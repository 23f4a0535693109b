"""The paper exchange: exact reports for each rule, refusal, latency and restart; invariants."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateways.exchange import ExchangeAdapter
from gateways.paper import PaperConfig, PaperExchange
from gateways.store import OrderState, OrderStore, open_store
from gateways.store.base import Report
from yard_actors.testing import filled, quote, rejected, tick
from yard_actors.wire.events import (
    CancelOrder,
    CancelReply,
    Fill,
    NewOrder,
    OrderAccepted,
    OrderRejected,
    Quote,
    SessionState,
    SessionStatus,
    Side,
    Tick,
    TimeInForce,
)

T0 = 1_000_000_000
BUY, SELL = Side.BUY, Side.SELL
DAY, IOC, FOK = TimeInForce.DAY, TimeInForce.IOC, TimeInForce.FOK


def order(
    cid: str,
    side: Side,
    qty: int,
    price: int | str | None = None,
    *,
    tif: TimeInForce = DAY,
    symbol: str = "Si",
    ts: int = T0,
    robot: str = "r1",
) -> NewOrder:
    return NewOrder(
        ts=ts,
        client_order_id=cid,
        robot=robot,
        symbol=symbol,
        side=side,
        qty=qty,
        price=None if price is None else Decimal(price),
        tif=tif,
    )


def cancel(cid: str, *, ts: int = T0, robot: str = "r1") -> CancelOrder:
    return CancelOrder(ts=ts, client_order_id=cid, robot=robot)


def accepted(new: NewOrder, n: int, *, ts: int | None = None) -> OrderAccepted:
    return OrderAccepted(
        ts=new.ts if ts is None else ts,
        client_order_id=new.client_order_id,
        robot=new.robot,
        exchange_order_id=f"PX{n}",
    )


def fill(new: NewOrder, trade: int, qty: int, price: int | str, *, ts: int, fee: str = "0") -> Fill:
    return filled(new, qty, price, fee=fee, ts=ts, trade_id=f"P{trade}")


def cancel_reply(
    new: NewOrder, *, ts: int | None = None, done: bool = True, reason: str = ""
) -> CancelReply:
    return CancelReply(
        ts=new.ts if ts is None else ts,
        client_order_id=new.client_order_id,
        robot=new.robot,
        cancelled=done,
        reason=reason,
    )


def session(state: SessionState, *, ts: int = T0) -> SessionStatus:
    return SessionStatus(ts=ts, session="FORTS", state=state)


RULES_ONLY = PaperConfig(fee_per_lot=Decimal(0), require_session=False)
"""No fee, no session needed: the matching rules alone, unless a test is about these."""


def paper(**config: Any) -> PaperExchange:
    """A paper exchange on :data:`RULES_ONLY` with ``config`` changed."""
    return PaperExchange(attrs.evolve(RULES_ONLY, **config))


# --- the adapter and its config ------------------------------------------------------


def test_the_paper_exchange_is_an_exchange_adapter() -> None:
    adapter: ExchangeAdapter = PaperExchange()  # the defaults

    assert isinstance(adapter, ExchangeAdapter)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("latency_ns", -1, "latency_ns must be a non-negative integer, was -1"),
        ("latency_ns", 1.5, "latency_ns must be a non-negative integer, was 1.5"),
        ("fee_per_lot", Decimal(-1), r"fee_per_lot must be a non-negative finite Decimal, was "),
        ("fee_per_lot", 0.5, "fee_per_lot must be a non-negative finite Decimal, was 0.5"),
        ("require_session", "yes", "require_session must be True or False, was 'yes'"),
    ],
)
def test_a_bad_config_is_refused_with_its_field_and_value(
    field: str, value: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        PaperConfig(**{field: value})  # type: ignore[arg-type]


def test_the_defaults_are_those_of_yard_run() -> None:
    config = PaperConfig()

    assert (config.latency_ns, config.fee_per_lot, config.require_session) == (
        0,
        Decimal("0.5"),
        True,
    )


@pytest.mark.parametrize(("ms", "ns"), [(0, 0), (0.25, 250_000), (1.1, 1_100_000), (3, 3_000_000)])
def test_a_latency_in_milliseconds_is_converted_to_nanoseconds_and_back(ms: float, ns: int) -> None:
    config = PaperConfig(latency_ns=PaperConfig.ns_from_ms(ms))

    assert config.latency_ns == ns
    assert config.latency_ms == ms


# --- orders that meet the book on arrival ----------------------------------------------


def test_a_limit_buy_through_the_book_fills_at_the_best_ask() -> None:
    exchange = paper()
    exchange.on_market(quote("Si", 90000, 90002, ts=T0 - 5))
    buy = order("b1", BUY, 3, 90005)

    assert exchange.submit(buy) == [accepted(buy, 1), fill(buy, 1, 3, 90002, ts=T0)]


def test_a_limit_sell_through_the_book_fills_at_the_best_bid() -> None:
    exchange = paper()
    exchange.on_market(quote("Si", 90000, 90002, ts=T0 - 5))
    sell = order("s1", SELL, 3, 89990)

    assert exchange.submit(sell) == [accepted(sell, 1), fill(sell, 1, 3, 90000, ts=T0)]


def test_a_buy_bigger_than_the_displayed_ask_fills_that_much_and_rests() -> None:
    exchange = paper()
    exchange.on_market(quote("Si", 90000, 90002, ask_size=2, ts=T0 - 5))
    buy = order("b1", BUY, 5, 90002)

    assert exchange.submit(buy) == [accepted(buy, 1), fill(buy, 1, 2, 90002, ts=T0)]
    assert exchange.cancel(cancel("b1", ts=T0 + 1)) == [cancel_reply(buy, ts=T0 + 1)]
    assert exchange.on_market(quote("Si", 89990, 89995, ts=T0 + 2)) == []


def test_orders_arriving_on_one_quote_share_its_displayed_size() -> None:
    exchange = paper()
    exchange.on_market(quote("Si", 90000, 90002, bid_size=1, ask_size=3, ts=T0 - 5))
    buys = [order("b1", BUY, 2, 90002), order("b2", BUY, 2, 90003), order("b3", BUY, 1)]
    sells = [order("s1", SELL, 1, 90000), order("s2", SELL, 1, 90000)]

    assert [exchange.submit(new) for new in buys + sells] == [
        [accepted(buys[0], 1), fill(buys[0], 1, 2, 90002, ts=T0)],
        [accepted(buys[1], 2), fill(buys[1], 2, 1, 90002, ts=T0)],
        [accepted(buys[2], 3), cancel_reply(buys[2], reason="market order: no more liquidity")],
        [accepted(sells[0], 4), fill(sells[0], 3, 1, 90000, ts=T0)],
        [accepted(sells[1], 5)],
    ]


def test_a_market_buy_takes_the_best_ask_and_its_rest_is_cancelled() -> None:
    exchange = paper()
    exchange.on_market(quote("Si", 90000, 90002, ask_size=3, ts=T0 - 5))
    buy = order("b1", BUY, 5)

    assert exchange.submit(buy) == [
        accepted(buy, 1),
        fill(buy, 1, 3, 90002, ts=T0),
        cancel_reply(buy, reason="market order: no more liquidity"),
    ]
    assert exchange.on_market(quote("Si", 90000, 90002, ts=T0 + 1)) == []


def test_a_market_sell_takes_the_best_bid_and_its_rest_is_cancelled() -> None:
    exchange = paper()
    exchange.on_market(quote("Si", 90000, 90002, bid_size=1, ts=T0 - 5))
    sell = order("s1", SELL, 4, tif=TimeInForce.GTC)

    assert exchange.submit(sell) == [
        accepted(sell, 1),
        fill(sell, 1, 1, 90000, ts=T0),
        cancel_reply(sell, reason="market order: no more liquidity"),
    ]


def test_a_market_order_with_no_quote_yet_is_accepted_and_cancelled() -> None:
    exchange = paper()
    buy = order("b1", BUY, 1)

    assert exchange.submit(buy) == [
        accepted(buy, 1),
        cancel_reply(buy, reason="market order: no more liquidity"),
    ]


def test_ioc_fills_what_is_there_and_cancels_the_rest() -> None:
    exchange = paper()
    exchange.on_market(quote("Si", 90000, 90002, ask_size=2, ts=T0 - 5))
    buy = order("b1", BUY, 5, 90003, tif=IOC)
    away = order("b2", BUY, 1, 90001, tif=IOC)
    rest = "IOC: no more liquidity at the limit price"

    assert exchange.submit(buy) == [
        accepted(buy, 1),
        fill(buy, 1, 2, 90002, ts=T0),
        cancel_reply(buy, reason=rest),
    ]
    assert exchange.submit(away) == [accepted(away, 2), cancel_reply(away, reason=rest)]


def test_fok_fills_all_at_once_or_is_rejected() -> None:
    exchange = paper()
    exchange.on_market(quote("Si", 90000, 90002, bid_size=3, ask_size=3, ts=T0 - 5))
    whole = order("s1", SELL, 3, 90000, tif=FOK)
    too_big = order("b1", BUY, 5, 90002, tif=FOK)
    away = order("b2", BUY, 1, 90001, tif=FOK)

    assert exchange.submit(whole) == [accepted(whole, 1), fill(whole, 1, 3, 90000, ts=T0)]
    assert exchange.submit(too_big) == [rejected(too_big, "FOK: only 3 of 5 available")]
    assert exchange.submit(away) == [rejected(away, "FOK: only 0 of 1 available")]
    assert exchange.on_market(quote("Si", 89990, 89995, ts=T0 + 1)) == []


# --- resting orders the market reaches later -----------------------------------------------


@pytest.mark.parametrize("ask", [90002, 90001])
def test_a_resting_buy_fills_at_its_limit_when_the_ask_comes_down_to_it(ask: int) -> None:
    exchange = paper()
    exchange.on_market(quote("Si", 90000, 90005, ts=T0 - 5))
    buy = order("b1", BUY, 2, 90002)
    assert exchange.submit(buy) == [accepted(buy, 1)]

    reports = exchange.on_market(quote("Si", 89999, ask, ts=T0 + 7))

    assert reports == [fill(buy, 1, 2, 90002, ts=T0 + 7)]


@pytest.mark.parametrize("bid", [90003, 90004])
def test_a_resting_sell_fills_at_its_limit_when_the_bid_comes_up_to_it(bid: int) -> None:
    exchange = paper()
    exchange.on_market(quote("Si", 90000, 90005, ts=T0 - 5))
    sell = order("s1", SELL, 2, 90003)
    assert exchange.submit(sell) == [accepted(sell, 1)]

    reports = exchange.on_market(quote("Si", bid, 90006, ts=T0 + 7))

    assert reports == [fill(sell, 1, 2, 90003, ts=T0 + 7)]


def test_two_resting_orders_at_one_price_share_a_quote_in_time_priority() -> None:
    exchange = paper()
    exchange.on_market(quote("Si", 90000, 90005, ts=T0 - 5))
    first, second = order("b1", BUY, 3, 90002), order("b2", BUY, 3, 90002, ts=T0 + 1)
    exchange.submit(first)
    exchange.submit(second)

    crossed = exchange.on_market(quote("Si", 90000, 90002, ask_size=4, ts=T0 + 10))
    late = order("b3", BUY, 1, 90002, ts=T0 + 11)
    on_arrival = exchange.submit(late)
    refreshed = exchange.on_market(quote("Si", 90000, 90002, ask_size=10, ts=T0 + 20))

    assert crossed == [fill(first, 1, 3, 90002, ts=T0 + 10), fill(second, 2, 1, 90002, ts=T0 + 10)]
    assert on_arrival == [accepted(late, 3)]  # the quote's size is used up: no double fill
    assert refreshed == [fill(second, 3, 2, 90002, ts=T0 + 20), fill(late, 4, 1, 90002, ts=T0 + 20)]


def test_a_better_priced_resting_order_fills_before_an_older_one() -> None:
    exchange = paper()
    exchange.on_market(quote("Si", 90000, 90010, ts=T0 - 5))
    older, better = order("s1", SELL, 2, 90006), order("s2", SELL, 2, 90005, ts=T0 + 1)
    exchange.submit(older)
    exchange.submit(better)

    reports = exchange.on_market(quote("Si", 90006, 90010, bid_size=3, ts=T0 + 10))

    assert reports == [fill(better, 1, 2, 90005, ts=T0 + 10), fill(older, 2, 1, 90006, ts=T0 + 10)]


def test_a_trade_print_fills_a_resting_buy_at_its_limit_capped_by_the_print() -> None:
    exchange = paper()
    exchange.on_market(quote("Si", 90000, 90005, ts=T0 - 5))
    buy = order("b1", BUY, 5, 90002)
    exchange.submit(buy)

    above = exchange.on_market(tick("Si", 90003, 9, ts=T0 + 1))
    through = exchange.on_market(tick("Si", 90001, 2, aggressor=SELL, ts=T0 + 2))

    assert above == []
    assert through == [fill(buy, 1, 2, 90002, ts=T0 + 2)]


def test_a_trade_print_fills_a_resting_sell_at_its_limit_capped_by_the_print() -> None:
    exchange = paper()
    exchange.on_market(quote("Si", 90000, 90005, ts=T0 - 5))
    sell, other = order("s1", SELL, 2, 90003), order("s2", SELL, 2, 90003, ts=T0 + 1)
    exchange.submit(sell)
    exchange.submit(other)

    reports = exchange.on_market(tick("Si", 90003, 3, ts=T0 + 2))

    assert reports == [fill(sell, 1, 2, 90003, ts=T0 + 2), fill(other, 2, 1, 90003, ts=T0 + 2)]


def test_each_fill_pays_the_fee_per_lot() -> None:
    exchange = paper(fee_per_lot=Decimal("0.5"))
    exchange.on_market(quote("RTS", 150000, 150010, ts=T0 - 5))
    buy = order("b1", BUY, 3, 150010, symbol="RTS")

    assert exchange.submit(buy) == [
        accepted(buy, 1),
        fill(buy, 1, 3, 150010, ts=T0, fee="1.5"),
    ]


# --- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "reason"),
    [
        (order("x", BUY, 1, 100, symbol="NG"), "symbol NG is not listed on this exchange"),
        (order("x", BUY, 1, "90000.5"), "price 90000.5 is off the Si tick grid of 1"),
        (order("x", SELL, 1, 150005, symbol="RTS"), "price 150005 is off the RTS tick grid of 10"),
    ],
)
def test_an_order_the_exchange_cannot_trade_is_rejected_with_the_reason(
    new: NewOrder, reason: str
) -> None:
    assert paper().submit(new) == [rejected(new, reason)]


def test_an_order_with_no_positive_qty_is_rejected_even_if_it_was_built() -> None:
    with attrs.validators.disabled():  # as a message built around the validators would be
        new = order("x", BUY, 0, 90000)

    assert paper().submit(new) == [rejected(new, "qty must be positive, was 0")]


def test_orders_are_refused_while_the_session_is_not_open() -> None:
    exchange = paper()
    exchange.on_market(session(SessionState.CLEARING, ts=T0 - 5))
    during, after = order("b1", BUY, 1, 90000), order("b2", BUY, 1, 90000, ts=T0 + 10)

    assert exchange.submit(during) == [
        rejected(during, "session FORTS is clearing: orders are refused")
    ]
    exchange.on_market(session(SessionState.OPEN, ts=T0 + 5))
    assert exchange.submit(after) == [accepted(after, 1)]


def test_by_default_orders_are_refused_until_a_session_opens() -> None:
    exchange = PaperExchange()
    early, later = order("b1", BUY, 1, 90000), order("b2", BUY, 1, 90000, ts=T0 + 10)

    assert exchange.submit(early) == [
        rejected(early, "no trading session has opened yet: orders are refused until one does")
    ]
    exchange.on_market(session(SessionState.OPEN, ts=T0 + 5))
    assert exchange.submit(later) == [accepted(later, 1)]


def test_a_client_order_id_in_use_is_rejected() -> None:
    exchange = paper()
    exchange.on_market(quote("Si", 90000, 90002, ts=T0 - 5))
    resting, done = order("b1", BUY, 1, 89000), order("b2", BUY, 1, 90002)
    exchange.submit(resting)
    exchange.submit(done)
    again_resting = order("b1", SELL, 1, 91000, ts=T0 + 1)
    again_done = order("b2", SELL, 1, 91000, ts=T0 + 1)

    assert exchange.submit(again_resting) == [
        rejected(again_resting, "client_order_id b1 is already working: give each order a new id")
    ]
    assert exchange.submit(again_done) == [
        rejected(again_done, "client_order_id b2 was already used: give each order a new id")
    ]
    assert exchange.cancel(cancel("b1", ts=T0 + 2)) == [cancel_reply(resting, ts=T0 + 2)]


def test_a_cancel_of_an_unknown_or_finished_order_is_refused_with_the_reason() -> None:
    exchange = paper()
    exchange.on_market(quote("Si", 90000, 90002, ts=T0 - 5))
    done, working = order("b1", BUY, 1, 90002), order("b2", BUY, 1, 89000)
    exchange.submit(done)
    exchange.submit(working)

    unknown = exchange.cancel(cancel("ghost", ts=T0 + 1))
    finished = exchange.cancel(cancel("b1", ts=T0 + 1))
    not_its_own = exchange.cancel(cancel("b2", ts=T0 + 1, robot="r2"))
    twice = [exchange.cancel(cancel("b2", ts=T0 + 2)), exchange.cancel(cancel("b2", ts=T0 + 3))]

    assert unknown == [
        CancelReply(
            ts=T0 + 1,
            client_order_id="ghost",
            robot="r1",
            cancelled=False,
            reason="order ghost is not known to this exchange",
        )
    ]
    assert finished == [
        cancel_reply(
            done,
            ts=T0 + 1,
            done=False,
            reason="order b1 is already filled: there is nothing to cancel",
        )
    ]
    assert not_its_own == [
        CancelReply(
            ts=T0 + 1,
            client_order_id="b2",
            robot="r2",
            cancelled=False,
            reason="order b2 belongs to another robot: only its own robot may cancel it",
        )
    ]
    assert twice == [
        [cancel_reply(working, ts=T0 + 2)],
        [
            cancel_reply(
                working,
                ts=T0 + 3,
                done=False,
                reason="order b2 is already cancelled: there is nothing to cancel",
            )
        ],
    ]


# --- latency -----------------------------------------------------------------------------


def test_with_latency_an_order_takes_effect_only_when_market_time_reaches_it() -> None:
    exchange = paper(latency_ns=1_000)
    exchange.on_market(quote("Si", 90000, 90002, ts=T0))
    buy = order("b1", BUY, 2, 90002, ts=T0 + 10)

    assert exchange.submit(buy) == []
    assert exchange.on_market(quote("Si", 90000, 90002, ts=T0 + 500)) == []
    assert exchange.poll(T0 + 1_009) == []
    assert exchange.poll(T0 + 1_010) == [
        accepted(buy, 1, ts=T0 + 1_010),
        fill(buy, 1, 2, 90002, ts=T0 + 1_010),
    ]
    assert exchange.poll(T0 + 5_000) == []


def test_with_latency_an_order_meets_the_book_as_it_stood_when_it_arrived() -> None:
    exchange = paper(latency_ns=1_000)
    exchange.on_market(quote("Si", 90000, 90002, ask_size=1, ts=T0))
    buy = order("b1", BUY, 3, 90002, ts=T0 + 10)
    exchange.submit(buy)

    reports = exchange.on_market(quote("Si", 89995, 89997, ts=T0 + 2_000))

    assert reports == [
        accepted(buy, 1, ts=T0 + 1_010),  # against the old quote first: 1 lot at its ask
        fill(buy, 1, 1, 90002, ts=T0 + 1_010),
        fill(buy, 2, 2, 90002, ts=T0 + 2_000),  # then the new quote reaches the rest
    ]


def test_with_latency_a_cancel_takes_effect_in_its_turn() -> None:
    exchange = paper(latency_ns=100)
    exchange.on_market(quote("Si", 90000, 90010, ts=T0))
    buy = order("b1", BUY, 2, 90002, ts=T0 + 1)
    exchange.submit(buy)
    assert exchange.cancel(cancel("b1", ts=T0 + 50)) == []

    reports = exchange.on_market(quote("Si", 90000, 90001, ts=T0 + 150))

    assert reports == [accepted(buy, 1, ts=T0 + 101), cancel_reply(buy, ts=T0 + 150)]


def test_with_latency_a_command_already_due_takes_effect_at_once() -> None:
    exchange = paper(latency_ns=100)
    exchange.on_market(quote("Si", 90000, 90002, ts=T0 + 1_000))
    stale = order("b1", BUY, 1, 90002, ts=T0)

    assert exchange.submit(stale) == [
        accepted(stale, 1, ts=T0 + 100),
        fill(stale, 1, 1, 90002, ts=T0 + 100),
    ]


# --- determinism and invariants ------------------------------------------------------------


def _script(exchange: PaperExchange) -> list[Report]:
    reports: list[Report] = []
    reports += exchange.on_market(quote("Si", 90000, 90002, ask_size=2, ts=T0))
    for n in range(4):
        reports += exchange.submit(order(f"b{n}", BUY, 3, 90001 + n, ts=T0 + n))
        reports += exchange.submit(order(f"s{n}", SELL, 2, 89999 + n, ts=T0 + n))
    reports += exchange.cancel(cancel("b1", ts=T0 + 10))
    reports += exchange.on_market(tick("Si", 90001, 4, ts=T0 + 20))
    reports += exchange.on_market(quote("Si", 90004, 90005, ts=T0 + 30))
    reports += exchange.poll(T0 + 10_000)
    return reports


@pytest.mark.parametrize("latency_ns", [0, 5])
def test_the_same_calls_give_the_same_reports(latency_ns: int) -> None:
    config = attrs.evolve(RULES_ONLY, latency_ns=latency_ns, fee_per_lot=Decimal("0.25"))

    first = _script(PaperExchange(config))
    second = _script(PaperExchange(config))

    assert first == second
    assert any(type(report) is Fill for report in first)


@attrs.frozen
class _Cancel:
    pick: int  # 0: the order sent last, 1: the one before... ; GHOST: an id never sent


GHOST = 7


@attrs.frozen
class _Poll:
    after_ns: int


_Step = Quote | Tick | SessionStatus | NewOrder | _Cancel | _Poll
_prices = st.integers(min_value=96, max_value=104)
_quotes = st.builds(
    lambda bid, spread, bid_size, ask_size: quote(
        "Si", bid, bid + spread, bid_size=bid_size, ask_size=ask_size, ts=0
    ),
    _prices,
    st.integers(1, 3),
    st.integers(0, 4),
    st.integers(0, 4),
)
_orders = st.builds(
    lambda side, qty, price, tif: order("o", side, qty, price, tif=tif, ts=0),
    st.sampled_from(Side),
    st.integers(1, 5),
    st.none() | _prices,
    st.sampled_from(TimeInForce),
)
_states = st.sampled_from([SessionState.OPEN] * 3 + list(SessionState))
_steps: st.SearchStrategy[_Step] = st.one_of(  # quotes and orders drawn twice as often
    _quotes,
    _quotes,
    _orders,
    _orders,
    st.builds(lambda price, qty: tick("Si", price, qty, ts=0), _prices, st.integers(1, 4)),
    st.builds(_Cancel, st.integers(0, GHOST)),
    st.builds(_Poll, st.integers(0, 30)),
    st.builds(lambda state: session(state, ts=0), _states),
)


def _run(latency_ns: int, steps: list[_Step]) -> tuple[list[Report], dict[str, NewOrder]]:
    """Play ``steps`` ten nanoseconds apart, then let everything in flight arrive."""
    exchange = paper(latency_ns=latency_ns)
    reports: list[Report] = []
    sent: dict[str, NewOrder] = {}
    for n, step in enumerate(steps):
        ts = T0 + 10 * n
        if isinstance(step, NewOrder):
            new = attrs.evolve(step, ts=ts, client_order_id=f"o{n}")
            sent[new.client_order_id] = new
            reports += exchange.submit(new)
        elif isinstance(step, _Cancel):
            ids = list(sent)
            target = ids[-1 - step.pick % len(ids)] if ids and step.pick != GHOST else "ghost"
            reports += exchange.cancel(cancel(target, ts=ts))
        elif isinstance(step, _Poll):
            reports += exchange.poll(ts + step.after_ns)
        else:
            reports += exchange.on_market(attrs.evolve(step, ts=ts))
    reports += exchange.poll(T0 + 10 * len(steps) + latency_ns)
    return reports, sent


def _within_limit(report: Fill, limit: Decimal | None) -> bool:
    if limit is None:
        return True
    return report.price <= limit if report.side is BUY else report.price >= limit


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([0, 5, 25]), st.lists(_steps, min_size=10, max_size=60))
def test_random_sessions_keep_the_invariants(latency_ns: int, steps: list[_Step]) -> None:
    reports, sent = _run(latency_ns, steps)

    assert _run(latency_ns, steps)[0] == reports  # deterministic
    trade_ids = [report.trade_id for report in reports if type(report) is Fill]
    assert len(trade_ids) == len(set(trade_ids))
    answered: Counter[str] = Counter()
    filled_qty: Counter[str] = Counter()
    final: set[str] = set()
    for report in reports:
        cid = report.client_order_id
        assert cid in sent or cid == "ghost"
        if type(report) is CancelReply and not report.cancelled:
            continue  # a refused cancel may come at any time
        assert cid not in final, f"{report} came after {cid} was final"
        if type(report) in (OrderAccepted, OrderRejected):
            answered[cid] += 1
        else:
            assert answered[cid] == 1, f"{report} came before {cid} was accepted"
        if type(report) is Fill:
            filled_qty[cid] += report.qty
            assert filled_qty[cid] <= sent[cid].qty
            assert _within_limit(report, sent[cid].price)
        if type(report) in (OrderRejected, CancelReply) or filled_qty[cid] == sent[cid].qty:
            final.add(cid)
    assert all(answered[cid] == 1 for cid in sent)  # every order answered, once


# --- restart: the book rebuilt from the order store ------------------------------------------


@pytest.fixture
def store() -> Iterator[OrderStore]:
    with open_store("sqlite:///:memory:") as opened:
        yield opened


class Stored:
    """A paper exchange with its store, written as the order gateway writes it: store first."""

    def __init__(self, exchange: PaperExchange, store: OrderStore) -> None:
        self.exchange = exchange
        self.store = store

    def submit(self, new: NewOrder) -> list[Report]:
        assert self.store.add_pending(new)
        return self._recorded(self.exchange.submit(new))

    def cancel(self, command: CancelOrder) -> list[Report]:
        return self._recorded(self.exchange.cancel(command))

    def on_market(self, event: Quote | Tick | SessionStatus) -> list[Report]:
        return self._recorded(self.exchange.on_market(event))

    def poll(self, now_ns: int) -> list[Report]:
        return self._recorded(self.exchange.poll(now_ns))

    def _recorded(self, reports: list[Report]) -> list[Report]:
        for report in reports:
            cid, ts = report.client_order_id, report.ts
            if isinstance(report, Fill):
                assert self.store.apply_fill(report) is not None
            elif isinstance(report, OrderAccepted):
                eid = report.exchange_order_id
                self.store.transition(cid, OrderState.ACCEPTED, ts=ts, exchange_order_id=eid)
            elif isinstance(report, OrderRejected):
                self.store.transition(cid, OrderState.REJECTED, ts=ts, reason=report.reason)
            elif report.cancelled:
                self.store.transition(cid, OrderState.CANCELLED, ts=ts, reason=report.reason)
        return reports


def stored_as_accepted(store: OrderStore, new: NewOrder, exchange_order_id: str) -> NewOrder:
    """Write ``new`` to ``store`` as accepted, as a gateway of an earlier run did."""
    assert store.add_pending(new)
    cid = new.client_order_id
    store.transition(cid, OrderState.ACCEPTED, ts=new.ts + 1, exchange_order_id=exchange_order_id)
    return new


def test_a_restored_exchange_rests_what_each_order_has_left_in_its_time_priority(
    store: OrderStore,
) -> None:
    before = Stored(paper(), store)
    before.on_market(quote("Si", 89990, 90010, ts=T0))
    first = order("b1", BUY, 5, 89995, ts=T0 + 2)  # accepted first (PX1), though sent later
    second = order("b2", BUY, 3, 89995, ts=T0 + 1)
    before.submit(first)
    before.submit(second)
    before.on_market(tick("Si", 89995, 2, ts=T0 + 3))  # b1: 2 filled (P1), 3 left
    after = paper()

    restored = after.restore(store)
    reports = after.on_market(quote("Si", 89990, 89995, ask_size=4, ts=T0 + 10))

    assert restored == []
    assert reports == [fill(first, 2, 3, 89995, ts=T0 + 10), fill(second, 3, 1, 89995, ts=T0 + 10)]


def test_a_cancel_of_an_order_resting_before_a_restart_is_confirmed_after_it(
    store: OrderStore,
) -> None:
    before = Stored(paper(), store)
    resting = order("b1", BUY, 1, 89000)
    before.submit(resting)
    after = paper()
    after.restore(store)

    assert after.cancel(cancel("b1", ts=T0 + 5)) == [cancel_reply(resting, ts=T0 + 5)]
    assert after.on_market(quote("Si", 88000, 88500, ts=T0 + 6)) == []


def test_a_restored_exchange_numbers_orders_and_fills_after_the_highest_in_the_store(
    store: OrderStore,
) -> None:
    done = stored_as_accepted(store, order("b1", BUY, 2, 90000), "PX7")
    store.apply_fill(filled(done, 2, trade_id="P12"))  # final now: not restored, but counted
    after = paper()
    after.restore(store)
    after.on_market(quote("Si", 90000, 90002, ts=T0 + 5))
    buy = order("b2", BUY, 1, 90002, ts=T0 + 6)

    assert after.submit(buy) == [accepted(buy, 8), fill(buy, 13, 1, 90002, ts=T0 + 6)]


def test_a_new_exchange_on_an_empty_store_numbers_from_one_as_before(store: OrderStore) -> None:
    exchange = paper()
    exchange.restore(store)
    exchange.on_market(quote("Si", 90000, 90002, ts=T0 - 5))
    buy = order("b1", BUY, 1, 90002)

    assert exchange.submit(buy) == [accepted(buy, 1), fill(buy, 1, 1, 90002, ts=T0)]


@pytest.mark.parametrize(
    ("new", "reason"),
    [
        (order("m1", BUY, 2), "market order: no more liquidity"),
        (order("i1", BUY, 2, 90000, tif=IOC), "IOC: no more liquidity at the limit price"),
        (
            order("f1", BUY, 2, 90000, tif=FOK),
            "FOK: not filled in full when the paper exchange stopped",
        ),
        (
            order("u1", BUY, 2, 100, symbol="NOPE"),
            "symbol NOPE is no longer listed on this exchange: it cannot rest",
        ),
        (
            order("g1", BUY, 2, "90000.5"),
            "price 90000.5 is off the Si tick grid of 1: it cannot rest any more",
        ),
    ],
    ids=["market", "ioc", "fok", "unlisted", "off-grid"],
)
def test_what_cannot_rest_after_a_restart_is_cancelled_with_the_reason(
    store: OrderStore, new: NewOrder, reason: str
) -> None:
    stored_as_accepted(store, new, "PX1")
    after = paper()

    restored = after.restore(store)
    cancel_again = after.cancel(cancel(new.client_order_id, ts=T0 + 2))

    assert restored == [cancel_reply(new, ts=T0 + 1, reason=reason)]
    nothing_left = f"order {new.client_order_id} is already cancelled: there is nothing to cancel"
    assert cancel_again == [cancel_reply(new, ts=T0 + 2, done=False, reason=nothing_left)]


def test_a_day_order_from_an_earlier_session_rests_again(store: OrderStore) -> None:
    day_order = stored_as_accepted(store, order("d1", SELL, 1, 90010, ts=T0), "PX1")
    next_day = T0 + 86_400_000_000_000
    after = paper()

    assert after.restore(store) == []
    assert after.on_market(quote("Si", 90010, 90012, ts=next_day)) == [
        fill(day_order, 1, 1, 90010, ts=next_day)
    ]


@pytest.mark.parametrize("latency_ns", [0, 1_000])
def test_a_pending_order_is_sent_again_at_its_own_time(store: OrderStore, latency_ns: int) -> None:
    pending = order("b1", BUY, 1, 89000)
    assert store.add_pending(pending)
    after = paper(latency_ns=latency_ns)

    restored = after.restore(store)
    arrived = after.poll(T0 + latency_ns)
    cancelled = after.cancel(cancel("b1", ts=T0 + latency_ns)) + after.poll(T0 + 2 * latency_ns)

    assert restored + arrived == [accepted(pending, 1, ts=T0 + latency_ns)]
    assert cancelled == [cancel_reply(pending, ts=T0 + 2 * latency_ns)]


def test_a_new_order_is_left_alone_and_a_second_restore_takes_up_nothing_twice(
    store: OrderStore,
) -> None:
    never_sent = order("n1", BUY, 1, 90002)
    assert store.add_order(never_sent)
    resting = stored_as_accepted(store, order("b1", BUY, 2, 90000), "PX1")
    pending = order("b2", BUY, 1, 89000, ts=T0 + 1)
    assert store.add_pending(pending)
    after = paper(latency_ns=1_000)

    first, second = after.restore(store), after.restore(store)
    reports = after.on_market(quote("Si", 89990, 90000, ask_size=5, ts=T0 + 1_001))

    assert first == second == []
    assert reports == [
        accepted(pending, 2, ts=T0 + 1_001),
        fill(resting, 1, 2, 90000, ts=T0 + 1_001),
    ]


def _normalised(reports: list[Report]) -> list[Report]:
    # A cancel is refused either way; the restored exchange knows no final order, so
    # it says "not known" where the one that never stopped says "already filled".
    return [
        attrs.evolve(report, reason="")
        if type(report) is CancelReply and not report.cancelled
        else report
        for report in reports
    ]


def _play(
    exchange: Stored | PaperExchange, steps: list[_Step], first_ts: int, sent: list[str]
) -> list[Report]:
    """Play ``steps`` ten nanoseconds apart from ``first_ts``; ``sent`` gathers the order ids."""
    reports: list[Report] = []
    for n, step in enumerate(steps):
        ts = first_ts + 10 * n
        if isinstance(step, NewOrder):
            sent.append(f"o{len(sent)}")
            reports += exchange.submit(attrs.evolve(step, ts=ts, client_order_id=sent[-1]))
        elif isinstance(step, _Cancel):
            target = sent[-1 - step.pick % len(sent)] if sent and step.pick != GHOST else "ghost"
            reports += exchange.cancel(cancel(target, ts=ts))
        elif isinstance(step, _Poll):
            reports += exchange.poll(ts + step.after_ns)
        else:
            reports += exchange.on_market(attrs.evolve(step, ts=ts))
    return reports


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from([0, 5, 25]),
    st.lists(_steps, min_size=5, max_size=40),
    _quotes,
    st.lists(_steps, min_size=5, max_size=40),
)
def test_a_restored_exchange_answers_as_one_that_never_stopped(
    latency_ns: int, before: list[_Step], first_quote: Quote, after: list[_Step]
) -> None:
    sent: list[str] = []
    with open_store("sqlite:///:memory:") as store:
        going_on = PaperExchange(attrs.evolve(RULES_ONLY, latency_ns=latency_ns))
        _play(Stored(going_on, store), before, T0, sent)
        end = T0 + 10 * len(before) + latency_ns
        _play(Stored(going_on, store), [_Poll(0)], end, sent)  # a cancel in flight is not stored
        restarted = Stored(paper(latency_ns=latency_ns), store)
        assert restarted.exchange.restore(store) == []
        # Not restored: the session and the market, which the feed brings again.
        market: list[_Step] = [session(SessionState.OPEN), first_quote]
        expected = _play(going_on, [*market, *after], end + 10, sent[:])
        got = _play(restarted, [*market, *after], end + 10, sent[:])

    assert _normalised(got) == _normalised(expected)
