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

A host journals the table its robots see with each robot's spec
(:meth:`InstrumentTable.to_json`), and every rebuild from the journal (``yard replay``,
``yard analyze``, a restart) reads it back (:meth:`InstrumentTable.from_json`): a robot
pricing with ``self.instrument(symbol).tick`` replays as it ran, whatever yard.toml says
today. The conversion of points to roubles that ``yard run``'s summary and ``yard
analyze``'s report both show is here, once (:meth:`InstrumentTable.point_values`).

Sessions: every instrument trades in the FORTS day (:data:`DEFAULT_SESSION`,
``gateways.sessions.FORTS``) unless it has a ``schedule`` of its own, the Moscow-time
stretches it is open (``"10:00-14:00,14:05-18:50"``, Monday to Friday, closed between).
Such an instrument's session is named after its symbol: the feed publishes its
``SessionStatus`` under that name, and the paper exchange and
:meth:`Robot.session_open <yard_actors.robot.Robot.session_open>` gate its orders on
it (:meth:`InstrumentTable.session_of`). The parser of the text is here, once, so the
config, the journal and the feed agree on what a schedule means.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from decimal import Context, Decimal, InvalidOperation
from typing import Any, Final

import attrs

__all__ = [
    "DEFAULT_INSTRUMENTS",
    "DEFAULT_SESSION",
    "Instrument",
    "InstrumentTable",
    "open_windows",
]

DEFAULT_SESSION: Final = "FORTS"
"""The session every instrument without a ``schedule`` of its own trades in."""
_DAY_MINUTES: Final = 24 * 60
_STRETCH: Final = re.compile(r"([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)", re.ASCII)

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


def open_windows(schedule: str) -> tuple[tuple[int, int], ...]:
    """The ``(start, end)`` minutes after Moscow midnight a ``schedule`` text is open.

    The text is stretches ``HH:MM-HH:MM`` joined by commas, in time order, none
    overlapping, each ending after it starts (``24:00`` ends a day): ``"10:00-14:00,
    14:05-18:50"``. Spaces around the commas are allowed. Raises ValueError saying
    which stretch is wrong and why.
    """
    if not isinstance(schedule, str) or not schedule.strip():
        msg = f'schedule must be stretches such as "10:00-14:00,14:05-18:50", was {schedule!r}'
        raise ValueError(msg)
    windows: list[tuple[int, int]] = []
    for text in (part.strip() for part in schedule.split(",")):
        match = _STRETCH.fullmatch(text)
        if match is None:
            msg = f"schedule stretch {text!r} is not HH:MM-HH:MM (Moscow time), in {schedule!r}"
            raise ValueError(msg)
        start = int(match[1]) * 60 + int(match[2])
        end = int(match[3]) * 60 + int(match[4])
        if not start < end <= _DAY_MINUTES:
            msg = (
                f"schedule stretch {text!r} must end after it starts, by 24:00 (split one "
                f"that runs past midnight in two), in {schedule!r}"
            )
            raise ValueError(msg)
        if windows and start < windows[-1][1]:
            msg = f"schedule stretch {text!r} overlaps or comes before the one before it"
            raise ValueError(msg)
        windows.append((start, end))
    return tuple(windows)


def _schedule_text(value: str | None) -> str | None:
    """A schedule in one spelling (no spaces), so equal schedules compare and journal equal."""
    if value is None:
        return None
    return ",".join(part.strip() for part in str(value).split(","))


def _valid_schedule(
    instance: object, attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    if value is not None:
        open_windows(value)


@attrs.frozen(kw_only=True)
class Instrument:
    """One tradable contract: its tick, what a point of its price is worth, its lot.

    ``point_value``: roubles one price point is worth for one lot; None when not
    known (then P&L is reported in price points). ``point_value_usd``: the same in
    US dollars, for contracts whose tick value follows the dollar rate; their
    ``point_value`` comes from :meth:`at_usd_rate`. ``lot``: how many of the units
    the price is quoted for one lot of an order holds: 1 for every FORTS future
    (the price is of one contract); shares quoted per share and traded in lots of
    10 have 10. ``schedule``: the Moscow-time stretches it trades in
    (:func:`open_windows`), or None for the FORTS day. Raises ValueError naming the
    field and its value.
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
    schedule: str | None = attrs.field(
        default=None, converter=_schedule_text, validator=_valid_schedule
    )

    @property
    def session(self) -> str:
        """The name of the session it trades in: its symbol with a schedule of its own,
        else :data:`DEFAULT_SESSION`."""
        return DEFAULT_SESSION if self.schedule is None else self.symbol

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

    def to_json(self) -> dict[str, Any]:
        """JSON values, decimals as strings (exact); a point value not known is left out."""
        value: dict[str, Any] = {"tick": str(self.tick_size)}
        if self.point_value is not None:
            value["point_value"] = str(self.point_value)
        if self.point_value_usd is not None:
            value["point_value_usd"] = str(self.point_value_usd)
        value["lot"] = self.lot
        if self.schedule is not None:
            value["schedule"] = self.schedule
        return value

    @classmethod
    def from_json(cls, symbol: str, value: Mapping[str, Any]) -> Instrument:
        """The instrument :meth:`to_json` gave ``value`` of. Raises ValueError naming the
        symbol and what is wrong."""
        try:
            return cls(
                symbol=symbol,
                tick_size=Decimal(value["tick"]),
                point_value=value.get("point_value"),
                point_value_usd=value.get("point_value_usd"),
                lot=value.get("lot", 1),
                schedule=value.get("schedule"),
            )
        except (KeyError, TypeError, AttributeError, InvalidOperation, ValueError) as exc:
            msg = f"instrument {symbol}: {value!r} is not an instrument's JSON ({exc!r})"
            raise ValueError(msg) from exc

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
        self._own_sessions = frozenset(
            i.session for i in self._by_symbol.values() if i.schedule is not None
        )

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

    def session_of(self, symbol: str) -> str:
        """The session ``symbol`` trades in (:attr:`Instrument.session`); the default one
        for a symbol the table does not know."""
        instrument = self._by_symbol.get(symbol)
        return DEFAULT_SESSION if instrument is None else instrument.session

    def session_key(self, session: str) -> str:
        """Which session a ``SessionStatus`` named ``session`` reports: an instrument's own
        by that name, else the default one, whatever the feed calls it (a feed of one's
        own may name the FORTS day otherwise)."""
        return session if session in self._own_sessions else DEFAULT_SESSION

    def scheduled(self) -> tuple[Instrument, ...]:
        """The instruments with a schedule of their own, in the table's order."""
        return tuple(i for i in self._by_symbol.values() if i.schedule is not None)

    def by_symbol(self) -> Mapping[str, Instrument]:
        """The instruments by symbol (a copy)."""
        return dict(self._by_symbol)

    def at_usd_rate(self, usd_rub: Decimal) -> InstrumentTable:
        """The same table with the dollar contracts' ``point_value`` at ``usd_rub``."""
        return InstrumentTable(i.at_usd_rate(usd_rub) for i in self._by_symbol.values())

    def to_json(self) -> dict[str, dict[str, Any]]:
        """The table as JSON values, by symbol (:meth:`Instrument.to_json`)."""
        return {symbol: i.to_json() for symbol, i in self._by_symbol.items()}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> InstrumentTable:
        """The table :meth:`to_json` gave ``value`` of. Raises ValueError naming what is wrong."""
        if not isinstance(value, Mapping):
            msg = f"an instrument table is a mapping of symbols, was {type(value).__name__}"
            raise ValueError(msg)
        return cls(Instrument.from_json(str(symbol), item) for symbol, item in value.items())

    def unpriced(self, symbols: Iterable[str]) -> tuple[str, ...]:
        """The ``symbols`` with no rouble point value: P&L in them can only be in points."""
        return tuple(s for s in symbols if (i := self.get(s)) is None or i.point_value is None)

    def point_values(self, symbols: Iterable[str]) -> dict[str, Decimal] | None:
        """Roubles one price point of each of ``symbols`` is worth per lot of an order
        (``point_value * lot``), or None when one of them has no rouble point value: then
        a robot's P&L is reported in points, all of it, as the robot keeps it.

        Money in roubles is then ``points * value - fees`` for realised P&L and
        ``(mark * qty - cost) * value`` for open lots, symbol by symbol; fees are in
        roubles already (the exchange charges them so).
        """
        values = {}
        for symbol in symbols:
            instrument = self.get(symbol)
            value = None if instrument is None else instrument.roubles(Decimal(1))
            if value is None:
                return None
            values[symbol] = value
        return values

    def price_problem(self, symbol: str, price: Decimal) -> str | None:
        """Say why ``price`` cannot be sent for ``symbol``, or return None when it can."""
        instrument = self._by_symbol.get(symbol)
        if instrument is not None and not instrument.on_grid(price):
            return f"price {price} is off the {symbol} tick grid of {instrument.tick_size}"
        return None
