"""A bundled, seeded day of MOEX FORTS market data, so the demo needs no data file.

:func:`sample_session` makes one trading day of quotes and trade prints for Si
(the USD/RUB future, tick 1 rouble) and RTS (the index future, tick 10
points), only inside the day's open sessions (none during clearing), so that
with :func:`~gateways.sessions.with_sessions` it is a full day as a robot
would live it. It is a model, not a history; what it keeps of the real market:

* **Correlated prices.** Both prices follow one two-factor random walk in
  continuous time, Si and RTS moving against each other (correlation -0.6:
  a weaker rouble is a stronger dollar and usually a weaker index), updated at
  every event by the time since the last, so the correlation holds however
  unevenly the events fall.
* **Quotes** 1-3 ticks wide (mostly 1), sizes 1-200 (mostly small); **trade
  prints** between them at the touch, the aggressor's side, never larger than
  the size shown.
* **Intensity** higher in the first and last quarter hours of each session
  and lower in the evening, as the exchange's own statistics show.

The same seed gives the same events: ``random.Random(seed)`` is the only
source of chance, and the arithmetic on it is the same on every run.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator, Sequence
from datetime import date
from decimal import Decimal

import attrs

from gateways.sessions import FORTS, SessionSchedule
from yard_actors.errors import ConfigError
from yard_actors.wire.events import MarketEvent, Quote, Side, Tick

__all__ = ["SAMPLE_DATE", "sample_session"]

SAMPLE_DATE = date(2025, 11, 27)
"""A Thursday: a full FORTS day, morning to evening session."""

_CORRELATION = -0.6
_DECAY_S = 900.0  # the open's and the close's bursts fade over about a quarter hour
_OPEN_BURST, _CLOSE_BURST = 3.0, 2.0  # intensity at an open / a close, over the mid-session's
_EVENING_WEIGHT = 0.5  # the evening session trades about half as busily
_TRADE_SHARE = 0.3  # of events, the rest are quotes
_SPREADS, _SPREAD_WEIGHTS = (1, 2, 3), (0.6, 0.3, 0.1)


@attrs.frozen
class _Model:
    tick: int
    low: int  # the range the price stays in (reflected at its edges)
    high: int
    sigma: float  # price units per square root of a second (about 0.8% and 1.5% a day)
    activity: float  # share of the events, relative to the other symbols


_MODELS = {
    "Si": _Model(tick=1, low=80_000, high=100_000, sigma=3.2, activity=1.2),
    "RTS": _Model(tick=10, low=100_000, high=120_000, sigma=7.2, activity=0.8),
}


def sample_session(
    seed: int = 7,
    date: date = SAMPLE_DATE,
    symbols: Sequence[str] = ("Si", "RTS"),
    density: float = 1.5,
    *,
    schedule: SessionSchedule = FORTS,
) -> Iterator[MarketEvent]:
    """One day of Quotes and Ticks in time order; ``density`` is events per second per symbol.

    The default (1.5 over the 14 h 25 min of FORTS's open sessions, two
    symbols) gives about 156,000 events. Raises
    :class:`~yard_actors.errors.ConfigError` at once for a symbol without a
    model, a density out of range or a date the schedule does not trade.
    """
    unknown = [symbol for symbol in symbols if symbol not in _MODELS]
    if unknown or not symbols or len(set(symbols)) != len(symbols):
        msg = f"sample_session models {' and '.join(_MODELS)}, once each; was asked for {symbols!r}"
        raise ConfigError(msg)
    if not 0 < density <= 1000:
        msg = f"density must be between 0 and 1000 events per second per symbol, was {density!r}"
        raise ConfigError(msg)
    windows = schedule.windows_on(date)
    if not windows:
        msg = f"{date:%Y-%m-%d} is a {date:%A}, when the schedule has no open session; pick another"
        raise ConfigError(msg)
    return _events(
        random.Random(seed),
        windows=windows,
        symbols=tuple(symbols),
        density=density,
        schedule=schedule,
        day=date,
    )


def _events(
    rng: random.Random,
    *,
    windows: list[tuple[int, int]],
    symbols: tuple[str, ...],
    density: float,
    schedule: SessionSchedule,
    day: date,
) -> Iterator[MarketEvent]:
    models = [_MODELS[symbol] for symbol in symbols]
    chosen = list(range(len(symbols)))
    cumulative = list(itertools.accumulate(model.activity for model in models))
    prices = [
        rng.uniform(m.low + 0.3 * (m.high - m.low), m.high - 0.3 * (m.high - m.low)) for m in models
    ]
    evening = schedule.day_bounds(day)[0] + 19 * 3600 * 10**9  # sessions from 19:00 local on
    seconds = sum(end - start for start, end in windows) / 1e9
    profile = sum(_profile_integral(start, end, evening) for start, end in windows)
    scale = density * len(symbols) * seconds / profile  # so the day's mean is ``density``
    for start, end in windows:
        touch: list[tuple[int, int, int, int] | None] = [None] * len(symbols)  # bid, ask, sizes
        length = (end - start) / 1e9
        elapsed = 0.0
        while True:
            rate = scale * _intensity(elapsed, length, start >= evening)
            step = rng.expovariate(rate)
            elapsed += step
            if elapsed >= length:
                break
            _move(rng, prices, models, step)
            ts = start + int(elapsed * 1e9)
            n = rng.choices(chosen, cum_weights=cumulative)[0]
            shown = touch[n]
            if shown is not None and rng.random() < _TRADE_SHARE:
                yield _trade(rng, ts, symbols[n], shown)
            else:
                touch[n] = shown = _touch(rng, prices[n], models[n])
                bid, ask, bid_size, ask_size = shown
                yield Quote(
                    ts=ts,
                    symbol=symbols[n],
                    bid=Decimal(bid),
                    ask=Decimal(ask),
                    bid_size=bid_size,
                    ask_size=ask_size,
                )


def _intensity(elapsed: float, length: float, evening: bool) -> float:
    """Events per second relative to a quiet mid-session, ``elapsed`` seconds into a session."""
    burst = _OPEN_BURST * math.exp(-elapsed / _DECAY_S)
    burst += _CLOSE_BURST * math.exp(-(length - elapsed) / _DECAY_S)
    return (1.0 + burst) * (_EVENING_WEIGHT if evening else 1.0)


def _profile_integral(start: int, end: int, evening: int) -> float:
    length = (end - start) / 1e9
    fade = _DECAY_S * (1 - math.exp(-length / _DECAY_S))
    return (length + (_OPEN_BURST + _CLOSE_BURST) * fade) * (
        _EVENING_WEIGHT if start >= evening else 1.0
    )


def _move(rng: random.Random, prices: list[float], models: list[_Model], seconds: float) -> None:
    """Move every price by ``seconds`` of the correlated walk (factor 1 drives the first symbol)."""
    root = math.sqrt(seconds)
    common = rng.gauss(0.0, 1.0)
    own = math.sqrt(1 - _CORRELATION**2)
    for n, model in enumerate(models):
        shock = common if n == 0 else _CORRELATION * common + own * rng.gauss(0.0, 1.0)
        price = prices[n] + model.sigma * root * shock
        if not model.low <= price <= model.high:  # reflect at the range's edge
            price = 2 * (model.low if price < model.low else model.high) - price
        prices[n] = price


def _touch(rng: random.Random, price: float, model: _Model) -> tuple[int, int, int, int]:
    spread = rng.choices(_SPREADS, _SPREAD_WEIGHTS)[0]
    bid = round(price / model.tick - spread / 2) * model.tick
    return bid, bid + spread * model.tick, _size(rng), _size(rng)


def _size(rng: random.Random) -> int:
    return min(200, 1 + int(rng.expovariate(1 / 25)))


def _trade(rng: random.Random, ts: int, symbol: str, shown: tuple[int, int, int, int]) -> Tick:
    bid, ask, bid_size, ask_size = shown
    side = Side.BUY if rng.random() < 0.5 else Side.SELL
    price, size = (ask, ask_size) if side is Side.BUY else (bid, bid_size)
    qty = min(size, 1 + int(rng.expovariate(1 / 5))) if size else 1
    return Tick(ts=ts, symbol=symbol, price=Decimal(price), qty=qty, aggressor=side)
