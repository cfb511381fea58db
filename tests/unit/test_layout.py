from __future__ import annotations

import random
from dataclasses import replace

import pytest

from ipfs_kit_py.content.cid import RAW
from ipfs_kit_py.content.unixfs import STORACHA, Block, ImportProfile, import_file


def _labels(blocks: list[Block]) -> str:
    leaves = nodes = 0
    out = []
    for block in blocks:
        if block.cid.codec.code == RAW:
            out.append(f"L{leaves}")
            leaves += 1
        else:
            out.append(f"N{nodes}")
            nodes += 1
    return " ".join(out)


def test_deferred_layout_emits_in_ipld_unixfs_order() -> None:
    # 20 chunks of 256 KiB, width 4: the order @ipld/unixfs (the Storacha client) emits.
    # A parent appears only after the next leaf's read; at close the rows are grouped
    # bottom-up, so the full level-2 parent comes after the partial level-1 one.
    profile = replace(STORACHA, chunk_size=262144, max_links=4)
    blocks: list[Block] = []
    import_file([random.Random(5).randbytes(20 * 262144)], profile, blocks.append)
    assert _labels(blocks) == (
        "L0 L1 L2 L3 L4 N0 L5 L6 L7 L8 N1 L9 L10 L11 L12 N2 L13 L14 L15 L16 N3 "
        "L17 L18 L19 N4 N5 N6 N7"
    )


@pytest.mark.parametrize("size", [0, 1, 999, 1000, 4000, 4001, 16000, 17000, 64001, 200_000])
def test_both_layouts_make_the_same_tree(size: int) -> None:
    data = random.Random(size).randbytes(size)
    eager = ImportProfile(chunk_size=1000, raw_leaves=True, cid_version=1, max_links=4)
    deferred = replace(eager, layout="deferred")
    eager_blocks: list[Block] = []
    deferred_blocks: list[Block] = []
    a = import_file([data], eager, eager_blocks.append)
    b = import_file([data], deferred, deferred_blocks.append)
    assert a == b
    assert sorted(bytes(x.cid) for x in eager_blocks) == sorted(
        bytes(x.cid) for x in deferred_blocks
    )
    assert deferred_blocks[-1].cid == b.cid


def test_layout_is_part_of_the_profile_key() -> None:
    assert STORACHA.key() == "size-1048576,raw,v1,w1024,deferred"
    assert ImportProfile.parse(STORACHA.key()) == STORACHA
