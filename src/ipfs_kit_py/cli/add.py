"""``ipfs-kit add``: compute CIDs exactly as ``ipfs add`` does, and store content in tiers."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from ipfs_kit_py.cli.console import print_json, print_line
from ipfs_kit_py.content.hamt import ShardingPolicy
from ipfs_kit_py.content.profiles import PROFILES, named_profile
from ipfs_kit_py.content.unixfs import ImportProfile, import_file
from ipfs_kit_py.errors import InputPathError, InvalidInputError
from ipfs_kit_py.sources import open_regular_file

HELP = """\
Add a file or directory: print its CID as kubo's `ipfs add` would, and (without
--only-hash) store it in the tiers named by --to (default: the configured write policy).

examples:
  ipfs-kit add --only-hash photo.jpg                  # CIDv0, exactly like `ipfs add -n`
  ipfs-kit add -n --cid-version=1 photo.jpg           # bafk.../bafy..., raw leaves
  ipfs-kit add -n -r --chunker=size-1048576 ./dataset # a directory, 1 MiB chunks
  ipfs-kit add -n -r --profile unixfs-v1-2025 ./data  # as kubo with that Import profile
  cat data.bin | ipfs-kit add -n -                    # from standard input
  ipfs-kit add --to disk,s3 photo.jpg                 # store on disk and in S3
"""


PROFILES_HELP = "\nprofiles (--profile NAME):\n" + "".join(
    f"  {p.name:<17} {p.summary}\n" for p in PROFILES.values()
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``add`` command."""
    p = sub.add_parser(
        "add",
        help="add a file or directory; print its CID",
        description=HELP + PROFILES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("path", help="file or directory to add; '-' reads standard input")
    p.add_argument("-n", "--only-hash", action="store_true", help="only compute the CID")
    p.add_argument("-r", "--recursive", action="store_true", help="add a directory")
    p.add_argument("-H", "--hidden", action="store_true", help="include dot-files (with -r)")
    add_profile_arguments(p)
    p.add_argument("-q", "--quiet", action="store_true", help="print only CIDs")
    p.add_argument("-Q", "--quieter", action="store_true", help="print only the final CID")
    p.add_argument(
        "--to", default=None, help="comma-separated tiers to store in (kubo: the ipfs tier)"
    )
    p.add_argument(
        "--max-stream-bytes",
        type=int,
        default=None,
        metavar="N",
        help="refuse a stream ('-') longer than N bytes (default: [tiers] max_stream_bytes "
        "or IPFS_KIT_MAX_STREAM_BYTES; unset: no limit)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def add_profile_arguments(p: argparse.ArgumentParser) -> None:
    """The import flags kubo's ``ipfs add`` takes, shared by every command that imports."""
    p.add_argument("--cid-version", type=int, choices=(0, 1), default=None)
    p.add_argument(
        "--raw-leaves",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="raw blocks for leaves (default: on with --cid-version=1, as in kubo; "
        "kubo's --raw-leaves=false also works)",
    )
    p.add_argument("--chunker", default=None, help="size-N (bytes per chunk, N <= 1048576)")
    p.add_argument(
        "--profile",
        choices=list(PROFILES),
        default="kubo",
        metavar="NAME",
        help="base import profile: kubo's Import profile names (`ipfs config profile apply "
        "NAME`) or storacha; the flags above override it. One of: " + ", ".join(PROFILES),
    )


def parse_chunker(spec: str) -> int:
    """Return the chunk size of a kubo ``--chunker`` spec; only ``size-N`` is supported."""
    if not spec.startswith("size-"):
        raise InvalidInputError(f"chunker {spec!r} is not supported: use size-N")
    try:
        return int(spec[5:])
    except ValueError as exc:
        raise InvalidInputError(f"invalid chunker {spec!r}: N must be an integer") from exc


def profile_from_args(args: argparse.Namespace) -> ImportProfile:
    """Build the import profile from the flags, with kubo's defaulting rules."""
    base = named_profile(args.profile).file
    changes: dict[str, Any] = {}
    if args.cid_version is not None:
        changes["cid_version"] = args.cid_version
    if args.raw_leaves is not None:
        changes["raw_leaves"] = args.raw_leaves
    elif args.cid_version == 1:
        changes["raw_leaves"] = True
    if args.chunker is not None:
        changes["chunk_size"] = parse_chunker(args.chunker)
    return replace(base, **changes)


def sharding_from_args(args: argparse.Namespace) -> ShardingPolicy:
    """When directories become HAMT shards under the named profile."""
    return named_profile(args.profile).sharding


def _hash_entries(args: argparse.Namespace, profile: ImportProfile) -> list[tuple[str, str]]:
    """Return (cid, name) for every entry kubo would print, root last."""
    if args.path == "-":
        result = import_file(sys.stdin.buffer, profile)
        return [(result.cid_text, result.cid_text)]
    path = Path(args.path)
    if os.path.isdir(path):
        if not args.recursive:
            raise InputPathError(f"{path} is a directory, use the '-r' flag to add directories")
        return _hash_directory(path, profile, args.hidden, sharding_from_args(args))
    with open_regular_file(path) as f:
        return [(import_file(f, profile).cid_text, path.name)]


def _hash_directory(
    path: Path, profile: ImportProfile, hidden: bool, sharding: ShardingPolicy
) -> list[tuple[str, str]]:
    from ipfs_kit_py.content.directory import import_directory

    entries: list[tuple[str, str]] = []
    import_directory(
        path,
        profile,
        hidden=hidden,
        sharding=sharding,
        on_entry=lambda name, cid, _: entries.append((str(cid), name)),
    )
    return entries


def run(args: argparse.Namespace) -> int:
    """Run ``ipfs-kit add``."""
    profile = profile_from_args(args)
    if not args.only_hash:
        return _store(args, profile)
    entries = _hash_entries(args, profile)
    _print_entries(args, entries, profile, stored=None)
    return 0


def _store(args: argparse.Namespace, profile: ImportProfile) -> int:
    from ipfs_kit_py.ipfs_kit import ipfs_kit

    to = [t.strip() for t in args.to.split(",") if t.strip()] if args.to else None
    if to == []:  # `--to ,` would store nowhere, yet print "added"
        raise InvalidInputError("--to names no tier: name at least one tier to add to")
    source: Any = sys.stdin.buffer if args.path == "-" else Path(args.path)
    if isinstance(source, Path) and os.path.isdir(source) and not args.recursive:
        raise InputPathError(f"{source} is a directory, use the '-r' flag to add directories")
    options: dict[str, Any] = {"hidden": True} if args.hidden else {}
    sharding = sharding_from_args(args)
    if sharding != named_profile("kubo").sharding:
        options["sharding"] = sharding
    limit = args.max_stream_bytes
    if limit is not None and limit < 0:
        raise InvalidInputError(f"--max-stream-bytes must be >= 0, got {limit}")
    with ipfs_kit(**({} if limit is None else {"max_stream_bytes": limit})) as kit:
        result = kit.add(source, to=to, profile=profile, **options)
    name = str(result.cid) if args.path == "-" else Path(args.path).name
    _print_entries(args, [(str(result.cid), name)], profile, stored=list(result.stored))
    return 0


def _print_entries(
    args: argparse.Namespace,
    entries: list[tuple[str, str]],
    profile: ImportProfile,
    stored: list[str] | None,
) -> None:
    root = entries[-1][0]
    if args.json:
        value: dict[str, Any] = {
            "cid": root,
            "profile": profile.key(),
            "entries": [{"cid": c, "name": n} for c, n in entries],
        }
        if stored is not None:
            value["stored_in"] = stored
        print_json(value)
        return
    if args.quieter:
        print_line(root)
        return
    for cid, name in entries:
        print_line(cid if args.quiet else f"added {cid} {name}")
