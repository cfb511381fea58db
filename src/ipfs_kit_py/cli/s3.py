"""``ipfs-kit s3 ...``: ls, put/upload, get/download, rm, head, exists over the S3 core.

Configuration is the kit's: ``[s3]`` in the config file, then AWS_* environment. Errors
propagate to ``cli.main``, which prints them and maps them to exit codes.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeAlias

from rich.table import Table

from ipfs_kit_py.backends.s3.backend import CID_METADATA, content_metadata, verifier_for
from ipfs_kit_py.backends.s3.client import ObjectInfo, S3Client
from ipfs_kit_py.backends.s3.config import S3Config
from ipfs_kit_py.backends.s3.errors import validate_bucket, validate_key
from ipfs_kit_py.backends.s3.transfer import ProgressSubscriber
from ipfs_kit_py.cli.console import console, err_console, plain, print_json
from ipfs_kit_py.config import from_config_file
from ipfs_kit_py.content.cid import CID, parse_cid
from ipfs_kit_py.content.unixfs import ImportProfile
from ipfs_kit_py.outfile import output_path

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Handler = Callable[[argparse.Namespace, S3Client, S3Config], int]


def register(subparsers: SubParsers) -> None:
    """Add ``s3`` and its sub-commands."""
    s3 = subparsers.add_parser("s3", help="S3 objects: ls, put, get, rm, head, exists")
    s3.add_argument("--bucket", help="bucket (default: [s3] bucket or IPFS_KIT_S3_BUCKET)")
    s3.add_argument("--endpoint-url", help="S3 endpoint (default: S3_ENDPOINT_URL)")
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


def _command(sub: SubParsers, name: str, handler: Handler, text: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=text, description=text)
    parser.add_argument("--json", action="store_true", help="print one JSON result")
    # also accepted after the sub-command; SUPPRESS keeps a value given before it
    parser.add_argument("--bucket", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    parser.add_argument("--endpoint-url", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    parser.set_defaults(func=lambda args: _run(args, handler))
    return parser


def _run(args: argparse.Namespace, handler: Handler) -> int:
    overrides = {"bucket": args.bucket, "endpoint_url": args.endpoint_url}
    config = from_config_file(S3Config.from_sources, "s3", overrides).require()
    with S3Client(config) as client:
        return handler(args, client, config)


def _bucket(args: argparse.Namespace, config: S3Config) -> str:
    return validate_bucket(config.require_bucket(args.bucket))


def _bars(args: argparse.Namespace) -> list[ProgressSubscriber]:
    if args.json or not err_console.is_terminal:
        return []
    from ipfs_kit_py.cli.content import ProgressBars

    return [ProgressBars(delay_s=0.5)]


def _stop(bars: list[ProgressSubscriber]) -> None:
    for bar in bars:
        stop = getattr(bar, "stop", None)
        if callable(stop):
            stop()


def _fields(info: ObjectInfo) -> dict[str, Any]:
    return {
        "bucket": info.bucket,
        "key": info.key,
        "size": info.size,
        "etag": info.etag,
        "cid": info.metadata.get(CID_METADATA),
    }


def _ls(args: argparse.Namespace, client: S3Client, config: S3Config) -> int:
    bucket = _bucket(args, config)
    rows: list[ObjectInfo] = []
    for info in client.list(bucket, args.prefix):
        if args.max is not None and len(rows) >= args.max:
            break
        rows.append(info)
    if args.json:
        objects = [
            {
                **_fields(i),
                "last_modified": i.last_modified.isoformat() if i.last_modified else None,
            }
            for i in rows
        ]
        print_json({"success": True, "bucket": bucket, "prefix": args.prefix, "objects": objects})
        return 0
    table = Table("key", "size", "last modified", box=None)
    for i in rows:
        modified = i.last_modified.isoformat() if i.last_modified else ""
        table.add_row(plain(i.key), f"{i.size:,}", modified)
    console.print(table)
    return 0


def _put(args: argparse.Namespace, client: S3Client, config: S3Config) -> int:
    bucket = _bucket(args, config)
    key = validate_key(args.key or Path(args.local_path).name)
    metadata = {}
    if args.cid:
        profile = ImportProfile.parse(args.profile) if args.profile else None
        metadata = content_metadata(parse_cid(args.cid), profile)
    bars = _bars(args)
    try:
        info = client.put(bucket, key, Path(args.local_path), metadata=metadata, subscribers=bars)
    finally:
        _stop(bars)
    return _report(args, {**_fields(info), "cid": args.cid}, f"uploaded s3://{bucket}/{key}")


def _get(args: argparse.Namespace, client: S3Client, config: S3Config) -> int:
    bucket = _bucket(args, config)
    key = validate_key(args.key)
    dest = output_path(args.local_path or ".", Path(key).name)
    wanted = parse_cid(args.cid) if args.cid else None
    used: list[CID] = []

    def sink_for(info: ObjectInfo) -> Any:
        recorded = info.metadata.get(CID_METADATA)
        cid = wanted or (parse_cid(recorded) if recorded else None)
        if cid is None:
            return None
        used.append(cid)
        return verifier_for(cid, info.metadata)

    bars = _bars(args)
    try:
        info = client.download(bucket, key, dest, sink_for=sink_for, subscribers=bars)
    finally:
        _stop(bars)
    fields = {**_fields(info), "local_path": str(dest), "verified": bool(used)}
    note = f" (verified against {used[0]})" if used else ""
    return _report(args, fields, f"downloaded s3://{bucket}/{key} to {dest}{note}")


def _rm(args: argparse.Namespace, client: S3Client, config: S3Config) -> int:
    bucket = _bucket(args, config)
    client.delete(bucket, validate_key(args.key))
    fields = {"bucket": bucket, "key": args.key, "deleted": True}
    return _report(args, fields, f"deleted s3://{bucket}/{args.key}")


def _head(args: argparse.Namespace, client: S3Client, config: S3Config) -> int:
    bucket = _bucket(args, config)
    info = client.head(bucket, validate_key(args.key))
    fields = {**_fields(info), "metadata": dict(info.metadata)}
    if args.json:
        print_json({"success": True, **fields})
        return 0
    for name, value in fields.items():
        console.print(f"{name:10} {value}", markup=False)
    return 0


def _exists(args: argparse.Namespace, client: S3Client, config: S3Config) -> int:
    bucket = _bucket(args, config)
    found = client.exists(bucket, validate_key(args.key))
    if args.json:
        print_json({"success": True, "bucket": bucket, "key": args.key, "exists": found})
    else:
        console.print("exists" if found else "absent")
    return 0 if found else 1


def _report(args: argparse.Namespace, fields: dict[str, Any], text: str) -> int:
    if args.json:
        print_json({"success": True, **fields})
    else:
        console.print(text, markup=False)
    return 0
