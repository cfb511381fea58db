"""Block and span sources over the tiers, for verified random access.

:func:`block_sources` turns the kit's tiers (fastest first) into the sources of a
:class:`~ipfs_kit_py.content.random_access.VerifiedBlocks`, by what each tier can do:
a :class:`~ipfs_kit_py.backends.base.BlockReader` (kubo ``block/get``, a gateway's
``?format=raw``) answers one block; a :class:`~ipfs_kit_py.backends.base.RangeReader`
(S3), which holds each file as its plain bytes, serves leaves by byte ranges through the
file's DAG layout (:mod:`ipfs_kit_py.tiers.span_layout`): a range read there costs the
layout (once per file and process) and one ranged GET for the leaves under the range.
Memory, disk and Storacha tiers hold whole files only: the facade reads those through
the tier manager.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ipfs_kit_py.backends.base import BaseBackend, BlockReader, RangeReader
from ipfs_kit_py.content.random_access import DEFAULT_CACHE_BYTES, Source, VerifiedBlocks
from ipfs_kit_py.content.unixfs import ImportProfile
from ipfs_kit_py.tiers.span_layout import SpanTier

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID

__all__ = ["block_readers", "block_sources", "range_readers", "verified_blocks"]

ProfileOf = Callable[["CID"], "ImportProfile | None"]


def block_sources(tiers: Sequence[BaseBackend], profile_of: ProfileOf) -> list[Source]:
    """The block and span sources among ``tiers``, in tier order."""
    sources: list[Source] = []
    for tier in tiers:
        if isinstance(tier, BlockReader):
            sources.append(tier)
        elif isinstance(tier, RangeReader):
            sources.append(SpanTier(tier, profile_of))
    return sources


def range_readers(tiers: Sequence[BaseBackend]) -> list[RangeReader]:
    """The tiers among ``tiers`` that hold files as plain bytes readable by ranges (S3)."""
    return [tier for tier in tiers if isinstance(tier, RangeReader)]


def block_readers(tiers: Sequence[BaseBackend]) -> list[BlockReader]:
    """The tiers among ``tiers`` that answer one block by CID (kubo, gateways)."""
    return [tier for tier in tiers if isinstance(tier, BlockReader)]


def verified_blocks(
    tiers: Sequence[BaseBackend],
    profile_of: ProfileOf,
    *,
    cache_bytes: int = DEFAULT_CACHE_BYTES,
) -> VerifiedBlocks:
    """A :class:`VerifiedBlocks` over the block and span sources of ``tiers``."""
    return VerifiedBlocks(block_sources(tiers, profile_of), cache_bytes=cache_bytes)
