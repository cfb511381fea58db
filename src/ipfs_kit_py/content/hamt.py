"""UnixFS HAMT-sharded directories, built and read exactly as boxo's ``hamt`` package.

A shard is a dag-pb node whose UnixFS data is ``HAMTShard`` with a bitfield of the
occupied slots (big-endian, leading zero bytes dropped), ``hashType`` murmur3-x64-64
(0x22) and ``fanout``. Each link name starts with the slot number as fixed-width
uppercase hex (two digits for fanout 256): followed by the entry's name for a value,
alone for a sub-shard. A slot holds a sub-shard exactly when two or more names hash into
it, so the tree does not depend on insertion order. The slot at depth ``d`` is the next
``log2(fanout)`` bits of the 8-byte hash, most significant bit first.

:class:`ShardingPolicy` decides when a directory becomes a shard, as kubo's
``Import.UnixFSHAMTDirectory*`` settings do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import mmh3

from ipfs_kit_py.content.cid import DAG_PB, make_cid, short_cid
from ipfs_kit_py.content.dagpb import PBLink, UnixFSData, UnixFSType, encode_node, encode_unixfs
from ipfs_kit_py.errors import ContentMismatchError, InvalidInputError

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID

__all__ = [
    "KUBO_SHARDING",
    "MURMUR3_X64_64",
    "UNIXFS_V1_2025_SHARDING",
    "Shard",
    "ShardingPolicy",
    "build_shard",
    "hamt_hash",
    "iter_shard",
    "shard_order",
]

MURMUR3_X64_64 = 0x22
_HASH_BITS = 64
_MAX_FANOUT = 1024  # boxo's maximumHamtWidth

SizeEstimation = Literal["links", "block", "disabled"]


@dataclass(frozen=True, slots=True)
class ShardingPolicy:
    """When a directory becomes a HAMT shard (kubo's ``Import`` settings).

    ``threshold`` is ``UnixFSHAMTDirectorySizeThreshold`` (0 never shards);
    ``estimation`` is ``UnixFSHAMTDirectorySizeEstimation``: ``links`` sums the bytes
    of each link's name and CID, ``block`` measures the encoded directory node,
    ``disabled`` ignores size; ``max_links`` (``UnixFSDirectoryMaxLinks``, 0 = none)
    shards a directory with more entries; ``fanout`` is ``UnixFSHAMTDirectoryMaxFanout``.
    A directory shards when its estimate is strictly greater than the threshold.
    """

    threshold: int = 256 * 1024
    estimation: SizeEstimation = "links"
    max_links: int = 0
    fanout: int = 256

    def __post_init__(self) -> None:
        fanout = self.fanout
        if not (8 <= fanout <= _MAX_FANOUT and fanout & (fanout - 1) == 0):
            raise InvalidInputError(f"HAMT fanout must be a power of 2 in 8..1024, got {fanout}")
        if self.threshold < 0 or self.max_links < 0:
            raise InvalidInputError("sharding threshold and max links must not be negative")
        if self.estimation not in ("links", "block", "disabled"):
            raise InvalidInputError(f"unknown size estimation {self.estimation!r}")

    def should_shard(self, links: Sequence[PBLink], node_size: Callable[[], int]) -> bool:
        """Whether a directory with ``links`` is a shard; ``node_size`` encodes it."""
        if self.threshold == 0:
            return False
        if self.max_links and len(links) > self.max_links:
            return True
        if self.estimation == "links":
            estimate = sum(len((link.name or "").encode()) + len(bytes(link.cid)) for link in links)
        elif self.estimation == "block":
            estimate = node_size()
        else:
            return False
        return estimate > self.threshold


KUBO_SHARDING = ShardingPolicy()
UNIXFS_V1_2025_SHARDING = ShardingPolicy(estimation="block")


def hamt_hash(name: str) -> int:
    """The 64-bit murmur3-x64-64 hash of a UTF-8 name (the first half of x64-128)."""
    h1, _ = mmh3.hash64(name.encode(), signed=False)
    return int(h1)


def shard_order(names: Sequence[str]) -> list[str]:
    """``names`` in the order a HAMT lists them (kubo's order of ``added`` lines)."""
    return sorted(names, key=hamt_hash)


@dataclass(frozen=True, slots=True)
class Shard:
    """A built shard: its CID, its encoded bytes and its cumulative DAG size."""

    cid: CID
    data: bytes
    dag_size: int


def _bits(fanout: int) -> int:
    return fanout.bit_length() - 1


def _prefix(index: int, fanout: int) -> str:
    width = len(f"{fanout - 1:X}")
    return f"{index:0{width}X}"


def build_shard(
    entries: Sequence[tuple[str, PBLink]],
    *,
    fanout: int = 256,
    cid_version: int = 0,
    emit: Callable[[Shard], None] | None = None,
) -> Shard:
    """Build the HAMT for ``(name, link)`` entries; ``emit`` gets each shard node,
    sub-shards before their parent. Names must be distinct."""
    hashed = [(hamt_hash(name), name, link) for name, link in entries]
    return _build(hashed, 0, fanout, cid_version, emit)


def _build(
    entries: list[tuple[int, str, PBLink]],
    depth: int,
    fanout: int,
    cid_version: int,
    emit: Callable[[Shard], None] | None,
) -> Shard:
    bits = _bits(fanout)
    shift = _HASH_BITS - (depth + 1) * bits
    if shift < 0:
        raise InvalidInputError("HAMT too deep: names with colliding 64-bit hashes")
    slots: dict[int, list[tuple[int, str, PBLink]]] = {}
    for entry in entries:
        slots.setdefault((entry[0] >> shift) & (fanout - 1), []).append(entry)
    links: list[PBLink] = []
    bitfield = 0
    for index in sorted(slots):
        bitfield |= 1 << index
        members = slots[index]
        if len(members) == 1:
            _, name, link = members[0]
            links.append(PBLink(link.cid, _prefix(index, fanout) + name, link.tsize))
        else:
            child = _build(members, depth + 1, fanout, cid_version, emit)
            links.append(PBLink(child.cid, _prefix(index, fanout), child.dag_size))
    field = bitfield.to_bytes(fanout // 8, "big").lstrip(b"\0")
    unixfs = encode_unixfs(
        UnixFSType.HAMT_SHARD, data=field, hash_type=MURMUR3_X64_64, fanout=fanout
    )
    data = encode_node(unixfs, links)
    cid = make_cid(DAG_PB, hashlib.sha256(data).digest(), cid_version)
    shard = Shard(cid, data, len(data) + sum(link.tsize or 0 for link in links))
    if emit is not None:
        emit(shard)
    return shard


def iter_shard(
    root: UnixFSData,
    links: Sequence[PBLink],
    load: Callable[[CID], tuple[UnixFSData, list[PBLink]]],
) -> Iterator[tuple[str, PBLink]]:
    """Yield ``(name, link)`` for every entry of the shard ``root`` (with its ``links``),
    in HAMT order; ``load(cid)`` decodes a sub-shard.

    Raises :class:`ContentMismatchError` for a malformed shard or sub-shard.
    """
    fanout = _check_shard(root, None)
    width = len(_prefix(0, fanout))
    stack: list[Iterator[PBLink]] = [iter(links)]
    # Two slots never hold the same sub-shard (their names hash apart), nor an empty one,
    # so either is malformed; allowed, a few blocks could cost fanout**depth loads.
    seen: set[bytes] = set()
    while stack:
        link = next(stack[-1], None)
        if link is None:
            stack.pop()
            continue
        name = link.name or ""
        if len(name) < width or not all(c in "0123456789ABCDEF" for c in name[:width]):
            raise ContentMismatchError(f"HAMT shard link has an invalid name {name!r:.80}")
        if len(name) > width:
            yield name[width:], link
            continue
        if (len(stack) + 1) * _bits(fanout) > _HASH_BITS:
            raise ContentMismatchError("HAMT shard is nested deeper than its hash allows")
        key = bytes(link.cid)
        if key in seen:
            raise ContentMismatchError(
                f"HAMT shard links the sub-shard {short_cid(link.cid)} twice"
            )
        seen.add(key)
        child, child_links = load(link.cid)
        _check_shard(child, fanout)
        if not child_links:  # never written (a slot holds a sub-shard for 2+ names), and
            # free to repeat: each listing of a shared directory would load them all again
            raise ContentMismatchError(f"HAMT sub-shard {short_cid(link.cid)} is empty")
        stack.append(iter(child_links))


def _check_shard(unixfs: UnixFSData, fanout: int | None) -> int:
    if unixfs.type != UnixFSType.HAMT_SHARD:
        raise ContentMismatchError(f"expected a HAMT shard, found UnixFS {unixfs.type.name}")
    if unixfs.hash_type != MURMUR3_X64_64:
        raise ContentMismatchError(f"HAMT shard uses unsupported hash {unixfs.hash_type}")
    found = unixfs.fanout
    if found is None or not (8 <= found <= _MAX_FANOUT and found & (found - 1) == 0):
        raise ContentMismatchError(f"HAMT shard has an invalid fanout {found}")
    if fanout is not None and found != fanout:
        raise ContentMismatchError(f"HAMT sub-shard fanout {found} differs from {fanout}")
    return found
