"""Content commands: cat, get, whereis, ls, replicate, verify, rm, backends, config show.

Each is a thin shell over the :class:`~ipfs_kit_py.ipfs_kit.ipfs_kit` facade; errors
propagate to ``cli.main``, which prints them and maps them to exit codes.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import functools
import itertools
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeAlias

from ipfs_kit_py.cli.console import (
    print_json,
    print_line,
    printable,
    rich_console,
    stderr_is_terminal,
)
from ipfs_kit_py.cli.table import format_table, human_size, table_widths
from ipfs_kit_py.errors import InvalidInputError
from ipfs_kit_py.progress import BaseSubscriber
from ipfs_kit_py.streams import CHUNK

if TYPE_CHECKING:
    from rich.progress import TaskID

    from ipfs_kit_py.index_schema import ContentRecord, Location
    from ipfs_kit_py.ipfs_kit import ipfs_kit

Handler = Callable[[argparse.Namespace, "ipfs_kit"], int]
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class ProgressBars(BaseSubscriber):
    """A rich progress bar per remote read, shown only once it has run for a second."""

    def __init__(self, delay_s: float = 1.0) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

        self.delay_s = delay_s
        self.progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=rich_console(stderr=True),
            transient=True,
        )
        self._tasks: dict[str, tuple[TaskID | None, float, int, int | None]] = {}
        self._started = False

    def on_start(self, key: str, total: int | None, **kwargs: Any) -> None:
        self._tasks[key] = (None, time.monotonic(), 0, total)

    def on_progress(self, key: str, nbytes: int, **kwargs: Any) -> None:
        task, start, done, total = self._tasks.get(key, (None, time.monotonic(), 0, None))
        done += nbytes
        if task is None and time.monotonic() - start >= self.delay_s:
            if not self._started:
                self.progress.start()
                self._started = True
            from rich.markup import escape

            # the description is rendered as markup: a key is data ("[red]x" prints as is)
            name = escape(printable(key[:16]) + "…")
            task = self.progress.add_task(name, total=total, completed=done)
        elif task is not None:
            self.progress.update(task, completed=done)
        self._tasks[key] = (task, start, done, total)

    def on_done(self, key: str, error: BaseException | None, **kwargs: Any) -> None:
        task, *_ = self._tasks.pop(key, (None,))
        if task is not None:
            self.progress.remove_task(task)

    def stop(self) -> None:
        if self._started:
            self.progress.stop()


@contextmanager
def open_kit(args: argparse.Namespace) -> Iterator[ipfs_kit]:
    """The facade for one command, with progress bars unless ``--json``."""
    from ipfs_kit_py.ipfs_kit import ipfs_kit

    with ipfs_kit() as kit:
        bars = None if args.json or not stderr_is_terminal() else ProgressBars()
        if bars is not None:
            kit.tiers.subscribers.append(bars)
        try:
            yield kit
        finally:
            if bars is not None:
                bars.stop()


def _runner(handler: Handler) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        with open_kit(args) as kit:
            return handler(args, kit)

    return run


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _done(args: argparse.Namespace, payload: dict[str, Any], text: str, ok: bool = True) -> int:
    if args.json:
        print_json({"success": ok, **_plain(payload)})
    else:
        print_line(text)
    return 0 if ok else 1


# -- commands ---------------------------------------------------------------------------


def cat(args: argparse.Namespace) -> int:
    """``cat``: from this machine's cache when it serves the CID first (without opening
    the whole kit), else through the kit; the same bytes, checks and bookkeeping."""
    from ipfs_kit_py.content.cid import read_cid
    from ipfs_kit_py.kit_local import LocalKit

    if args.json:
        read_cid(args.cid)  # the kit's cat checks the CID before it opens anything
    with LocalKit() as local:
        cached = local.open_cached(args.cid)
        if cached is not None:
            with cached:
                if args.json:
                    return _cat_json(args, cached.read())
                return _cat_stream(iter(functools.partial(cached.read, CHUNK), b""))
    return _runner(cmd_cat)(args)


def cmd_cat(args: argparse.Namespace, kit: ipfs_kit) -> int:
    if args.json:
        return _cat_json(args, kit.cat(args.cid))
    return _cat_stream(kit.get(args.cid))


def _cat_json(args: argparse.Namespace, data: bytes) -> int:
    data64 = base64.b64encode(data).decode()
    return _done(args, {"cid": args.cid, "size": len(data), "data_base64": data64}, "")


def _cat_stream(chunks: Iterable[bytes]) -> int:
    out = sys.stdout.buffer
    for chunk in chunks:
        out.write(chunk)
    out.flush()
    return 0


def cmd_get(args: argparse.Namespace, kit: ipfs_kit) -> int:
    keep = args.keep_escaping_symlinks
    path = kit.get_to_path(args.cid, args.output, keep_escaping_symlinks=keep)
    size = path.stat().st_size
    return _done(args, {"cid": args.cid, "path": str(path), "size": size}, f"saved {path}")


def cmd_whereis(args: argparse.Namespace, kit: ipfs_kit) -> int:
    where = kit.whereis(args.cid)
    index = kit.index
    locations = index.locations(args.cid, include_bad=True, all_nodes=True)
    mine = [loc for loc in locations if loc.node in ("", index.node_id)]
    elsewhere = [loc for loc in locations if loc.node not in ("", index.node_id)]
    lost = [loc for loc in mine if loc.state != "good"]
    lines = list(where)
    lines += [
        f"{loc.backend}: {loc.state} since {_when(loc.marked_at)} ({loc.reason})" for loc in lost
    ]
    peers = index.peers() if elsewhere else {}
    routes: list[tuple[str, str, str]] = []
    if peers:
        from ipfs_kit_py.advertise import peer_routes

        routes = peer_routes(index, args.cid)
    lines += [f"{loc.backend} of node {loc.node}: {_route(loc, peers)}" for loc in elsewhere]
    payload = {
        "cid": args.cid,
        "node": index.node_id,
        "backends": where,
        "lost": [loc.backend for loc in lost],
        "locations": [{**_plain(loc), "state": loc.state} for loc in locations],
        "other_nodes": [
            {
                "node": loc.node,
                "backend": loc.backend,
                "state": loc.state,
                "peer_url": peers.get(loc.node),  # served by that node now: the peer tier
            }
            for loc in elsewhere
        ],
        "peer_routes": [
            {"tier": "peer", "node": node, "backend": backend, "url": url}
            for node, backend, url in routes
        ],
    }
    inline = not where and _nowhere(args.cid) != NOT_HELD
    if inline:
        payload["inline"] = True
    if not where and not routes:
        lines.insert(0, f"{args.cid}: {_nowhere(args.cid)}")
    return _done(args, payload, "\n".join(lines), ok=bool(where or routes) or inline)


NOT_HELD = "not held by any tier"


def _route(loc: Location, peers: dict[str, str]) -> str:
    """How this node reaches another node's copy: through its gateway, or not at all."""
    url = peers.get(loc.node)
    if loc.state == "good" and url is not None:
        return f"good (read through the peer tier: {url})"
    return f"{loc.state} (not read from here)"


def _nowhere(cid: str) -> str:
    """Why no tier lists ``cid``: an identity CID needs none (``cat`` reads it from the
    CID itself, as kubo does); any other is simply not held."""
    from ipfs_kit_py.content.cid import DAG_PB, read_cid
    from ipfs_kit_py.content.inline import inline_bytes, is_inline

    found = read_cid(cid)  # a dag-pb one may link to blocks held elsewhere
    if is_inline(found) and (found.codec.code != DAG_PB or inline_bytes(found) is not None):
        return "inline: an identity CID holds its content, no tier is needed"
    return NOT_HELD


def _when(at: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at)) if at else "?"


def cmd_ls(args: argparse.Namespace, kit: ipfs_kit) -> int:
    now = time.time()
    _check_filters(args)
    filters = {
        "backend": kit.tiers.tier_name(args.backend) if args.backend else None,
        "tag": args.tag,
        "min_size": args.min_size,
        "max_size": args.max_size,
        "older_than": now - args.older_than_days * 86400 if args.older_than_days else None,
        "min_access_count": args.min_access,
    }
    # a page at a time, printed as it comes: millions of CIDs are never all in memory
    pages: Iterator[list[ContentRecord]] = (
        kit.index.query_pages(**filters)
        if args.limit is None
        else iter([kit.index.query(**filters, limit=args.limit)])
    )
    first = next(pages, [])
    if not first and args.backend:
        _explain_empty(kit, args.backend)
    pages = itertools.chain([first], pages)
    if args.json:
        _print_json_records(pages)
        return 0
    headers = ("CID", "SIZE", "KIND", "ACCESSES", "TAGS")
    widths: list[int] = []  # a later page never narrows a column
    for records in pages:
        rows = [
            (added_form(r), human_size(r.size), r.kind, str(r.access_count), ",".join(r.tags))
            for r in records
        ]
        if not rows:
            continue
        lines = format_table(headers, rows, right=(1, 3), min_widths=widths)
        for line in lines[1:] if widths else lines:
            print_line(line)
        widths = table_widths(headers, rows, widths)
    return 0


def _print_json_records(pages: Iterable[list[ContentRecord]]) -> None:
    """``ls --json``: one JSON object, written record by record as the pages come."""
    out = sys.stdout
    out.write('{"success": true, "content": [')
    count = 0
    for records in pages:
        items = [
            json.dumps({**_plain(r), "added_cid": added_form(r)}, default=str) for r in records
        ]
        if items:
            out.write((", " if count else "") + ", ".join(items))  # one write a page
            count += len(items)
    out.write(f'], "count": {count}}}\n')


def _explain_empty(kit: ipfs_kit, name: str) -> None:
    """Nothing listed in tier ``name``: if it is not a configured tier, say why (what to
    set for a known backend, the tiers there are for a typo). The index's copies in a tier
    no longer configured are still listed."""
    if kit.tiers.tier_name(name) not in {t.name for t in kit.tiers.tiers}:
        kit.tiers.tier(name)


def _check_filters(args: argparse.Namespace) -> None:
    """Refuse filter values that would silently select all or nothing (-1, nan, inf)."""
    import math

    for flag in ("limit", "min_size", "max_size", "min_access", "older_than_days"):
        value = getattr(args, flag)
        if value is not None and (not math.isfinite(value) or value < 0):
            raise InvalidInputError(
                f"--{flag.replace('_', '-')} must be a number >= 0, got {value}"
            )


def added_form(record: ContentRecord) -> str:
    """The CID as it was added: ``Qm...`` for CIDv0 imports, else the index key itself."""
    from ipfs_kit_py.content.cid import DAG_PB, SHA2_256, make_cid, parse_cid
    from ipfs_kit_py.content.unixfs import ImportProfile

    if record.profile is None:
        return record.cid
    try:
        version = ImportProfile.parse(record.profile).cid_version
    except InvalidInputError:
        return record.cid  # a profile key this version does not know: show the key
    cid = parse_cid(record.cid)
    if version == 0 and cid.codec.code == DAG_PB and cid.hashfun.code == SHA2_256:
        return str(make_cid(DAG_PB, cid.raw_digest, 0))
    return record.cid


def cmd_replicate(args: argparse.Namespace, kit: ipfs_kit) -> int:
    report = kit.replicate(args.cid, _names(args.to), min_copies=args.min_copies)
    text = f"copied to: {', '.join(report.copied) or 'nothing needed'}"
    if report.failed:
        text += "\nfailed: " + "; ".join(f"{k}: {v}" for k, v in report.failed.items())
    if report.short:
        held = len(report.copied) + len(report.already)
        text += (
            f"\nshort by {report.short}: {held} durable copies, and no other configured "
            "tier to copy to (configure more tiers or lower --min-copies)"
        )
    return _done(args, {"report": report}, text, ok=not report.failed and not report.short)


def cmd_verify(args: argparse.Namespace, kit: ipfs_kit) -> int:
    if not args.all and not args.cid:
        raise InvalidInputError("verify: give a CID or --all")
    checks = kit.verify_all() if args.all else [kit.verify(args.cid)]
    # every record counts, including content left with no good copy at all
    ok = all(c.ok and not c.unreachable for c in checks)
    lines = [
        f"{c.cid}: good={','.join(c.good) or '-'} bad={','.join(c.bad) or '-'} "
        f"missing={','.join(c.missing) or '-'} unreachable={','.join(c.unreachable) or '-'}"
        + (f" short={c.short}" if c.short else "")
        for c in checks
    ]
    return _done(args, {"checks": checks}, "\n".join(lines) or "index is empty", ok=ok)


def cmd_repair(args: argparse.Namespace, kit: ipfs_kit) -> int:
    report = kit.repair(args.cid)
    text = f"restored: {', '.join(report.copied) or 'nothing needed'}"
    if report.failed:
        text += "\nfailed: " + "; ".join(f"{k}: {v}" for k, v in report.failed.items())
    return _done(args, {"report": report}, text, ok=not report.failed)


def cmd_rm(args: argparse.Namespace, kit: ipfs_kit) -> int:
    removed = kit.remove(args.cid, _names(args.from_), force=args.force)
    return _done(args, {"cid": args.cid, "removed": removed}, f"removed from {', '.join(removed)}")


def cmd_forget(args: argparse.Namespace, kit: ipfs_kit) -> int:
    tiers = _names(args.from_) if args.from_ else None
    dropped = kit.forget(args.cid, tiers, all_nodes=args.all_nodes)
    text = f"forgot {args.cid}" + (f" in {', '.join(dropped)}" if tiers is not None else "")
    if tiers is not None and not dropped:
        text = f"{args.cid}: no entry in {', '.join(tiers)} to forget"
    return _done(args, {"cid": args.cid, "forgotten": dropped}, text)


def cmd_backends(args: argparse.Namespace, kit: ipfs_kit) -> int:
    statuses = kit.backends()
    if args.json:
        print_json({"success": True, "backends": _plain(statuses)})
        return 0
    mark = {True: "yes", False: "no"}
    rows = [
        (
            " / ".join((s.name, *s.aliases)),
            s.kind,
            mark[s.configured],
            mark[s.reachable],
            s.reason,
        )
        for s in statuses
    ]
    for line in format_table(("TIER", "KIND", "CONFIGURED", "REACHABLE", "WHY NOT"), rows):
        print_line(line)
    return 0


def cmd_config_show(args: argparse.Namespace, kit: ipfs_kit) -> int:
    summary = kit.config_summary()
    if args.json:
        print_json({"success": True, "config": summary})
        return 0
    for key, value in summary.items():
        print_line(f"{key} = {value}")
    return 0


def _names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


# -- registration -----------------------------------------------------------------------


def _add(sub: SubParsers, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_text, description=help_text)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_runner(handler))
    return p


def _register_cat(sub: SubParsers) -> None:
    p = _add(sub, "cat", cmd_cat, "print the content of a CID (verified) to stdout")
    p.set_defaults(func=cat)
    p.add_argument("cid")


def _register_get(sub: SubParsers) -> None:
    p = _add(sub, "get", cmd_get, "save the content of a CID (verified) to a file")
    p.add_argument("cid")
    p.add_argument("-o", "--output", required=True, help="file (or directory) to write")
    p.add_argument(
        "--keep-escaping-symlinks",
        action="store_true",
        help="make a directory's symlinks whose targets are absolute or climb out of it "
        "as they are (refused by default, as car extract refuses them)",
    )


def _register_whereis(sub: SubParsers) -> None:
    p = _add(sub, "whereis", cmd_whereis, "list the tiers holding a CID")
    p.add_argument("cid")


def _register_ls(sub: SubParsers) -> None:
    p = _add(sub, "ls", cmd_ls, "list indexed content, with filters")
    p.add_argument("--backend", help="only content with a copy in this tier")
    p.add_argument("--tag", help="only content with this tag")
    p.add_argument("--min-size", type=int)
    p.add_argument("--max-size", type=int)
    p.add_argument("--older-than-days", type=float)
    p.add_argument("--min-access", type=int, help="accessed at least this often")
    p.add_argument("--limit", type=int)


def _register_replicate(sub: SubParsers) -> None:
    p = _add(sub, "replicate", cmd_replicate, "copy a CID into more tiers")
    p.add_argument("cid")
    p.add_argument("--to", default="", help="comma-separated tiers")
    p.add_argument("--min-copies", type=int, help="durable copies to reach")


def _register_verify(sub: SubParsers) -> None:
    p = _add(
        sub,
        "verify",
        cmd_verify,
        "check that each tier still holds its copies and that they match their CID "
        "(exit 1 while any copy is bad or missing, or content has no copy)",
    )
    p.add_argument("cid", nargs="?")
    p.add_argument("--all", action="store_true", help="every CID in the index")


def _register_repair(sub: SubParsers) -> None:
    p = _add(sub, "repair", cmd_repair, "rewrite bad and missing copies of a CID from a good one")
    p.add_argument("cid")


def _register_rm(sub: SubParsers) -> None:
    p = _add(sub, "rm", cmd_rm, "delete a CID from some tiers")
    p.add_argument("cid")
    p.add_argument("--from", dest="from_", required=True, help="comma-separated tiers")
    p.add_argument("--force", action="store_true", help="even the last copy of pinned content")


def _register_forget(sub: SubParsers) -> None:
    p = _add(sub, "forget", cmd_forget, "drop index entries of a CID; no tier is touched")
    p.add_argument("cid")
    p.add_argument("--from", dest="from_", help="only these tiers' entries (comma-separated)")
    p.add_argument(
        "--all-nodes",
        action="store_true",
        help="without --from: also the copies other nodes record in their own tiers",
    )


def _register_backends(sub: SubParsers) -> None:
    _add(sub, "backends", cmd_backends, "list the tiers, whether they answer, and why not")


def _register_config(sub: SubParsers) -> None:
    config = sub.add_parser("config", help="show the configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    _add(config_sub, "show", cmd_config_show, "print the effective configuration, secrets masked")


REGISTER: dict[str, Callable[[SubParsers], None]] = {
    "cat": _register_cat,
    "get": _register_get,
    "whereis": _register_whereis,
    "ls": _register_ls,
    "replicate": _register_replicate,
    "verify": _register_verify,
    "repair": _register_repair,
    "rm": _register_rm,
    "forget": _register_forget,
    "backends": _register_backends,
    "config": _register_config,
}


def register(sub: SubParsers, only: str | None = None) -> None:
    """Add the content commands (``only``: just that one, when a command line names it)."""
    for name, add in REGISTER.items():
        if only is None or name == only:
            add(sub)
