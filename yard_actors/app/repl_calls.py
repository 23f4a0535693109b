"""The supervision calls as plain functions, bound by name to a target, and the banner.

The target is the local :class:`~yard_actors.host.host.Host` or the remote
``yard_actors.ctl.Client``: both have the same calls (``docs/wire.md`` section 5), so
one console serves both. A call the target lacks (an older host) raises a YardError
saying so when it is called, not when the console starts. A sentence a call returns
(``pause``, ``failure``'s traceback) is a :class:`Said`: a str that shows as its text.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from yard_actors.errors import YardError

__all__ = ["CALLS", "Said", "bind_calls", "help_lines"]

CALLS: tuple[str, ...] = (
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
    "stop",
)
"""The supervision API (issue 13), in the order the banner lists it."""


class Said(str):
    """A sentence or a traceback a call returned: a str, shown without quotes or ``\\n``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


def bind_calls(
    target: Any, *, leave: Callable[[], None], stop_target: bool = False
) -> dict[str, Callable[..., Any]]:
    """One function per call of :data:`CALLS`, calling the target's method of that name.

    ``stop()`` ends the console with ``leave``; with ``stop_target`` (a remote host,
    which the console's end leaves running) it first calls the target's ``stop``.
    Locally the console's end stops the system, so ``stop()`` is the same as Ctrl-D.
    """
    calls = {name: _bound(target, name) for name in CALLS if name != "stop"}
    stop_remote = _bound(target, "stop") if stop_target else None

    def stop() -> None:
        """Stop everything (and end this console)."""
        if stop_remote is not None:
            stop_remote()
        leave()

    calls["stop"] = stop
    return calls


def _bound(target: Any, name: str) -> Callable[..., Any]:
    method = getattr(target, name, None)
    if method is None:
        return _not_available(target, name)

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        result = method(*args, **kwargs)
        return Said(result) if isinstance(result, str) else result

    return call


def _not_available(target: Any, name: str) -> Callable[..., Any]:
    kind = type(target).__name__

    def missing(*args: Any, **kwargs: Any) -> Any:
        msg = (
            f"{name}() is not available: this {kind} has no {name} method "
            "(a yard older than the supervision API; the banner marks what it lacks)"
        )
        raise YardError(msg)

    missing.__name__ = name
    return missing


def help_lines(robot: str, *, available: Sequence[str]) -> list[str]:
    """What to type, one call a line, with ``robot`` as the example name."""
    examples = [
        ("robots()", "the robot table"),
        (f'snapshot("{robot}")', "one robot's full state"),
        (f'failure("{robot}")', "its traceback, if it failed"),
        (f'pause("{robot}")', "hold its new orders; its events are still handled"),
        (f'resume("{robot}")', "let it send orders again"),
        (f'set_params("{robot}", qty=2)', "change params, checked before they are sent"),
        (f'restart("{robot}")', "a fresh instance rebuilt from its journal"),
        ('add_robot("module:Class", name="new")', "start one more robot"),
        (f'remove_robot("{robot}")', "cancel its working orders, then remove it"),
        ("halt()", "kill switch: cancel every working order, pause every robot"),
        ("stop()", "stop everything and print the summary (or Ctrl-D, exit())"),
    ]
    width = max(len(call) for call, _ in examples) + 2
    lines = []
    for (call, what), name in zip(examples, CALLS, strict=True):
        absent = "" if name in available else "  [not on this host]"
        lines.append(f"  {call.ljust(width)}{what}{absent}")
    return lines
