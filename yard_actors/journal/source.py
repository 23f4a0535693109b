"""Which file a robot class came from, and its hash: journaled with the robot, checked on replay.

A replay that diverges most often means the robot's code changed since the run. The host
journals the class's source file and its sha256 in the robot's spec (``"source"``), so a
replay can say "the class's file changed since the run" instead of leaving the reader to
guess. Only the file defining the class is hashed, not its bases or imports: a cheap,
certain signal for the common case, not a proof of sameness.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Mapping
from typing import Any
from weakref import WeakKeyDictionary

__all__ = ["class_source", "file_sha256"]


_SOURCES: WeakKeyDictionary[type[Any], Mapping[str, str] | None] = WeakKeyDictionary()


def class_source(robot_class: type[Any]) -> Mapping[str, str] | None:
    """``{"path": file, "sha256": hex}`` for the file defining ``robot_class``, or None.

    None when the class has no file to read (defined in a REPL, or the file is gone).
    Cached per class: a class is its code as imported, so its file is hashed once.
    """
    if robot_class not in _SOURCES:
        _SOURCES[robot_class] = _source(robot_class)
    return _SOURCES[robot_class]


def _source(robot_class: type[Any]) -> Mapping[str, str] | None:
    try:
        path = inspect.getsourcefile(robot_class)
    except TypeError:  # a built-in, or a class from a module without a file
        return None
    if path is None:
        return None
    digest = file_sha256(path)
    return None if digest is None else {"path": path, "sha256": digest}


def file_sha256(path: str) -> str | None:
    """The sha256 of the file at ``path`` in hex, or None if it cannot be read."""
    try:
        with open(path, "rb") as file:
            return hashlib.file_digest(file, "sha256").hexdigest()
    except OSError:
        return None
