"""Content commands: cat, get, whereis, ls, replicate, verify, rm, backends, config show.

Each is a thin shell over the :class:`~ipfs_kit_py.ipfs_kit.ipfs_kit` facade; errors
propagate to ``cli.main``, which prints them and maps them to exit codes.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeAlias

from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TransferSpeedColumn
from rich.table import Table

from ipfs_kit_py.cli.console import console, err_console, plain, print_json
from ipfs_kit_py.errors import InvalidInputError
from ipfs_kit_py.ipfs_kit import ipfs_kit
from ipfs_kit_py.progress import BaseSubscriber

Handler = Callable[[argparse.Namespace, ipfs_kit], int]
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class ProgressBars(BaseSubscriber):
    """A rich progress bar per remote read, shown only once it has run for a second."""

    def __init__(self, delay_s: float = 1.0) -> None:
        self.delay_s = delay_s
        self.progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=err_console,
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
            task = self.progress.add_task(key[:16] + "…", total=total, completed=done)
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
    with ipfs_kit() as kit:
        bars = None if args.json or not err_console.is_terminal else ProgressBars()
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
        console.print(text, markup=False, soft_wrap=True)
    return 0 if ok else 1


# -- commands ---------------------------------------------------------------------------


def cmd_cat(args: argparse.Namespace, kit: ipfs_kit) -> int:
    if args.json:
        data = kit.cat(args.cid)
        data64 = base64.b64encode(data).decode()
        return _done(args, {"cid": args.cid, "size": len(data), "data_base64": data64}, "")
    out = sys.stdout.buffer
    for chunk in kit.get(args.cid):
        out.write(chunk)
    out.flush()
    return 0


def cmd_get(args: argparse.Namespace, kit: ipfs_kit) -> int:
    path = kit.get_to_path(args.cid, args.output)
    size = path.stat().st_size
    return _done(args, {"cid": args.cid, "path": str(path), "size": size}, f"saved {path}")


def cmd_whereis(args: argparse.Namespace, kit: ipfs_kit) -> int:
    where = kit.whereis(args.cid)
    locations = kit.index.locations(args.cid, include_bad=True)
    text = "\n".join(where) if where else f"{args.cid}: not held by any tier"
    payload = {"cid": args.cid, "backends": where, "locations": locations}
    return _done(args, payload, text, ok=bool(where))


def cmd_ls(args: argparse.Namespace, kit: ipfs_kit) -> int:
    now = time.time()
    records = kit.index.query(
        backend=args.backend,
        tag=args.tag,
        min_size=args.min_size,
        max_size=args.max_size,
        older_than=now - args.older_than_days * 86400 if args.older_than_days else None,
        min_access_count=args.min_access,
        limit=args.limit,
    )
    if args.json:
        print_json({"success": True, "count": len(records), "content": _plain(records)})
        return 0
    for r in records:
        line = f"{r.cid}  {r.size if r.size is not None else '-':>10}  {r.kind:<4}  "
        console.print(
            line + f"{r.access_count:>5}  {','.join(r.tags)}", markup=False, soft_wrap=True
        )
    return 0


def cmd_replicate(args: argparse.Namespace, kit: ipfs_kit) -> int:
    report = kit.replicate(args.cid, _names(args.to), min_copies=args.min_copies)
    text = f"copied to: {', '.join(report.copied) or 'nothing needed'}"
    if report.failed:
        text += "\nfailed: " + "; ".join(f"{k}: {v}" for k, v in report.failed.items())
    return _done(args, {"report": report}, text, ok=not report.failed)


def cmd_verify(args: argparse.Namespace, kit: ipfs_kit) -> int:
    if not args.all and not args.cid:
        raise InvalidInputError("verify: give a CID or --all")
    checks = kit.verify_all() if args.all else [kit.verify(args.cid)]
    ok = all(c.ok and not c.unreachable for c in checks)
    lines = [
        f"{c.cid}: good={','.join(c.good) or '-'} bad={','.join(c.bad) or '-'} "
        f"missing={','.join(c.missing) or '-'} unreachable={','.join(c.unreachable) or '-'}"
        for c in checks
    ]
    return _done(args, {"checks": checks}, "\n".join(lines) or "index is empty", ok=ok)


def cmd_rm(args: argparse.Namespace, kit: ipfs_kit) -> int:
    removed = kit.remove(args.cid, _names(args.from_), force=args.force)
    return _done(args, {"cid": args.cid, "removed": removed}, f"removed from {', '.join(removed)}")


def cmd_backends(args: argparse.Namespace, kit: ipfs_kit) -> int:
    statuses = kit.backends()
    if args.json:
        print_json({"success": True, "backends": _plain(statuses)})
        return 0
    table = Table("tier", "kind", "configured", "reachable", "why", box=None)
    for s in statuses:
        mark = {True: "yes", False: "no"}
        row = (s.name, s.kind, mark[s.configured], mark[s.reachable], s.reason)
        table.add_row(*(plain(cell) for cell in row))
    console.print(table)
    return 0


def cmd_config_show(args: argparse.Namespace, kit: ipfs_kit) -> int:
    summary = kit.config_summary()
    if args.json:
        print_json({"success": True, "config": summary})
        return 0
    for key, value in summary.items():
        console.print(f"{key} = {value}", markup=False, soft_wrap=True)
    return 0


def _names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


# -- registration -----------------------------------------------------------------------


def _add(sub: SubParsers, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_text, description=help_text)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_runner(handler))
    return p


def register(sub: SubParsers) -> None:
    """Add the content commands."""
    p = _add(sub, "cat", cmd_cat, "print the content of a CID (verified) to stdout")
    p.add_argument("cid")
    p = _add(sub, "get", cmd_get, "save the content of a CID (verified) to a file")
    p.add_argument("cid")
    p.add_argument("-o", "--output", required=True, help="file (or directory) to write")
    p = _add(sub, "whereis", cmd_whereis, "list the tiers holding a CID")
    p.add_argument("cid")
    p = _add(sub, "ls", cmd_ls, "list indexed content, with filters")
    p.add_argument("--backend", help="only content with a copy in this tier")
    p.add_argument("--tag", help="only content with this tag")
    p.add_argument("--min-size", type=int)
    p.add_argument("--max-size", type=int)
    p.add_argument("--older-than-days", type=float)
    p.add_argument("--min-access", type=int, help="accessed at least this often")
    p.add_argument("--limit", type=int)
    p = _add(sub, "replicate", cmd_replicate, "copy a CID into more tiers")
    p.add_argument("cid")
    p.add_argument("--to", default="", help="comma-separated tiers")
    p.add_argument("--min-copies", type=int, help="durable copies to reach")
    p = _add(sub, "verify", cmd_verify, "re-read copies and check them against their CID")
    p.add_argument("cid", nargs="?")
    p.add_argument("--all", action="store_true", help="every CID in the index")
    p = _add(sub, "rm", cmd_rm, "delete a CID from some tiers")
    p.add_argument("cid")
    p.add_argument("--from", dest="from_", required=True, help="comma-separated tiers")
    p.add_argument("--force", action="store_true", help="even the last copy of pinned content")
    _add(sub, "backends", cmd_backends, "list the tiers, whether they answer, and why not")
    config = sub.add_parser("config", help="show the configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    _add(config_sub, "show", cmd_config_show, "print the effective configuration, secrets masked")
