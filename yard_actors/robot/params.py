"""A robot's params: built at construction, changed by a ``set_params`` control.

A robot class names a ``params_class`` (a frozen attrs class that validates its
fields) or leaves it None for a plain dict. Both functions run on the thread that
owns the robot, outside the per-quote path. Whatever a params class raises (a
validator's ValueError, a converter's ``decimal.InvalidOperation``, a bug) comes
out as :class:`RobotError` with a sentence naming the robot and the class.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs

from yard_actors.errors import RobotError

__all__ = ["build_params", "changed_params", "check_declared", "declared_values"]

_SHOWN_CHARS: Final = 80  # of a value quoted in a refusal


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

    Raises :class:`RobotError` naming the class, the field and the value that cannot be
    applied: an unknown field (and the fields there are), a value of the wrong type or
    shape, anything the class's validators or converters raise for it. The caller (the
    robot) refuses the control and keeps its params: a control must not fail a running
    robot.
    """
    if params_class is None or not isinstance(changes, Mapping):
        return _applied(params_class, current, changes)
    _check_names(params_class, changes)
    try:
        return attrs.evolve(current, **changes)
    except Exception as exc:
        # Name the field and value at fault: one the class refuses alone, for the same
        # reason. Fields may be wrong only together (a low raised past the high), and then
        # the whole change is named, with the whole change's reason.
        reason = _why(exc)
        what = f"{_shown(dict(changes))} together" if len(changes) > 1 else _one(changes)
        for name, value in changes.items():
            if len(changes) > 1 and _refusal(current, name, value) == reason:
                what = _one({name: value})
                break
        msg = f"{params_class.__name__} refused {what}, the params are unchanged: {reason}"
        raise RobotError(msg) from exc


def _applied(params_class: type[Any] | None, current: Any, changes: Any) -> Any:
    try:
        if params_class is None:
            return {**current, **changes}
        return attrs.evolve(current, **changes)
    except Exception as exc:
        name = "the params dict" if params_class is None else params_class.__name__
        msg = f"{name} refused them, the params are unchanged: {_why(exc)}"
        raise RobotError(msg) from exc


def _one(change: Mapping[str, Any]) -> str:
    [(name, value)] = change.items()
    return f"{name}={_shown(value)}"


def _refusal(current: Any, name: str, value: Any) -> str | None:
    """Why the class refuses ``name=value`` alone, or None if it takes it."""
    try:
        attrs.evolve(current, **{name: value})
    except Exception as exc:
        return _why(exc)
    return None


def _check_names(params_class: type[Any], changes: Mapping[str, Any]) -> None:
    if not attrs.has(params_class):
        return
    fields = sorted(
        getattr(field, "alias", None) or field.name  # what evolve() takes: "x" for "_x"
        for field in attrs.fields(params_class)
        if field.init
    )
    unknown = [name for name in changes if name not in fields]
    if unknown:
        noun = "param" if len(unknown) == 1 else "params"
        msg = (
            f"{params_class.__name__} has no {noun} {', '.join(map(repr, unknown))} (its params: "
            f"{', '.join(fields)}); the params are unchanged"
        )
        raise RobotError(msg)


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
    # A ValueError or TypeError carries its own sentence; attrs' instance_of validator puts
    # it first of four arguments (the attribute among them), where str() would show them all.
    # Anything else is named, since its text alone can be cryptic (decimal.InvalidOperation's
    # is "[<class 'decimal.ConversionSyntax'>]").
    if isinstance(exc, decimal.InvalidOperation):
        return "InvalidOperation: not a number Decimal can read"
    if type(exc) in (ValueError, TypeError, RobotError):
        first = exc.args[0] if exc.args else ""
        return first.rstrip(".") if len(exc.args) > 1 and isinstance(first, str) else str(exc)
    return f"{type(exc).__name__}: {exc}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."
