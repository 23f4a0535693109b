"""The rules of robot ownership: one owner a name, no name the beginning of another key's.

Registration writes through a real order store (SQLite in memory); the subscription rule
is :class:`TradesSubscriptions.honoured`, the decision behind every keyed subscription.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from gateways.drops import Drops
from gateways.owner_checks import TradesSubscriptions
from gateways.owners import Owners
from gateways.store import SQLiteOrderStore

TS = 1_700_000_000_000_000_000


@pytest.fixture
def store() -> Iterator[SQLiteOrderStore]:
    with SQLiteOrderStore(":memory:") as opened:
        yield opened


def test_a_robot_is_registered_once_and_granted_again_to_its_own_key(
    store: SQLiteOrderStore,
) -> None:
    owners = Owners({})

    first = owners.register(store, "host-a", ["mm-si"], TS)
    again = owners.register(store, "host-a", ["mm-si"], TS + 1)

    assert first == again == [("mm-si", "")]
    assert owners.owner("mm-si") == "host-a"
    assert owners.owner_of_topic(b"mm-si") == "host-a"
    assert store.robot_owners() == {"mm-si": "host-a"}


def test_a_name_another_key_owns_is_refused_saying_whose_it_is(store: SQLiteOrderStore) -> None:
    owners = Owners({"mm-si": "host-a"})

    [(_, refusal)] = owners.register(store, "host-b", ["mm-si"], TS)

    assert refusal.startswith("robot mm-si is registered to key host-a;")
    assert owners.owner("mm-si") == "host-a"
    assert store.robot_owners() == {}  # nothing written for a refusal


@pytest.mark.parametrize("name", ["mm-si2", "mm-si-b", "mm", "m"])
def test_a_name_that_begins_or_is_the_beginning_of_another_keys_robot_is_refused(
    name: str,
) -> None:
    owners = Owners({"mm-si": "host-a"})

    refusal = owners.refusal("host-b", name)

    assert refusal is not None
    assert f"robot name {name} and robot mm-si of key host-a begin alike" in refusal


def test_robots_of_one_key_may_begin_alike() -> None:
    owners = Owners({"mm-si": "host-a", "mm-si-2": "host-a"})

    assert owners.refusal("host-a", "mm") is None
    assert owners.refusal("host-a", "mm-si-3") is None
    assert owners.refusal("host-b", "mm-rts") is None  # begins like nothing of host-a's


def test_a_name_beginning_with_the_reserved_prefix_is_refused() -> None:
    refusal = Owners({}).refusal("host-a", "$seqs")

    assert refusal is not None
    assert "kept for the wire's topics" in refusal


def test_a_request_with_granted_and_refused_robots_answers_each_in_order(
    store: SQLiteOrderStore,
) -> None:
    owners = Owners({"taken": "host-a"})

    verdicts = owners.register(store, "host-b", ["free", "taken", "taken-2", "other"], TS)

    assert [robot for robot, _ in verdicts] == ["free", "taken", "taken-2", "other"]
    assert [bool(refusal) for _, refusal in verdicts] == [False, True, True, False]
    assert store.robot_owners() == {"free": "host-b", "other": "host-b"}


def test_a_peer_without_keys_may_act_for_any_robot_and_a_keyed_one_for_its_own() -> None:
    owners = Owners({"mm-si": "host-a"})

    assert owners.may_act(None, "mm-si")
    assert owners.may_act("host-a", "mm-si")
    assert not owners.may_act("host-b", "mm-si")
    assert not owners.may_act("host-a", "nobody")


def test_the_heartbeat_is_split_by_owner_leaving_out_robots_nobody_owns() -> None:
    owners = Owners({"mm-si": "host-a", "trend-si": "host-a", "mm-rts": "host-b"})

    beats = dict(owners.heartbeats({"mm-si": 4, "trend-si": 2, "mm-rts": 9, "orphan": 1}))

    assert beats == {
        b"$seqs/host-a/": {"mm-si": 4, "trend-si": 2},
        b"$seqs/host-b/": {"mm-rts": 9},
    }


def test_a_keyed_subscriber_gets_its_own_robots_system_and_its_own_seqs_only() -> None:
    owners = Owners({"mm-si": "host-a", "mm-rts": "host-b"})
    subscriptions = TradesSubscriptions(owners, Drops("test", Counter()))

    honoured = {
        topic: subscriptions.honoured(topic, "host-a")
        for topic in (b"mm-si", b"$system", b"$seqs", b"mm-rts", b"mm", b"", b"$", b"$seqs/")
    }

    assert honoured == {
        b"mm-si": b"mm-si",
        b"$system": b"$system",
        b"$seqs": b"$seqs/host-a/",
        b"mm-rts": None,
        b"mm": None,
        b"": None,
        b"$": None,
        b"$seqs/": None,
    }
    assert subscriptions.honoured(b"mm-si", None) is None  # no name on a keyed socket: odd
