"""The control endpoint's protocol: requests checked whole, replies read back, errors mapped."""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yard_actors import errors
from yard_actors.errors import ConfigError, DecodeError, RobotError, TransitionError, YardError
from yard_actors.wire.control_protocol import (
    CALLS,
    MAX_REQUEST_BYTES,
    VERSION,
    decode_reply,
    decode_request,
    encode_error,
    encode_reply,
    encode_request,
    error_class,
    error_kind,
    peek_id,
)


def _frame(**fields: Any) -> bytes:
    return json.dumps({"v": VERSION, "id": 1, "call": "robots", "args": {}, **fields}).encode()


def test_a_request_round_trips_with_its_id_call_and_args() -> None:
    payload = encode_request(7, "set_params", {"name": "trend-si", "params": {"qty": 2}})

    request = decode_request(payload)

    assert (request.id, request.call, dict(request.args)) == (
        7,
        "set_params",
        {"name": "trend-si", "params": {"qty": 2}},
    )
    assert json.loads(payload)["v"] == VERSION


@pytest.mark.parametrize(
    ("payload", "reason", "says"),
    [
        (b"\xff\xfe", "not_json", "not JSON"),
        (b"{not json", "not_json", "not JSON"),
        (b"[1, 2]", "not_object", "must be a JSON object, was list"),
        (_frame(v=2), "bad_version", "protocol version 2; this side speaks version 1"),
        (_frame(v=None), "bad_version", "protocol version None"),
        (_frame(id=True), "bad_id", "id must be a number or a string, was True"),
        (_frame(id=[1]), "bad_id", "id must be a number or a string"),
        (_frame(call="explode"), "unknown_call", "unknown call 'explode' (calls: add_robot, "),
        (_frame(call=3), "unknown_call", "unknown call 3"),
        (_frame(args=[]), "bad_args", "robots: args must be an object, was []"),
        (_frame(call="pause"), "bad_args", "pause: argument 'name' is missing"),
        (_frame(call="pause", args={"name": ""}), "bad_args", "argument 'name' must be a robot"),
        (_frame(call="pause", args={"name": 3}), "bad_args", "argument 'name' must be"),
        (
            _frame(args={"name": "x"}),
            "bad_args",
            "robots: unknown argument 'name' (arguments: none)",
        ),
        (
            _frame(call="set_params", args={"name": "a", "params": [1]}),
            "bad_args",
            "set_params: argument 'params' must be an object of params, was [1]",
        ),
        (
            _frame(call="add_robot", args={"robot_class": "m:C", "name": "a", "symbols": "Si"}),
            "bad_args",
            "add_robot: argument 'symbols' must be a list of symbols, or null, was 'Si'",
        ),
        (b"{" + b" " * MAX_REQUEST_BYTES + b"}", "oversized", "the limit is 65,536"),
    ],
    ids=lambda value: value if isinstance(value, str) and " " not in value else None,
)
def test_a_malformed_request_raises_a_decode_error_with_a_reason_and_a_sentence(
    payload: bytes, reason: str, says: str
) -> None:
    with pytest.raises(DecodeError) as raised:
        decode_request(payload)

    assert raised.value.reason == reason
    assert says in str(raised.value)


@given(st.binary(max_size=200))
def test_no_bytes_make_the_request_decoder_raise_anything_but_a_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_request(data)


def test_the_id_of_a_refused_request_is_read_back_when_it_has_one() -> None:
    assert peek_id(_frame(id="a-1", call="explode")) == "a-1"
    assert peek_id(_frame(id=True)) is None
    assert peek_id(b"\xff") is None
    assert peek_id(b"[1]") is None


def test_a_reply_carries_its_result_with_decimals_as_strings() -> None:
    reply = decode_reply(encode_reply(3, {"pnl": Decimal("1.50"), "symbols": ("Si",)}))

    assert (reply.id, reply.ok, reply.result) == (3, True, {"pnl": "1.50", "symbols": ["Si"]})


def test_an_error_reply_carries_the_message_and_the_kind() -> None:
    reply = decode_reply(encode_error(4, "no robot named 'x' on this host", "RobotError"))

    assert (reply.id, reply.ok, reply.error, reply.kind) == (
        4,
        False,
        "no robot named 'x' on this host",
        "RobotError",
    )


@pytest.mark.parametrize(
    "payload", [b"{}", b'{"v":1}', b'{"v":1,"ok":"yes"}', b"nonsense", b'{"v":9,"ok":true}']
)
def test_a_frame_that_is_no_reply_raises_a_decode_error(payload: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_reply(payload)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (RobotError("x"), "RobotError"),
        (ConfigError("x"), "ConfigError"),
        (TransitionError("x"), "TransitionError"),
        (ValueError("x"), "YardError"),
    ],
)
def test_an_error_travels_as_its_class_name_and_comes_back_as_the_same_class(
    error: Exception, kind: str
) -> None:
    assert error_kind(error) == kind
    assert error_class(kind) is (type(error) if isinstance(error, YardError) else YardError)


@pytest.mark.parametrize("kind", ["ValueError", "__class__", "", "SystemExit"])
def test_a_kind_that_is_no_yard_error_comes_back_as_yard_error(kind: str) -> None:
    assert error_class(kind) is YardError


def test_every_yard_error_can_travel() -> None:
    for name in errors.__all__:
        assert error_class(name).__name__ == name


def test_every_call_of_the_supervision_api_is_served() -> None:
    assert set(CALLS) == {
        "robots",
        "snapshot",
        "failure",
        "pause",
        "resume",
        "set_params",
        "restart",
        "add_robot",
        "remove_robot",
        "halt",
        "control_stats",
    }
