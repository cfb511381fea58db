"""Our UnixFS importer and directory importer give the CIDs of kubo's ``ipfs add``.

The peer is the kubo CLI (``add --only-hash``) talking to the session daemon. The
corpus has the chunk-boundary sizes, 174 and 175 chunks (one tree level full, then
one more), a depth-3 tree, and random sizes from a seed printed on failure
(``IPFS_KIT_TEST_SEED`` replays one).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from ipfs_kit_py.backends.kubo.backend import KuboBackend
from ipfs_kit_py.backends.kubo.multipart import path_parts
from ipfs_kit_py.backends.kubo.rpc import AddOptions
from ipfs_kit_py.content.dagpb import UnixFSType, decode_node, decode_unixfs
from ipfs_kit_py.content.directory import import_directory
from ipfs_kit_py.content.unixfs import STORACHA, Block, ImportProfile, import_file
from tests.random_files import write_random_file
from tests.servers.kubo import KuboNode

SEED = int(os.environ.get("IPFS_KIT_TEST_SEED") or random.SystemRandom().randrange(1 << 30))
SMALL = 1024
DEFAULT = 262144

# kubo flags -> the profile we claim is the same import
FLAG_PROFILES = {
    "default": ([], lambda chunk: ImportProfile(chunk, False, 0)),
    "cid-version=1": (["--cid-version=1"], lambda chunk: ImportProfile(chunk, True, 1)),
    "raw-leaves": (["--raw-leaves"], lambda chunk: ImportProfile(chunk, True, 0)),
}


def _corpus(root: Path, chunk: int, sizes: list[int]) -> Path:
    rng = random.Random(SEED + chunk)
    root.mkdir()
    for size in sizes:
        write_random_file(root / f"{size:09d}.bin", size, randbytes=rng.randbytes)
    return root


@pytest.fixture(scope="module")
def small_chunk_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(SEED)
    sizes = [0, 1, SMALL - 1, SMALL, SMALL + 1, 174 * SMALL, 175 * SMALL, 174 * SMALL + 1]
    sizes += [174 * 174 * SMALL + 1]  # three levels
    sizes += [rng.randrange(2, 400 * SMALL) for _ in range(5)]
    return _corpus(tmp_path_factory.mktemp("small") / "corpus", SMALL, sorted(set(sizes)))


@pytest.fixture(scope="module")
def default_chunk_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(SEED + 1)
    sizes = [DEFAULT - 1, DEFAULT, DEFAULT + 1, *(rng.randrange(1, 3 * DEFAULT) for _ in range(3))]
    return _corpus(tmp_path_factory.mktemp("default") / "corpus", DEFAULT, sorted(set(sizes)))


def kubo_added(node: KuboNode, path: Path, *flags: str) -> dict[str, str]:
    """``ipfs add -r --only-hash FLAGS path`` as {path relative to path's parent: CID}."""
    out = node.cli("add", "-r", "--only-hash", *flags, str(path)).stdout.decode()
    added = {}
    for line in out.splitlines():
        _, cid, name = line.split(" ", 2)
        added[name] = cid
    return added


def _check_files(node: KuboNode, corpus: Path, chunk: int, flags_name: str) -> None:
    flags, make_profile = FLAG_PROFILES[flags_name]
    profile = make_profile(chunk)
    expected = kubo_added(node, corpus, f"--chunker=size-{chunk}", *flags)
    files = sorted(corpus.iterdir())
    ours = {f"corpus/{p.name}": str(import_file(p, profile).cid) for p in files}
    assert ours == {name: expected[name] for name in ours}, f"seed {SEED}, {profile.key()}"


@pytest.mark.parametrize("flags_name", list(FLAG_PROFILES))
def test_file_cids_small_chunks(kubo: KuboNode, small_chunk_corpus: Path, flags_name: str) -> None:
    _check_files(kubo, small_chunk_corpus, SMALL, flags_name)


@pytest.mark.parametrize("flags_name", list(FLAG_PROFILES))
def test_file_cids_default_chunks(
    kubo: KuboNode, default_chunk_corpus: Path, flags_name: str
) -> None:
    _check_files(kubo, default_chunk_corpus, DEFAULT, flags_name)


def test_storacha_profile_matches_kubo_with_its_options(kubo: KuboNode, tmp_path: Path) -> None:
    path = tmp_path / "s.bin"
    write_random_file(path, 3 * 1024 * 1024 + 5, randbytes=random.Random(SEED).randbytes)
    flags = ["--cid-version=1", "--chunker=size-1048576", "--max-file-links=1024"]
    assert str(import_file(path, STORACHA).cid) == kubo_added(kubo, path, *flags)["s.bin"]


def test_rpc_add_only_hash_equals_cli(
    kubo: KuboNode, small_chunk_corpus: Path, tmp_path: Path
) -> None:
    backend = KuboBackend.from_config(kubo.config())
    options = AddOptions(chunker=f"size-{SMALL}", cid_version=1, only_hash=True)
    entries = backend.client.add(path_parts(small_chunk_corpus), options)
    expected = kubo_added(kubo, small_chunk_corpus, f"--chunker=size-{SMALL}", "--cid-version=1")
    assert {e.name: str(e.cid) for e in entries} == expected


def _tree(root: Path) -> Path:
    rng = random.Random(SEED + 2)
    (root / "a" / "b" / "c").mkdir(parents=True)
    (root / "empty" / "nested-empty").mkdir(parents=True)
    (root / "ünïcødé ✓").mkdir()
    (root / "ünïcødé ✓" / "日本語.txt").write_text("こんにちは")
    (root / "a" / "with space.bin").write_bytes(rng.randbytes(5000))
    (root / "a" / "b" / "c" / "deep.bin").write_bytes(rng.randbytes(300_000))
    (root / "a" / "b" / "zero").write_bytes(b"")
    (root / ".hidden").write_text("not added")
    os.symlink("a/with space.bin", root / "link")
    return root


@pytest.mark.parametrize("flags_name", ["default", "cid-version=1"])
def test_nested_directory_cids(kubo: KuboNode, tmp_path: Path, flags_name: str) -> None:
    root = _tree(tmp_path / "tree")
    flags, make_profile = FLAG_PROFILES[flags_name]
    expected = kubo_added(kubo, root, *flags)
    assert str(import_directory(root, make_profile(DEFAULT)).cid) == expected["tree"]
    rpc = KuboBackend.from_config(kubo.config()).add_path(
        root, profile=make_profile(DEFAULT), only_hash=True
    )
    assert str(rpc) == expected["tree"]


def test_hamt_sharded_directory_cid(kubo: KuboNode, tmp_path: Path) -> None:
    root = tmp_path / "wide"
    root.mkdir()
    rng = random.Random(SEED + 3)
    for i in range(4000):
        (root / f"entry-with-a-longish-name-{i:05d}-{rng.randrange(10**6)}").write_bytes(
            str(i).encode()
        )
    expected = kubo_added(kubo, root)
    blocks: list[Block] = []
    ours = import_directory(root, on_block=blocks.append).cid
    assert str(ours) == expected["wide"], f"seed {SEED}"
    root_node = decode_node(blocks[-1].data)
    assert blocks[-1].cid == ours
    assert root_node.data is not None
    assert decode_unixfs(root_node.data).type == UnixFSType.HAMT_SHARD
