"""The routing table: which robots a topic goes to, and the journal group naming them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pykka
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yard_actors import Robot
from yard_actors.host.robot_actor import RobotActor, robot_name
from yard_actors.host.routing import Fanout, RoutingTable, by_robot
from yard_actors.journal import Group


class Quiet(Robot):
    symbols = ("Si",)


@pytest.fixture
def robots() -> Iterator[list[pykka.ActorRef[Any]]]:
    refs = [
        RobotActor.start(Quiet(name), journal=None, order_link=None)
        for name in ("alpha", "beta", "gamma")
    ]
    yield refs
    for ref in refs:
        ref.stop(timeout=5)


def test_a_topic_is_new_on_its_first_route_and_gone_after_its_last_unroute(
    robots: list[pykka.ActorRef[Any]],
) -> None:
    alpha, beta, _ = robots
    table = RoutingTable()

    assert table.add("Si", alpha) == b"Si"
    assert table.add("Si", beta) is None
    assert table.add("Si", beta) is None
    assert table.remove("Si", alpha) is None
    assert table.remove("Si", beta) == b"Si"
    assert table.fanout(b"Si") is None


def test_each_change_makes_a_new_group_naming_the_robots_in_order(
    robots: list[pykka.ActorRef[Any]],
) -> None:
    alpha, beta, gamma = robots
    table = RoutingTable()
    for robot in robots:
        table.add("Si", robot)
    before = table.fanout(b"Si")

    table.add("Si", beta)  # already routed: no change
    unchanged = table.fanout(b"Si")
    table.remove("Si", beta)
    after = table.fanout(b"Si")

    assert before is not None
    assert after is not None
    assert unchanged is before
    assert before.robots == (alpha, beta, gamma)
    assert before.group.robots == ("alpha", "beta", "gamma")
    assert after.robots == (alpha, gamma)
    assert after.group.robots == ("alpha", "gamma")
    assert after.group is not before.group
    assert after.group.topic == "Si"


def test_session_and_system_go_to_every_robot_routed_to_either(
    robots: list[pykka.ActorRef[Any]],
) -> None:
    alpha, beta, _ = robots
    table = RoutingTable()

    assert table.add("$session", alpha) is None  # the intake subscribes to these itself
    table.add("$system", beta)
    session, system = table.fanout(b"$session"), table.fanout(b"$system")
    table.remove("Si", alpha)  # any unroute takes a robot off both

    assert session is not None
    assert system is not None
    assert session.robots == system.robots == (alpha, beta)
    assert (session.group.topic, system.group.topic) == ("$session", "$system")
    assert session.group.robots == ("alpha", "beta")
    left = table.fanout(b"$system")
    assert left is not None
    assert left.group.robots == ("beta",)


def test_an_actor_that_runs_no_robot_is_named_by_its_urn() -> None:
    ref = pykka.ThreadingActor.start()
    try:
        assert robot_name(ref) == ref.actor_urn
    finally:
        ref.stop(timeout=5)


def test_a_burst_splits_into_each_robots_messages_in_order(
    robots: list[pykka.ActorRef[Any]],
) -> None:
    alpha, beta, gamma = robots
    table = RoutingTable()
    for topic, robot in (("Si", alpha), ("Si", beta), ("Eu", beta), ("Eu", gamma)):
        table.add(topic, robot)
    si, eu = table.fanout(b"Si"), table.fanout(b"Eu")
    assert si is not None
    assert eu is not None
    burst = [("si-1", si), ("eu-1", eu), ("si-2", si), ("eu-2", eu)]

    split = by_robot(burst)

    assert split == {
        alpha: ["si-1", "si-2"],
        beta: ["si-1", "eu-1", "si-2", "eu-2"],  # on both symbols: merged back in order
        gamma: ["eu-1", "eu-2"],
    }
    assert split[alpha] is not split[beta]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # refs are shared
@given(
    st.lists(st.sets(st.integers(0, 2), min_size=1), min_size=1, max_size=6),
    st.lists(st.integers(0, 5), max_size=40),
)
def test_splitting_a_burst_by_fanout_equals_appending_each_delivery(
    robots: list[pykka.ActorRef[Any]], fanout_robots: list[set[int]], picks: list[int]
) -> None:
    fanouts = [
        Fanout(tuple(robots[n] for n in sorted(members)), Group("t", ()))
        for members in fanout_robots
    ]
    burst = [(n, fanouts[pick % len(fanouts)]) for n, pick in enumerate(picks)]

    expected: dict[pykka.ActorRef[Any], list[int]] = {}
    for message, fanout in burst:
        for robot in fanout.robots:
            expected.setdefault(robot, []).append(message)
    assert by_robot(burst) == expected
