"""The recovery endpoint's requests: read and checked; and the store writes a resolve needs.

A host's DEALER sends, and the gateway's ROUTER receives with the sender's
identity in front (docs/wire.md section 4a)::

    [identity, b"replay", robot, after_seq]          the robot's reports after after_seq
    [identity, b"resolve", robot, client_order_id...] orders the host heard nothing of

:func:`parse_request` turns those frames into a :class:`Replay` or a
:class:`Resolve`, or raises :class:`~yard_actors.errors.DecodeError` whose
``reason`` is the short code the gateway counts the drop under, before
anything touches the store.

The answers are read off the gateway's order thread, page by page, by its
recovery thread (:mod:`.recovery_server`, :mod:`.recovery_jobs`). What a
resolve must *write* is done here, on the order thread, the store's one
writer, so each answer gets exactly one seq:

* :func:`store_lost`: an id the store does not know, the gateway never
  received: it stores the order as rejected, with a report
  ``OrderRejected(reason="lost in transit")`` under the robot's next seq, so
  the robot hears of it once and a late copy of the order is refused as a
  repeat. The recovery thread read the id as unknown; if the order came in
  since, the store refuses the stand-in and nothing is written (its own
  reports answer the host).
* :func:`settle_refused`: an order the store holds as rejected with no report
  at all was refused while the store was down, and its robot, which asks,
  never heard the unnumbered refusal: its rejection is stored now. The
  recovery thread scanned the robot's reports up to ``after_seq`` and found
  none of it; this looks at the reports written since, so two resolves racing
  for the same order store its rejection once.

Both raise StoreError if the store fails; call them inside a store batch and
publish what they return after it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import attrs
import orjson

from gateways.store.base import OrderState, OrderStore, ReportRecord
from yard_actors.errors import DecodeError
from yard_actors.wire.events import OrderRejected
from yard_actors.wire.names import (
    LOST_IN_TRANSIT,
    MAX_RESOLVE_IDS,
    RECOVERY_REPLAY,
    RECOVERY_RESOLVE,
)

__all__ = [
    "Replay",
    "Resolve",
    "client_order_id_of",
    "parse_request",
    "settle_refused",
    "store_lost",
]

_MAX_NAME: Final = 128  # a wire "name": 1 to 128 characters (docs/wire.md section 3)
_MAX_SEQ: Final = 2**63 - 1  # seqs are stored as 64-bit integers
_SHOWN: Final = 40  # bytes of a bad frame quoted in a drop's log line


@attrs.frozen(kw_only=True)
class Replay:
    """Send ``robot``'s reports with seq greater than ``after_seq`` back to ``identity``.

    ``key``: the name of the asker's key, None on an endpoint without keys (:mod:`.owners`).
    """

    identity: bytes
    robot: str
    after_seq: int
    key: str | None = None


@attrs.frozen(kw_only=True)
class Resolve:
    """Settle orders of ``robot`` its host sent and heard nothing of; ``key`` as a Replay's."""

    identity: bytes
    robot: str
    client_order_ids: tuple[str, ...]
    key: str | None = None


def parse_request(frames: list[bytes], key: str | None = None) -> Replay | Resolve:
    """Read one request off the ROUTER, sent with ``key``; DecodeError (with a reason) if
    it is malformed."""
    if len(frames) < 4:
        msg = f"a recovery request has {len(frames)} frames, fewer than [identity, kind, robot, …]"
        raise DecodeError("bad_frames", msg)
    identity, kind, robot = frames[0], frames[1], _name(frames[2], "robot")
    if kind == RECOVERY_REPLAY:
        if len(frames) != 4:
            msg = f"a replay request has {len(frames) - 1} frames instead of [replay, robot, seq]"
            raise DecodeError("bad_frames", msg)
        return Replay(identity=identity, robot=robot, after_seq=_seq(frames[3]), key=key)
    if kind == RECOVERY_RESOLVE:
        ids = frames[3:]
        if len(ids) > MAX_RESOLVE_IDS:
            msg = f"a resolve request names {len(ids)} orders; send at most {MAX_RESOLVE_IDS}"
            raise DecodeError("too_many_ids", msg)
        names = tuple(_name(frame, "client_order_id") for frame in ids)
        return Resolve(identity=identity, robot=robot, client_order_ids=names, key=key)
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


def client_order_id_of(payload: bytes) -> str | None:
    """The ``client_order_id`` of a stored report's payload; None if it has none."""
    try:
        event = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None  # a damaged report is the reader's to refuse, not a resolve's
    coid = event.get("client_order_id") if isinstance(event, dict) else None
    return coid if isinstance(coid, str) else None


def store_lost(
    store: OrderStore, robot: str, client_order_ids: Iterable[str], ts: int
) -> list[ReportRecord]:
    """Store each order never received as rejected, lost in transit; the reports to publish."""
    stored = (_store_lost(store, robot, coid, ts) for coid in client_order_ids)
    return [report for report in stored if report is not None]


def settle_refused(
    store: OrderStore, robot: str, after_seq: int, client_order_ids: Iterable[str], page: int
) -> list[ReportRecord]:
    """Store the rejection of each refused order with no report after ``after_seq``.

    The robot's reports up to ``after_seq`` hold none of them (the recovery
    thread read those); the ones written since are read here, a page at a time.
    An id that is no longer a rejected order of ``robot`` is left alone.
    """
    left = dict.fromkeys(client_order_ids)
    after = after_seq
    while left:
        rows = store.report_payloads(robot, after_seq=after, limit=page)
        for _, payload in rows:
            left.pop(client_order_id_of(payload) or "", None)
        if len(rows) < page:
            break
        after = rows[-1][0]
    settled = []
    for coid in left:
        record = store.order(coid)
        if record is None or record.robot != robot or record.state is not OrderState.REJECTED:
            continue
        rejected = OrderRejected(
            ts=record.updated_ts, client_order_id=coid, robot=robot, reason=record.reason
        )
        settled.append(store.add_report(robot, rejected))
    return settled


def _store_lost(store: OrderStore, robot: str, coid: str, ts: int) -> ReportRecord | None:
    """Store an order never received as rejected, lost in transit; None if the id is taken.

    The store keeps the order (known by its id alone) with its report, in one
    write, so that a late copy of it is refused as a repeat.
    """
    rejected = OrderRejected(ts=ts, client_order_id=coid, robot=robot, reason=LOST_IN_TRANSIT)
    return store.add_rejected(rejected)  # None: taken since it was read, never with one writer
