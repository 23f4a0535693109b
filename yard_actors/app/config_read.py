"""Reading a yard.toml: its text parsed as TOML, or a ConfigError naming the file and why.

``yard run``, ``yard gateway --config`` and ``yard feed --config`` read the same file for
different parts of it (:mod:`.config_file`, :mod:`.traded_symbols`,
:mod:`.instrument_config`); they read it here, so a missing or broken file is worded the
same whichever command met it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from yard_actors.errors import ConfigError

__all__ = ["read_config"]


def read_config(file: Path) -> dict[str, Any]:
    """The TOML document in ``file``. Raises ConfigError naming the file and the problem."""
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"{file}: the config file does not exist (yard init writes an example)"
        raise ConfigError(msg) from None
    except OSError as exc:
        msg = f"{file}: cannot read the config file: {exc}"
        raise ConfigError(msg) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{file}: not valid TOML: {exc}"
        raise ConfigError(msg) from exc
