"""Whole-DAG operations on CAR files: pack a file or directory, check a CAR is complete."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ipfs_kit_py import debris
from ipfs_kit_py.content.blockstore import TempBlockStore
from ipfs_kit_py.content.car import CarReader, export_dag
from ipfs_kit_py.content.cid import DAG_CBOR, DAG_PB, cid_bytes_key, load_multiformats, short_cid
from ipfs_kit_py.content.dagpb import decode_node
from ipfs_kit_py.content.directory import import_directory
from ipfs_kit_py.content.hamt import KUBO_SHARDING, ShardingPolicy
from ipfs_kit_py.content.os_errors import typed_os_errors
from ipfs_kit_py.content.unixfs import KUBO_DEFAULT, Block, ImportProfile, import_file
from ipfs_kit_py.errors import ContentMismatchError, InputPathError
from ipfs_kit_py.sources import open_regular_file

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID

__all__ = ["CarSummary", "iter_links", "pack_car", "verify_car"]


@dataclass(frozen=True, slots=True)
class CarSummary:
    """What a CAR holds: its roots, how many distinct blocks, and their bytes."""

    roots: tuple[CID, ...]
    blocks: int
    block_bytes: int


def pack_car(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    profile: ImportProfile = KUBO_DEFAULT,
    *,
    hidden: bool = False,
    sharding: ShardingPolicy = KUBO_SHARDING,
) -> CarSummary:
    """Import a file or directory and write its DAG to ``out`` as a CAR, root first.

    ``hidden`` and ``sharding`` apply to a directory, as in :func:`import_directory`.

    The CAR is written to a temporary file beside ``out`` and renamed into place, so a
    failure leaves nothing at ``out``. Raises :class:`InputPathError` for a source that
    is missing, unreadable or neither a regular file nor a directory (a FIFO or a device
    would never end), and for an ``out`` that cannot be written (no such directory, a
    directory); :class:`ResourceLimitError` when the disk fills.
    """
    source_path, out_path = Path(source), Path(out)
    with typed_os_errors(f"cannot pack {source_path} into {out_path}"):
        if os.path.isdir(out_path):
            raise InputPathError(f"cannot write {out_path}: it is a directory")
        if not source_path.is_dir():
            with open_regular_file(source_path) as f:
                return _pack(out_path, lambda keep: import_file(f, profile, on_block=keep).cid)
        return _pack(
            out_path,
            lambda keep: (
                import_directory(
                    source_path, profile, hidden=hidden, sharding=sharding, on_block=keep
                ).cid
            ),
        )


def _pack(out_path: Path, import_root: Callable[[Callable[[Block], None]], CID]) -> CarSummary:
    """Collect the blocks ``import_root`` makes, then write them to ``out_path`` as a CAR."""
    with TempBlockStore(out_path.parent) as store:

        def keep(block: Block) -> None:
            store.put(block.cid, block.data)

        root = import_root(keep)
        fd, tmp = debris.mkstemp(out_path.parent, f".{out_path.name}.")
        try:
            with os.fdopen(fd, "wb") as f:
                export_dag(f, root, store.get)
            os.replace(tmp, out_path)
        except BaseException:
            os.unlink(tmp)
            raise
        finally:
            debris.release(tmp)
        return CarSummary((root,), len(store), out_path.stat().st_size)


def iter_links(cid: CID, data: bytes) -> Iterator[CID]:
    """The CIDs a block links to (dag-pb links, or CIDs anywhere in a dag-cbor value)."""
    if cid.codec.code == DAG_PB:
        yield from (link.cid for link in decode_node(data).links)
    elif cid.codec.code == DAG_CBOR:
        import dag_cbor  # only a dag-cbor block needs it

        CID = load_multiformats()

        try:
            stack = [dag_cbor.decode(data)]
        except Exception as exc:  # malformed, or nested past the decoder's recursion
            raise ContentMismatchError(
                f"block {short_cid(cid)} is not valid dag-cbor: {type(exc).__name__}: "
                f"{(str(exc).splitlines() or [''])[0][:200]}"
            ) from None
        while stack:
            value = stack.pop()
            if isinstance(value, CID):
                yield value
            elif isinstance(value, list):
                stack.extend(value)
            elif isinstance(value, dict):
                stack.extend(value.values())


def verify_car(stream: BinaryIO) -> CarSummary:
    """Check every block of a CAR against its CID and that each root's DAG is complete.

    Raises :class:`ContentMismatchError` for a bad block, :class:`CARFormatError` for a
    malformed or truncated CAR, :class:`ContentNotFoundError` naming a missing block, and
    :class:`InputPathError` / :class:`ResourceLimitError` if the stream or the temporary
    block store fails.
    """
    with typed_os_errors("cannot verify the CAR"):
        return _verify_car(stream)


def _verify_car(stream: BinaryIO) -> CarSummary:
    reader = CarReader(stream)
    total = 0
    with TempBlockStore() as store:
        for block in reader:
            store.put(block.cid, block.data)
            total += len(block.data)
        seen: set[bytes] = set()
        stack = list(reader.roots)
        while stack:
            cid = stack.pop()
            key = cid_bytes_key(cid)
            if key in seen or cid.hashfun.code == 0x00:  # identity CIDs carry their bytes
                continue
            seen.add(key)
            stack.extend(iter_links(cid, store.get(cid)))
        return CarSummary(tuple(reader.roots), len(store), total)
