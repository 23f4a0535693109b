"""A keyed host's registrations: what it sends when, and what it makes of the gateway's answers."""

from __future__ import annotations

import threading
import time

import pytest

from yard_actors.errors import DecodeError
from yard_actors.host.registrations import Registrations, Verdict
from yard_actors.wire.names import RECOVERY_REGISTER, RECOVERY_REGISTERED


def _answer(key: str, *pairs: tuple[str, str]) -> list[bytes]:
    frames = [RECOVERY_REGISTERED, key.encode()]
    for robot, refusal in pairs:
        frames += [robot.encode(), refusal.encode()]
    return frames


def test_a_robot_asked_for_is_sent_once_then_again_after_longer_and_longer_silences() -> None:
    registrations = Registrations(lambda robot: None)
    registrations.ask("mm-si")
    start = time.monotonic()

    first = registrations.due(start)
    soon = registrations.due(start + 1.9)
    second = registrations.due(start + 2.0)
    not_yet = registrations.due(start + 2.0 + 3.9)
    third = registrations.due(start + 2.0 + 4.0)

    assert first == second == third == [[RECOVERY_REGISTER, b"mm-si"]]
    assert soon == not_yet == []


def test_an_answered_robot_is_not_sent_again_and_its_waiter_has_the_verdict() -> None:
    registrations = Registrations(lambda robot: None)
    registrations.ask("mm-si")
    registrations.due(time.monotonic())

    late = registrations.take_answer(_answer("host-a", ("mm-si", "")))

    assert late == []
    assert registrations.wait("mm-si", 0.0) == Verdict(key="host-a", refusal="")
    assert registrations.due(time.monotonic() + 60) == []


def test_a_waiter_is_woken_by_the_answer_from_another_thread() -> None:
    registrations = Registrations(lambda robot: None)
    registrations.ask("mm-si")
    answering = threading.Timer(
        0.05, registrations.take_answer, [_answer("host-a", ("mm-si", "taken"))]
    )
    answering.start()
    try:
        verdict = registrations.wait("mm-si", 10.0)
    finally:
        answering.join()

    assert verdict == Verdict(key="host-a", refusal="taken")


def test_a_robot_registered_after_its_waiter_gave_up_is_returned_to_subscribe_again() -> None:
    registrations = Registrations(lambda robot: None)
    registrations.ask("mm-si")

    assert registrations.wait("mm-si", 0.01) is None
    assert registrations.take_answer(_answer("host-a", ("mm-si", ""))) == ["mm-si"]


def test_a_robot_refused_after_its_waiter_gave_up_is_handed_over_to_be_halted() -> None:
    halted: list[str] = []
    registrations = Registrations(halted.append)
    registrations.ask("mm-si")
    registrations.wait("mm-si", 0.01)

    late = registrations.take_answer(_answer("host-a", ("mm-si", "owned by host-b")))

    assert late == []
    assert halted == ["mm-si"]


def test_once_one_registration_went_unanswered_a_new_robot_does_not_wait() -> None:
    registrations = Registrations(lambda robot: None)
    registrations.ask("first")
    registrations.wait("first", 0.05)
    registrations.ask("second")

    started = time.monotonic()
    verdict = registrations.wait("second", 10.0)

    assert verdict is None
    assert time.monotonic() - started < 5.0


def test_an_answer_about_a_robot_removed_since_is_ignored() -> None:
    halted: list[str] = []
    registrations = Registrations(halted.append)
    registrations.ask("mm-si")
    registrations.wait("mm-si", 0.01)
    registrations.forget("mm-si")

    late = registrations.take_answer(_answer("host-a", ("mm-si", "owned by host-b")))

    assert late == []
    assert halted == []


def test_a_malformed_answer_is_refused_with_a_reason() -> None:
    registrations = Registrations(lambda robot: None)

    with pytest.raises(DecodeError, match="a registration answer of 3 frames"):
        registrations.take_answer([RECOVERY_REGISTERED, b"host-a", b"mm-si"])
