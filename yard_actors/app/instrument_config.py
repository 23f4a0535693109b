"""``[instruments]`` of yard.toml: the built-in table, changed and added to, and the dollar rate.

::

    [instruments]
    usd_rub = "92.5"           # roubles per US dollar: RTS, BR, GOLD, ED P&L in roubles

    [instruments.BR]           # a built-in instrument: only what is given changes
    tick = "0.01"

    [instruments.NG]           # a new one: tick is required
    tick = "0.001"
    point_value_usd = "100"    # or point_value = "..." in roubles; lot = 1 by default
    lot = 1
    schedule = "10:00-14:00,14:05-18:50"   # Moscow time, Mon-Fri; "forts" (default): the FORTS day

Every instrument starts from :data:`~yard_actors.wire.instruments.DEFAULT_INSTRUMENTS`.
Giving ``point_value`` (roubles per point) to a dollar contract fixes its rouble value
and drops its dollar one; giving ``point_value_usd`` drops a rouble one. Without
``usd_rub`` the dollar contracts have no rouble ``point_value``: ``yard run`` reports
their P&L in price points and says so under its table. ``yard run``, ``yard gateway
--config`` and ``yard feed --config`` all read this table, so the host, the paper
exchange and the feed's tick grid checks agree. An instrument with a ``schedule`` of
its own trades in a session named after its symbol: the feed publishes its
``SessionStatus`` under that name and the paper exchange refuses its orders outside it
(:mod:`yard_actors.wire.instruments`); ``schedule = "forts"`` puts a built-in one back
on the FORTS day. So a schedule of its own is refused to an instrument named ``FORTS``,
the FORTS day's own session name (``DEFAULT_SESSION``). Every problem is a ConfigError
naming the file, the key (``instruments.BR.tick``) and what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

import attrs

from yard_actors.app.config_read import read_config
from yard_actors.errors import ConfigError
from yard_actors.wire.instruments import (
    DEFAULT_INSTRUMENTS,
    DEFAULT_SESSION,
    Instrument,
    InstrumentTable,
    open_windows,
)

__all__ = ["instrument_table", "instruments_in_file"]

USD_RUB: Final = "usd_rub"
_KEYS: Final = ("tick", "point_value", "point_value_usd", "lot", "schedule")
_FORTS: Final = "forts"
_SYMBOL: Final = re.compile(r"[A-Za-z0-9._-]{1,128}", re.ASCII)
# An instrument's own session is named after its symbol (wire.instruments): this one's
# would be the FORTS day's, and every instrument without a schedule would trade in it.
_SESSION_CLASH: Final = (
    "an instrument with a schedule of its own trades in a session named after its symbol, "
    f"and {DEFAULT_SESSION} is the name of the FORTS day's session, which every instrument "
    "without a schedule trades in: the two would be one; give the instrument another "
    f'symbol, or drop its schedule (or give "{_FORTS}") to trade it in the FORTS day'
)


def instrument_table(value: Any, *, source: str) -> InstrumentTable:
    """The instrument table ``[instruments]`` (``value``, parsed TOML) describes.

    Raises ConfigError naming ``source``, the key and the problem.
    """
    if not isinstance(value, Mapping):
        raise _fail(source, "instruments", f"must be a table, was {type(value).__name__}")
    instruments = dict(DEFAULT_INSTRUMENTS)
    for symbol, table in value.items():
        if symbol == USD_RUB:
            continue
        instruments[symbol] = _instrument(source, symbol, table, instruments.get(symbol))
    result = InstrumentTable(instruments.values())
    if USD_RUB in value:
        result = result.at_usd_rate(_decimal(source, f"instruments.{USD_RUB}", value[USD_RUB]))
    return result


def instruments_in_file(path: str | Path) -> InstrumentTable:
    """The ``[instruments]`` of a yard.toml alone (``yard gateway --config``, ``yard feed
    --config``): the rest of the file is not read. Raises ConfigError."""
    file = Path(path)
    config = read_config(file)
    return instrument_table(config.get("instruments", {}), source=str(file))


def _instrument(source: str, symbol: str, table: Any, built_in: Instrument | None) -> Instrument:
    key = f"instruments.{symbol}"
    if not _SYMBOL.fullmatch(symbol):
        problem = "a symbol is letters, digits, '.', '_' or '-', at most 128 of them"
        raise _fail(source, key, problem)
    if not isinstance(table, Mapping):
        problem = (
            f"must be a table of {', '.join(_KEYS)} (or, in [instruments], {USD_RUB} for "
            f"the dollar rate), was {type(table).__name__} {table!r}"
        )
        raise _fail(source, key, problem)
    for name in table:
        if name not in _KEYS:
            raise _fail(source, f"{key}.{name}", f"unknown key (allowed: {', '.join(_KEYS)})")
    if "point_value" in table and "point_value_usd" in table:
        problem = (
            "give point_value (roubles per point) or point_value_usd (dollars per point, "
            "paid at usd_rub), not both"
        )
        raise _fail(source, key, problem)
    if built_in is None and "tick" not in table:
        known = ", ".join(DEFAULT_INSTRUMENTS)
        problem = f"missing: {symbol} is not built in ({known} are), so give its tick size"
        raise _fail(source, f"{key}.tick", problem)
    changes: dict[str, Any] = {}
    if "tick" in table:
        changes["tick_size"] = _decimal(source, f"{key}.tick", table["tick"])
    for name in ("point_value", "point_value_usd"):
        if name in table:
            changes[name] = _decimal(source, f"{key}.{name}", table[name])
            other = "point_value_usd" if name == "point_value" else "point_value"
            changes[other] = None  # one of the two says what a point is worth
    if "lot" in table:
        changes["lot"] = _lot(source, f"{key}.lot", table["lot"])
    if "schedule" in table:
        changes["schedule"] = _schedule(source, symbol, table["schedule"])
    if built_in is None:
        return Instrument(symbol=symbol, **changes)
    return attrs.evolve(built_in, **changes)


def _decimal(source: str, key: str, value: Any) -> Decimal:
    """A positive decimal from a string (``"0.01"``, exact) or a TOML number."""
    parsed: Decimal | None = None
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            parsed = Decimal(str(value).strip())
        except InvalidOperation:
            parsed = None
    if parsed is None or not parsed.is_finite() or parsed <= 0:
        raise _fail(source, key, f'must be a positive decimal such as "0.01", was {value!r}')
    return parsed


def _lot(source: str, key: str, lot: Any) -> int:
    if isinstance(lot, bool) or not isinstance(lot, int) or lot <= 0:
        raise _fail(source, key, f"must be a positive whole number, was {lot!r}")
    return lot


def _schedule(source: str, symbol: str, value: Any) -> str | None:
    """``symbol``'s schedule text checked (:func:`open_windows`), or None for ``"forts"``."""
    key = f"instruments.{symbol}.schedule"
    if isinstance(value, str) and value.strip().lower() == _FORTS:
        return None
    try:
        open_windows(value)
    except ValueError as exc:
        raise _fail(source, key, f'{exc}; or give "{_FORTS}" for the FORTS day') from None
    if symbol == DEFAULT_SESSION:
        raise _fail(source, key, _SESSION_CLASH)
    return str(value)


def _fail(source: str, key: str, problem: str) -> ConfigError:
    return ConfigError(f"{source}: {key}: {problem}")
