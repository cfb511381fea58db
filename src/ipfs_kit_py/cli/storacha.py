"""``ipfs-kit storacha``: upload, list, remove and retrieve content in a Storacha space."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipfs_kit_py.cli.console import print_json, print_line
from ipfs_kit_py.cli.storacha_agent import register_agent_commands
from ipfs_kit_py.content.cid import CID, cid_key, parse_cid
from ipfs_kit_py.errors import InputPathError
from ipfs_kit_py.ipfs_kit import ipfs_kit
from ipfs_kit_py.outfile import output_path
from ipfs_kit_py.sources import open_regular_file

if TYPE_CHECKING:
    from ipfs_kit_py import StorachaBackend

HELP = """\
Store content in Storacha with the native client (UCAN over HTTP, no Node needed).

credentials: STORACHA_KEY and STORACHA_PROOF (or key/proof in the [storacha] section)
win; else the agent store ($XDG_CONFIG_HOME/ipfs-kit/storacha-agent.json, or
STORACHA_AGENT_STORE) that `login`, `space create` and `import-proof` fill.

examples:
  ipfs-kit storacha login alice@example.com    # e-mails a link; waits until it is clicked
  ipfs-kit storacha space create photos        # new space: provisioned, selected
  ipfs-kit storacha delegation create did:key:z6Mk... -c upload/add -c space/blob/add
  ipfs-kit storacha import-proof proof.txt     # use a space someone shared with us
  ipfs-kit storacha up my_dataset.zip          # upload; print the root CID (run again
                                               # after an interruption: it resumes)
  ipfs-kit storacha up -r ./photos             # upload a directory
  ipfs-kit storacha ls --size 20               # list uploads (then --cursor ...)
  ipfs-kit storacha get bafy... -o out.zip     # fetch via the gateway, verified
  ipfs-kit storacha rm bafy... --blobs         # remove an upload and its shards
  ipfs-kit storacha spaces                     # spaces our proofs reach
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``storacha`` command and its sub-commands."""
    p = sub.add_parser(
        "storacha",
        help="upload to / list / retrieve from Storacha",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--service-url", default=None, help="upload service URL")
    p.add_argument("--service-did", default=None, help="upload service DID")
    p.add_argument("--gateway-url", default=None, help="trustless gateway URL")
    p.add_argument("--space", default=None, help="space DID to use")
    p.add_argument("--json", action="store_true", help="print JSON")
    cmds = p.add_subparsers(dest="storacha_command", metavar="SUBCOMMAND", required=True)

    up = cmds.add_parser("up", help="upload a file or directory")
    up.add_argument("path")
    up.add_argument("-r", "--recursive", action="store_true", help="upload a directory")
    up.add_argument("-H", "--hidden", action="store_true", help="include dot-files")
    up.add_argument("--shard-size", type=int, default=None, help="CAR shard size in bytes")
    up.add_argument("--no-filecoin-offer", action="store_true", help="skip filecoin/offer")
    up.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="an interrupted upload of the same, unchanged path and shard size sends only "
        "the shards the service did not accept yet (state in the metadata index; default); "
        "--no-resume starts over",
    )
    up.set_defaults(func=run_up)

    ls = cmds.add_parser("ls", help="list uploads")
    ls.add_argument("--size", type=int, default=None, help="page size")
    ls.add_argument("--cursor", default=None, help="cursor from the previous page")
    ls.add_argument("--shards", action="store_true", help="show shard CIDs")
    ls.set_defaults(func=run_ls)

    rm = cmds.add_parser("rm", help="remove an upload")
    rm.add_argument("cid")
    rm.add_argument("--blobs", action="store_true", help="also remove the shard blobs")
    rm.set_defaults(func=run_rm)

    get = cmds.add_parser("get", help="fetch content through the gateway, verified")
    get.add_argument("cid")
    get.add_argument("-o", "--output", default=None, help="output path (default: the CID)")
    get.add_argument("--raw", action="store_true", help="fetch one raw block (?format=raw)")
    get.set_defaults(func=run_get)

    spaces = cmds.add_parser("spaces", help="list the spaces our credentials reach")
    spaces.set_defaults(func=run_spaces)

    info = cmds.add_parser("info", help="space/info and usage of the space")
    info.set_defaults(func=run_info)
    register_agent_commands(cmds)


@contextlib.contextmanager
def backend_from_args(args: argparse.Namespace) -> Iterator[StorachaBackend]:
    """The kit's typed Storacha backend: flags > config file [storacha] > environment."""
    overrides: dict[str, Any] = {
        "service_url": args.service_url,
        "service_did": args.service_did,
        "gateway_url": args.gateway_url,
        "space": args.space,
        "shard_size": getattr(args, "shard_size", None),
    }
    if getattr(args, "no_filecoin_offer", False):
        overrides["filecoin_offer"] = False
    given = {k: v for k, v in overrides.items() if v is not None}
    with ipfs_kit(storacha=given) as kit:
        yield kit.storacha


def _show(args: argparse.Namespace, value: dict[str, Any], text: str) -> int:
    if args.json:
        print_json(value)
    else:
        print_line(text)
    return 0


def run_up(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if not os.path.lexists(path):
        raise InputPathError(f"no such file or directory: {path}")
    if os.path.isdir(path) and not args.recursive:
        raise InputPathError(f"{path} is a directory: use -r")
    if not os.path.isdir(path):
        open_regular_file(path).close()  # a FIFO or a device would never end
    with backend_from_args(args) as backend:
        if os.path.isdir(path):
            result = backend.upload_directory(path, hidden=args.hidden, resume=args.resume)
        else:
            result = backend.upload_file(path, resume=args.resume)
        value = {
            "cid": cid_key(result.root),
            "shards": [cid_key(s) for s in result.shards],
            "space": backend.space,
        }
    return _show(args, value, cid_key(result.root))


def run_ls(args: argparse.Namespace) -> int:
    with backend_from_args(args) as backend:
        page = backend.list_uploads(args.cursor, args.size)
    uploads = [_record(u) for u in page.uploads]
    lines = []
    for u in uploads:
        lines.append(u["root"])
        if args.shards:
            lines += [f"  {s}" for s in u["shards"]]
    if page.cursor and not args.json:
        lines.append(f"(more: --cursor {page.cursor})")
    return _show(args, {"uploads": uploads, "cursor": page.cursor}, "\n".join(lines))


def _record(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "root": cid_key(record["root"]),
        "shards": [cid_key(s) for s in record.get("shards", []) if isinstance(s, CID)],
        "inserted": record.get("insertedAt"),
    }


def run_rm(args: argparse.Namespace) -> int:
    root = parse_cid(args.cid)
    with backend_from_args(args) as backend:
        record = backend.remove_upload(root, blobs=args.blobs)
    removed = [cid_key(s) for s in record.get("removed_shards", [])]
    return _show(
        args, {"cid": cid_key(root), "removed_shards": removed}, f"removed {cid_key(root)}"
    )


def run_get(args: argparse.Namespace) -> int:
    root = parse_cid(args.cid)
    output = output_path(args.output or ".", cid_key(root))
    with backend_from_args(args) as backend:
        size = backend.retrieve(root, output, raw=args.raw)
    value = {"cid": cid_key(root), "path": str(output), "size": size}
    return _show(args, value, f"{output} ({size} bytes, verified)")


def run_spaces(args: argparse.Namespace) -> int:
    with backend_from_args(args) as backend:
        spaces, current = backend.spaces(), backend.space
    text = "\n".join(f"{'*' if s == current else ' '} {s}" for s in spaces)
    return _show(args, {"spaces": spaces, "current": current}, text)


def run_info(args: argparse.Namespace) -> int:
    with backend_from_args(args) as backend:
        info = backend.space_info()
        providers = [str(p) for p in info.get("providers", [])]
        value = {"space": backend.space, "providers": providers}
    return _show(args, value, f"{value['space']}\nproviders: {', '.join(providers)}")
