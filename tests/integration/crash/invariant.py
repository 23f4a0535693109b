"""The one consistency invariant of a settled deployment: the store and the robots agree.

:func:`check_consistency` reads the order store and every robot's journal, rebuilds
each robot with the real ``yard replay DIR ROBOT --snapshot`` (the
:func:`~yard_actors.journal.replay.replay` API behind the command line), and says in a
sentence each way they disagree:

* **every fill is applied exactly once to its order**: an order's filled qty and
  value are the sums of its fills, no trade id is stored twice, and a robot's
  reports are numbered 1, 2, 3... with no gap;
* **and exactly once to its robot**: the robot's journal holds each of its stored
  fills once (no more, no fewer, no other) and each report seq once, and the rebuilt
  robot's positions are the sums of its stored fills;
* **no order is sent twice**: no client order id twice in the store; each stored
  order is a command its robot journaled, with the same fields, and no robot
  journaled two orders under one id;
* **no robot waits on an order the gateway does not have**: the orders a rebuilt
  robot holds as working are the robot's orders the store holds as not final, both
  ways; none of them waits for the answer to a cancel (the store has the answers the
  gateway gave, and a settled robot has had them); and no order still open in the
  store had a cancel refused (the exchange and the store disagree on it: nobody can
  ever cancel or fill it);
* **every robot replays faithfully** and is not failed.

Call it only once every process is stopped: it reads files others no longer write.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from gateways.store import FINAL_STATES, OrderRecord, OrderState, TradeRecord, open_store
from yard_actors.journal import RobotJournal, read_robots, robots_in
from yard_actors.wire.codec import decode
from yard_actors.wire.events import (
    CancelReply,
    Fill,
    NewOrder,
    OrderAccepted,
    OrderRejected,
)
from yard_actors.wire.names import LOST_IN_TRANSIT

__all__ = ["Consistency", "check_consistency"]

Report = OrderAccepted | OrderRejected | CancelReply | Fill

_REPLAY_S = 120.0
_SHOWN = 5  # ids quoted in one sentence
# A journaled payload worth decoding: a report or an order. Quotes, the bulk, are skipped
# by a substring test instead of a decode.
_WANTED = (b'"type":"Fill"', b'"type":"Order', b'"type":"CancelReply"', b'"type":"NewOrder"')


@attrs.frozen(kw_only=True)
class Consistency:
    """What :func:`check_consistency` found, and how much it looked at."""

    violations: tuple[str, ...]
    robots: int
    orders: int
    fills: int
    reports: int
    commands: int

    def counts(self) -> str:
        return (
            f"{self.robots} robots, {self.orders} orders, {self.fills} fills, "
            f"{self.reports} reports, {self.commands} journaled commands checked"
        )


@attrs.frozen(kw_only=True)
class _Robot:
    """A robot as its journal and its rebuilt snapshot tell it."""

    name: str
    handled: tuple[Report, ...]  # the reports it handled, in order
    commands: tuple[NewOrder, ...]  # the orders it journaled
    snapshot: Mapping[str, Any]  # ``yard replay --snapshot``: the rebuilt robot


@attrs.frozen(kw_only=True)
class _Store:
    """One robot's part of the store."""

    orders: tuple[OrderRecord, ...]
    fills: tuple[Fill, ...]
    reports: tuple[Report, ...]  # in seq order: reports[n - 1] has seq n


def check_consistency(store_url: str, journal_dirs: Iterable[Path]) -> Consistency:
    """Compare the store at ``store_url`` with the robots journaled in ``journal_dirs``."""
    journaled = {Path(d): robots_in(d) for d in journal_dirs}
    replays = _start_replays(journaled)  # they run while the store and journals are read
    violations: list[str] = []
    try:
        histories = _histories(journaled, violations)
        with open_store(store_url) as store:
            orders, trades = store.orders(), store.trades()
            reports = {
                name: _reports_of(store.reports(name), name, violations) for name in histories
            }
        snapshots = _snapshots(replays, violations)
    finally:
        for run in replays.values():
            if run.poll() is None:
                run.kill()
                run.communicate()
    violations += _orders_match_their_fills(orders, trades)
    stray = sorted({o.robot for o in orders} - set(histories))
    if stray:
        violations.append(f"the store has orders of robots no journal knows: {_few(stray)}")
    for name, history in histories.items():
        robot = _robot(name, history, snapshots.get(name))
        mine = _Store(
            orders=tuple(o for o in orders if o.robot == name),
            fills=tuple(t.fill for t in trades if t.robot == name),
            reports=reports[name],
        )
        violations += _robot_agrees(robot, mine)
    return Consistency(
        violations=tuple(violations),
        robots=len(histories),
        orders=len(orders),
        fills=len(trades),
        reports=sum(len(r) for r in reports.values()),
        commands=sum(1 for h in histories.values() for e in h.entries if e.kind == "command"),
    )


# --- reading ----------------------------------------------------------------------------


def _start_replays(journaled: Mapping[Path, Sequence[str]]) -> dict[str, subprocess.Popen[str]]:
    """Start ``yard replay DIR ROBOT --snapshot`` for every robot at once."""
    return {
        name: subprocess.Popen(
            [
                *(sys.executable, "-m", "yard_actors.app.cli"),
                *("replay", str(directory), name, "--snapshot"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for directory, names in journaled.items()
        for name in names
    }


def _snapshots(
    runs: Mapping[str, subprocess.Popen[str]], violations: list[str]
) -> dict[str, Mapping[str, Any]]:
    """Each rebuilt robot's snapshot; a sentence for each replay not faithful (or not run)."""
    snapshots = {}
    for name, run in runs.items():
        try:
            out, err = run.communicate(timeout=_REPLAY_S)
        except subprocess.TimeoutExpired:
            violations.append(f"yard replay of robot {name} did not finish within {_REPLAY_S} s")
            continue
        verdict, _, snapshot = out.partition("\n")
        if run.returncode != 0 or not verdict.endswith("; faithful"):
            said = verdict or err.strip().splitlines()[-1:] or ["nothing"]
            violations.append(f"yard replay of robot {name} exited {run.returncode}: {said}")
        if snapshot.strip():
            snapshots[name] = json.loads(snapshot)
    return snapshots


def _histories(
    journaled: Mapping[Path, Sequence[str]], violations: list[str]
) -> dict[str, RobotJournal]:
    histories: dict[str, RobotJournal] = {}
    where: dict[str, Path] = {}
    for directory, names in journaled.items():
        for name, history in read_robots(directory, names).items():
            if name in histories:
                violations.append(
                    f"robot {name} is journaled by two hosts: in {where[name]} and {directory}"
                )
                continue
            histories[name], where[name] = history, directory
    return histories


def _robot(name: str, history: RobotJournal, snapshot: Mapping[str, Any] | None) -> _Robot:
    handled: list[Report] = []
    commands: list[NewOrder] = []
    for entry in history.entries:
        if not any(wanted in entry.payload for wanted in _WANTED):
            continue
        message = decode(entry.payload)
        if isinstance(message, NewOrder):
            commands.append(message)
        elif isinstance(message, Report) and entry.kind == "event":
            handled.append(message)
    return _Robot(
        name=name, handled=tuple(handled), commands=tuple(commands), snapshot=snapshot or {}
    )


def _reports_of(records: Sequence[Any], robot: str, violations: list[str]) -> tuple[Report, ...]:
    """The robot's stored reports in seq order; a sentence if they are not numbered 1, 2, 3..."""
    seqs = [record.seq for record in records]
    if seqs != list(range(1, len(seqs) + 1)):
        gaps = sorted(set(range(1, max(seqs, default=0) + 1)) - set(seqs))
        twice = sorted(s for s, n in Counter(seqs).items() if n > 1)
        violations.append(
            f"the reports of robot {robot} are not numbered 1..{len(seqs)} without gaps: "
            f"missing seqs {_few(gaps)}, repeated seqs {_few(twice)}"
        )
    return tuple(record.report for record in records)


# --- the store against itself -----------------------------------------------------------


def _orders_match_their_fills(
    orders: Sequence[OrderRecord], trades: Sequence[TradeRecord]
) -> list[str]:
    """Each order's filled qty and value are the sums of its fills; no fill stored twice."""
    found: list[str] = []
    ids = Counter(o.client_order_id for o in orders)
    repeated = sorted((coid for coid, n in ids.items() if n > 1), key=_order_number)
    if repeated:
        found.append(f"the store holds {len(repeated)} client order ids twice: {_few(repeated)}")
    trade_ids = Counter(t.fill.trade_id for t in trades)
    twice = [f"{t} ({n} times)" for t, n in sorted(trade_ids.items()) if n > 1]
    if twice:
        found.append(f"the store holds {len(twice)} trade ids more than once: {_few(twice)}")
    by_order: dict[str, list[Fill]] = defaultdict(list)
    for trade in trades:
        by_order[trade.fill.client_order_id].append(trade.fill)
    orphans = sorted(set(by_order) - set(ids), key=_order_number)
    if orphans:
        found.append(
            f"the store has fills of {len(orphans)} orders it does not hold: {_few(orphans)}"
        )
    sums, states, robots = [], [], []
    for order in orders:
        fills = by_order.get(order.client_order_id, [])
        qty = sum(f.qty for f in fills)
        value = sum((f.price * f.qty for f in fills), Decimal(0))
        if qty != order.filled_qty or value != order.filled_value:
            sums.append(
                f"{order.client_order_id} (filled {order.filled_qty} for {order.filled_value}, "
                f"its {len(fills)} fills add up to {qty} for {value})"
            )
        if (order.filled_qty == order.qty) != (order.state is OrderState.FILLED):
            states.append(
                f"{order.client_order_id} ({order.state.value}, {order.filled_qty} of {order.qty})"
            )
        robots += [f.trade_id for f in fills if f.robot != order.robot]
    if sums:
        found.append(
            f"{len(sums)} orders in the store are not the sum of their fills: {_few(sums)}"
        )
    if states:
        found.append(f"{len(states)} orders have a state their fills deny: {_few(states)}")
    if robots:
        found.append(f"{len(robots)} fills name another robot than their order's: {_few(robots)}")
    return found


# --- each robot against the store -------------------------------------------------------


def _robot_agrees(robot: _Robot, store: _Store) -> list[str]:
    return [
        *_fills_applied_once(robot, store),
        *_reports_handled_once(robot, store),
        *_positions_match(robot, store),
        *_orders_were_commands(robot, store),
        *_working_orders_match(robot, store),
        *_cancellable(robot, store),
        *_robot_is_alive(robot),
    ]


def _fills_applied_once(robot: _Robot, store: _Store) -> list[str]:
    name = robot.name
    handled = Counter(e.trade_id for e in robot.handled if isinstance(e, Fill))
    twice = sorted(t for t, n in handled.items() if n > 1)
    in_store = {f.trade_id: f for f in store.fills}
    never = sorted(set(in_store) - set(handled))
    unknown = sorted(set(handled) - set(in_store))
    found = []
    if twice:
        found.append(f"robot {name} applied {len(twice)} fills more than once: {_few(twice)}")
    if never:
        shown = [f"{t} (order {in_store[t].client_order_id}, seq {in_store[t].seq})" for t in never]
        found.append(
            f"robot {name} never applied {len(never)} of its {len(in_store)} stored fills: "
            f"{_few(shown)}"
        )
    if unknown:
        found.append(
            f"robot {name} applied {len(unknown)} fills the store does not have: {_few(unknown)}"
        )
    return found


def _reports_handled_once(robot: _Robot, store: _Store) -> list[str]:
    seqs = Counter(report.seq for report in robot.handled if report.seq)
    twice = sorted(s for s, n in seqs.items() if n > 1)
    missing = sorted(set(range(1, len(store.reports) + 1)) - set(seqs))
    beyond = sorted(s for s in seqs if s > len(store.reports))
    found = []
    if twice:
        found.append(f"robot {robot.name} handled report seqs more than once: {_few(twice)}")
    if missing:
        shown = [f"{s} ({_describe(store.reports[s - 1])})" for s in missing]
        found.append(
            f"robot {robot.name} never handled {len(missing)} of its {len(store.reports)} "
            f"stored reports: seqs {_few(shown)}"
        )
    if beyond:
        found.append(
            f"robot {robot.name} handled report seqs the store does not have: {_few(beyond)}"
        )
    return found


def _describe(report: Report) -> str:
    return f"{type(report).__name__} of {report.client_order_id}"


def _positions_match(robot: _Robot, store: _Store) -> list[str]:
    stored: Counter[str] = Counter()
    for fill in store.fills:
        stored[fill.symbol] += fill.side.sign * fill.qty
    held = {s: int(p["qty"]) for s, p in robot.snapshot.get("positions", {}).items()}
    return [
        f"robot {robot.name} holds {held.get(s, 0):+d} {s} when rebuilt from its journal, "
        f"but its stored fills add up to {stored.get(s, 0):+d}"
        for s in sorted(set(stored) | set(held))
        if stored.get(s, 0) != held.get(s, 0)
    ]


def _orders_were_commands(robot: _Robot, store: _Store) -> list[str]:
    """Each stored order is one command the robot journaled, under an id used once."""
    found = []
    sent: dict[str, list[NewOrder]] = defaultdict(list)
    for command in robot.commands:
        sent[command.client_order_id].append(command)
    reused = sorted((c for c, orders in sent.items() if len(orders) > 1), key=_order_number)
    if reused:
        found.append(
            f"robot {robot.name} journaled {len(reused)} ids for more than one order: "
            f"{_few(reused)}"
        )
    never, unlike = [], []
    for order in store.orders:
        if order.state is OrderState.REJECTED and order.reason == LOST_IN_TRANSIT:
            continue  # the stand-in for an order the gateway never received ('resolve')
        commands = sent.get(order.client_order_id)
        if not commands:
            never.append(f"{order.client_order_id} ({order.state.value})")
        elif not any(_same_order(order, c) for c in commands):
            c = commands[0]
            unlike.append(
                f"{order.client_order_id} ({order.side.value} {order.qty} {order.symbol} at "
                f"{order.price} in the store, {c.side.value} {c.qty} {c.symbol} at {c.price} "
                "journaled)"
            )
    if never:
        found.append(
            f"{len(never)} orders of robot {robot.name} are in the store, but the robot never "
            f"journaled them: {_few(never)}"
        )
    if unlike:
        found.append(
            f"{len(unlike)} orders of robot {robot.name} in the store are not the orders it "
            f"journaled: {_few(unlike)}"
        )
    return found


def _same_order(order: OrderRecord, command: NewOrder) -> bool:
    return (order.symbol, order.side, order.qty, order.price, order.tif) == (
        command.symbol,
        command.side,
        command.qty,
        command.price,
        command.tif,
    )


def _working_orders_match(robot: _Robot, store: _Store) -> list[str]:
    """The robot's working orders are exactly its orders the store holds as not final."""
    found = []
    working = {o["client_order_id"]: o for o in robot.snapshot.get("open_orders", [])}
    states = {o.client_order_id: o.state for o in store.orders}
    open_in_store = {c for c, state in states.items() if state not in FINAL_STATES}
    waits = sorted(set(working) - open_in_store, key=_order_number)
    unknown = [f"{c} ({working[c]['state']})" for c in waits if c not in states]
    final = [
        f"{c} ({working[c]['state']}, {states[c].value} in the store)" for c in waits if c in states
    ]
    if unknown:
        found.append(
            f"robot {robot.name} waits on {len(unknown)} orders the store does not have: "
            f"{_few(unknown)}"
        )
    if final:
        found.append(
            f"robot {robot.name} waits on {len(final)} orders the store has final: {_few(final)}"
        )
    unanswered = [c for c in sorted(working, key=_order_number) if working[c]["cancel_requested"]]
    if unanswered:
        found.append(
            f"robot {robot.name} waits for the answer to its cancel of {len(unanswered)} orders, "
            f"which the gateway never gave: {_few(unanswered)}"
        )
    dropped = [
        f"{c} ({states[c].value})" for c in sorted(open_in_store - set(working), key=_order_number)
    ]
    if dropped:
        found.append(
            f"{len(dropped)} orders of robot {robot.name} are open in the store, but the robot "
            f"no longer holds them: {_few(dropped)}"
        )
    return found


def _cancellable(robot: _Robot, store: _Store) -> list[str]:
    """No order still open in the store had a cancel refused: the exchange must know it."""
    open_in_store = {o.client_order_id: o for o in store.orders if o.state not in FINAL_STATES}
    refused = {
        r.client_order_id: r.reason
        for r in store.reports
        if isinstance(r, CancelReply) and not r.cancelled and r.client_order_id in open_in_store
    }
    if not refused:
        return []
    shown = [
        f"{coid} ({open_in_store[coid].state.value}: {refused[coid]!r})"
        for coid in sorted(refused, key=_order_number)
    ]
    return [
        f"{len(shown)} orders of robot {robot.name} are open in the store, yet the gateway "
        f"refused to cancel them: {_few(shown)}; the exchange and the store disagree on orders "
        "the robot waits on for ever"
    ]


def _order_number(client_order_id: str) -> tuple[int, str]:
    tail = client_order_id.rsplit("-", 1)[-1]
    return (int(tail), client_order_id) if tail.isdigit() else (0, client_order_id)


def _robot_is_alive(robot: _Robot) -> list[str]:
    if not robot.snapshot:
        return [f"robot {robot.name} could not be rebuilt from its journal"]
    if robot.snapshot.get("status") == "failed":
        return [f"robot {robot.name} failed: {robot.snapshot.get('error')}"]
    return []


def _few(items: Sequence[object]) -> str:
    if not items:
        return "none"
    shown = ", ".join(str(item) for item in items[:_SHOWN])
    more = len(items) - _SHOWN
    return shown + (f" and {more} more" if more > 0 else "")
