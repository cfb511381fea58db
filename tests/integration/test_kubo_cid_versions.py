"""A kubo tier answers for a dag-pb CID in either version, as the index keys it.

Found by the facade state machine (tests/property/test_facade_state.py): content added
as CIDv0 and removed by its v1 form was reported removed and forgotten by the index
while kubo kept it pinned, out of sight.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.servers.kubo import KuboNode

from ipfs_kit_py.content.cid import cid_key, parse_cid
from ipfs_kit_py.ipfs_kit import ipfs_kit


def test_remove_by_the_other_cid_version_unpins_in_kubo(kubo: KuboNode, tmp_path: Path) -> None:
    with ipfs_kit(
        cache_dir=tmp_path / "cache",
        index_path=tmp_path / "index.sqlite3",
        kubo={"api_url": kubo.api_url},
    ) as kit:
        tier = kit.tiers.tier("ipfs")
        for version in (0, 1):
            added = kit.add(os.urandom(64), to=["ipfs"]).cid
            other = parse_cid(cid_key(added)) if version == 0 else added
            added = added if version == 0 else parse_cid(cid_key(added))
            assert tier.has(added) and tier.has(other)
            assert kit.remove(other, ["ipfs"]) == ["ipfs"]
            assert not tier.has(added) and not tier.has(other)
            pins = kubo.cli_text("pin", "ls", "--type=recursive")
            assert str(added) not in pins and str(other) not in pins
