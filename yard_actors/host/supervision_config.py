"""The ``[supervision]`` section of a host config: how often a failed robot is restarted.

::

    [supervision]
    max_restarts = 3    # restarts a robot may have within within_s seconds ...
    within_s = 60       # ... before the next failure leaves it failed

The rules themselves are in ``docs/supervision.md``; the restarts in :mod:`.restart`.
A problem is a :class:`ConfigError` naming the source, the key and what is wrong, as
:mod:`.host_config` does for the rest of the file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

import attrs

from yard_actors.errors import ConfigError

__all__ = ["MAX_RESTARTS", "WITHIN_S", "SupervisionConfig", "supervision_config"]

#: Restarts a robot may have within :data:`WITHIN_S` seconds: OTP's default intensity is
#: 1 in 5 s; a trading robot's state takes longer to rebuild, so fewer, wider restarts.
MAX_RESTARTS: Final = 3
WITHIN_S: Final = 60.0

_KEYS = ("max_restarts", "within_s")


def _not_negative(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        msg = f"supervision {attribute.name} must be 0 or more, was {value}"
        raise ValueError(msg)


def _positive_seconds(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (value > 0 and math.isfinite(value)):  # NaN too
        msg = f"supervision {attribute.name} must be a positive number of seconds, was {value}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class SupervisionConfig:
    """A robot is restarted at most ``max_restarts`` times within ``within_s`` seconds.

    ``max_restarts = 0``: a failed robot is never restarted by itself (``restart(name)``
    still restarts it on demand).
    """

    max_restarts: int = attrs.field(default=MAX_RESTARTS, validator=_not_negative)
    within_s: float = attrs.field(default=WITHIN_S, converter=float, validator=_positive_seconds)


def supervision_config(section: Mapping[str, Any], *, source: str) -> SupervisionConfig:
    """Check the ``[supervision]`` table; raise :class:`ConfigError` naming the bad key."""
    for key in section:
        if key not in _KEYS:
            msg = f"{source}: supervision.{key}: unknown key (allowed: {', '.join(_KEYS)})"
            raise ConfigError(msg)
    max_restarts = section.get("max_restarts", MAX_RESTARTS)
    if isinstance(max_restarts, bool) or not isinstance(max_restarts, int) or max_restarts < 0:
        msg = (
            f"{source}: supervision.max_restarts: must be a whole number, 0 or more, "
            f"was {max_restarts!r}"
        )
        raise ConfigError(msg)
    within_s = section.get("within_s", WITHIN_S)
    if (
        isinstance(within_s, bool)
        or not isinstance(within_s, int | float)
        or not (within_s > 0 and math.isfinite(within_s))
    ):
        msg = (
            f"{source}: supervision.within_s: must be a positive number of seconds, "
            f"was {within_s!r}"
        )
        raise ConfigError(msg)
    return SupervisionConfig(max_restarts=max_restarts, within_s=within_s)
