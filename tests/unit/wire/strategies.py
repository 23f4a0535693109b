"""Hypothesis strategies for the wire tests: every event type, and arbitrary JSON values.

Events are built from valid values only, as the validators in events.py require;
``json_values`` are what a mutated payload may carry instead (decimal look-alikes too).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from yard_actors.wire import events as ev

__all__ = ["EVENTS", "any_event", "json_values"]

_text = st.text(st.characters(codec="utf-8"), max_size=200)
_names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=128)
_ts = st.integers(min_value=0, max_value=2**63 - 1)
_sizes = st.integers(min_value=0, max_value=2**63 - 1)
_qtys = st.integers(min_value=1, max_value=2**63 - 1)


def _decimals(min_coefficient: int = -(10**18)) -> st.SearchStrategy[Decimal]:
    # Up to 19 digits scaled by 1e-10..1e+10: the leading digit stays within the wire's 1e+-28.
    return st.builds(
        lambda coefficient, exponent: Decimal(f"{coefficient}E{exponent}"),
        st.integers(min_value=min_coefficient, max_value=10**18),
        st.integers(min_value=-10, max_value=10),
    )


@st.composite
def _bars(draw: st.DrawFn) -> ev.Bar:
    # Four prices sorted: the lowest is the low, the highest the high, the two between
    # the open and the close in either order; a period that begins after the epoch.
    low, first, second, high = sorted(draw(st.lists(_decimals(), min_size=4, max_size=4)))
    period = draw(st.integers(min_value=1, max_value=2**63 - 1))
    return ev.Bar(
        ts=draw(st.integers(min_value=period - 1, max_value=2**63 - 1)),
        symbol=draw(_names),
        open=first if draw(st.booleans()) else second,
        high=high,
        low=low,
        close=second if draw(st.booleans()) else first,
        volume=draw(_sizes),
        period_ns=period,
    )


_params = st.dictionaries(
    st.text(st.characters(codec="utf-8"), max_size=20),
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8"), max_size=20),
    max_size=5,
)

EVENTS: dict[type, st.SearchStrategy[Any]] = {
    ev.Quote: st.builds(
        ev.Quote,
        ts=_ts,
        symbol=_names,
        bid=_decimals(),
        ask=_decimals(),
        bid_size=_sizes,
        ask_size=_sizes,
    ),
    ev.Tick: st.builds(
        ev.Tick,
        ts=_ts,
        symbol=_names,
        price=_decimals(),
        qty=_qtys,
        aggressor=st.sampled_from(ev.Side),
    ),
    ev.Bar: _bars(),
    ev.NewOrder: st.builds(
        ev.NewOrder,
        ts=_ts,
        client_order_id=_names,
        robot=_names,
        symbol=_names,
        side=st.sampled_from(ev.Side),
        qty=_qtys,
        price=st.none() | _decimals(),
        tif=st.sampled_from(ev.TimeInForce),
    ),
    ev.CancelOrder: st.builds(ev.CancelOrder, ts=_ts, client_order_id=_names, robot=_names),
    ev.OrderAccepted: st.builds(
        ev.OrderAccepted, ts=_ts, client_order_id=_names, robot=_names, exchange_order_id=_text
    ),
    ev.OrderRejected: st.builds(
        ev.OrderRejected, ts=_ts, client_order_id=_names, robot=_names, reason=_text
    ),
    ev.CancelReply: st.builds(
        ev.CancelReply,
        ts=_ts,
        client_order_id=_names,
        robot=_names,
        cancelled=st.booleans(),
        reason=_text,
    ),
    ev.Fill: st.builds(
        ev.Fill,
        ts=_ts,
        trade_id=_names,
        client_order_id=_names,
        robot=_names,
        symbol=_names,
        side=st.sampled_from(ev.Side),
        price=_decimals(),
        qty=_qtys,
        fee=_decimals(0),
    ),
    ev.Timer: st.builds(ev.Timer, ts=_ts, robot=_names, name=_names),
    ev.Control: st.builds(
        ev.Control, ts=_ts, robot=_names, action=st.sampled_from(ev.ControlAction), params=_params
    ),
    ev.SessionStatus: st.builds(
        ev.SessionStatus, ts=_ts, session=_names, state=st.sampled_from(ev.SessionState)
    ),
    ev.SystemStatus: st.builds(
        ev.SystemStatus, ts=_ts, component=_names, status=_names, detail=_text
    ),
}
any_event = st.one_of(*EVENTS.values())

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
    | st.sampled_from(["NaN", "-inf", "Infinity", "1e999999", "sNaN", "1_0", " 1", "", "buy"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
