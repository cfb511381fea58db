"""The HTML page listing a directory: every name escaped, sizes from the links (no
child is fetched), links relative to the directory's own URL."""

from __future__ import annotations

import html
from collections.abc import Iterable
from urllib.parse import quote

from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.gateway.params import cid_str

__all__ = ["LISTING_VERSION", "render_listing"]

LISTING_VERSION = "1"  # part of a listing's Etag: a new page layout changes it
_STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
    "td{padding:.2em 1em .2em 0}td.size{text-align:right;font-family:monospace}"
)


def render_listing(path: str, cid: CID, entries: Iterable[tuple[str, CID, int | None]]) -> str:
    """The page for directory ``cid`` served at ``path`` (ending in ``/``); ``entries``
    are ``(name, cid, tsize)``."""
    title = html.escape(path)
    rows = [_row("..", None, None)] if path.rstrip("/").count("/") > 2 else []
    rows += [_row(name, child, size) for name, child, size in entries]
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_STYLE}</style></head><body>\n"
        f"<h1>Index of {title}</h1>\n<p>{html.escape(cid_str(cid))}</p>\n"
        "<table>\n" + "\n".join(rows) + "\n</table>\n</body></html>\n"
    )


def _row(name: str, cid: CID | None, size: int | None) -> str:
    href = html.escape(quote(name.encode("utf-8", "surrogateescape"), safe=""))
    link = f'<a href="./{href}">{html.escape(name)}</a>' if name != ".." else '<a href="../">..</a>'
    shown_cid = html.escape(cid_str(cid)) if cid is not None else ""
    shown_size = _size(size) if size is not None else ""
    cells = f'<td>{link}</td><td class="cid">{shown_cid}</td><td class="size">{shown_size}</td>'
    return f"<tr>{cells}</tr>"


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.1f} {unit}"
