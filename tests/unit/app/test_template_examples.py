"""The commented examples of ``yard init``'s yard.toml load once uncommented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from yard_actors.app.config_file import load_settings
from yard_actors.app.templates import write_templates
from yard_actors.host.backlog import MailboxLimits

_RUNTIME_KEYS = re.compile(
    r"^# (?=runtime|\[pool\]|workers|batch|max_workers|\[mailbox\]|conflate_at|overrun_at)",
    re.MULTILINE,
)


def test_the_runtime_pool_and_mailbox_examples_load_uncommented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [config, _] = write_templates(tmp_path)
    config.write_text(_RUNTIME_KEYS.sub("", config.read_text(encoding="utf-8")), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))  # my_robot.py, as `yard run` finds it from cwd

    kwargs = load_settings(config).host.host_kwargs

    assert kwargs["runtime"] == "pooled"
    assert (kwargs["pool_workers"], kwargs["pool_batch"], kwargs["pool_max_workers"]) == (1, 64, 9)
    assert kwargs["mailbox"] == MailboxLimits()
