"""Import profiles by name: kubo's ``Import`` profiles and the Storacha client's.

A named profile is a file profile (chunks, leaves, CID version, file DAG width) plus
the directory sharding rule kubo applies with it. The names are kubo's
(``ipfs config profile apply NAME``): v0.43.1's ``unixfs-v0-2015`` (alias
``legacy-cid-v0``) and ``unixfs-v1-2025`` (IPIP-499), and the ``test-cid-v1`` /
``test-cid-v1-wide`` profiles of kubo v0.29-v0.39 (removed in v0.40; their settings are
still kubo ``Import.*`` options, and that is how the tests check them against v0.43.1).
"""

from __future__ import annotations

from dataclasses import dataclass

from ipfs_kit_py.content.hamt import KUBO_SHARDING, UNIXFS_V1_2025_SHARDING, ShardingPolicy
from ipfs_kit_py.content.unixfs import KUBO_DEFAULT, MAX_CHUNK_SIZE, STORACHA, ImportProfile
from ipfs_kit_py.errors import InvalidInputError

__all__ = ["PROFILES", "NamedProfile", "named_profile"]


@dataclass(frozen=True, slots=True)
class NamedProfile:
    """A profile users name: how files become blocks and when directories shard."""

    name: str
    file: ImportProfile
    sharding: ShardingPolicy
    summary: str


_V1_1MIB = ImportProfile(chunk_size=MAX_CHUNK_SIZE, raw_leaves=True, cid_version=1)
_V1_1MIB_WIDE = ImportProfile(
    chunk_size=MAX_CHUNK_SIZE, raw_leaves=True, cid_version=1, max_links=1024
)

PROFILES: dict[str, NamedProfile] = {
    p.name: p
    for p in [
        NamedProfile(
            "kubo", KUBO_DEFAULT, KUBO_SHARDING, "kubo's defaults: ipfs add with no Import config"
        ),
        NamedProfile(
            "unixfs-v0-2015",
            KUBO_DEFAULT,
            KUBO_SHARDING,
            "CIDv0, dag-pb leaves, 256 KiB chunks, 174 links; HAMT over 256 KiB of links",
        ),
        NamedProfile("legacy-cid-v0", KUBO_DEFAULT, KUBO_SHARDING, "alias of unixfs-v0-2015"),
        NamedProfile(
            "unixfs-v1-2025",
            _V1_1MIB_WIDE,
            UNIXFS_V1_2025_SHARDING,
            "CIDv1, raw leaves, 1 MiB chunks, 1024 links; HAMT over a 256 KiB directory block",
        ),
        NamedProfile(
            "test-cid-v1",
            _V1_1MIB,
            KUBO_SHARDING,
            "kubo v0.29-v0.39: CIDv1, raw leaves, 1 MiB chunks, 174 links; HAMT over 256 KiB",
        ),
        NamedProfile(
            "test-cid-v1-wide",
            _V1_1MIB_WIDE,
            ShardingPolicy(threshold=MAX_CHUNK_SIZE, fanout=1024),
            "kubo v0.35-v0.39: CIDv1, raw leaves, 1 MiB chunks, 1024 links; HAMT over 1 MiB, "
            "fanout 1024",
        ),
        NamedProfile(
            "storacha",
            STORACHA,
            KUBO_SHARDING,
            "the @storacha/client encoding: CIDv1, raw leaves, 1 MiB chunks, 1024 links",
        ),
    ]
}


def named_profile(name: str) -> NamedProfile:
    """The profile called ``name``; :class:`InvalidInputError` lists the names if unknown."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise InvalidInputError(f"unknown import profile {name!r}; known: {known}") from None
