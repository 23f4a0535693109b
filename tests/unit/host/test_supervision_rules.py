"""Restart intensity, quarantine counting and the [supervision] config section."""

from __future__ import annotations

import pytest

from yard_actors.errors import ConfigError
from yard_actors.host.host_config import host_settings
from yard_actors.host.restart import Intensity
from yard_actors.host.supervision_config import SupervisionConfig, supervision_config

ENDPOINTS = {e: f"inproc://{e}" for e in ("data", "orders", "trades", "control")}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_restarts_past_the_intensity_within_the_window_are_refused() -> None:
    clock = Clock()
    intensity = Intensity(SupervisionConfig(max_restarts=3, within_s=60), clock)

    allowed = [intensity.allow() for _ in range(3)]
    refused = intensity.allow()

    assert allowed == [None, None, None]
    assert refused == "failed 4 times within 60 s; not restarted"


def test_restarts_older_than_the_window_no_longer_count() -> None:
    clock = Clock()
    intensity = Intensity(SupervisionConfig(max_restarts=2, within_s=10), clock)
    intensity.allow()
    clock.now += 5
    intensity.allow()
    clock.now += 6  # the first restart is now 11 s old

    assert intensity.allow() is None
    assert intensity.allow() == "failed 3 times within 10 s; not restarted"


def test_an_event_is_due_for_quarantine_at_its_second_failure_only() -> None:
    intensity = Intensity(SupervisionConfig())

    assert intensity.failed_at(7) is False
    assert intensity.failed_at(8) is False
    assert intensity.failed_at(None) is False
    assert intensity.failed_at(None) is False
    assert intensity.failed_at(7) is True


def test_the_supervision_section_reaches_the_host_arguments() -> None:
    config = {"endpoints": ENDPOINTS, "supervision": {"max_restarts": 5, "within_s": 30}}

    settings = host_settings(config, source="yard.toml")

    assert settings.host_kwargs["supervision"] == SupervisionConfig(max_restarts=5, within_s=30)


def test_the_supervision_defaults_are_three_restarts_in_sixty_seconds() -> None:
    assert supervision_config({}, source="yard.toml") == SupervisionConfig(
        max_restarts=3, within_s=60.0
    )


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ({"max_restarts": -1}, r"yard.toml: supervision.max_restarts: must be a whole number"),
        ({"max_restarts": True}, r"supervision.max_restarts: .* was True"),
        ({"within_s": 0}, r"yard.toml: supervision.within_s: must be a positive number"),
        ({"within_s": "60"}, r"supervision.within_s: .* was '60'"),
        ({"restarts": 3}, r"yard.toml: supervision.restarts: unknown key \(allowed: "),
    ],
)
def test_a_bad_supervision_section_is_refused_naming_the_key(
    section: dict[str, object], problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        supervision_config(section, source="yard.toml")
