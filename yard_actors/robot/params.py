"""A robot's params: built at construction, changed by a ``set_params`` control.

A robot class names a ``params_class`` (a frozen attrs class that validates its
fields) or leaves it None for a plain dict. Both functions run on the thread that
owns the robot, outside the per-quote path.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import attrs

from yard_actors.errors import RobotError

__all__ = ["build_params", "changed_params"]

logger = logging.getLogger(__name__)


def build_params(params_class: type[Any] | None, params: Any, robot: str) -> Any:
    """The params robot ``robot`` starts with, from what its constructor was given.

    Without a ``params_class``: a copy of ``params`` as a dict (``None`` is ``{}``).
    With one: ``params`` itself if it is already an instance, else
    ``params_class(**params)``. Raises :class:`RobotError` naming the robot and the
    class if the class refuses them.
    """
    if params_class is None:
        return dict(params or {})
    if isinstance(params, params_class):
        return params
    try:
        return params_class(**dict(params or {}))
    except (TypeError, ValueError) as exc:
        msg = f"robot {robot}: params for {params_class.__name__} are invalid: {exc}"
        raise RobotError(msg) from exc


def changed_params(
    params_class: type[Any] | None, current: Any, changes: Mapping[str, Any], robot: str
) -> Any:
    """``current`` with ``changes`` applied, or ``current`` itself if they are invalid.

    A refused change (an unknown field, a value the class's validators reject) is
    logged as a warning naming the robot, never raised: a control must not fail a
    running robot.
    """
    try:
        if params_class is None:
            return {**current, **changes}
        return attrs.evolve(current, **changes)
    except (TypeError, ValueError, RobotError) as exc:
        logger.warning("robot %s kept its params: %s", robot, exc)
        return current
