"""The paper exchange's settings: one frozen class, validated at construction.

Apart from :mod:`gateways.paper`, which plays by these settings: ``yard run``
(``[paper]`` in yard.toml) and ``yard gateway`` (its flags) build a
:class:`PaperConfig` without the exchange, and this module is the one source of
the options and their defaults. :mod:`gateways.paper` re-exports it.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

__all__ = ["PaperConfig"]

_NS_PER_MS = 1_000_000


def _non_negative_int(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if type(value) is not int or value < 0:
        msg = f"{attribute.name} must be a non-negative integer, was {value!r}"
        raise ValueError(msg)


def _non_negative_decimal(
    instance: object, attribute: attrs.Attribute[Decimal], value: Decimal
) -> None:
    if type(value) is not Decimal or not value.is_finite() or value < 0:
        msg = f"{attribute.name} must be a non-negative finite Decimal, was {value!r}"
        raise ValueError(msg)


def _bool(instance: object, attribute: attrs.Attribute[bool], value: bool) -> None:
    if type(value) is not bool:
        msg = f"{attribute.name} must be True or False, was {value!r}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class PaperConfig:
    """How the paper exchange behaves; see the module docstring for the rules these tune.

    The one source of these settings and their defaults: ``yard run`` (the
    ``[paper]`` table of yard.toml) and ``yard gateway`` (its flags) both build
    one, so both trade alike out of the box: a fee of 0.5 per lot, no orders
    until the feed says a session is open, no latency. Raises ValueError naming
    the field and its value when one is out of range.
    """

    latency_ns: int = attrs.field(default=0, validator=_non_negative_int)
    fee_per_lot: Decimal = attrs.field(default=Decimal("0.5"), validator=_non_negative_decimal)
    require_session: bool = attrs.field(default=True, validator=_bool)

    @property
    def latency_ms(self) -> float:
        """``latency_ns`` in milliseconds, the unit of yard.toml and ``yard gateway``."""
        return self.latency_ns / _NS_PER_MS

    @staticmethod
    def ns_from_ms(latency_ms: float) -> int:
        """A latency given in milliseconds (yard.toml, ``--latency-ms``) as ``latency_ns``."""
        return round(latency_ms * _NS_PER_MS)
