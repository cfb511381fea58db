"""The one place the CLI prints: a rich console for humans, plain JSON for ``--json``."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def plain(value: object) -> str:
    """``value`` as text that rich prints literally: user data is never markup.

    Use it for every user-controlled string in a table cell or a markup-enabled print
    (keys, names, reasons): ``[red]x[/red]`` prints as itself and ``[/]`` cannot crash.
    """
    return escape(str(value))


def print_json(value: Any) -> None:
    """Print ``value`` as one JSON document on stdout."""
    sys.stdout.write(json.dumps(value, default=str) + "\n")


def print_error(exc: BaseException, *, as_json: bool = False) -> None:
    """Report an error: a JSON object with ``--json``, else a red line on stderr."""
    if as_json:
        print_json({"success": False, "error": str(exc), "error_type": type(exc).__name__})
    else:
        err_console.print(f"Error: {exc}", style="red", markup=False, soft_wrap=True)
