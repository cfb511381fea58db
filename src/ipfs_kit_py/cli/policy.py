"""Policy commands: ``policy run`` (a worker repairing what is short of its replication
policy, alone or as one of a fleet sharing the index) and ``policy status``."""

from __future__ import annotations

import argparse
from typing import TypeAlias

from ipfs_kit_py.cli.console import print_line
from ipfs_kit_py.cli.content import _done, _plain, open_kit
from ipfs_kit_py.errors import InvalidInputError
from ipfs_kit_py.policy_worker import EnforceReport, PolicyWorker

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _line(report: EnforceReport) -> str:
    unmet = f"; {report.unmet} short by copies no tier here can make" if report.unmet else ""
    return (
        f"scanned {report.scanned}, queued {report.queued}: {report.repaired} repaired, "
        f"{report.already} already done elsewhere, {len(report.failed)} failed{unmet}"
        + (f", {report.lost} taken over by another worker" if report.lost else "")
    )


def _check_run(args: argparse.Namespace) -> None:
    if args.json and not args.once:
        raise InvalidInputError("--json prints one object at the end: it needs --once")
    if not (args.interval >= 0 and args.lease > 0 and args.batch >= 1):  # nan fails too
        raise InvalidInputError("--interval must be >= 0, --lease > 0 and --batch >= 1")


def cmd_run(args: argparse.Namespace) -> int:
    _check_run(args)
    with open_kit(args) as kit:
        worker = PolicyWorker(kit.tiers, kit.policies, lease_s=args.lease, batch=args.batch)
        show = None if args.json else (lambda r: print_line(_line(r)))
        report = EnforceReport()
        for report in worker.run(args.interval, show, passes=1 if args.once else None):
            if not args.json:
                print_line(f"pass done in {report.seconds:.1f}s: {_line(report)}")
    lines = [_line(report)] + [f"  {cid}: {why}" for cid, why in report.failed.items()]
    return _done(args, {"report": _plain(report)}, "\n".join(lines), ok=not report.failed)


def cmd_status(args: argparse.Namespace) -> int:
    with open_kit(args) as kit:
        status = kit.policy_status()
    short, queue = status["short"], status["queue"]
    lines = [f"{s.policy}: {s.cids} CIDs short, {s.copies_lacking} copies lacking" for s in short]
    lines = lines or ["nothing is short of its policy"]
    lines.append(f"queue: {queue.queued} waiting, {queue.leased} leased, {queue.retrying} retrying")
    return _done(args, {"short": short, "queue": queue}, "\n".join(lines), ok=not short)


def register(sub: SubParsers) -> None:
    """Add ``policy run`` and ``policy status``."""
    policy = sub.add_parser("policy", help="enforce replication policies (workers), or report")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True)
    text = (
        "repair what is short of its replication policy or has bad/missing copies; many "
        "workers on many nodes share the work through the index (leases)"
    )
    run = policy_sub.add_parser("run", help=text, description=text)
    run.add_argument("--once", action="store_true", help="one pass, then exit (for cron)")
    run.add_argument("--interval", type=float, default=60.0, help="seconds between passes")
    run.add_argument("--lease", type=float, default=60.0, help="seconds a claimed CID is held")
    run.add_argument("--batch", type=int, default=8, help="CIDs claimed at a time")
    run.add_argument("--json", action="store_true", help="print one JSON object (with --once)")
    run.set_defaults(func=cmd_run)
    text = "summarise what is short of its policy, by policy, and the repair queue"
    status = policy_sub.add_parser("status", help=text, description=text)
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(func=cmd_status)
