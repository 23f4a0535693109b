"""The change from one JSON value to the next, small where robot state changes little.

A robot's state mostly changes by a few keys deep inside it, and by rolling windows (the
last N prices, kept in a deque or a list) that lose their oldest item and gain a new one
every event. Storing the changed top-level keys whole would store the whole window each
event; these operations store what changed:

=================================  =================================================
operation                          meaning
=================================  =================================================
``["=", value]``                   the value is now ``value``
``["{", {key: op, ...}, [keys]]``  a dict: apply each ``op`` to its key (a key it did
                                   not have starts from nothing), drop ``keys``
``["[", n, [items]]``              a list: drop its first ``n`` items, append ``items``
=================================  =================================================

Every operation is a JSON list led by its kind, so a row reads back without ambiguity
whatever the robot keeps (a robot's own dict may have any keys). :func:`change` chooses the
operation for each change (:func:`patch` for a row's top-level keys); :func:`applied`
rebuilds the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["applied", "change", "patch"]

_SET: Final = "="
_DICT: Final = "{"
_LIST: Final = "["
_MAX_DROPPED = 16  # a window that shed more than this at once is stored whole
_MISSING: Final = object()


def change(old: Any, new: Any) -> list[Any] | None:
    """The operation that turns ``old`` into ``new``; None if they are equal."""
    return None if old == new else _changed(old, new)


def _changed(old: Any, new: Any) -> list[Any]:
    """The operation that turns ``old`` into ``new``, which differ."""
    if type(old) is dict and type(new) is dict:
        return _dict_change(old, new)
    if type(old) is list and type(new) is list:
        return _list_change(old, new)
    return [_SET, new]


def applied(old: Any, operation: list[Any]) -> Any:
    """``old`` with ``operation`` applied (``old`` is not changed)."""
    kind = operation[0]
    if kind == _SET:
        return operation[1]
    if kind == _DICT:
        base = dict(old) if isinstance(old, Mapping) else {}
        for key, inner in operation[1].items():
            base[key] = applied(base.get(key), inner)
        for key in operation[2]:
            base.pop(key, None)
        return base
    if kind == _LIST:
        window = list(old) if isinstance(old, list) else []
        return window[operation[1] :] + list(operation[2])
    msg = f"a state change must start with '=', '{{' or '[', was {kind!r}"
    raise ValueError(msg)


def patch(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, list[Any]], list[str]]:
    """The operations on the keys of ``old`` that changed, and the keys ``new`` lacks."""
    inner: dict[str, list[Any]] = {}
    missing = _MISSING
    kept = 0  # keys of ``old`` still in ``new``
    for key, value in new.items():
        before = old.get(key, missing)
        if before is missing:
            inner[key] = [_SET, value]
            continue
        kept += 1
        # most keys are unchanged: the same object (a scalar kept), else compared here
        if before is not value and before != value:
            inner[key] = _changed(before, value)
    return inner, [key for key in old if key not in new] if kept < len(old) else []


def _dict_change(old: dict[str, Any], new: dict[str, Any]) -> list[Any]:
    inner, removed = patch(old, new)
    return [_DICT, inner, removed]


def _list_change(old: list[Any], new: list[Any]) -> list[Any]:
    """A window (dropped from the front, appended at the end) if ``new`` is one of ``old``."""
    for dropped in range(min(len(old), _MAX_DROPPED) + 1):
        kept = len(old) - dropped
        if kept <= len(new) and new[:kept] == old[dropped:]:
            appended = new[kept:]
            if len(appended) < len(new):
                return [_LIST, dropped, appended]
            break
    return [_SET, new]
