"""Refused peers: every refusal counted, one log line per peer and reason per period."""

from __future__ import annotations

import logging

import pytest

from yard_actors.net.refusal_log import LOG_EVERY_S, MAX_PEERS, Refusals

WHERE = "tcp://127.0.0.1:5562"


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def test_the_first_refusal_of_a_peer_is_logged_at_once_the_rest_once_a_period(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refusals = Refusals()
    with caplog.at_level(logging.WARNING):
        for n in range(500):
            refusals.refuse("unknown_key", WHERE, "10.0.0.7", "its key k", now=n * 0.01)
        refusals.flush(now=LOG_EVERY_S + 1)

    assert refusals.by_reason() == {"unknown_key": 500}
    assert _lines(caplog) == [
        f"{WHERE} refused 10.0.0.7 (unknown_key): a peer whose key is not among the trusted "
        "public keys; its key k",
        f"{WHERE} refused 10.0.0.7 (unknown_key) 499 more times in the last 10 s",
    ]


def test_each_peer_and_reason_has_its_own_line_and_a_quiet_one_is_forgotten(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refusals = Refusals()
    with caplog.at_level(logging.WARNING):
        refusals.refuse("no_keys", WHERE, "", "", now=0.0)
        refusals.refuse("unknown_key", WHERE, "10.0.0.7", "", now=0.0)
        refusals.refuse("unknown_key", WHERE, "10.0.0.8", "", now=0.0)
        refusals.flush(now=LOG_EVERY_S)  # nothing more came: no summary, periods end
        refusals.refuse("no_keys", WHERE, "", "", now=LOG_EVERY_S + 1)

    assert len(caplog.records) == 4
    assert "refused a peer (no_keys): a peer without CURVE keys" in _lines(caplog)[3]
    assert refusals.by_reason() == {"no_keys": 2, "unknown_key": 2}


def test_beyond_max_peers_new_peers_share_one_line(caplog: pytest.LogCaptureFixture) -> None:
    refusals = Refusals()
    with caplog.at_level(logging.WARNING):
        for n in range(MAX_PEERS + 50):
            refusals.refuse("unknown_key", WHERE, f"peer-{n}", "", now=0.0)

    assert len(caplog.records) == MAX_PEERS + 1
    assert "refused other peers (unknown_key)" in _lines(caplog)[-1]
    assert refusals.by_reason() == {"unknown_key": MAX_PEERS + 50}
