"""Range reads of files held as plain bytes (S3 objects): the DAG layout beside each.

A :class:`~ipfs_kit_py.backends.base.RangeReader` tier holds a file's bytes, not its
blocks. To read a range verified, a reader needs the file's internal DAG nodes (which
leaf CIDs cover which bytes): the *layout*, a CARv1 of those nodes (rooted at the
file's CID; no leaves: ~0.05% of the file with kubo's profile) stored beside the file
(S3: ``ipfs.dag/<cid>`` for the key prefix ``ipfs/``). A leaf is then its byte span of
the file, hashed as the block it stands for.

A file without a layout gets one on its first range read: the object is streamed once,
re-imported with the index's profile (else each candidate profile), and the layout is
written only if the import reproduces the root CID, so a layout never names the wrong
leaves. Writing it is best effort (a read-only bucket still serves reads; the layout
is then rebuilt per process).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ipfs_kit_py.backends.base import RangeReader
from ipfs_kit_py.content.car import CarReader, encode_car_block, encode_car_header
from ipfs_kit_py.content.cid import DAG_PB, cid_key, decode_cid_bytes, short_cid
from ipfs_kit_py.content.dag import load_node
from ipfs_kit_py.content.random_access import LeafSpan
from ipfs_kit_py.content.resolve import node_size
from ipfs_kit_py.content.unixfs import Block, FileImporter, ImportProfile
from ipfs_kit_py.content.verify import candidate_profiles
from ipfs_kit_py.errors import (
    CARFormatError,
    ContentMismatchError,
    ContentNotFoundError,
    IpfsKitError,
    ResourceLimitError,
)

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID


__all__ = ["MAX_LAYOUT_BYTES", "SpanLayoutOf", "SpanTier", "build_layout"]

logger = logging.getLogger(__name__)

MAX_LAYOUT_BYTES = 64 * 1024 * 1024  # the layout of a ~128 GB file with kubo's profile


@dataclass
class SpanLayoutOf:
    """One file's internal nodes and the tier holding its bytes."""

    backend: RangeReader
    root: CID
    size: int
    nodes: dict[bytes, bytes] = field(default_factory=dict)

    def node(self, cid: CID) -> bytes | None:
        return self.nodes.get(bytes(cid))

    def read_spans(self, spans: Sequence[LeafSpan]) -> Iterator[bytes]:
        """The bytes of contiguous ``spans``, split from one ranged GET."""
        start, end = spans[0].offset, spans[-1].offset + spans[-1].size
        chunks = iter(self.backend.read_range(self.root, start, end))
        return _split(chunks, [span.size for span in spans])


def _split(chunks: Iterator[bytes], sizes: list[int]) -> Iterator[bytes]:
    """Cut a byte stream into pieces of ``sizes``; stops early if the stream is short."""
    buffer = bytearray()
    for size in sizes:
        while len(buffer) < size:
            chunk = next(chunks, None)
            if chunk is None:
                return
            buffer += chunk
        yield bytes(buffer[:size])
        del buffer[:size]


ProfileOf = Callable[["CID"], "ImportProfile | None"]


class SpanTier:
    """The span source of a :class:`RangeReader` tier: layouts, loaded or built once."""

    def __init__(self, backend: RangeReader, profile_of: ProfileOf, *, build: bool = True) -> None:
        self.backend = backend
        self.name = backend.name
        self.profile_of = profile_of
        self.build = build

    def __repr__(self) -> str:
        return f"SpanTier({self.backend!r})"

    def layout(self, root: CID) -> SpanLayoutOf | None:
        """The layout of ``root``: stored, else built from the object (and stored)."""
        try:
            stored = self._load(root)
            if stored is not None:
                return stored
            return self._build(root) if self.build else None
        except ContentNotFoundError:
            return None
        except IpfsKitError as exc:  # a tier that fails leaves the read to the others
            logger.info("no %s layout for %s: %s", self.name, short_cid(root), exc)
            return None

    def _load(self, root: CID) -> SpanLayoutOf | None:
        data = self.backend.get_layout(root, MAX_LAYOUT_BYTES)
        if data is None:
            return None
        nodes = _read_layout(root, data)
        if nodes is None:
            return None
        size = _root_size(root, nodes)
        if size is None:  # a one-leaf file: the stored bytes are the leaf
            size = self.backend.stat(root).size
        return SpanLayoutOf(self.backend, root, size, nodes)

    def _build(self, root: CID) -> SpanLayoutOf | None:
        """Read the file once, rebuild its DAG, keep the internal nodes if it is ``root``."""
        if root.codec.code != DAG_PB:
            return SpanLayoutOf(self.backend, root, self.backend.stat(root).size)
        chunks = iter(self.backend.read_unverified(root))
        nodes, size = build_layout(root, chunks, self.profile_of(root))  # checks the root
        self._store(root, nodes)
        return SpanLayoutOf(self.backend, root, size, nodes)

    def _store(self, root: CID, nodes: dict[bytes, bytes]) -> None:
        car = io.BytesIO()
        car.write(encode_car_header([root]))
        for block in _blocks(nodes):
            car.write(encode_car_block(block.cid, block.data))
        try:
            self.backend.put_layout(root, car.getvalue())
        except IpfsKitError as exc:
            logger.info("could not store the layout of %s: %s", short_cid(root), exc)


def _blocks(nodes: dict[bytes, bytes]) -> Iterator[Block]:
    for key, data in nodes.items():
        yield Block(decode_cid_bytes(key), data)


def build_layout(
    root: CID, chunks: Iterator[bytes], profile: ImportProfile | None
) -> tuple[dict[bytes, bytes], int]:
    """The internal nodes of ``root`` rebuilt from its bytes, and its size.

    Raises :class:`ContentMismatchError` when no candidate profile reproduces ``root``
    and :class:`ResourceLimitError` when the nodes pass :data:`MAX_LAYOUT_BYTES`.
    """
    profiles = [profile] if profile else candidate_profiles(root)
    kept: list[dict[bytes, bytes]] = [{} for _ in profiles]
    used = [0]

    def sink_for(nodes: dict[bytes, bytes]) -> Callable[[Block], None]:
        def keep(block: Block) -> None:
            used[0] += len(block.data)
            if used[0] > MAX_LAYOUT_BYTES:
                raise ResourceLimitError(f"the DAG of {short_cid(root)} has too many nodes")
            nodes[bytes(block.cid)] = block.data

        return keep

    importers = [
        FileImporter(p, sink_for(nodes), leaves=False)
        for p, nodes in zip(profiles, kept, strict=True)
    ]
    for chunk in chunks:
        for importer in importers:
            importer.update(chunk)
    for importer, nodes in zip(importers, kept, strict=True):
        result = importer.finish()
        if cid_key(result.cid) == cid_key(root):
            return _rooted(root, nodes), result.size
    raise ContentMismatchError(f"the object of {short_cid(root)} does not import to it")


def _rooted(root: CID, nodes: dict[bytes, bytes]) -> dict[bytes, bytes]:
    """``nodes`` with the root under the CID form asked for (v0 and v1 share a key)."""
    wanted = cid_key(root)
    for key, data in list(nodes.items()):
        if cid_key(decode_cid_bytes(key)) == wanted:
            nodes[bytes(root)] = data
    return nodes


def _read_layout(root: CID, data: bytes) -> dict[bytes, bytes] | None:
    """The nodes of a stored layout (each verified), or None if it is not ``root``'s."""
    try:
        reader = CarReader(io.BytesIO(data))
        if [cid_key(r) for r in reader.roots] != [cid_key(root)]:
            return None
        nodes = {bytes(block.cid): block.data for block in reader}
    except (CARFormatError, ContentMismatchError) as exc:
        logger.warning("ignoring a damaged S3 layout of %s: %s", short_cid(root), exc)
        return None
    return _rooted(root, nodes)


def _root_size(root: CID, nodes: dict[bytes, bytes]) -> int | None:
    data = nodes.get(bytes(root))
    if data is None:
        return None
    return node_size(load_node(root, lambda _cid: data))
