"""Where ``yard replay`` finds a journal, and the robot modules its robots need.

``yard replay yard-data/run-0003 trend-si`` names the run folder ``yard run``
printed, not the journal inside it: :func:`journal_in` looks there. A robot
whose module sits beside its config (``yard init``'s ``my_robot.py``) imports
because :func:`robots_beside` puts the folder of the nearest ``yard.toml`` above
the journal first on the import path, as ``yard run`` did for that config.
"""

from __future__ import annotations

from pathlib import Path

from yard_actors.app.import_path import folder_first

__all__ = ["CONFIG_NAME", "journal_in", "robots_beside"]

CONFIG_NAME = "yard.toml"
"""The config file ``yard init`` writes, which :func:`robots_beside` looks for."""

_SEGMENTS = "journal-*.yj"
_SEARCH_UP = 4  # a journal sits a few folders below its config: yard-data/run-0001/journal


def journal_in(path: str | Path) -> Path:
    """``path`` if it holds journal segments, else its ``journal`` folder if that does.

    Anything else is returned as given, for the replay to say what is missing.
    """
    given = Path(path)
    inner = given / "journal"
    if not any(given.glob(_SEGMENTS)) and any(inner.glob(_SEGMENTS)):
        return inner
    return given


def robots_beside(journal_dir: Path) -> Path | None:
    """Put the nearest folder at or above ``journal_dir`` with a ``yard.toml`` first on the
    import path, and return it (None if there is none within a few folders up)."""
    folder = journal_dir.resolve()
    for candidate in [folder, *folder.parents][: _SEARCH_UP + 1]:
        if (candidate / CONFIG_NAME).is_file():
            folder_first(candidate)
            return candidate
    return None
