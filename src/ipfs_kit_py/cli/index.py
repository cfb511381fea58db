"""Index commands: ``index check`` (is the ledger sound, what does it hold), ``index
migrate`` (bring its schema up to date) and ``index rebuild`` (a new ledger file from what
the tiers actually hold)."""

from __future__ import annotations

import argparse
from typing import TypeAlias

from ipfs_kit_py.cli.content import _done, _plain, open_kit

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def cmd_check(args: argparse.Namespace) -> int:
    with open_kit(args) as kit:
        report = kit.check_index()
    problems = report["problems"]
    lost = report["bad"] + report["missing"] + report["records_without_copies"]
    lines = [f"{report['path']}: " + ("sound" if not problems else "DAMAGED")]
    lines += [f"  {p}" for p in problems[:20]]
    lines.append(
        f"{report['records']} records, {report['copies']} copies: {report['good']} good, "
        f"{report['bad']} bad, {report['missing']} missing; {report['pinned']} pinned; "
        f"{report['records_without_copies']} records without a copy; "
        f"{report['pending_adds']} adds in progress"
    )
    if lost:
        lines.append(
            "`ipfs-kit verify --all` rechecks every copy; `repair` or `forget` settle them"
        )
    return _done(args, {"index": report}, "\n".join(lines), ok=not problems)


def cmd_migrate(args: argparse.Namespace) -> int:
    with open_kit(args) as kit:
        index = kit.index  # opening migrates; a second call finds nothing left to do
        index.migrate()
        report = {"location": index.location, "schema": index.schema_version}
    text = f"{report['location']}: schema {report['schema']} (current)"
    return _done(args, {"index": report}, text, ok=True)


def cmd_rebuild(args: argparse.Namespace) -> int:
    with open_kit(args) as kit:
        report = kit.rebuild_index()
    found = ", ".join(f"{tier}: {n}" for tier, n in report.found.items()) or "nothing"
    lines = [
        f"rebuilt {report.path}"
        + (f" (the old file is {report.moved_to})" if report.moved_to else ""),
        f"found {found}; {report.missing} copies known before are missing; "
        f"{report.pins} pinned, {report.tags} tags kept",
    ]
    lines += [f"could not list {tier}: {why}" for tier, why in report.unreachable.items()]
    lines += [f"unreadable in the old file: {e}" for e in report.salvage_errors]
    return _done(args, {"report": _plain(report)}, "\n".join(lines), ok=not report.unreachable)


def register(sub: SubParsers) -> None:
    """Add ``index check``, ``index migrate`` and ``index rebuild``."""
    index = sub.add_parser("index", help="check, migrate or rebuild the metadata index")
    index_sub = index.add_subparsers(dest="index_command", required=True)
    for name, handler, text in (
        ("check", cmd_check, "check the index file and count its records and copies"),
        (
            "migrate",
            cmd_migrate,
            "bring the index's schema (SQLite file or PostgreSQL database) up to date",
        ),
        (
            "rebuild",
            cmd_rebuild,
            "move the index aside and rebuild it from the tiers (disk, S3, kubo pins, "
            "Storacha uploads), keeping pins and tags the old file still has",
        ),
    ):
        p = index_sub.add_parser(name, help=text, description=text)
        p.add_argument("--json", action="store_true", help="print one JSON object")
        p.set_defaults(func=handler)
