"""The order store's table of robot owners, on every backend: SQLite on a file, MongoDB on nx-27017.

Parametrised by the ``store`` fixture (conftest.py). A robot has one owner, kept by
whoever claimed it first, and the table outlives the store object (a gateway restarted).
"""

from __future__ import annotations

from gateways.store import OrderStore, open_store

TS = 1_700_000_000_000_000_000


def test_a_claim_makes_the_key_the_owner_of_each_robot_it_names(store: OrderStore) -> None:
    owners = store.claim_robots("host-a", ["mm-si", "trend-si"], ts=TS)

    assert owners == {"mm-si": "host-a", "trend-si": "host-a"}
    assert store.robot_owners() == {"mm-si": "host-a", "trend-si": "host-a"}


def test_a_robot_another_key_owns_keeps_its_owner_and_the_claim_says_whose_it_is(
    store: OrderStore,
) -> None:
    store.claim_robots("host-a", ["mm-si"], ts=TS)

    owners = store.claim_robots("host-b", ["mm-si", "mm-rts"], ts=TS + 1)

    assert owners == {"mm-si": "host-a", "mm-rts": "host-b"}
    assert store.robot_owners() == {"mm-si": "host-a", "mm-rts": "host-b"}


def test_the_same_key_claiming_its_robots_again_changes_nothing(store: OrderStore) -> None:
    store.claim_robots("host-a", ["mm-si"], ts=TS)

    again = store.claim_robots("host-a", ["mm-si", "mm-si"], ts=TS + 1)

    assert again == {"mm-si": "host-a"}
    assert store.robot_owners() == {"mm-si": "host-a"}


def test_a_claim_of_many_robots_is_one_call(store: OrderStore) -> None:
    robots = [f"robot-{n:04d}" for n in range(1200)]  # past SQLite's chunk of 500 names

    owners = store.claim_robots("host-a", robots, ts=TS)

    assert owners == dict.fromkeys(robots, "host-a")
    assert len(store.robot_owners()) == 1200


def test_a_store_opened_again_knows_the_owners(store_url: str) -> None:
    with open_store(store_url) as first:
        first.claim_robots("host-a", ["mm-si"], ts=TS)

    with open_store(store_url) as again:
        owners = again.robot_owners()

    assert owners == {"mm-si": "host-a"}


def test_a_store_with_no_owners_says_so(store: OrderStore) -> None:
    assert store.robot_owners() == {}
    assert store.claim_robots("host-a", [], ts=TS) == {}
