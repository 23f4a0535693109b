"""Finding robot classes by dotted path, for configs, journals and the CLI."""

from __future__ import annotations

import importlib
from typing import Any

from yard_actors.errors import RobotError
from yard_actors.robot.robot import Robot

__all__ = ["class_path", "load_robot_class"]


def class_path(robot_class: type[Any]) -> str:
    """The path :func:`load_robot_class` takes back: ``package.module:Class``."""
    return f"{robot_class.__module__}:{robot_class.__qualname__}"


def load_robot_class(path: str) -> type[Robot]:
    """Import ``package.module:Class`` (or ``package.module.Class``) and check it is a Robot."""
    module_name, sep, class_name = path.partition(":")
    if not sep:
        module_name, _, class_name = path.rpartition(".")
    if not module_name or not class_name:
        msg = f"robot class {path!r} is not a dotted path like 'robots.trend:TrendFollower'"
        raise RobotError(msg)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        msg = f"robot class {path!r}: module {module_name!r} does not import: {exc}"
        raise RobotError(msg) from exc
    found = getattr(module, class_name, None)
    if found is None:
        msg = f"robot class {path!r}: module {module_name!r} has no {class_name!r}"
        raise RobotError(msg)
    if not (isinstance(found, type) and issubclass(found, Robot)):
        msg = f"robot class {path!r} is not a subclass of yard_actors.Robot"
        raise RobotError(msg)
    return found
