"""The journal's orders and fills against the store's: agreement, or what differs."""

from __future__ import annotations

from yard_actors.analysis.store_check import StoreFacts, check_store


def _facts(orders: set[str], fills: dict[str, tuple[str, int, str]]) -> StoreFacts:
    return StoreFacts(orders=frozenset(orders), fills=fills)


def test_the_same_orders_and_fills_agree() -> None:
    facts = _facts({"o1", "o2"}, {"T1": ("100", 1, "0.5")})

    check = check_store(facts, facts)

    assert check.agrees
    assert check.sentence == (
        "store agrees: orders: 2 in the journal, 2 in the store; fills: 1 and 1"
    )


def test_a_fill_the_robot_never_got_is_flagged_by_its_trade_id() -> None:
    journal = _facts({"o1"}, {})
    store = _facts({"o1"}, {"T9": ("100", 1, "0.5")})

    check = check_store(journal, store)

    assert not check.agrees
    assert check.sentence.startswith("MISMATCH: ")
    assert "fills in the store the robot never got: T9" in check.sentence


def test_orders_and_changed_fills_are_named_on_either_side() -> None:
    journal = _facts({"o1", "o2"}, {"T1": ("100", 1, "0.5")})
    store = _facts({"o1", "o3"}, {"T1": ("101", 1, "0.5")})

    sentence = check_store(journal, store).sentence

    assert "orders sent but not in the store: o2" in sentence
    assert "orders in the store the robot did not send: o3" in sentence
    assert "fills whose price, qty or fee differ: T1" in sentence


def test_a_long_list_of_ids_is_cut_with_a_count() -> None:
    journal = _facts({f"o{n:02d}" for n in range(12)}, {})

    sentence = check_store(journal, _facts(set(), {})).sentence

    assert "o00, o01, o02, o03, o04 and 7 more" in sentence
