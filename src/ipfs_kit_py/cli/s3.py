"""``ipfs-kit s3 ...``: ls, put/upload, get/download, rm, head, exists, cleanup over the S3 core.

Configuration is the kit's: ``[s3]`` in the config file, then AWS_* environment; the
commands call the kit's typed S3 API (``kit.s3.objects``) only. Errors propagate to
``cli.main``, which prints them and maps them to exit codes.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from ipfs_kit_py.cli.console import console, plain, print_json, print_line, stderr_is_terminal
from ipfs_kit_py.cli.table import format_table
from ipfs_kit_py.ipfs_kit import ipfs_kit

if TYPE_CHECKING:
    from ipfs_kit_py import ObjectInfo, S3Objects
    from ipfs_kit_py.cli.content import ProgressBars

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Handler = Callable[[argparse.Namespace, "S3Objects"], int]


def register(subparsers: SubParsers) -> None:
    """Add ``s3`` and its sub-commands."""
    s3 = subparsers.add_parser("s3", help="S3 objects: ls, put, get, rm, head, exists, cleanup")
    s3.add_argument("--bucket", help="bucket (default: [s3] bucket or IPFS_KIT_S3_BUCKET)")
    s3.add_argument("--endpoint-url", help="S3 endpoint (default: S3_ENDPOINT_URL)")
    s3.add_argument("--json", action="store_true", help="print one JSON result")
    sub = s3.add_subparsers(dest="s3_command", metavar="S3_COMMAND", required=True)

    ls = _command(sub, "ls", _ls, "list objects under a prefix (all pages)")
    ls.add_argument("prefix", nargs="?", default="")
    ls.add_argument("--max", type=int, default=None, help="stop after this many objects")

    for name in ("put", "upload"):
        put = _command(sub, name, _put, "upload a local file (parallel multipart)")
        put.add_argument("local_path")
        put.add_argument("key", nargs="?", help="object key (default: the file name)")
        put.add_argument("--cid", help="record this CID of the content in the metadata")
        put.add_argument("--profile", help="import profile key of the CID, e.g. size-262144,...")

    for name in ("get", "download"):
        get = _command(sub, name, _get, "download an object (verified if it has a CID)")
        get.add_argument("key")
        get.add_argument("local_path", nargs="?", help="target file (default: the key's name)")
        get.add_argument("--cid", help="verify the bytes against this CID")

    rm = _command(sub, "rm", _rm, "delete an object (absent is not an error)")
    rm.add_argument("key")
    head = _command(sub, "head", _head, "show size, ETag, metadata and CID of an object")
    head.add_argument("key")
    exists = _command(sub, "exists", _exists, "exit 0 if the object exists, 1 if not")
    exists.add_argument("key")

    cleanup = _command(
        sub, "cleanup", _cleanup, "list and abort multipart uploads left on the server"
    )
    cleanup.add_argument("prefix", nargs="?", default="", help="only keys under this prefix")
    cleanup.add_argument(
        "--older-than",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="abort uploads started longer ago than this (default 3600; 0: all); uploads "
        "the index records for killed processes are aborted whatever their age",
    )
    cleanup.add_argument("--dry-run", action="store_true", help="only list them")


def _command(sub: SubParsers, name: str, handler: Handler, text: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=text, description=text)
    # --json is the s3 group's, shared by cli.main (before or after the sub-command); these
    # are also accepted after the sub-command; SUPPRESS keeps a value given before it
    parser.add_argument("--bucket", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    parser.add_argument("--endpoint-url", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    parser.set_defaults(func=lambda args: _run(args, handler))
    return parser


def _run(args: argparse.Namespace, handler: Handler) -> int:
    overrides = {"bucket": args.bucket, "endpoint_url": args.endpoint_url}
    given = {k: v for k, v in overrides.items() if v is not None}
    with ipfs_kit(s3=given) as kit:
        return handler(args, kit.s3.objects)


def _bars(args: argparse.Namespace) -> list[ProgressBars]:
    if args.json or not stderr_is_terminal():
        return []
    from ipfs_kit_py.cli.content import ProgressBars

    return [ProgressBars(delay_s=0.5)]


def _stop(bars: list[ProgressBars]) -> None:
    for bar in bars:
        bar.stop()


def _ls(args: argparse.Namespace, objects: S3Objects) -> int:
    rows: list[ObjectInfo] = []
    for info in objects.list_objects(args.bucket, args.prefix):
        if args.max is not None and len(rows) >= args.max:
            break
        rows.append(info)
    if args.json:
        listed = [
            {
                **objects.describe(i),
                "last_modified": i.last_modified.isoformat() if i.last_modified else None,
            }
            for i in rows
        ]
        bucket = objects.target(args.bucket)[0]
        print_json({"success": True, "bucket": bucket, "prefix": args.prefix, "objects": listed})
        return 0
    from rich.table import Table

    table = Table("key", "size", "last modified", box=None)
    for i in rows:
        modified = i.last_modified.isoformat() if i.last_modified else ""
        table.add_row(plain(i.key), f"{i.size:,}", modified)
    console.print(table)
    return 0


def _put(args: argparse.Namespace, objects: S3Objects) -> int:
    key = args.key or Path(args.local_path).name
    bars = _bars(args)
    try:
        done = objects.upload(
            args.bucket,
            key,
            Path(args.local_path),
            cid=args.cid,
            profile=args.profile,
            subscribers=bars,
        )
    finally:
        _stop(bars)
    info = done.info
    return _report(args, done.fields(), f"uploaded s3://{info.bucket}/{info.key}")


def _get(args: argparse.Namespace, objects: S3Objects) -> int:
    bars = _bars(args)
    try:
        done = objects.download_file(
            args.bucket, args.key, args.local_path, cid=args.cid, subscribers=bars
        )
    finally:
        _stop(bars)
    note = f" (verified against {done.cid})" if done.verified else ""
    where = f"s3://{done.info.bucket}/{done.info.key}"
    return _report(args, done.fields(), f"downloaded {where} to {done.local_path}{note}")


def _rm(args: argparse.Namespace, objects: S3Objects) -> int:
    objects.delete(args.bucket, args.key)
    bucket = objects.target(args.bucket)[0]
    fields = {"bucket": bucket, "key": args.key, "deleted": True}
    return _report(args, fields, f"deleted s3://{bucket}/{args.key}")


def _head(args: argparse.Namespace, objects: S3Objects) -> int:
    info = objects.head(args.bucket, args.key)
    fields = {**objects.describe(info), "metadata": dict(info.metadata)}
    if args.json:
        print_json({"success": True, **fields})
        return 0
    for name, value in fields.items():
        print_line(f"{name:10} {value}")
    return 0


def _exists(args: argparse.Namespace, objects: S3Objects) -> int:
    found = objects.exists(args.bucket, args.key)
    if args.json:
        bucket = objects.target(args.bucket)[0]
        print_json({"success": True, "bucket": bucket, "key": args.key, "exists": found})
    else:
        print_line("exists" if found else "absent")
    return 0 if found else 1


def _cleanup(args: argparse.Namespace, objects: S3Objects) -> int:
    bucket, _ = objects.target(args.bucket)
    client = objects.client
    swept = 0 if args.dry_run else client.sweep_uploads(bucket)
    cutoff = time.time() - args.older_than
    rows = []
    for upload in client.pending_uploads.list(bucket, args.prefix):
        started = upload.initiated.timestamp() if upload.initiated else None
        old = started is None or started <= cutoff
        if old and not args.dry_run:
            client.pending_uploads.abort(upload)
        rows.append(
            {
                "key": upload.key,
                "upload_id": upload.upload_id,
                "initiated": upload.initiated.isoformat() if upload.initiated else None,
                "aborted": old and not args.dry_run,
            }
        )
    aborted = swept + sum(1 for r in rows if r["aborted"])
    if args.json:
        print_json({"success": True, "bucket": bucket, "uploads": rows, "aborted": aborted})
        return 0
    if rows:
        cells = [[str(r[k]) for k in ("key", "upload_id", "initiated", "aborted")] for r in rows]
        for line in format_table(("key", "upload id", "initiated", "aborted"), cells):
            print_line(line)
    print_line(f"{aborted} multipart uploads aborted in s3://{bucket}")
    return 0


def _report(args: argparse.Namespace, fields: dict[str, Any], text: str) -> int:
    if args.json:
        print_json({"success": True, **fields})
    else:
        print_line(text)
    return 0
