"""What ``yard replay`` prints about one robot: a line when identical, the first divergence else.

A divergence is shown as a trader reads it: the event (decoded), the commands the live robot
journaled for it and those the replay produced (decoded), and the robot's state before and
after the event, cut down to the keys the event changed. The most common cause, the robot's
code changed since the run, is said outright when the journal recorded the class's file hash.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from yard_actors.app.wording import count
from yard_actors.journal.replay_steps import RobotReplay, StepDivergence
from yard_actors.journal.source import class_source
from yard_actors.wire.codec import decode

__all__ = ["ClassChange", "StateChange", "changed_keys", "class_change", "describe"]

_SKIPPED_SHOWN = 10  # quarantined seqs listed before "..."
_VALUE_CHARS = 160  # a state value longer than this is cut, its length said


@attrs.frozen(kw_only=True)
class ClassChange:
    """The robot's class file differs from the one the run journaled (or says it cannot tell)."""

    class_path: str
    path: str | None
    then: str | None
    now: str | None

    def __str__(self) -> str:
        if self.then is None:
            return (
                f"class {self.class_path}: the journal has no hash of its file (a run by an "
                "older yard), so whether it changed since the run is unknown"
            )
        return (
            f"class {self.class_path} changed since the run: its file {self.path} had "
            f"sha256 {self.then[:16]}... then, {(self.now or 'unreadable')[:16]}... now"
        )


@attrs.frozen(kw_only=True)
class StateChange:
    """One snapshot key (dotted for nested ones) the divergent event changed."""

    key: str
    before: Any
    after: Any


def class_change(spec: Mapping[str, Any] | None, robot_class: type[Any]) -> ClassChange | None:
    """How the class now differs from the run's, if it does (None: the same file, or no spec)."""
    if spec is None:
        return None
    class_path = str(spec.get("class", robot_class.__qualname__))
    source = spec.get("source")
    if not isinstance(source, Mapping):
        return ClassChange(class_path=class_path, path=None, then=None, now=None)
    now = class_source(robot_class)
    now_hash = None if now is None else now["sha256"]
    if now_hash == source.get("sha256"):
        return None
    return ClassChange(
        class_path=class_path,
        path=str(source.get("path")),
        then=str(source.get("sha256")),
        now=now_hash,
    )


def changed_keys(
    before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = ""
) -> list[StateChange]:
    """The keys whose values differ between two snapshots, nested mappings walked into."""
    changes = []
    for key in sorted(set(before) | set(after), key=str):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        name = f"{prefix}{key}"
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            changes += changed_keys(old, new, prefix=f"{name}.")
        else:
            changes.append(StateChange(key=name, before=old, after=new))
    return changes


def describe(
    replay: RobotReplay,
    *,
    changes: list[StateChange] | None = None,
    class_changed: ClassChange | None = None,
) -> Iterator[str]:
    """The lines ``yard replay`` prints for ``replay`` once it has run to the journal's end."""
    name = replay.name
    tally = f"{count(replay.events, 'event')}, {count(replay.commands, 'command')}"
    if replay.identical:
        yield f"{name}: identical: {tally}; faithful"
        if class_changed is not None and class_changed.then is not None:
            yield f"  {class_changed} (it replays identical all the same)"
    elif replay.failure is not None:
        yield f"{name}: {tally} replayed; FAILED: {replay.failure}"
    else:
        yield f"{name}: {tally} replayed; DIVERGED"
    if replay.divergence is not None and replay.failure is None:
        yield from _divergence(replay.divergence, changes)
    if replay.skipped:
        shown = ", ".join(str(seq) for seq in replay.skipped[:_SKIPPED_SHOWN])
        more = ", ..." if len(replay.skipped) > _SKIPPED_SHOWN else ""
        yield f"  skipped {count(len(replay.skipped), 'quarantined event')}: seq {shown}{more}"
    if class_changed is not None and not replay.identical:
        yield f"  {class_changed}"


def _divergence(divergence: StepDivergence, changes: list[StateChange] | None) -> Iterator[str]:
    if divergence.seq is None:
        yield f"  before its first event, the journal has commands (command #{divergence.index} on)"
    else:
        yield f"  at event seq {divergence.seq} (command #{divergence.index} of the robot):"
        yield f"    event:     {divergence.event!r}"
    yield from _commands("journaled", divergence.journaled)
    yield from _commands("produced", divergence.produced)
    if changes is None:
        return
    if not changes:
        yield "    state: the event changed no snapshot key"
        return
    yield "    state the event changed (before -> after, replayed):"
    for change in changes:
        yield f"      {change.key}: {_change(change.before, change.after)}"


def _change(before: Any, after: Any) -> str:
    """``before -> after``; for two lists, what left and what came, so a long book reads."""
    if isinstance(before, list) and isinstance(after, list):
        gone = [item for item in before if item not in after]
        came = [item for item in after if item not in before]
        if gone or came:
            parts = [f"-{_short(item)}" for item in gone] + [f"+{_short(item)}" for item in came]
            return f"{len(before)} -> {len(after)} items: " + ", ".join(parts)
    return f"{_short(before)} -> {_short(after)}"


def _commands(label: str, payloads: tuple[bytes, ...]) -> Iterator[str]:
    head = f"    {label + ':':<10} "
    if not payloads:
        yield head + "(none)"
    for n, payload in enumerate(payloads):
        yield (head if n == 0 else " " * len(head)) + _decoded(payload)


def _decoded(payload: bytes) -> str:
    try:
        return repr(decode(payload))
    except Exception as exc:  # a command this yard no longer decodes: its bytes, and why
        return f"{payload!r} (does not decode: {exc})"


def _short(value: Any) -> str:
    text = repr(value)
    if len(text) <= _VALUE_CHARS:
        return text
    return f"{text[:_VALUE_CHARS]}... ({len(text)} chars)"
