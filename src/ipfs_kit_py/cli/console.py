"""The one place the CLI prints: plain lines and JSON, rich only for tables and bars.

``console`` and ``err_console`` are rich consoles created (and rich imported) on first
use, so a command that prints plain lines never loads rich.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text


_consoles: dict[bool, Console] = {}


def printable(value: object) -> str:
    """``value`` as text any UTF-8 stream accepts: undecodable bytes of a file name or an
    argument (surrogates) are shown as ``\\udcff`` escapes instead of failing the print."""
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8")


def terminal_safe(text: str) -> str:
    """``text`` with control characters escaped, line breaks kept: a DID, an ability or
    an error text may come from a proof or a service, and an ESC sequence in one would
    rewrite the terminal (its title, its clipboard) when printed."""
    return "\n".join(
        "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in line)
        for line in text.split("\n")
    )


def rich_console(*, stderr: bool = False) -> Console:
    """The rich console on stdout (or stderr), made (and rich imported) on first use.

    Its printed strings never fail on undecodable bytes (surrogates): a failed write
    would also stay in rich's buffer and fail every later print.
    """
    if stderr not in _consoles:
        from rich.console import Console

        class SafeConsole(Console):
            def print(self, *objects: Any, **kwargs: Any) -> None:
                super().print(
                    *(printable(o) if isinstance(o, str) else o for o in objects), **kwargs
                )

        _consoles[stderr] = SafeConsole(stderr=stderr, highlight=False)
    return _consoles[stderr]


class _LazyConsole:
    """Stands for :func:`rich_console` until an attribute is used."""

    def __init__(self, stderr: bool) -> None:
        self._stderr = stderr

    def __getattr__(self, name: str) -> Any:
        return getattr(rich_console(stderr=self._stderr), name)


console: Console = _LazyConsole(stderr=False)  # type: ignore[assignment]
err_console: Console = _LazyConsole(stderr=True)  # type: ignore[assignment]


def print_line(text: str) -> None:
    """Print ``text`` and a newline on stdout, as is (no markup, no wrapping)."""
    sys.stdout.write(printable(text) + "\n")


def plain(value: object) -> Text:
    """``value`` as a rich Text, which is never parsed as markup: user data stays data.

    Use it for every user-controlled string in a table cell or a markup-enabled print
    (keys, names, reasons): ``[red]x[/red]`` prints as itself, ``[/]`` cannot crash, a
    trailing backslash stays one backslash (``rich.markup.escape`` would double it).
    """
    from rich.text import Text

    return Text(printable(value))


def print_json(value: Any) -> None:
    """Print ``value`` as one JSON document on stdout."""
    sys.stdout.write(json.dumps(value, default=str) + "\n")


def print_error(exc: BaseException, *, as_json: bool = False) -> None:
    """Report an error: a JSON object with ``--json``, else one (red) line on stderr."""
    if as_json:
        error = printable(exc)
        print_json({"success": False, "error": error, "error_type": type(exc).__name__})
    else:
        sys.stderr.write(_red(f"Error: {terminal_safe(printable(exc))}") + "\n")


def _red(text: str) -> str:
    """``text`` in red on a colour terminal (``NO_COLOR`` unset), else as is."""
    if sys.stderr.isatty() and not os.environ.get("NO_COLOR"):
        return f"\x1b[31m{text}\x1b[0m"
    return text


def stderr_is_terminal() -> bool:
    """True when standard error is a terminal (progress bars are worth drawing)."""
    return sys.stderr.isatty()
