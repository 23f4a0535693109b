"""A robot's params: built at construction, changed by a ``set_params`` control.

A robot class names a ``params_class`` (a frozen attrs class that validates its
fields) or leaves it None for a plain dict. Both functions run on the thread that
owns the robot, outside the per-quote path. Whatever a params class raises (a
validator's ValueError, a converter's ``decimal.InvalidOperation``, a bug) comes
out as :class:`RobotError` with a sentence naming the robot and the class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from yard_actors.errors import RobotError

__all__ = ["build_params", "changed_params", "check_declared", "declared_values"]


def build_params(params_class: type[Any] | None, params: Any, robot: str) -> Any:
    """The params robot ``robot`` starts with, from what its constructor was given.

    Without a ``params_class``: a copy of ``params`` as a dict (``None`` is ``{}``).
    With one: ``params`` itself if it is already an instance, else
    ``params_class(**params)``. Raises :class:`RobotError` naming the robot and the
    class if the class refuses them, whatever it raised.
    """
    if params_class is None:
        return dict(params or {})
    if isinstance(params, params_class):
        return params
    try:
        return params_class(**dict(params or {}))
    except Exception as exc:
        msg = f"robot {robot}: params for {params_class.__name__} are invalid: {_why(exc)}"
        raise RobotError(msg) from exc


def changed_params(params_class: type[Any] | None, current: Any, changes: Mapping[str, Any]) -> Any:
    """``current`` with ``changes`` applied; ``current`` itself is never changed.

    Raises :class:`RobotError` naming the class and the reason if they cannot be
    applied: an unknown field, a value of the wrong type or shape, anything the
    class's validators or converters raise. The caller (the robot) refuses the
    control and keeps its params: a control must not fail a running robot.
    """
    try:
        if params_class is None:
            return {**current, **changes}
        return attrs.evolve(current, **changes)
    except Exception as exc:
        name = "the params dict" if params_class is None else params_class.__name__
        msg = f"{name} refused them, the params are unchanged: {_why(exc)}"
        raise RobotError(msg) from exc


def check_declared(
    params_class: type[Any] | None, names: Sequence[str], robot: str, declaration: str
) -> None:
    """Raise :class:`RobotError` if ``names`` (a robot's ``declaration``) are not all params.

    With an attrs ``params_class`` each name must be one of its fields, so a typo in
    ``order_qty_params`` cannot quietly leave a param unchecked; plain-dict params
    may hold any name, or not yet.
    """
    if isinstance(names, str):  # ("qty") for ("qty",): a string would be checked letter by letter
        msg = f"robot {robot}: {declaration} must be a tuple of param names, was {names!r}"
        raise RobotError(msg)
    if params_class is None or not attrs.has(params_class):
        return
    fields = {field.name for field in attrs.fields(params_class)}
    for name in names:
        if name not in fields:
            msg = (
                f"robot {robot}: {declaration} names {name!r}, which is not a field of "
                f"{params_class.__name__} (fields: {', '.join(sorted(fields))})"
            )
            raise RobotError(msg)


def declared_values(params: Any, names: Sequence[str]) -> dict[str, Any]:
    """The values of the params ``names`` that ``params`` holds (an attrs instance or a dict)."""
    if isinstance(params, Mapping):
        return {name: params[name] for name in names if name in params}
    return {name: getattr(params, name) for name in names if hasattr(params, name)}


def _why(exc: Exception) -> str:
    # A ValueError or TypeError carries its own sentence; anything else is named, since its
    # text alone can be cryptic (decimal.InvalidOperation's is "[<class '...ConversionSyntax'>]").
    if type(exc) in (ValueError, TypeError, RobotError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
