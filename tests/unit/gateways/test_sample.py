"""The bundled sample day: deterministic, on the grid, inside sessions, busy enough."""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter
from datetime import date

import pytest

from gateways.sample import SAMPLE_DATE, sample_session
from gateways.sessions import FORTS, with_sessions
from yard_actors.errors import ConfigError
from yard_actors.wire.events import MarketEvent, Quote, SessionState, SessionStatus, Tick

MINUTE = 60 * 10**9


@pytest.fixture(scope="module")
def day() -> list[MarketEvent]:
    return list(sample_session())


def test_the_same_seed_gives_the_same_day_and_another_seed_another() -> None:
    first = list(sample_session(seed=11, density=0.05))
    again = list(sample_session(seed=11, density=0.05))
    other = list(sample_session(seed=12, density=0.05))

    assert first == again
    assert first != other


def test_the_default_day_has_between_100k_and_200k_events(day: list[MarketEvent]) -> None:
    kinds = Counter((type(event).__name__, event.symbol) for event in day)

    assert 100_000 <= len(day) <= 200_000
    assert set(kinds) == {("Quote", "Si"), ("Quote", "RTS"), ("Tick", "Si"), ("Tick", "RTS")}
    assert 0.2 < sum(n for (kind, _), n in kinds.items() if kind == "Tick") / len(day) < 0.4


def test_density_sets_the_events_per_second_per_symbol() -> None:
    events = list(sample_session(density=0.2, symbols=("Si",)))
    open_seconds = sum(end - start for start, end in FORTS.windows_on(SAMPLE_DATE)) / 1e9

    assert len(events) == pytest.approx(0.2 * open_seconds, rel=0.05)


def test_every_event_is_in_time_order_and_inside_an_open_session(day: list[MarketEvent]) -> None:
    assert [e.ts for e in day] == sorted(e.ts for e in day)
    assert {FORTS.state_at(event.ts) for event in day} == {SessionState.OPEN}


def test_prices_sit_on_the_tick_grid_in_their_ranges(day: list[MarketEvent]) -> None:
    grid = {"Si": (1, 80_000, 100_000), "RTS": (10, 100_000, 120_000)}
    for event in day:
        tick_size, low, high = grid[event.symbol]
        assert isinstance(event, Quote | Tick), event
        prices = (event.bid, event.ask) if isinstance(event, Quote) else (event.price,)
        for price in prices:
            assert price % tick_size == 0, event
            assert low - 3 * tick_size <= price <= high + 3 * tick_size, event


def test_quotes_are_one_to_three_ticks_wide_with_sizes_up_to_200(day: list[MarketEvent]) -> None:
    quotes = [event for event in day if isinstance(event, Quote)]
    tick_size = {"Si": 1, "RTS": 10}

    assert {int((q.ask - q.bid) / tick_size[q.symbol]) for q in quotes} == {1, 2, 3}
    assert min(min(q.bid_size, q.ask_size) for q in quotes) >= 1
    assert max(max(q.bid_size, q.ask_size) for q in quotes) <= 200


def test_trades_print_at_the_touch_no_larger_than_shown(day: list[MarketEvent]) -> None:
    touch: dict[str, Quote] = {}
    for event in day:
        if isinstance(event, Quote):
            touch[event.symbol] = event
            continue
        assert isinstance(event, Tick), event
        shown = touch[event.symbol]
        if event.price == shown.ask:
            assert 1 <= event.qty <= max(shown.ask_size, 1)
        else:
            assert event.price == shown.bid
            assert 1 <= event.qty <= max(shown.bid_size, 1)


def test_there_are_no_events_in_clearing_and_busier_minutes_at_the_open(
    day: list[MarketEvent],
) -> None:
    per_minute = Counter(event.ts // MINUTE for event in day)
    open_minute = FORTS.windows_on(SAMPLE_DATE)[0][0] // MINUTE
    midday = open_minute + 3 * 60  # 12:00 Moscow time
    clearing = FORTS.windows_on(SAMPLE_DATE)[0][1] // MINUTE  # 14:00 to 14:05

    assert sum(per_minute[clearing + n] for n in range(5)) == 0
    opening = sum(per_minute[open_minute + n] for n in range(10))
    quiet = sum(per_minute[midday + n] for n in range(10))
    assert opening > 2 * quiet


def test_si_and_rts_move_against_each_other(day: list[MarketEvent]) -> None:
    mids: dict[str, dict[int, float]] = {"Si": {}, "RTS": {}}
    for event in day:
        if isinstance(event, Quote):
            mids[event.symbol][event.ts // (5 * MINUTE)] = float(event.mid)
    buckets = sorted(set(mids["Si"]) & set(mids["RTS"]))
    moves = [
        (mids["Si"][b] - mids["Si"][a], mids["RTS"][b] - mids["RTS"][a])
        for a, b in itertools.pairwise(buckets)
        if b == a + 1
    ]

    correlation = statistics.correlation(*zip(*moves, strict=True))

    assert -0.85 < correlation < -0.35
    assert not math.isnan(correlation)


def test_with_sessions_the_sample_is_a_whole_day_from_open_to_close() -> None:
    end = FORTS.day_bounds(SAMPLE_DATE)[1]
    stream = with_sessions(sample_session(density=0.05), FORTS, until=end)

    states = [event.state.value for event in stream if isinstance(event, SessionStatus)]

    assert states == ["open", "clearing", "open", "clearing", "open", "closed"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"date": date(2025, 11, 29)}, "2025-11-29 is a Saturday, when the schedule has no open"),
        ({"symbols": ("Si", "BR")}, "sample_session models Si and RTS, once each; was asked for"),
        ({"symbols": ()}, "sample_session models Si and RTS"),
        ({"density": 0.0}, "density must be between 0 and 1000 events per second per symbol"),
    ],
)
def test_a_sample_it_cannot_make_is_refused_at_once(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        sample_session(**kwargs)  # type: ignore[arg-type]


def test_ticks_and_quotes_are_the_only_events(day: list[MarketEvent]) -> None:
    assert {type(event) for event in day} == {Quote, Tick}
