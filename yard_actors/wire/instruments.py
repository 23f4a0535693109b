"""Instruments a host knows: the tick grid every price must sit on, and what a point is worth.

Prices on MOEX FORTS move in whole ticks (Si: 1 rouble, RTS: 10 points, BR: 1
cent); a robot's limit price off that grid would be refused by any real exchange,
so yard refuses it first, as an :class:`~yard_actors.wire.events.OrderRejected`.

A price point is worth ``point_value`` roubles per lot (the exchange's tick value
divided by its tick size). For the contracts priced in dollars (RTS, BR, GOLD,
ED) the exchange fixes the tick value in US dollars and pays it in roubles at the
day's rate, so they carry ``point_value_usd`` instead and get a rouble
``point_value`` only from a rate (:meth:`InstrumentTable.at_usd_rate`, from
``[instruments] usd_rub`` in yard.toml). Without one their P&L stays in points.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from decimal import Context, Decimal, InvalidOperation

import attrs

__all__ = ["DEFAULT_INSTRUMENTS", "Instrument", "InstrumentTable"]

# Wide enough for any price the wire allows against any tick size a market uses.
_GRID = Context(prec=60)


def _check_positive(name: str, value: object) -> None:
    if type(value) is not Decimal or not value.is_finite() or value <= 0:
        msg = f"{name} must be a positive finite Decimal, was {value!r}"
        raise ValueError(msg)


def _positive_decimal(
    instance: object, attribute: attrs.Attribute[Decimal], value: Decimal
) -> None:
    _check_positive(attribute.name, value)


def _optional_positive_decimal(
    instance: object, attribute: attrs.Attribute[Decimal | None], value: Decimal | None
) -> None:
    if value is not None:
        _check_positive(attribute.name, value)


def _positive_int(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if type(value) is not int or value <= 0:
        msg = f"{attribute.name} must be a positive whole number, was {value!r}"
        raise ValueError(msg)


def _optional_decimal(value: Decimal | int | str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


@attrs.frozen(kw_only=True)
class Instrument:
    """One tradable contract: its tick, what a point of its price is worth, its lot.

    ``point_value``: roubles one price point is worth for one lot; None when not
    known (then P&L is reported in price points). ``point_value_usd``: the same in
    US dollars, for contracts whose tick value follows the dollar rate; their
    ``point_value`` comes from :meth:`at_usd_rate`. ``lot``: how many of the units
    the price is quoted for one lot of an order holds: 1 for every FORTS future
    (the price is of one contract); shares quoted per share and traded in lots of
    10 have 10. Raises ValueError naming the field and its value.
    """

    symbol: str
    tick_size: Decimal = attrs.field(converter=Decimal, validator=_positive_decimal)
    point_value: Decimal | None = attrs.field(
        default=None, converter=_optional_decimal, validator=_optional_positive_decimal
    )
    point_value_usd: Decimal | None = attrs.field(
        default=None, converter=_optional_decimal, validator=_optional_positive_decimal
    )
    lot: int = attrs.field(default=1, validator=_positive_int)

    @property
    def tick(self) -> Decimal:
        """The tick size: the step every price of this instrument moves in."""
        return self.tick_size

    @property
    def follows_usd(self) -> bool:
        """Whether its tick value is fixed in dollars and paid at the dollar rate."""
        return self.point_value_usd is not None

    def at_usd_rate(self, usd_rub: Decimal) -> Instrument:
        """This instrument with ``point_value`` at ``usd_rub`` roubles per dollar if it
        follows the dollar; itself if it does not."""
        if self.point_value_usd is None:
            return self
        return attrs.evolve(self, point_value=self.point_value_usd * usd_rub)

    def roubles(self, points: Decimal) -> Decimal | None:
        """What ``points`` (price points times lots, as a robot's P&L is kept) are worth in
        roubles, or None when the point value is not known."""
        if self.point_value is None:
            return None
        return points * self.point_value * self.lot

    def on_grid(self, price: Decimal) -> bool:
        """Whether ``price`` is a whole number of ticks; a price too large to tell is not."""
        try:
            return _GRID.remainder(price, self.tick_size) == 0
        except InvalidOperation:  # the quotient needs more digits than the grid context has
            return False


def _futures(*instruments: Instrument) -> Mapping[str, Instrument]:
    return {instrument.symbol: instrument for instrument in instruments}


# The common MOEX FORTS futures, from the exchange's contract specifications as known when
# written (moex.com, "Derivatives market: contract specifications"). Exchanges change them:
# check each against its contract page before trading real money, and override what
# differs in yard.toml ([instruments.SYMBOL], README "Instruments").
DEFAULT_INSTRUMENTS: Mapping[str, Instrument] = _futures(
    # USD/RUB: 1,000 dollars, priced in roubles per 1,000 dollars; tick 1 rouble = 1 rouble.
    Instrument(symbol="Si", tick_size=Decimal(1), point_value=Decimal(1)),
    # RTS index: priced in points (index x 100); tick 10 points = 0.2 dollar.
    Instrument(symbol="RTS", tick_size=Decimal(10), point_value_usd=Decimal("0.02")),
    # MOEX Russia index: priced in points; tick 25 points = 25 roubles.
    Instrument(symbol="MIX", tick_size=Decimal(25), point_value=Decimal(1)),
    # Brent crude: 10 barrels, priced in dollars a barrel; tick 0.01 dollar = 0.1 dollar.
    Instrument(symbol="BR", tick_size=Decimal("0.01"), point_value_usd=Decimal(10)),
    # Gold: 1 troy ounce, priced in dollars an ounce; tick 0.1 dollar = 0.1 dollar.
    Instrument(symbol="GOLD", tick_size=Decimal("0.1"), point_value_usd=Decimal(1)),
    # EUR/RUB: 1,000 euros, priced in roubles per 1,000 euros; tick 1 rouble = 1 rouble.
    Instrument(symbol="Eu", tick_size=Decimal(1), point_value=Decimal(1)),
    # EUR/USD: 1,000 euros, priced in dollars a euro; tick 0.0001 dollar = 0.1 dollar.
    Instrument(symbol="ED", tick_size=Decimal("0.0001"), point_value_usd=Decimal(1000)),
    # Sberbank ordinary shares: 100 shares, priced in roubles per 100; tick 1 rouble.
    Instrument(symbol="SBRF", tick_size=Decimal(1), point_value=Decimal(1)),
    # Gazprom ordinary shares: 100 shares, priced in roubles per 100; tick 1 rouble.
    Instrument(symbol="GAZR", tick_size=Decimal(1), point_value=Decimal(1)),
)


class InstrumentTable:
    """Looks instruments up by symbol; a symbol it does not know has no grid check.

    Without ``instruments`` it holds :data:`DEFAULT_INSTRUMENTS`. Iterating gives the
    symbols it knows, in the order given.
    """

    def __init__(self, instruments: Iterable[Instrument] | None = None) -> None:
        items = DEFAULT_INSTRUMENTS.values() if instruments is None else instruments
        self._by_symbol = {instrument.symbol: instrument for instrument in items}

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._by_symbol

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_symbol)

    def __len__(self) -> int:
        return len(self._by_symbol)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, InstrumentTable):
            return NotImplemented
        return self._by_symbol == other._by_symbol

    def __hash__(self) -> int:
        return hash(tuple(self._by_symbol.values()))

    def __repr__(self) -> str:
        return f"InstrumentTable({list(self._by_symbol.values())!r})"

    def get(self, symbol: str) -> Instrument | None:
        return self._by_symbol.get(symbol)

    def by_symbol(self) -> Mapping[str, Instrument]:
        """The instruments by symbol (a copy)."""
        return dict(self._by_symbol)

    def at_usd_rate(self, usd_rub: Decimal) -> InstrumentTable:
        """The same table with the dollar contracts' ``point_value`` at ``usd_rub``."""
        return InstrumentTable(i.at_usd_rate(usd_rub) for i in self._by_symbol.values())

    def price_problem(self, symbol: str, price: Decimal) -> str | None:
        """Say why ``price`` cannot be sent for ``symbol``, or return None when it can."""
        instrument = self._by_symbol.get(symbol)
        if instrument is not None and not instrument.on_grid(price):
            return f"price {price} is off the {symbol} tick grid of {instrument.tick_size}"
        return None
