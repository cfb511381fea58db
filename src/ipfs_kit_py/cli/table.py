"""Plain-text tables and sizes for the CLI: headers, aligned columns, nothing cut."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["format_table", "human_size", "table_widths"]

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def human_size(size: int | None) -> str:
    """``size`` bytes as people read it: ``999 B``, ``1.5 KiB``, ``12.0 MiB``; None is ``-``."""
    if size is None:
        return "-"
    if size < 1024:
        return f"{size} B"
    value, unit = float(size), 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value /= 1024
        unit += 1
    if round(value, 1) >= 1024 and unit < len(_UNITS) - 1:  # 1023.96 KiB prints as 1.0 MiB
        value /= 1024
        unit += 1
    return f"{value:.1f} {_UNITS[unit]}"


def table_widths(
    headers: Sequence[str], rows: Sequence[Sequence[str]], at_least: Sequence[int] = ()
) -> list[int]:
    """The width of each column but the last: its widest cell, or ``at_least``'s."""
    widths = [max(len(str(r[i])) for r in (headers, *rows)) for i in range(len(headers) - 1)]
    return [max([w, *at_least[i : i + 1]]) for i, w in enumerate(widths)]


def format_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Sequence[int] = (),
    *,
    min_widths: Sequence[int] = (),
) -> list[str]:
    """Lines of a table: a header row, then ``rows``, columns two spaces apart.

    Every column but the last is padded to its widest cell, or to ``min_widths`` (a
    table printed page by page keeps its columns), columns in ``right`` right-aligned;
    the last is never padded, wrapped or cut.
    """
    widths = table_widths(headers, rows, min_widths)
    lines = []
    for row in (headers, *rows):
        cells = [
            str(cell).rjust(width) if i in right else str(cell).ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=False))
        ]
        lines.append("  ".join([*cells, str(row[-1])]).rstrip())
    return lines
