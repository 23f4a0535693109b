"""The journal against the run's order store: the same orders, the same fills, or a flag.

The figures of the report come from what the robot got (its journal); the order store is
what the gateway did. They must agree: every order the robot sent is an order in the store,
every fill the robot was told of is a trade in the store, and no more. A difference is not an
error of the analysis but a finding (a fill the run ended before delivering, a store of
another run), so it is reported, robot by robot, never raised. Reading the store is the
caller's (the command line composes the gateways' store with this layer): it hands over
:class:`StoreFacts`.
"""

from __future__ import annotations

from collections.abc import Mapping, Set

import attrs

from yard_actors.wire.events import Command, Event, Fill, NewOrder

__all__ = ["FactsCollector", "FillFacts", "StoreCheck", "StoreFacts", "check_store"]

FillFacts = tuple[str, int, str]
"""A fill as compared: price (exact, as text), qty, fee."""

_SHOWN = 5  # ids named in a mismatch; the rest are counted


@attrs.frozen(kw_only=True)
class StoreFacts:
    """One robot's orders (client order ids) and fills (trade id -> price, qty, fee)."""

    orders: Set[str]
    fills: Mapping[str, FillFacts]


@attrs.frozen(kw_only=True)
class StoreCheck:
    """The verdict for one robot: ``agrees``, and a sentence for the report."""

    agrees: bool
    sentence: str


class FactsCollector:
    """Collects the journal's side of the facts while a robot is replayed."""

    def __init__(self) -> None:
        self.orders: set[str] = set()
        self.fills: dict[str, FillFacts] = {}

    def update(self, event: Event, commands: tuple[Command, ...]) -> None:
        if type(event) is Fill:
            self.fills[event.trade_id] = (str(event.price), event.qty, str(event.fee))
        for command in commands:
            if type(command) is NewOrder:
                self.orders.add(command.client_order_id)

    def facts(self) -> StoreFacts:
        return StoreFacts(orders=frozenset(self.orders), fills=dict(self.fills))


def check_store(journal: StoreFacts, store: StoreFacts) -> StoreCheck:
    """Compare one robot's journal with the store; say what differs, if anything."""
    problems = []
    only_sent = journal.orders - store.orders
    only_stored = store.orders - journal.orders
    if only_sent:
        problems.append(f"orders sent but not in the store: {_ids(only_sent)}")
    if only_stored:
        problems.append(f"orders in the store the robot did not send: {_ids(only_stored)}")
    missing = journal.fills.keys() - store.fills.keys()
    unseen = store.fills.keys() - journal.fills.keys()
    changed = {
        t for t in journal.fills.keys() & store.fills.keys() if journal.fills[t] != store.fills[t]
    }
    if missing:
        problems.append(f"fills the robot got that the store lacks: {_ids(missing)}")
    if unseen:
        problems.append(f"fills in the store the robot never got: {_ids(unseen)}")
    if changed:
        problems.append(f"fills whose price, qty or fee differ: {_ids(changed)}")
    counts = (
        f"orders: {len(journal.orders):,} in the journal, {len(store.orders):,} in the store; "
        f"fills: {len(journal.fills):,} and {len(store.fills):,}"
    )
    if problems:
        return StoreCheck(agrees=False, sentence=f"MISMATCH: {counts}; " + "; ".join(problems))
    return StoreCheck(agrees=True, sentence=f"store agrees: {counts}")


def _ids(ids: Set[str]) -> str:
    shown = sorted(ids)[:_SHOWN]
    more = len(ids) - len(shown)
    return ", ".join(shown) + (f" and {more:,} more" if more else "")
