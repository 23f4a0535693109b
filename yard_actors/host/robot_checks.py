"""A config's robots built once before anything runs, so their mistakes stop start-up.

A robot's params class may declare ``qty: int`` without a validator; attrs then
takes ``qty = "one"`` from a TOML file, and the robot fails on its first quote,
in the middle of a run. :func:`param_type_problems` reads the declared types of
an attrs params class and names each given value that does not have its type.
:func:`unknown_symbols` names the symbols a robot would trade that the
instrument table does not list (no tick grid, no point value: nothing to check
an order against). :func:`robot_problem` runs both, then builds the robot as
the host will and refuses one whose ``on_start`` failed; :mod:`.host_config`
puts what it finds after the file and the robot's key.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from yard_actors.errors import RobotError
from yard_actors.robot.lifecycle import RobotStatus
from yard_actors.robot.risk import RiskLimits
from yard_actors.robot.robot import Robot
from yard_actors.wire.instruments import Instrument, InstrumentTable

__all__ = ["param_type_problems", "robot_problem", "unknown_symbols"]


def param_type_problems(params_class: type[Any] | None, params: Mapping[str, Any]) -> list[str]:
    """``"field: problem"`` for each value in ``params`` its attrs field's type refuses.

    Only plain declared types are checked (``int``, ``float``, ``str``, ``bool``,
    ``Decimal``, enums, ``X | None``, ``Literal``, lists and tuples): a field with
    a converter is the converter's to check (``build`` runs it), and a type this
    cannot read is left to the class's own validators.
    """
    if params_class is None or not attrs.has(params_class):
        return []
    try:
        hints = typing.get_type_hints(params_class)
    except Exception:  # an annotation that does not resolve: nothing to check by
        return []
    fields = attrs.fields_dict(params_class)
    problems = []
    for name, value in params.items():
        field = fields.get(name)
        if field is None or field.converter is not None or name not in hints:
            continue  # an unknown name is the class's to refuse, by name
        expected = hints[name]
        if not _fits(expected, value):
            problem = f"must be {_type_name(expected)}, was {type(value).__name__} {value!r}"
            if expected is Decimal and isinstance(value, str | float):
                problem += f" (give {params_class.__name__}.{name} converter=Decimal to take it)"
            problems.append(f"{name}: {problem}")
    return problems


def unknown_symbols(symbols: Sequence[str], known: Collection[str]) -> list[str]:
    """The symbols in ``symbols`` that are not in ``known``, in their order."""
    return [symbol for symbol in symbols if symbol not in known]


def robot_problem(
    robot_class: type[Robot],
    name: str,
    *,
    params: Mapping[str, Any],
    symbols: Sequence[str] | None,
    limits: RiskLimits,
    instruments: Mapping[str, Instrument],
) -> tuple[str, str] | None:
    """``(key, problem)`` for the first thing that keeps this robot from running, or None.

    ``key`` follows the robot's own key in the config (``.params.qty``,
    ``.symbols``). The robot is built as the host builds it; one whose
    ``on_start`` raises is built FAILED by the robot class (a running host must
    not crash on it), and refused here.
    """
    for problem in param_type_problems(robot_class.params_class, params):
        field, _, why = problem.partition(": ")
        return f".params.{field}", why
    wanted = tuple(robot_class.symbols if symbols is None else symbols)
    unknown = unknown_symbols(wanted, instruments)
    if unknown:
        listed = ", ".join(repr(symbol) for symbol in unknown)
        given = "" if symbols is not None else f" ({robot_class.__name__}.symbols)"
        known = ", ".join(sorted(instruments)) or "none"
        verb = "is" if len(unknown) == 1 else "are"
        return ".symbols", f"{listed}{given} {verb} not in the instrument table (it lists {known})"
    table = InstrumentTable(instruments.values())
    try:
        robot = robot_class(name, params=params, symbols=symbols, limits=limits, instruments=table)
    except RobotError as exc:
        return ".params", str(exc)
    if robot.status is RobotStatus.FAILED:
        return "", f"robot {name} failed as it started: {robot.error}"
    return None


def _fits(expected: Any, value: Any) -> bool:  # noqa: PLR0911 - one return per kind of type
    if expected is Any or expected is object:
        return True
    if expected is type(None):
        return value is None
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected is Decimal:  # an int is exact; a float or a string needs a converter
        return isinstance(value, Decimal | int) and not isinstance(value, bool)
    if expected is str:
        return isinstance(value, str)
    if isinstance(expected, type) and issubclass(expected, enum.Enum):
        return isinstance(value, expected)
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(arg, value) for arg in typing.get_args(expected))
    if origin is typing.Literal:
        return value in typing.get_args(expected)
    if origin in (list, tuple, Sequence):
        return _fits_sequence(expected, value)
    return True  # a type this does not read: the class's validators decide


def _fits_sequence(expected: Any, value: Any) -> bool:
    if not isinstance(value, list | tuple):
        return False
    args = [arg for arg in typing.get_args(expected) if arg is not Ellipsis]
    if len(args) == 1:
        return all(_fits(args[0], item) for item in value)
    return True


def _type_name(expected: Any) -> str:
    if isinstance(expected, type):
        return expected.__name__
    text = str(expected)
    for module in ("collections.abc.", "typing.", "decimal."):
        text = text.replace(module, "")
    return text
