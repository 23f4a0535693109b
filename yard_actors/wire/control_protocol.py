"""The control endpoint's request/reply protocol: one JSON frame each way, versioned.

A host serves the supervision API (``docs/wire.md`` section 4c) on its control endpoint,
a ROUTER; a controller (``yard ctl``, ``yard_actors.ctl.connect``) sends a request and
waits for the reply with the same ``id``::

    {"v": 1, "id": 7, "call": "pause", "args": {"name": "trend-si"}}
    {"v": 1, "id": 7, "ok": true, "result": "trend-si paused: ..."}
    {"v": 1, "id": 7, "ok": false, "error": "no robot named 'x' ...", "kind": "RobotError"}

The calls, their arguments and the error kinds are defined here once, for the server
(:mod:`yard_actors.host.control_server`) and the client (:mod:`yard_actors.ctl`) alike.
A request that breaks the protocol raises :class:`DecodeError` with a short ``reason``
(counted by the server, which answers with the error and keeps serving).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final

import attrs

from yard_actors import errors
from yard_actors.errors import DecodeError, YardError

__all__ = [
    "CALLS",
    "MAX_REQUEST_BYTES",
    "VERSION",
    "Reply",
    "Request",
    "decode_reply",
    "decode_request",
    "encode_error",
    "encode_reply",
    "encode_request",
    "error_class",
    "error_kind",
    "peek_id",
]

VERSION: Final = 1
"""The protocol's version, ``v`` in every frame; a frame of another is refused."""

MAX_REQUEST_BYTES: Final = 64 * 1024
"""The largest request a server reads; a larger one is answered ``oversized``."""


def _name(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _mapping(value: Any) -> bool:
    return isinstance(value, dict)


def _optional_mapping(value: Any) -> bool:
    return value is None or isinstance(value, dict)


def _optional_names(value: Any) -> bool:
    return value is None or (isinstance(value, list) and all(_name(v) for v in value))


_Check = tuple[bool, Callable[[Any], bool], str]  # (required, check, what it must be)
_ROBOT_NAME: Final[_Check] = (True, _name, "a robot's name (a non-empty string)")

CALLS: Final[Mapping[str, Mapping[str, _Check]]] = {
    "robots": {},
    "snapshot": {"name": _ROBOT_NAME},
    "failure": {"name": _ROBOT_NAME},
    "pause": {"name": _ROBOT_NAME},
    "resume": {"name": _ROBOT_NAME},
    "set_params": {"name": _ROBOT_NAME, "params": (True, _mapping, "an object of params")},
    "restart": {"name": _ROBOT_NAME},
    "add_robot": {
        "robot_class": (True, _name, "a class path such as 'robots.trend:TrendFollower'"),
        "name": _ROBOT_NAME,
        "symbols": (False, _optional_names, "a list of symbols, or null"),
        "params": (False, _optional_mapping, "an object of params, or null"),
    },
    "remove_robot": {"name": _ROBOT_NAME},
    "halt": {},
    "control_stats": {},
}
"""Every call a host serves, with its arguments: name -> (required, check, description)."""


@attrs.frozen(kw_only=True)
class Request:
    id: int | str | None
    call: str
    args: Mapping[str, Any]


@attrs.frozen(kw_only=True)
class Reply:
    id: int | str | None
    ok: bool
    result: Any = None
    error: str = ""
    kind: str = ""


def encode_request(request_id: int | str, call: str, args: Mapping[str, Any]) -> bytes:
    return _dumps({"v": VERSION, "id": request_id, "call": call, "args": dict(args)})


def encode_reply(request_id: int | str | None, result: Any) -> bytes:
    """A success; ``result`` JSON-able (a Decimal becomes its string)."""
    return _dumps({"v": VERSION, "id": request_id, "ok": True, "result": result})


def encode_error(request_id: int | str | None, error: str, kind: str) -> bytes:
    return _dumps({"v": VERSION, "id": request_id, "ok": False, "error": error, "kind": kind})


def decode_request(payload: bytes) -> Request:
    """Check one request completely; raise DecodeError naming what is wrong.

    Reasons: ``oversized``, ``not_json``, ``not_object``, ``bad_version``, ``bad_id``,
    ``unknown_call``, ``bad_args``.
    """
    if len(payload) > MAX_REQUEST_BYTES:
        msg = f"a request of {len(payload):,} bytes; the limit is {MAX_REQUEST_BYTES:,}"
        raise DecodeError("oversized", msg)
    frame = _loads(payload)
    request_id = frame.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, int | str):
        msg = f"id must be a number or a string, was {request_id!r}"
        raise DecodeError("bad_id", msg)
    call = frame.get("call")
    signature = CALLS.get(call) if isinstance(call, str) else None
    if signature is None or not isinstance(call, str):
        msg = f"unknown call {call!r} (calls: {', '.join(sorted(CALLS))})"
        raise DecodeError("unknown_call", msg)
    args = frame.get("args", {})
    if not isinstance(args, dict):
        msg = f"{call}: args must be an object, was {args!r}"
        raise DecodeError("bad_args", msg)
    _check_args(call, signature, args)
    return Request(id=request_id, call=call, args=args)


def peek_id(payload: bytes) -> int | str | None:
    """The ``id`` of a request that failed its check, if it has a usable one, else None:
    the error reply then carries it, so the client knows which request it answers."""
    try:
        frame = json.loads(payload) if len(payload) <= MAX_REQUEST_BYTES else None
    except (UnicodeDecodeError, ValueError):
        return None
    found = frame.get("id") if isinstance(frame, dict) else None
    return found if isinstance(found, int | str) and not isinstance(found, bool) else None


def decode_reply(payload: bytes) -> Reply:
    """Read one reply; raise DecodeError if it is not one of this protocol."""
    frame = _loads(payload)
    ok = frame.get("ok")
    if not isinstance(ok, bool):
        msg = f"a reply without ok true or false: {payload[:200]!r}"
        raise DecodeError("bad_field", msg)
    if ok:
        return Reply(id=frame.get("id"), ok=True, result=frame.get("result"))
    return Reply(
        id=frame.get("id"), ok=False, error=str(frame.get("error", "")), kind=str(frame.get("kind"))
    )


def error_kind(exc: BaseException) -> str:
    """The ``kind`` of an error reply: the yard exception's class name, else ``YardError``."""
    for cls in type(exc).__mro__:
        if cls.__name__ in errors.__all__:
            return cls.__name__
    return YardError.__name__


def error_class(kind: str) -> type[YardError]:
    """The exception class a client raises for ``kind``; YardError for one it does not know."""
    found = getattr(errors, kind, None) if kind in errors.__all__ else None
    if isinstance(found, type) and issubclass(found, YardError):
        return found
    return YardError


def _check_args(call: str, signature: Mapping[str, _Check], args: Mapping[str, Any]) -> None:
    for key in args:
        if key not in signature:
            allowed = ", ".join(signature) or "none"
            msg = f"{call}: unknown argument {key!r} (arguments: {allowed})"
            raise DecodeError("bad_args", msg)
    for key, (required, check, what) in signature.items():
        if key not in args:
            if required:
                msg = f"{call}: argument {key!r} is missing; it must be {what}"
                raise DecodeError("bad_args", msg)
            continue
        if not check(args[key]):
            msg = f"{call}: argument {key!r} must be {what}, was {args[key]!r}"
            raise DecodeError("bad_args", msg)


def _loads(payload: bytes) -> dict[str, Any]:
    try:
        frame = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        msg = f"not JSON: {exc}"
        raise DecodeError("not_json", msg) from exc
    if not isinstance(frame, dict):
        msg = f"a frame must be a JSON object, was {type(frame).__name__}"
        raise DecodeError("not_object", msg)
    if frame.get("v") != VERSION:
        msg = f"protocol version {frame.get('v')!r}; this side speaks version {VERSION}"
        raise DecodeError("bad_version", msg)
    return frame


def _dumps(frame: Mapping[str, Any]) -> bytes:
    return json.dumps(frame, default=_jsonable, separators=(",", ":")).encode()


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if attrs.has(type(value)):
        return attrs.asdict(value)
    msg = f"{type(value).__name__} is not JSON-able"
    raise TypeError(msg)
