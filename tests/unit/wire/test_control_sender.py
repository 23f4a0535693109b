"""Control.sender: who sent a control, carried by the codec; journals from before it decode."""

from __future__ import annotations

import pytest

from yard_actors import Control, ControlAction, DecodeError, decode, encode


def test_a_control_carries_its_sender_through_the_codec() -> None:
    control = Control(ts=1, robot="r", action=ControlAction.PAUSE, sender="ops-key")

    payload = encode(control)

    assert payload.endswith(b',"sender":"ops-key"}')
    assert decode(payload) == control


def test_a_control_journaled_before_senders_were_recorded_decodes_with_an_empty_sender() -> None:
    old = b'{"type":"Control","v":1,"ts":1,"robot":"r","action":"pause","params":{}}'

    control = decode(old)

    assert isinstance(control, Control)
    assert control.sender == ""


def test_a_sender_that_is_not_a_string_is_refused() -> None:
    payload = b'{"type":"Control","v":1,"ts":1,"robot":"r","action":"pause","sender":7}'

    with pytest.raises(DecodeError, match=r"Control\.sender must be a JSON string, was 7"):
        decode(payload)


def test_a_sender_longer_than_a_name_is_refused() -> None:
    with pytest.raises(ValueError, match="sender must be a string of at most 128 characters"):
        Control(ts=1, robot="r", action=ControlAction.PAUSE, sender="k" * 129)
