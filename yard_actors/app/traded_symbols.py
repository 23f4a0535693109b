"""The symbols a yard.toml trades: what ``yard gateway --config`` takes market data for.

The paper exchange prices and fills an order only from the market data the gateway
takes from the feed, so a gateway of a deployment must subscribe to every symbol the
config's robots trade (one hearing only Si and RTS has no BR prices to fill a BR order
against). Given ``--config`` and no ``--symbols``, it takes
the union of its robots' symbols, each robot's as the host builds it: the
``symbols`` of its ``[[robots]]`` entry, else its class's ``symbols`` (the class is
imported, the config's folder first on the import path, as ``yard run`` does); a
config with no ``[[robots]]`` runs the demo robots, and so trades their symbols.

It is separate from :mod:`.config_file` because a gateway is not a host: the host's
checks would read the host's secret key and build every robot, neither of which a
gateway on another machine has or needs. Only what decides the symbols is checked
here; every problem is a ConfigError naming the file and the key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from yard_actors.app.config_file import DEFAULT_ROBOTS
from yard_actors.app.config_read import read_config
from yard_actors.app.import_path import config_folder_first
from yard_actors.errors import ConfigError, RobotError
from yard_actors.robot.loader import load_robot_class

__all__ = ["symbols_in_file", "traded_symbols"]


def symbols_in_file(path: str | Path) -> tuple[str, ...]:
    """The symbols the robots of the config file ``path`` trade (:func:`traded_symbols`).

    Raises ConfigError naming the file, the key and the problem.
    """
    file = Path(path)
    config = read_config(file)
    config_folder_first(file)  # a robot module beside the config imports, as for yard run
    return traded_symbols(config, source=str(file))


def traded_symbols(config: Mapping[str, Any], *, source: str) -> tuple[str, ...]:
    """The union of the symbols of ``config``'s robots (parsed TOML), in first-seen order.

    Raises ConfigError naming ``source`` and the key when a robot's entry cannot say
    its symbols, or when the robots trade none (the gateway would price nothing).
    """
    robots = config.get("robots", DEFAULT_ROBOTS)
    if not isinstance(robots, list | tuple):
        raise _fail(source, "robots", f"must be a list of [[robots]] tables, was {robots!r}")
    symbols: dict[str, None] = {}
    for index, robot in enumerate(robots):
        symbols.update(dict.fromkeys(_robot_symbols(source, f"robots[{index}]", robot)))
    if not symbols:
        problem = (
            "its robots trade no symbols, so the gateway would take no market data and "
            "price no order: give the symbols to take with --symbols"
        )
        raise _fail(source, "robots", problem)
    return tuple(symbols)


def _robot_symbols(source: str, where: str, robot: Any) -> Iterable[str]:
    if not isinstance(robot, Mapping):
        raise _fail(source, where, f"must be a table, was {robot!r}")
    symbols = robot.get("symbols")
    if symbols is not None:
        if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
            raise _fail(source, f"{where}.symbols", f"must be a list of symbols, was {symbols!r}")
        return symbols
    class_path = robot.get("class")
    if not isinstance(class_path, str):
        problem = f"missing or not a module:Class text ({class_path!r}), and no symbols given"
        raise _fail(source, f"{where}.class", problem)
    try:
        return load_robot_class(class_path).symbols
    except RobotError as exc:
        raise _fail(source, f"{where}.class", str(exc)) from exc


def _fail(source: str, key: str, problem: str) -> ConfigError:
    return ConfigError(f"{source}: {key}: {problem}")
