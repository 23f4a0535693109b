"""Which robot, and which market data backlog, each robot actor ref stands for.

The data intake knows robots by their actor refs only (a route names a ref); its journal
groups need the robot's name and its conflation the robot's :class:`Backlog`. The actor
registers both as it is built (:func:`register_ref`); the entries are weak, so one goes
with the last reference to its ref.
"""

from __future__ import annotations

import weakref
from typing import Any

import pykka

from yard_actors.host.backlog import Backlog

__all__ = ["backlog_of", "register_ref", "robot_name"]


# The robot each RobotActor ref runs, for the data intake's journal groups: a route names a
# robot by its ref only. Weak: an entry goes with the last reference to its ref.
_robot_names: weakref.WeakKeyDictionary[pykka.ActorRef[Any], str] = weakref.WeakKeyDictionary()


def robot_name(ref: pykka.ActorRef[Any]) -> str:
    """The name of the robot that ``ref`` runs; for an actor that runs none, its urn."""
    return _robot_names.get(ref, ref.actor_urn)


# The backlog of each RobotActor ref, for the data intake, which knows robots by ref only.
_backlogs: weakref.WeakKeyDictionary[pykka.ActorRef[Any], Backlog] = weakref.WeakKeyDictionary()


def backlog_of(ref: pykka.ActorRef[Any]) -> Backlog | None:
    """The market data backlog of the robot ``ref`` runs; None for an actor that runs none."""
    return _backlogs.get(ref)


def register_ref(ref: pykka.ActorRef[Any], name: str, backlog: Backlog) -> None:
    """Note that ``ref`` runs the robot ``name``, whose market data backlog is ``backlog``."""
    _robot_names[ref] = name
    _backlogs[ref] = backlog
