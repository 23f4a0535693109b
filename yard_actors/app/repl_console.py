"""The interactive consoles of ``yard repl``: IPython when installed, :mod:`code` otherwise.

Both show a :class:`~yard_actors.host.table.RobotTable` as a rich table, a yard error as
its one sentence (not a traceback: the sentence says what to do), and end on Ctrl-D,
``exit()`` or the session's ``stop()``. They return when the console ends; the caller
then stops the system. Run on the main thread: readline and prompt_toolkit need it.
"""

from __future__ import annotations

import builtins
import code
import shutil
import sys
from collections.abc import Callable
from typing import Any

from yard_actors.app.repl_completion import (
    READLINE_DELIMITERS,
    Names,
    ReadlineCompleter,
    ipython_matcher,
)
from yard_actors.app.tables import render_text, robots_table
from yard_actors.ctl import HaltResult
from yard_actors.errors import YardError
from yard_actors.host.halting import HaltReport
from yard_actors.host.table import RobotTable

__all__ = ["has_ipython", "leave_plain", "run_ipython", "run_plain"]

_SENTENCES = (HaltReport, HaltResult)
"""Results whose ``str()`` is the sentence a person wants (their fields stay for code)."""


def has_ipython() -> bool:
    try:
        import IPython  # noqa: F401, PLC0415 - the optional extra: yard[repl]
    except ImportError:
        return False
    return True


def run_plain(namespace: dict[str, Any], banner: str, names: Names) -> None:
    """Run :class:`code.InteractiveConsole` until Ctrl-D, ``exit()`` or ``stop()``.

    ``stop()`` ends it with :func:`leave_plain`; ``exit`` and ``quit`` in ``namespace``
    should too (the built-in ones close standard input on their way out).
    """
    _enable_readline(namespace, names)
    console = _PlainConsole(namespace)
    previous = sys.displayhook
    sys.displayhook = _display
    try:
        console.interact(banner=banner, exitmsg="")
    except SystemExit:
        pass  # exit(), quit() or stop(): the caller stops the system
    finally:
        sys.displayhook = previous


def leave_plain() -> None:
    """End the plain console from inside a call (``stop()``): it catches SystemExit."""
    raise SystemExit(0)


class _PlainConsole(code.InteractiveConsole):
    def showtraceback(self) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, YardError):
            self.write(f"{type(error).__name__}: {error}\n")
            return
        super().showtraceback()


def _display(value: Any) -> None:
    """sys.displayhook for the plain console: tables and mappings through rich."""
    if value is None:
        return
    builtins._ = None  # type: ignore[attr-defined]
    if isinstance(value, RobotTable):
        width = _width()
        table = robots_table(value, width=width)
        print(render_text(table, width=width, color=sys.stdout.isatty()), end="")
    elif isinstance(value, _SENTENCES):
        print(value)
    elif isinstance(value, dict | list):
        from rich.pretty import pretty_repr  # noqa: PLC0415 - rich is for people

        print(pretty_repr(value, max_width=_width()))
    else:
        print(repr(value))
    builtins._ = value  # type: ignore[attr-defined]


def _width() -> int:
    return shutil.get_terminal_size((120, 40)).columns


def _enable_readline(namespace: dict[str, Any], names: Names) -> None:
    try:
        import readline  # noqa: PLC0415 - absent on some builds; the console works without it
    except ImportError:
        return
    completer = ReadlineCompleter(namespace, names, readline.get_line_buffer)
    readline.set_completer(completer.complete)
    readline.set_completer_delims(READLINE_DELIMITERS)
    readline.parse_and_bind("tab: complete")


def run_ipython(
    namespace: dict[str, Any], banner: str, names: Names, set_leave: Callable[[Any], None]
) -> None:
    """Run an IPython shell until Ctrl-D, ``exit()`` or ``stop()``.

    ``set_leave`` is given the function that ends the shell after the current cell
    (``stop()`` calls it). IPython's history goes where IPython keeps it (``IPYTHONDIR``).
    """
    from IPython.terminal.interactiveshell import (  # noqa: PLC0415 - the optional extra
        TerminalInteractiveShell,
    )

    shell: Any = TerminalInteractiveShell.instance(
        user_ns=namespace, banner1=banner, confirm_exit=False
    )
    set_leave(shell.ask_exit)
    shell.Completer.custom_matchers.append(ipython_matcher(names))
    plain_text = shell.display_formatter.formatters["text/plain"]
    plain_text.for_type(RobotTable, _ipython_table)
    for kind in _SENTENCES:
        plain_text.for_type(kind, _ipython_sentence)
    shell.set_custom_exc((YardError,), _ipython_error)
    shell.show_banner()
    shell.mainloop()


def _ipython_table(table: RobotTable, printer: Any, cycle: bool) -> None:
    width = _width()
    text = render_text(robots_table(table, width=width), width=width, color=sys.stdout.isatty())
    printer.text(text.rstrip("\n"))


def _ipython_sentence(value: object, printer: Any, cycle: bool) -> None:
    printer.text(str(value))


def _ipython_error(
    shell: Any, kind: type[BaseException], error: BaseException, tb: Any, tb_offset: Any = None
) -> None:
    print(f"{kind.__name__}: {error}")
