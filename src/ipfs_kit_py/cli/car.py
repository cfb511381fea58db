"""``ipfs-kit car``: pack a file or directory into a CAR, verify a CAR, extract one."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ipfs_kit_py.cli.add import add_profile_arguments, profile_from_args, sharding_from_args
from ipfs_kit_py.cli.console import print_json, print_line
from ipfs_kit_py.content.archive import pack_car, verify_car
from ipfs_kit_py.content.cid import cid_key
from ipfs_kit_py.content.extract import extract_car
from ipfs_kit_py.content.extract_plan import DEFAULT_MAX_DEPTH, DEFAULT_MAX_ENTRIES, ExtractLimits
from ipfs_kit_py.errors import InputPathError
from ipfs_kit_py.outfile import output_path
from ipfs_kit_py.sources import open_regular_file

HELP = """\
Content archives (CARv1), as kubo's `ipfs dag export` / `dag import` write and read them.

examples:
  ipfs-kit car pack ./dataset -o dataset.car --cid-version=1   # root first, depth first
  ipfs-kit car verify dataset.car        # every block against its CID; the DAG complete
  ipfs-kit car extract dataset.car -o ./restored   # refuses names escaping ./restored
      # and trees over the limits (--max-bytes/--max-entries/--max-depth) or the free space
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``car`` command and its sub-commands."""
    car = sub.add_parser(
        "car",
        help="pack, verify or extract CAR files",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = car.add_subparsers(dest="car_command", metavar="ACTION", required=True)
    pack = commands.add_parser("pack", help="import a file or directory into a CAR")
    pack.add_argument("path")
    pack.add_argument(
        "-o", "--output", required=True, help="the CAR file to write (dir/: NAME.car inside it)"
    )
    pack.add_argument("-H", "--hidden", action="store_true", help="include dot-files")
    add_profile_arguments(pack)
    pack.add_argument("--json", action="store_true")
    pack.set_defaults(func=run_pack)
    verify = commands.add_parser("verify", help="verify every block and the DAG's completeness")
    verify.add_argument("car")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(func=run_verify)
    extract = commands.add_parser("extract", help="write a CAR's file or directory to disk")
    extract.add_argument("car")
    extract.add_argument(
        "-o",
        "--output",
        required=True,
        help="target path (must not exist; dir/ or an existing directory: ROOT-CID inside it)",
    )
    extract.add_argument("--root", default=None, help="which root, if the CAR has several")
    extract.add_argument(
        "--max-bytes", type=int, default=None, help="refuse more file bytes (default: free space)"
    )
    extract.add_argument(
        "--max-entries",
        type=int,
        default=DEFAULT_MAX_ENTRIES,
        help=f"refuse more files, directories and symlinks (default: {DEFAULT_MAX_ENTRIES})",
    )
    extract.add_argument(
        "--max-depth",
        type=int,
        default=DEFAULT_MAX_DEPTH,
        help=f"refuse deeper nesting (default: {DEFAULT_MAX_DEPTH})",
    )
    extract.add_argument("--json", action="store_true")
    extract.set_defaults(func=run_extract)


def _open_car(path: str) -> Path:
    car = Path(path)
    if not os.path.isfile(car):
        raise InputPathError(f"no such CAR file: {car}")
    return car


def _car_output(output: str, source: str) -> Path:
    """The CAR file to write: ``-o dir/`` (or an existing directory) means ``dir/<name>.car``."""
    target = output_path(output, (Path(source).resolve().name or "content") + ".car")
    if not os.path.isdir(target.parent):
        raise InputPathError(f"cannot write {target}: directory {target.parent} does not exist")
    if os.path.lexists(target) and not os.path.isfile(target):
        raise InputPathError(f"cannot write {target}: it is not a regular file; not replaced")
    return target


def run_pack(args: argparse.Namespace) -> int:
    if not os.path.isdir(args.path):
        open_regular_file(Path(args.path)).close()  # a FIFO or /dev/zero would never end
    output = _car_output(args.output, args.path)
    try:
        summary = pack_car(
            args.path,
            output,
            profile_from_args(args),
            hidden=args.hidden,
            sharding=sharding_from_args(args),
        )
    except OSError as exc:  # the output directory refused the temp files or the CAR
        raise InputPathError(f"cannot write {output}: {exc.strerror or exc}") from None
    root = str(summary.roots[0])
    if args.json:
        print_json(
            {
                "root": root,
                "path": str(output),
                "blocks": summary.blocks,
                "bytes": summary.block_bytes,
            }
        )
    else:
        print_line(f"{root} -> {output} ({summary.blocks} blocks)")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    with _open_car(args.car).open("rb") as f:
        summary = verify_car(f)
    roots = [str(r) for r in summary.roots]
    if args.json:
        print_json({"roots": roots, "blocks": summary.blocks, "bytes": summary.block_bytes})
    else:
        print_line(
            f"ok: {summary.blocks} blocks, {summary.block_bytes} bytes, complete DAG under "
            + ", ".join(roots)
        )
    return 0


def run_extract(args: argparse.Namespace) -> int:
    with _open_car(args.car).open("rb") as f:
        limits = ExtractLimits(args.max_bytes, args.max_entries, args.max_depth)
        output = args.output
        into = output.endswith(("/", os.sep)) or os.path.isdir(output)
        root = extract_car(f, output, args.root, limits)
    if into:
        output = os.path.join(output, cid_key(root))
    if args.json:
        print_json({"root": str(root), "path": output})
    else:
        print_line(f"{root} -> {output}")
    return 0
