"""Instruments a host knows: the tick grid every price must sit on.

Prices on MOEX FORTS move in whole ticks (Si: 1 rouble, RTS: 10 points); a
robot's limit price off that grid would be refused by any real exchange, so
yard refuses it first, as an :class:`~yard_actors.wire.events.OrderRejected`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Context, Decimal, InvalidOperation

import attrs

__all__ = ["DEFAULT_INSTRUMENTS", "Instrument", "InstrumentTable"]

# Wide enough for any price the wire allows against any tick size a market uses.
_GRID = Context(prec=60)


def _positive_decimal(
    instance: object, attribute: attrs.Attribute[Decimal], value: Decimal
) -> None:
    if type(value) is not Decimal or not value.is_finite() or value <= 0:
        msg = f"{attribute.name} must be a positive finite Decimal, was {value!r}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class Instrument:
    """One tradable contract; ``point_value`` converts price points into money."""

    symbol: str
    tick_size: Decimal = attrs.field(converter=Decimal, validator=_positive_decimal)
    point_value: Decimal = attrs.field(
        default=Decimal(1), converter=Decimal, validator=_positive_decimal
    )

    def on_grid(self, price: Decimal) -> bool:
        """Whether ``price`` is a whole number of ticks; a price too large to tell is not."""
        try:
            return _GRID.remainder(price, self.tick_size) == 0
        except InvalidOperation:  # the quotient needs more digits than the grid context has
            return False


DEFAULT_INSTRUMENTS: Mapping[str, Instrument] = {
    "Si": Instrument(symbol="Si", tick_size=Decimal(1)),
    "RTS": Instrument(symbol="RTS", tick_size=Decimal(10)),
}


class InstrumentTable:
    """Looks instruments up by symbol; a symbol it does not know has no grid check."""

    def __init__(self, instruments: Iterable[Instrument] | None = None) -> None:
        items = DEFAULT_INSTRUMENTS.values() if instruments is None else instruments
        self._by_symbol = {instrument.symbol: instrument for instrument in items}

    def get(self, symbol: str) -> Instrument | None:
        return self._by_symbol.get(symbol)

    def price_problem(self, symbol: str, price: Decimal) -> str | None:
        """Say why ``price`` cannot be sent for ``symbol``, or return None when it can."""
        instrument = self._by_symbol.get(symbol)
        if instrument is not None and not instrument.on_grid(price):
            return f"price {price} is off the {symbol} tick grid of {instrument.tick_size}"
        return None
