"""CAR shards as the Storacha client cuts them, written to temp files, and the DAG index.

Blocks arrive in the encoder's order; duplicates are dropped; a shard is closed when the
next block would push it past ``shard_size``. Only the last shard's header carries the
root, so a shard's body is kept apart from its header, and its sha256 is taken when
first asked for (by the upload worker, off the encoder's thread), from the temp file.
Memory holds one block at a time, never a shard.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ipfs_kit_py.backends.storacha import _cbor as dag_cbor
from ipfs_kit_py.content.car import encode_car_block, encode_car_header
from ipfs_kit_py.content.cid import CAR_CODEC, CID, DAG_CBOR, make_cid, sha256_cid
from ipfs_kit_py.content.dagpb import encode_varint
from ipfs_kit_py.content.unixfs import Block
from ipfs_kit_py.errors import InvalidInputError

__all__ = ["SHARD_SIZE", "Shard", "ShardWriter", "encode_dag_index"]

SHARD_SIZE = 133_169_152
INDEX_TAG = "index/sharded/dag@0.1"
_READ = 1024 * 1024  # shard reads (PUT bodies, pieces, rehash): uploads in flight hold one each
_NO_ROOTS = encode_car_header([])


@dataclass
class Shard:
    """One CAR shard: ``header`` + the body bytes ``[start, end)`` of ``path``."""

    header: bytes
    path: Path
    start: int
    end: int
    slices: list[tuple[bytes, int, int]] = field(repr=False)  # multihash, offset, length
    owns_file: bool = True
    _sha256: bytes | None = field(default=None, repr=False)

    @property
    def sha256(self) -> bytes:
        """sha256 of the shard's bytes (computed from the temp file on first use)."""
        if self._sha256 is None:
            self._sha256 = _rehash(self.header, self.path, self.start, self.end)
        return self._sha256

    @property
    def size(self) -> int:
        return len(self.header) + self.end - self.start

    @property
    def digest(self) -> bytes:
        """The shard's sha2-256 multihash bytes."""
        return b"\x12\x20" + self.sha256

    @property
    def cid(self) -> CID:
        return make_cid(CAR_CODEC, self.sha256)

    def chunks(self, size: int = _READ) -> Iterator[bytes]:
        """Stream the shard's bytes from its temp file."""
        yield self.header
        with self.path.open("rb") as f:
            f.seek(self.start)
            left = self.end - self.start
            while left:
                data = f.read(min(size, left))
                if not data:
                    raise OSError(f"shard file {self.path} is truncated")
                left -= len(data)
                yield data

    def read(self, offset: int, length: int) -> bytes:
        """Read ``length`` shard bytes at ``offset`` (header included in the numbering)."""
        out = self.header[offset : offset + length]
        body_offset = max(0, offset - len(self.header))
        left = min(length - len(out), self.end - self.start - body_offset)
        if left > 0:
            with self.path.open("rb") as f:
                f.seek(self.start + body_offset)
                out += f.read(left)
        return out

    def release(self) -> None:
        """Delete the temp file once the shard is stored."""
        if self.owns_file:
            self.path.unlink(missing_ok=True)


class ShardWriter:
    """Take blocks via :meth:`add`, hand each full shard to ``on_shard``; :meth:`finish`."""

    def __init__(
        self,
        directory: Path,
        shard_size: int = SHARD_SIZE,
        on_shard: Callable[[Shard], None] | None = None,
    ) -> None:
        if shard_size < 1024:
            raise InvalidInputError(f"shard size {shard_size} is too small (min 1024)")
        self.directory = directory
        self.shard_size = shard_size
        self.on_shard = on_shard
        self.shards: list[Shard] = []
        self._seen: set[bytes] = set()
        self._count = 0
        self._open_new()

    def _open_new(self) -> None:
        self._path = self.directory / f"shard-{self._count:05d}.car"
        self._count += 1
        self._file = self._path.open("wb")
        self._length = 0
        self._blocks: list[tuple[bytes, int, int]] = []  # multihash, data offset, data length
        self._starts: list[int] = []  # body offset of each block's frame

    def add(self, block: Block) -> None:
        """Append ``block`` to the current shard (dropping duplicates)."""
        key = bytes(block.cid)
        if key in self._seen:
            return
        self._seen.add(key)
        cid = bytes(block.cid)
        head = encode_varint(len(cid) + len(block.data)) + cid
        framed = len(head) + len(block.data)
        if len(_NO_ROOTS) + framed > self.shard_size:
            raise InvalidInputError(
                f"block {block.cid} does not fit in a {self.shard_size} B shard"
            )
        if self._blocks and len(_NO_ROOTS) + self._length + framed > self.shard_size:
            self._emit(self._close(_NO_ROOTS))
        self._blocks.append((bytes(block.cid.digest), self._length + len(head), len(block.data)))
        self._starts.append(self._length)
        self._file.write(head)
        self._file.write(block.data)
        self._length += framed

    def _close(self, header: bytes) -> Shard:
        self._file.close()
        slices = [(mh, off + len(header), n) for mh, off, n in self._blocks]
        return Shard(header, self._path, 0, self._length, slices)

    def _emit(self, shard: Shard) -> None:
        self.shards.append(shard)
        if self.on_shard is not None:
            self.on_shard(shard)
        self._open_new()

    def finish(self, root: CID) -> list[Shard]:
        """Close the last shard(s) with ``root`` in the header; return every shard."""
        header = encode_car_header([root])
        self._file.close()
        if len(header) + self._length <= self.shard_size:
            last = self._close(header)
            self.shards.append(last)
            if self.on_shard is not None:
                self.on_shard(last)
            return self.shards
        return self._finish_overflow(header)

    def _finish_overflow(self, header: bytes) -> list[Shard]:
        # The root header does not fit: move trailing blocks into one more shard, as the
        # JS ShardingStream does.
        overage = len(header) + self._length - self.shard_size
        cut = self._length
        for start in reversed(self._starts[1:]):
            cut = start
            if self._length - cut >= overage:
                break
        else:
            raise InvalidInputError("the last block does not fit in a shard with the root header")
        path, blocks = self._path, self._blocks
        first_slices = [(mh, o + len(_NO_ROOTS), n) for mh, o, n in blocks if o < cut]
        second_slices = [(mh, o - cut + len(header), n) for mh, o, n in blocks if o >= cut]
        first = Shard(_NO_ROOTS, path, 0, cut, first_slices, owns_file=False)
        second = Shard(header, path, cut, self._length, second_slices)
        for shard in (first, second):
            self.shards.append(shard)
            if self.on_shard is not None:
                self.on_shard(shard)
        return self.shards

    def abort(self) -> None:
        """Close and delete the open temp file."""
        self._file.close()
        self._path.unlink(missing_ok=True)


def _rehash(header: bytes, path: Path, start: int, end: int) -> bytes:
    h = hashlib.sha256(header)
    with path.open("rb") as f:
        f.seek(start)
        left = end - start
        while left:
            data = f.read(min(_READ, left))
            if not data:
                raise OSError(f"shard file {path} is truncated")
            h.update(data)
            left -= len(data)
    return h.digest()


def encode_dag_index(root: CID, shards: list[Shard]) -> tuple[CID, bytes]:
    """Encode the ``index/sharded/dag@0.1`` CAR for ``root``; return (CAR CID, CAR bytes)."""
    blocks: list[tuple[CID, bytes]] = []
    for shard in sorted(shards, key=lambda s: s.sha256):
        entries = {mh: (off, n) for mh, off, n in shard.slices}
        entries[shard.digest] = (0, shard.size)
        slices = [[mh, list(entries[mh])] for mh in sorted(entries, key=lambda m: m[2:])]
        data = bytes(dag_cbor.encode([shard.digest, slices]))
        blocks.append((sha256_cid(DAG_CBOR, data), data))
    index = bytes(dag_cbor.encode({INDEX_TAG: {"content": root, "shards": [c for c, _ in blocks]}}))
    index_cid = sha256_cid(DAG_CBOR, index)
    car = b"".join(
        [
            encode_car_header([index_cid]),
            encode_car_block(index_cid, index),
            *(encode_car_block(c, d) for c, d in blocks),
        ]
    )
    return sha256_cid(CAR_CODEC, car), car


def shard_dir_size(directory: Path) -> int:
    """Bytes currently held in temp shard files (for tests of the streaming bound)."""
    return sum(os.path.getsize(p) for p in directory.glob("shard-*.car"))
