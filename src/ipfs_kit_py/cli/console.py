"""The one place the CLI prints: a rich console for humans, plain JSON for ``--json``."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.text import Text


class SafeConsole(Console):
    """A rich console whose printed strings never fail on undecodable bytes (surrogates).

    A failed write would also stay in rich's buffer and fail every later print.
    """

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(printable(o) if isinstance(o, str) else o for o in objects), **kwargs)


def printable(value: object) -> str:
    """``value`` as text any UTF-8 stream accepts: undecodable bytes of a file name or an
    argument (surrogates) are shown as ``\\udcff`` escapes instead of failing the print."""
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8")


console = SafeConsole(highlight=False)
err_console = SafeConsole(stderr=True, highlight=False)


def plain(value: object) -> Text:
    """``value`` as a rich Text, which is never parsed as markup: user data stays data.

    Use it for every user-controlled string in a table cell or a markup-enabled print
    (keys, names, reasons): ``[red]x[/red]`` prints as itself, ``[/]`` cannot crash, a
    trailing backslash stays one backslash (``rich.markup.escape`` would double it).
    """
    return Text(printable(value))


def print_json(value: Any) -> None:
    """Print ``value`` as one JSON document on stdout."""
    sys.stdout.write(json.dumps(value, default=str) + "\n")


def print_error(exc: BaseException, *, as_json: bool = False) -> None:
    """Report an error: a JSON object with ``--json``, else a red line on stderr."""
    if as_json:
        error = printable(exc)
        print_json({"success": False, "error": error, "error_type": type(exc).__name__})
    else:
        err_console.print(f"Error: {printable(exc)}", style="red", markup=False, soft_wrap=True)
