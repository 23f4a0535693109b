"""The recovery endpoint's requests: read and checked, then answered from the order store.

A host's DEALER sends, and the gateway's ROUTER receives with the sender's
identity in front (docs/wire.md section 4a)::

    [identity, b"replay", robot, after_seq]          the robot's reports after after_seq
    [identity, b"resolve", robot, client_order_id...] orders the host heard nothing of

:func:`parse_request` turns those frames into a :class:`Replay` or a
:class:`Resolve`, or raises :class:`~yard_actors.errors.DecodeError` whose
``reason`` is the short code the gateway counts the drop under, before
anything touches the store. :func:`replay` answers the one with frames for
the asker; :func:`resolve` settles the other, and its answer goes to
everyone, on ``trades``:

* an id the store does not know, the gateway never received: it stores the
  order as rejected, with a report ``OrderRejected(reason="lost in
  transit")`` under the robot's next seq, so the robot hears of it once and a
  late copy of the order is refused as a repeat;
* an id it knows gets the robot's reports sent again from that order's first
  (hosts drop what they have); an order the store holds as rejected with no
  report at all was refused while the store was down, and its robot, which
  asks, never heard the unnumbered refusal: its rejection is stored and sent now.

Runs on the gateway's thread; the answers raise StoreError if the store fails.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import attrs

from gateways.store.base import OrderRecord, OrderState, OrderStore, ReportRecord
from yard_actors.errors import DecodeError
from yard_actors.wire.codec import encode
from yard_actors.wire.events import NewOrder, OrderRejected, Side
from yard_actors.wire.names import (
    LOST_IN_TRANSIT,
    MAX_RESOLVE_IDS,
    RECOVERY_REPLAY,
    RECOVERY_REPORTS,
    RECOVERY_RESOLVE,
    RESERVED_PREFIX,
)

__all__ = [
    "UNKNOWN_SYMBOL",
    "Replay",
    "Resolve",
    "Resolved",
    "parse_request",
    "replay",
    "resolve",
]

_MAX_NAME: Final = 128  # a wire "name": 1 to 128 characters (docs/wire.md section 3)
_MAX_SEQ: Final = 2**63 - 1  # seqs are stored as 64-bit integers
_SHOWN: Final = 40  # bytes of a bad frame quoted in a drop's log line

UNKNOWN_SYMBOL: Final = f"{RESERVED_PREFIX}unknown"
"""The symbol of an order stored only to be rejected as lost in transit: the gateway never
saw the order, so it has no symbol, side, qty or price (qty 1, buy, no price stand in)."""


@attrs.frozen(kw_only=True)
class Replay:
    """Send ``robot``'s reports with seq greater than ``after_seq`` back to ``identity``."""

    identity: bytes
    robot: str
    after_seq: int


@attrs.frozen(kw_only=True)
class Resolve:
    """Settle orders of ``robot`` its host sent and heard nothing of."""

    identity: bytes
    robot: str
    client_order_ids: tuple[str, ...]


@attrs.frozen(kw_only=True)
class Resolved:
    """What a resolve did: reports it stored (to publish), stored ones to publish again,
    and ids it left alone because they are another robot's orders."""

    lost: list[ReportRecord]
    again: list[ReportRecord]
    others: list[str]


def parse_request(frames: list[bytes]) -> Replay | Resolve:
    """Read one request off the ROUTER; raise DecodeError (with a reason) if it is malformed."""
    if len(frames) < 4:
        msg = f"a recovery request has {len(frames)} frames, fewer than [identity, kind, robot, …]"
        raise DecodeError("bad_frames", msg)
    identity, kind, robot = frames[0], frames[1], _name(frames[2], "robot")
    if kind == RECOVERY_REPLAY:
        if len(frames) != 4:
            msg = f"a replay request has {len(frames) - 1} frames instead of [replay, robot, seq]"
            raise DecodeError("bad_frames", msg)
        return Replay(identity=identity, robot=robot, after_seq=_seq(frames[3]))
    if kind == RECOVERY_RESOLVE:
        ids = frames[3:]
        if len(ids) > MAX_RESOLVE_IDS:
            msg = f"a resolve request names {len(ids)} orders; send at most {MAX_RESOLVE_IDS}"
            raise DecodeError("too_many_ids", msg)
        names = tuple(_name(frame, "client_order_id") for frame in ids)
        return Resolve(identity=identity, robot=robot, client_order_ids=names)
    msg = f"{kind[:_SHOWN]!r} is not a recovery request; send replay or resolve"
    raise DecodeError("unknown_request", msg)


def _name(frame: bytes, what: str) -> str:
    try:
        name = frame.decode()
    except UnicodeDecodeError:
        name = ""
    if not 0 < len(name) <= _MAX_NAME:
        msg = f"{what} must be 1 to {_MAX_NAME} characters of UTF-8, was {frame[:_SHOWN]!r}"
        raise DecodeError(f"bad_{what}", msg)
    return name


def _seq(frame: bytes) -> int:
    # bytes.isdigit() is ASCII only: no sign, space, underscore or other script's digits.
    if frame.isdigit() and len(frame) <= len(str(_MAX_SEQ)) and int(frame) <= _MAX_SEQ:
        return int(frame)
    msg = f"after_seq must be ASCII digits from 0 to {_MAX_SEQ}, was {frame[:_SHOWN]!r}"
    raise DecodeError("bad_seq", msg)


def replay(store: OrderStore, request: Replay) -> list[bytes]:
    """The frames that answer ``request``: ``[identity, reports, robot, payload...]``."""
    records = store.reports(request.robot, after_seq=request.after_seq)
    payloads = [encode(record.report) for record in records]
    return [request.identity, RECOVERY_REPORTS, request.robot.encode(), *payloads]


def resolve(store: OrderStore, request: Resolve, ts: int) -> Resolved:
    """Settle each order of ``request`` (see the module docstring); new reports carry ``ts``.

    Call it inside a store batch: what it stores is published after the batch ends.
    """
    robot, unknown, known, others = request.robot, [], [], []
    for coid in dict.fromkeys(request.client_order_ids):
        record = store.order(coid)
        if record is None:
            unknown.append(coid)
        elif record.robot != robot:
            others.append(coid)
        else:
            known.append(record)
    again = _reports_of(store, robot, known) if known else []  # before the new ones: not twice
    stored = (_store_lost(store, robot, coid, ts) for coid in unknown)
    lost = [report for report in stored if report is not None]
    return Resolved(lost=lost, again=again, others=others)


def _store_lost(store: OrderStore, robot: str, coid: str, ts: int) -> ReportRecord | None:
    """Store an order never received as rejected, lost in transit; None if the id is taken.

    The store needs an order to refuse a late copy of it as a repeat; the
    gateway knows only its id, so it stores a stand-in (:data:`UNKNOWN_SYMBOL`).
    """
    stand_in = NewOrder(
        ts=ts, client_order_id=coid, robot=robot, symbol=UNKNOWN_SYMBOL, side=Side.BUY, qty=1
    )
    if not store.add_order(stand_in):
        return None  # taken since it was read: never, with one writer
    store.transition(coid, OrderState.REJECTED, ts=ts, reason=LOST_IN_TRANSIT)
    rejected = OrderRejected(ts=ts, client_order_id=coid, robot=robot, reason=LOST_IN_TRANSIT)
    return store.add_report(robot, rejected)


def _reports_of(store: OrderStore, robot: str, known: Iterable[OrderRecord]) -> list[ReportRecord]:
    """The robot's reports from the first of ``known``'s on, and rejections never sent."""
    reports = store.reports(robot)
    wanted = {record.client_order_id: record for record in known}
    first = next(
        (i for i, r in enumerate(reports) if r.report.client_order_id in wanted), len(reports)
    )
    heard = {r.report.client_order_id for r in reports[first:]}
    for coid, record in wanted.items():
        if coid not in heard and record.state is OrderState.REJECTED:
            rejected = OrderRejected(
                ts=record.updated_ts, client_order_id=coid, robot=robot, reason=record.reason
            )
            reports.append(store.add_report(robot, rejected))
    return reports[first:]
