"""A resumed run publishes the market from where the run stopped, its sessions' states first."""

from __future__ import annotations

from decimal import Decimal

from gateways.publisher import Published
from yard_actors.app.running_system import after
from yard_actors.wire.events import Quote, SessionState, SessionStatus


def quote(ts: int) -> Quote:
    return Quote(
        ts=ts, symbol="Si", bid=Decimal(90_000), ask=Decimal(90_001), bid_size=1, ask_size=1
    )


def status(ts: int, state: SessionState) -> SessionStatus:
    return SessionStatus(ts=ts, session="FORTS", state=state)


def test_the_market_after_the_resume_point_leads_with_each_sessions_last_status() -> None:
    market: list[Published] = [
        status(1, SessionState.OPEN),
        quote(2),
        status(3, SessionState.CLOSED),
        status(4, SessionState.OPEN),
        quote(5),
        quote(6),
        quote(7),
    ]
    assert after(market, 5) == [status(4, SessionState.OPEN), quote(6), quote(7)]
    assert after(market, 0) == market
    assert after(market, 7) == [status(4, SessionState.OPEN)]
    assert after([], 5) == []
