"""What the recovery thread does for one request, one bounded step at a time.

A job is a generator. Each ``next()`` does at most one page read of the order
store (or a few dozen point reads) and yields what to send:

* :class:`ToPeer`: one reply message for the asker, ``[reports, robot,
  payload...]`` with at most ``page`` reports (docs/wire.md section 4a);
* :class:`ToGateway`: writes for the gateway's order thread, the store's one
  writer (:data:`LOST`, :data:`SETTLE`; :mod:`.recovery` does them);
* None: it read, and has nothing to send yet.

The thread driving the jobs (:mod:`.recovery_server`) advances a job only once
what it yielded has been sent, so a job holds one page at a time, never a whole
history, and a peer that does not read stops its job where it is. A job reads
the store the gateway is using at each step (``store()``: the gateway swaps it
after an outage); a store failure raises StoreError out of ``next()``.

A **replay** streams the robot's reports after ``after_seq`` until a page comes
back short: the history as it stands when the job reaches its end, later
reports included. An empty history still gets one (empty) message, so the asker
hears an answer.

A **resolve** first reads each id's order (:data:`LOOKUPS_PER_STEP` a step):
ids the store does not hold go to the order thread to be stored as lost in
transit (:data:`LOST`); ids of another robot's orders are counted and left
alone. For the ids it holds, the job scans the robot's reports from the first,
and streams to the asker every report from the first one of those orders on
(other orders' among them: the host drops what it has), as the gateway has
always answered a known order; but not those of the ids sent to be stored as
lost, which are new and go out on ``trades``. A rejected order none of whose reports it met
was refused while the store was down and its robot never heard of it: the job
asks the order thread to store and publish its rejection (:data:`SETTLE`),
telling it the last seq it scanned, so that the order thread need only look at
the reports written since, and two resolves racing for one order store its
rejection once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final, TypeAlias

import attrs

from gateways.drops import Drops
from gateways.recovery import Replay, Resolve, client_order_id_of
from gateways.store.base import OrderState, OrderStore
from yard_actors.wire.names import RECOVERY_REPORTS

__all__ = [
    "LOOKUPS_PER_STEP",
    "LOST",
    "SETTLE",
    "Step",
    "StoreSource",
    "ToGateway",
    "ToPeer",
    "replay_job",
    "resolve_job",
]

LOST: Final = b"lost"
"""To the order thread: ``[lost, robot, client_order_id...]``, ids the store did not hold."""

SETTLE: Final = b"settle"
"""To the order thread: ``[settle, robot, after_seq, client_order_id...]``, rejected orders
with no report among the robot's reports up to ``after_seq``."""

LOOKUPS_PER_STEP: Final = 50  # orders a resolve reads between two looks at other peers

StoreSource: TypeAlias = Callable[[], OrderStore]


@attrs.frozen
class ToPeer:
    """A reply message for the peer that asked (its identity is put in front when sent)."""

    frames: list[bytes]


@attrs.frozen
class ToGateway:
    """A message for the gateway's order thread."""

    frames: list[bytes]


Step: TypeAlias = ToPeer | ToGateway | None


def replay_job(store: StoreSource, request: Replay, page: int) -> Iterator[Step]:
    """Stream ``request.robot``'s reports after ``request.after_seq``, ``page`` at a time."""
    robot, after, answered = request.robot.encode(), request.after_seq, False
    while True:
        rows = store().report_payloads(request.robot, after_seq=after, limit=page)
        if rows or not answered:
            yield ToPeer([RECOVERY_REPORTS, robot, *(payload for _, payload in rows)])
            answered = True
        if len(rows) < page:
            return
        after = rows[-1][0]


def resolve_job(store: StoreSource, request: Resolve, page: int, drops: Drops) -> Iterator[Step]:
    """Settle ``request``'s orders (see the module docstring); count others' ids in ``drops``."""
    robot = request.robot
    ids = list(dict.fromkeys(request.client_order_ids))
    unknown: list[str] = []
    known: set[str] = set()
    refused: set[str] = set()
    for start in range(0, len(ids), LOOKUPS_PER_STEP):
        for coid in ids[start : start + LOOKUPS_PER_STEP]:
            record = store().order(coid)
            if record is None:
                unknown.append(coid)
            elif record.robot != robot:
                drops.drop("recovery", "other_robot", f"order {coid} is not robot {robot}'s")
            else:
                known.add(coid)
                if record.state is OrderState.REJECTED:
                    refused.add(coid)
        yield None
    if unknown:
        yield ToGateway([LOST, robot.encode(), *(coid.encode() for coid in unknown)])
    if known:
        yield from _again(store, robot, known=known, refused=refused, lost=set(unknown), page=page)


def _again(
    store: StoreSource,
    robot: str,
    *,
    known: set[str],
    refused: set[str],
    lost: set[str],
    page: int,
) -> Iterator[Step]:
    """Stream the reports from the first of ``known``'s on; then settle ``refused`` unheard.

    Reports of ``lost`` orders (their rejection, stored meanwhile, or those of the
    order itself, come late) are left out: they are new, and go out on ``trades``.
    """
    name, after, streaming, unheard = robot.encode(), 0, False, set(refused)
    while True:
        rows = store().report_payloads(robot, after_seq=after, limit=page)
        payloads = []
        for _, payload in rows:
            coid = client_order_id_of(payload)
            unheard.discard(coid or "")
            streaming = streaming or coid in known
            if streaming and coid not in lost:
                payloads.append(payload)
        if rows:
            after = rows[-1][0]
        yield ToPeer([RECOVERY_REPORTS, name, *payloads]) if payloads else None
        if len(rows) < page:
            break
    if unheard:
        ids = sorted(unheard)
        yield ToGateway([SETTLE, name, str(after).encode(), *(coid.encode() for coid in ids)])
