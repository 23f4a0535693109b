"""Tab completion of robot names in ``yard repl``: ``pause("tr<TAB>`` gives ``pause("trend-si"``.

The console's functions that take a robot's name (:data:`NAMED`) complete their
first string argument from the robots the target has now, so a robot added
during the session completes too. IPython asks :func:`ipython_matcher` (its
Matcher API v2, suppressing the file-name and Jedi guesses inside the string);
the plain console's readline asks :class:`ReadlineCompleter`, which completes
Python names through :mod:`rlcompleter` everywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = [
    "NAMED",
    "READLINE_DELIMITERS",
    "ReadlineCompleter",
    "ipython_matcher",
    "robot_prefix",
]

NAMED: tuple[str, ...] = (
    "snapshot",
    "failure",
    "pause",
    "resume",
    "set_params",
    "restart",
    "remove_robot",
)
"""The console's functions whose first argument is a robot's name."""

READLINE_DELIMITERS = " \t\n`~!@#$%^&*()=+[{]}\\|;:'\",<>?"
"""readline's word breaks without ``-`` (robot names have dashes) and ``/``, ``.``."""

_ARGUMENT = re.compile(r"\b(?:" + "|".join(NAMED) + r")\(\s*(?:name\s*=\s*)?([\"'])([^\"']*)$")

Names = Callable[[], Sequence[str]]
"""Gives the robots' names now; it may raise (a remote host gone), which completes nothing."""


def robot_prefix(text_before_cursor: str) -> str | None:
    """The part of a robot's name typed so far, if the cursor is in one; else None.

    >>> robot_prefix('pause("tr')
    'tr'
    >>> robot_prefix("robots()") is None
    True
    """
    match = _ARGUMENT.search(text_before_cursor)
    return None if match is None else match.group(2)


def _matching(prefix: str, names: Names) -> list[str]:
    try:
        known = names()
    except Exception:  # completion must never break the prompt; the call itself will say why
        return []
    return sorted(name for name in known if name.startswith(prefix))


def ipython_matcher(names: Names) -> Callable[[Any], dict[str, Any]]:
    """An IPython (8.6+) completion matcher for the robot names; add it to ``custom_matchers``."""
    from IPython.core.completer import SimpleCompletion  # noqa: PLC0415 - IPython is optional

    def match_robot_names(context: Any) -> dict[str, Any]:
        prefix = robot_prefix(context.text_until_cursor)
        if prefix is None:
            return {"completions": [], "suppress": False}
        found = [SimpleCompletion(name, type="robot") for name in _matching(prefix, names)]
        return {"completions": found, "matched_fragment": prefix, "suppress": bool(found)}

    match_robot_names.matcher_api_version = 2  # type: ignore[attr-defined]
    return match_robot_names


class ReadlineCompleter:
    """readline's completer: robot names inside the named calls, Python names elsewhere.

    ``line`` gives the line typed so far (``readline.get_line_buffer`` with the cursor
    at its end, as it is when Tab is pressed at the end of a line).
    """

    def __init__(self, namespace: dict[str, Any], names: Names, line: Callable[[], str]) -> None:
        import rlcompleter  # noqa: PLC0415 - only the plain console needs it

        self._python = rlcompleter.Completer(namespace)
        self._names = names
        self._line = line
        self._found: list[str] = []

    def complete(self, text: str, state: int) -> str | None:
        if state == 0:
            prefix = robot_prefix(self._line())
            if prefix is not None and text.endswith(prefix):
                typed = text[: len(text) - len(prefix)]
                self._found = [typed + name for name in _matching(prefix, self._names)]
            else:
                self._found = list(self._python_names(text))
        return self._found[state] if state < len(self._found) else None

    def _python_names(self, text: str) -> Iterable[str]:
        state = 0
        while (found := self._python.complete(text, state)) is not None:
            yield found
            state += 1
