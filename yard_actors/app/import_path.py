"""Where a config's robot modules are imported from: the config's own folder, first.

``yard init`` writes ``yard.toml`` beside ``my_robot.py`` and the config names
``my_robot:MyRobot``; the ``yard`` console script does not put the working
directory on the import path, so without this the module would import only
with ``PYTHONPATH=.``, and only from that folder. A config's folder goes first
on ``sys.path`` for the rest of the process (one command, one run), so a module
there is the one used even if an installed package has the same name. ``yard
replay`` puts the folder of the config above a journal there too
(:mod:`.replay_paths`).
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["config_folder_first", "folder_first"]


def folder_first(folder: Path) -> None:
    """Put ``folder`` (absolute) first on ``sys.path``, once."""
    entry = str(folder.resolve())
    if sys.path[:1] == [entry]:
        return
    while entry in sys.path:
        sys.path.remove(entry)
    sys.path.insert(0, entry)


def config_folder_first(config: str | Path) -> None:
    """Put the folder of the config file ``config`` first on ``sys.path``."""
    folder_first(Path(config).resolve().parent)
