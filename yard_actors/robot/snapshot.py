"""Turning robot state into JSON-able values, the same way every time.

Snapshots are compared across runs and replays, so the conversion must be
total and deterministic: sets are sorted, dict keys become sorted strings, and
a value with no faithful JSON form is an error that names the attribute, not a
``repr`` that could differ between runs.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from yard_actors.errors import RobotError

__all__ = ["to_jsonable"]

_SCALARS = (str, int, float, bool, type(None))
_PLAIN = frozenset(_SCALARS)  # by exact type: what most robot state is, found in one lookup


def to_jsonable(value: Any, where: str) -> Any:  # noqa: PLR0911 - one return per JSON kind
    """Convert ``value`` to JSON types; ``where`` names it in the error if that is impossible."""
    kind = type(value)  # the common exact types first (snapshot() runs per event to analyse)
    if kind in _PLAIN:
        return value
    if kind is Decimal:
        return str(value)
    if kind is list or kind is deque or kind is tuple:
        return _items(value, where)
    if kind is dict:
        return _mapping(value, where)
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value, where)
    if attrs.has(type(value)):
        return {
            field.name: to_jsonable(getattr(value, field.name), f"{where}.{field.name}")
            for field in attrs.fields(type(value))
        }
    if isinstance(value, Mapping):
        return _mapping(value, where)
    if isinstance(value, list | tuple | deque):
        return _items(value, where)
    if isinstance(value, set | frozenset):
        return sorted((to_jsonable(item, where) for item in value), key=repr)
    msg = (
        f"{where} is a {type(value).__name__}, which has no JSON form for a snapshot; "
        "keep it in an attribute starting with '_' or override state()"
    )
    raise RobotError(msg)


def _mapping(value: Mapping[Any, Any], where: str) -> dict[str, Any]:
    if not value:  # plain-dict params are often empty
        return {}
    return {
        str(key): to_jsonable(item, f"{where}[{key!r}]")
        for key, item in sorted(value.items(), key=lambda kv: str(kv[0]))
    }


def _items(value: list[Any] | tuple[Any, ...] | deque[Any], where: str) -> list[Any]:
    # A window of plain numbers or Decimals converts without a call or a name per item.
    return [
        item
        if type(item) in _PLAIN
        else str(item)
        if type(item) is Decimal
        else to_jsonable(item, f"{where}[{i}]")
        for i, item in enumerate(value)
    ]
