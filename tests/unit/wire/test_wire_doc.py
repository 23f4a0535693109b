"""Every example message in docs/wire.md is read by the real codec, so the page cannot rot.

An outside implementer copies these examples; one the codec refuses, one yard would write
differently, or a price off its instrument's tick grid sends them the wrong way. Each
```json block's lines are decoded (events with :func:`codec.decode`, control requests with
:func:`decode_request`) and, since the page says yard writes every message the same way,
encoded back to the same bytes. A block marked ``<!-- wire-doc: invalid ... -->`` holds
payloads wrong on purpose: each must be refused, with the sentence the page shows. The
Python feed of section 5 builds its quote as the page shows it, and that quote is decoded
too.
"""

from __future__ import annotations

import ast
import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import attrs
import pytest

from robots.market_maker import MarketMakerParams
from yard_actors.errors import DecodeError, RobotError
from yard_actors.host.intake_kinds import ACCEPTS, IntakeKind
from yard_actors.host.supervision import Supervision
from yard_actors.robot.params import changed_params
from yard_actors.robot.snapshot import to_jsonable
from yard_actors.wire.codec import decode, encode, event_types
from yard_actors.wire.control_protocol import decode_request, encode_error, encode_reply
from yard_actors.wire.endpoints import wrong_endpoint
from yard_actors.wire.events import Fill, Quote
from yard_actors.wire.instruments import DEFAULT_INSTRUMENTS

WIRE_MD = Path(__file__).resolve().parents[3] / "docs" / "wire.md"
_FENCE = re.compile(
    r"^(?:<!-- wire-doc: (?P<mark>[^>]*)-->\n)?```(?P<lang>\w+)\n(?P<body>.*?)^```$", re.M | re.S
)
_PRICES = ("bid", "ask", "price", "open", "high", "low", "close")


@attrs.frozen
class Block:
    lang: str
    lines: tuple[str, ...]
    invalid: bool
    line_no: int

    def __str__(self) -> str:
        return f"docs/wire.md:{self.line_no}"


def _blocks(lang: str) -> list[Block]:
    text = WIRE_MD.read_text(encoding="utf-8")
    return [
        Block(
            lang=match["lang"],
            lines=tuple(line for line in match["body"].splitlines() if line.strip()),
            invalid=(match["mark"] or "").startswith("invalid"),
            line_no=text.count("\n", 0, match.start()) + 1,
        )
        for match in _FENCE.finditer(text)
        if match["lang"] == lang
    ]


def _event_lines(*, invalid: bool) -> list[str]:
    return [
        line
        for block in _blocks("json")
        if block.invalid is invalid
        for line in block.lines
        if '"type":' in line
    ]


def _off_grid(event: Any) -> list[str]:
    instrument = DEFAULT_INSTRUMENTS.get(getattr(event, "symbol", ""))
    if instrument is None:
        return []
    prices = [getattr(event, name) for name in _PRICES if getattr(event, name, None) is not None]
    return [str(price) for price in prices if not instrument.on_grid(price)]


def test_the_page_has_event_examples_and_invalid_ones() -> None:
    # Guards the parsing itself: a changed fence or marker must not leave the test empty.
    assert len(_event_lines(invalid=False)) >= 12
    assert len(_event_lines(invalid=True)) >= 4


@pytest.mark.parametrize("line", _event_lines(invalid=False))
def test_every_event_example_decodes_and_encodes_back_to_the_same_bytes(line: str) -> None:
    event = decode(line.encode())

    assert encode(event) == line.encode()


@pytest.mark.parametrize("line", _event_lines(invalid=False))
def test_every_example_price_sits_on_its_instruments_tick_grid(line: str) -> None:
    event = decode(line.encode())

    assert _off_grid(event) == [], f"{type(event).__name__} prices off the tick grid: {line}"


def test_every_invalid_example_is_refused_with_the_sentence_the_page_shows() -> None:
    text = WIRE_MD.read_text(encoding="utf-8")
    shown = re.findall(r"^    (\S.*)$", text.split("## 2.")[1].split("## 3.")[0], re.M)
    refusals = []
    for line in _event_lines(invalid=True):
        with pytest.raises(DecodeError) as refused:
            decode(line.encode())
        refusals.append(str(refused.value))

    assert refusals == shown[: len(refusals)]
    [fill] = [
        e for e in map(decode, map(str.encode, _event_lines(invalid=False))) if type(e) is Fill
    ]
    assert shown[len(refusals)] == wrong_endpoint(fill, "data", ACCEPTS[IntakeKind.DATA])


def _control_lines() -> list[str]:
    return [
        line
        for block in _blocks("json")
        if not block.invalid
        for line in block.lines
        if '"type":' not in line
    ]


def test_every_control_request_example_is_a_valid_request() -> None:
    requests = [line for line in _control_lines() if '"call":' in line]

    assert requests
    for line in requests:
        decode_request(line.encode())


def test_the_set_params_example_answers_what_the_market_maker_answers() -> None:
    request_line, reply_line = (line for line in _control_lines() if '"id":7' in line)
    request = decode_request(request_line.encode())

    changed = changed_params(MarketMakerParams, MarketMakerParams(), request.args["params"])
    result = to_jsonable(changed, "mm-si.params")

    assert reply_line.encode() == encode_reply(request.id, result)


def test_the_refused_pause_example_answers_what_a_host_answers() -> None:
    request_line, reply_line = (line for line in _control_lines() if '"id":8' in line)
    request = decode_request(request_line.encode())
    host = Supervision()
    host._robots = {"mm-si": None}  # type: ignore[dict-item] # only the names are read
    host._supervising = threading.RLock()

    with pytest.raises(RobotError) as refused:
        host.pause(**request.args)

    assert reply_line.encode() == encode_error(request.id, str(refused.value), "RobotError")


def test_the_python_feed_builds_a_quote_the_codec_takes_on_the_grid() -> None:
    [feed] = [block for block in _blocks("python") if "send_multipart" in "\n".join(block.lines)]
    tree = ast.parse("\n".join(feed.lines))
    [built] = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "quote" for t in node.targets)
    ]
    quote = eval(compile(ast.Expression(built), str(feed), "eval"), {"time": time})  # noqa: S307

    event = decode(json.dumps(quote, allow_nan=False).encode())

    assert isinstance(event, Quote)
    assert _off_grid(event) == []


def test_the_page_counts_the_types_the_codec_knows_and_shows_each_one() -> None:
    text = WIRE_MD.read_text(encoding="utf-8")
    words = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen")
    [counted] = re.findall(r"not one of the (\w+) types below", text)
    shown = {json.loads(line)["type"] for line in _event_lines(invalid=False)}

    assert counted == words[len(event_types()) - 10]
    assert shown == set(event_types())
