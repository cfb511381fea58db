"""Our CIDs and CARs against live reference implementations, on a randomized corpus.

Peers: kubo's own ``ipfs add --only-hash`` (scripts/install/30-kubo.sh), Debian
``ipfs_cid`` (kubo's default import), ipfs-unixfs-importer, the Storacha client's encoder
and @ipld/car (tests/conformance/js, installed by scripts/install/45-conformance-node.sh).
The corpus is drawn from a seed that every assertion message prints;
``CONFORMANCE_SEED=<seed> pytest tests/conformance`` replays it.
A missing peer fails the test, it never skips.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ipfs_kit_py.content.car import CarReader, write_car
from ipfs_kit_py.content.cid import parse_cid
from ipfs_kit_py.content.unixfs import (
    KUBO_CID_V1,
    KUBO_DEFAULT,
    STORACHA,
    Block,
    ImportProfile,
    import_file,
)
from tests.conformance import peers
from tests.conformance.inputs import FileSpec, TreeSpec, write_file, write_tree

T = TypeVar("T")
CHUNK = 262144
MIB = 1024 * 1024
RAW_LEAVES_V0 = ImportProfile(raw_leaves=True)
UNICODE_NAMES = ["héllo wörld", "日本語", "файл", "emoji-🎉", "Ωmega", "a b", "ñ", "Zebra", "apple"]


def peer(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a peer runner; a missing peer is a test failure with the install hint."""
    try:
        return fn(*args, **kwargs)
    except peers.PeerMissingError as exc:
        pytest.fail(f"conformance peer missing: {exc}")


@dataclass
class Corpus:
    """Files and trees drawn from one seed, written once per session."""

    seed: int
    root: Path
    small_chunk: int
    files: dict[str, Path] = field(default_factory=dict)
    specs: dict[str, FileSpec] = field(default_factory=dict)
    trees: dict[str, Path] = field(default_factory=dict)

    def tag(self, what: str) -> str:
        return f"{what} [CONFORMANCE_SEED={self.seed}, corpus {self.root}]"


def random_tree(rng: random.Random, depth: int) -> TreeSpec:
    """A tree with files of random sizes, empty dirs, dot-files and unicode names."""
    tree: TreeSpec = {}
    names = rng.sample(UNICODE_NAMES, 3) + [f"f{i}" for i in range(rng.randint(1, 4))]
    for name in names:
        tree[name] = spec(rng, rng.choice([0, 1, rng.randint(2, 5000), CHUNK + rng.randint(1, 99)]))
    tree[f".hidden-{rng.randint(0, 99)}"] = spec(rng, rng.randint(0, 50))
    tree[f"empty-{rng.randint(0, 99)}"] = {}
    if depth > 0:
        for i in range(rng.randint(1, 2)):
            tree[f"sub-{i}-{UNICODE_NAMES[rng.randrange(len(UNICODE_NAMES))]}"] = random_tree(
                rng, depth - 1
            )
        tree[".hidden-dir"] = {"inside": spec(rng, 10)}
    return tree


def spec(rng: random.Random, size: int) -> FileSpec:
    return {"kind": "shake256", "seed": f"live-{rng.getrandbits(48):x}", "size": size}


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    seed = int(os.environ.get("CONFORMANCE_SEED") or random.SystemRandom().getrandbits(32))
    rng = random.Random(seed)
    small = rng.randint(64, 300)
    c = Corpus(seed, tmp_path_factory.mktemp("conformance-corpus"), small)
    sizes = {
        "empty": 0,
        "one-byte": 1,
        "chunk-minus-1": CHUNK - 1,
        "chunk": CHUNK,
        "chunk-plus-1": CHUNK + 1,
        "random-small": rng.randint(2, CHUNK - 2),
        "random-multi-chunk": rng.randint(CHUNK + 2, 5 * MIB),
        "174-chunks": 174 * CHUNK,
        "175-chunks": 174 * CHUNK + rng.randint(1, CHUNK),
    }
    for name, size in sizes.items():
        c.specs[name] = spec(rng, size)
    c.specs["zeros"] = {"kind": "zeros", "size": rng.randint(CHUNK + 1, 3 * MIB)}
    for name, file_spec in c.specs.items():
        c.files[name] = write_file(file_spec, c.root / "files" / name)
    for name, size in {
        "small-174": 174 * small,
        "small-175": 174 * small + rng.randint(1, small),
        "small-174sq": 174 * 174 * small,
        "small-174sq-plus": 174 * 174 * small + rng.randint(1, small),
    }.items():
        c.specs[name] = spec(rng, size)
        c.files[name] = write_file(c.specs[name], c.root / "small" / name)
    c.trees["empty"] = write_tree({}, c.root / "trees" / "empty" / "empty-dir")
    c.trees["nested"] = write_tree(random_tree(rng, 2), c.root / "trees" / "nested" / "nested")
    c.trees["unicode-root"] = write_tree(
        random_tree(rng, 1), c.root / "trees" / "unicode" / rng.choice(UNICODE_NAMES)
    )
    return c


@pytest.fixture(scope="session")
def big_file(tmp_path_factory: pytest.TempPathFactory, corpus: Corpus) -> Path:
    """A 100 MB file (plus a random tail), written once per session."""
    rng = random.Random(corpus.seed + 1)
    file_spec = spec(rng, 100 * 1000 * 1000 + rng.randint(0, CHUNK))
    return write_file(file_spec, tmp_path_factory.mktemp("big") / "100MB.bin")


@pytest.fixture(scope="session")
def kubo(tmp_path_factory: pytest.TempPathFactory) -> peers.Kubo:
    return peer(peers.Kubo, tmp_path_factory.mktemp("kubo") / "repo")


def kubo_cid(kubo: peers.Kubo, path: Path, p: ImportProfile) -> str:
    lines = kubo.add(*peers.kubo_flags(p.chunk_size, p.raw_leaves, p.cid_version), "-Q", str(path))
    return lines[0]


def js_profile(p: ImportProfile) -> dict[str, Any]:
    return {
        "chunkSize": p.chunk_size,
        "rawLeaves": p.raw_leaves,
        "cidVersion": p.cid_version,
        "maxChildrenPerNode": p.max_links,
    }


FILE_PROFILES = {"kubo": KUBO_DEFAULT, "kubo-v1": KUBO_CID_V1, "raw-leaves-v0": RAW_LEAVES_V0}
CORPUS_FILES = [
    "empty",
    "one-byte",
    "chunk-minus-1",
    "chunk",
    "chunk-plus-1",
    "random-small",
    "random-multi-chunk",
    "zeros",
    "174-chunks",
    "175-chunks",
]


@pytest.fixture(scope="session")
def js_files(corpus: Corpus) -> dict[tuple[str, str], dict[str, Any]]:
    """The JS importer's results for every corpus file and profile, in one node run."""
    keys = [(f, p) for f in CORPUS_FILES for p in FILE_PROFILES]
    small = ImportProfile(chunk_size=corpus.small_chunk)
    small_v1 = ImportProfile(chunk_size=corpus.small_chunk, raw_leaves=True, cid_version=1)
    profiles = {**FILE_PROFILES, "small": small, "small-v1": small_v1}
    keys += [
        (f, p)
        for f in ("small-174", "small-175", "small-174sq", "small-174sq-plus")
        for p in ("small", "small-v1")
    ]
    jobs = [{"path": str(corpus.files[f]), "profile": js_profile(profiles[p])} for f, p in keys]
    return dict(zip(keys, peer(peers.js_import, jobs), strict=True))


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_file_kubo_default_matches_kubo_ipfs_cid_and_js(
    name: str, corpus: Corpus, kubo: peers.Kubo, js_files: dict[tuple[str, str], dict[str, Any]]
) -> None:
    path = corpus.files[name]
    ours = import_file(path, KUBO_DEFAULT)
    got = {"ours": str(ours.cid), "ipfs_cid": peer(peers.ipfs_cid, path)}
    got["js"] = js_files[(name, "kubo")]["cid"]
    got["kubo"] = kubo_cid(kubo, path, KUBO_DEFAULT)
    assert len(set(got.values())) == 1, corpus.tag(f"{name} ({path.stat().st_size} B): {got}")
    assert ours.dag_size == js_files[(name, "kubo")]["tsize"], corpus.tag(f"{name} dag size")


@pytest.mark.parametrize("profile", ["kubo-v1", "raw-leaves-v0"])
@pytest.mark.parametrize("name", CORPUS_FILES)
def test_file_other_profiles_match_kubo_and_js(
    name: str,
    profile: str,
    corpus: Corpus,
    kubo: peers.Kubo,
    js_files: dict[tuple[str, str], dict[str, Any]],
) -> None:
    ours = import_file(corpus.files[name], FILE_PROFILES[profile])
    js = js_files[(name, profile)]
    theirs = kubo_cid(kubo, corpus.files[name], FILE_PROFILES[profile])
    got = (str(ours.cid), theirs, ours.dag_size)
    assert got == (js["cid"], js["cid"], js["tsize"]), corpus.tag(
        f"{name} ({ours.size} B) with {profile}: (ours, kubo, dag size) vs JS"
    )


@pytest.mark.parametrize("raw", [False, True], ids=["pb-leaves-v0", "raw-leaves-v1"])
@pytest.mark.parametrize("name", ["small-174", "small-175", "small-174sq", "small-174sq-plus"])
def test_small_chunks_cross_depth_boundaries(
    name: str,
    raw: bool,
    corpus: Corpus,
    kubo: peers.Kubo,
    js_files: dict[tuple[str, str], dict[str, Any]],
) -> None:
    profile = ImportProfile(chunk_size=corpus.small_chunk, raw_leaves=raw, cid_version=int(raw))
    ours = import_file(corpus.files[name], profile)
    js = js_files[(name, "small-v1" if raw else "small")]
    theirs = kubo_cid(kubo, corpus.files[name], profile)
    got = (str(ours.cid), theirs, ours.dag_size)
    assert got == (js["cid"], js["cid"], js["tsize"]), corpus.tag(
        f"{name} ({ours.size} B, chunk {corpus.small_chunk}, raw leaves {raw})"
    )


@pytest.mark.slow
def test_100mb_file_matches_kubo_ipfs_cid_and_js(
    big_file: Path, corpus: Corpus, kubo: peers.Kubo
) -> None:
    ours = import_file(big_file, KUBO_DEFAULT)
    js = peer(peers.js_import, [{"path": str(big_file), "profile": "kubo"}])[0]
    got = {"ours": str(ours.cid), "ipfs_cid": peer(peers.ipfs_cid, big_file), "js": js["cid"]}
    got["kubo"] = kubo_cid(kubo, big_file, KUBO_DEFAULT)
    assert len(set(got.values())) == 1, corpus.tag(f"100 MB file {big_file}: {got}")


DIR_VARIANTS = [("kubo", False), ("kubo", True), ("kubo-v1", False), ("kubo-v1", True)]


@pytest.fixture(scope="session")
def js_trees(corpus: Corpus) -> dict[tuple[str, str, bool], dict[str, Any]]:
    keys = [(t, p, h) for t in corpus.trees for p, h in DIR_VARIANTS]
    jobs = [{"path": str(corpus.trees[t]), "profile": p, "hidden": h} for t, p, h in keys]
    return dict(zip(keys, peer(peers.js_import, jobs), strict=True))


@pytest.mark.parametrize(("profile", "hidden"), DIR_VARIANTS)
@pytest.mark.parametrize("tree", ["empty", "nested", "unicode-root"])
def test_directory_matches_kubo_and_js(
    tree: str,
    profile: str,
    hidden: bool,
    corpus: Corpus,
    kubo: peers.Kubo,
    js_trees: dict[tuple[str, str, bool], dict[str, Any]],
) -> None:
    from ipfs_kit_py.content.directory import import_directory

    ours = import_directory(corpus.trees[tree], FILE_PROFILES[profile], hidden=hidden)
    js = js_trees[(tree, profile, hidden)]
    theirs = kubo.add(*kubo_dir_flags(profile, hidden), "-Q", str(corpus.trees[tree]))
    assert (str(ours.cid), theirs, ours.dag_size) == (js["cid"], [js["cid"]], js["tsize"]), (
        corpus.tag(f"directory {corpus.trees[tree]} with {profile}, hidden={hidden}")
    )


def kubo_dir_flags(profile: str, hidden: bool) -> list[str]:
    return ["-r", *CLI_FLAGS[profile], *(["--hidden"] if hidden else [])]


def cli_add(*args: str, stdin: bytes | None = None) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "ipfs_kit_py.cli.main", "add", "--only-hash", *args],
        capture_output=True,
        input=stdin,
        timeout=600,
    )
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == 0, f"ipfs-kit add --only-hash {' '.join(args)}: {err}"
    return proc.stdout.decode().splitlines()


CLI_FLAGS = {
    "kubo": [],
    "kubo-v1": ["--cid-version=1"],
    "raw-leaves-v0": ["--raw-leaves"],
}


@pytest.mark.parametrize("profile", list(CLI_FLAGS))
@pytest.mark.parametrize("name", ["empty", "one-byte", "chunk-plus-1", "random-multi-chunk"])
def test_cli_add_file_prints_what_kubo_prints(
    name: str, profile: str, corpus: Corpus, kubo: peers.Kubo
) -> None:
    path = str(corpus.files[name])
    flags = CLI_FLAGS[profile]
    modes: list[list[str]] = [[], ["-q"], ["-Q"]]
    got = [cli_add(*flags, *mode, path) for mode in modes]
    want = [kubo.add(*flags, *mode, path) for mode in modes]
    assert got == want, corpus.tag(f"ipfs-kit add -n {' '.join(flags)} [|-q|-Q] {path}")


def test_cli_add_with_chunker(corpus: Corpus, kubo: peers.Kubo) -> None:
    path = str(corpus.files["small-175"])
    chunker = f"--chunker=size-{corpus.small_chunk}"
    variants = [[chunker], [chunker, "--cid-version=1"], [chunker, "--raw-leaves=false"]]
    got = [cli_add(*flags, path) for flags in variants]
    want = [kubo.add(*flags, path) for flags in variants]
    assert got == want, corpus.tag(f"ipfs-kit add -n {chunker} [...] {path}")


@pytest.mark.parametrize(("profile", "hidden"), DIR_VARIANTS)
@pytest.mark.parametrize("tree", ["nested", "unicode-root"])
def test_cli_add_recursive_prints_what_kubo_prints(
    tree: str,
    profile: str,
    hidden: bool,
    corpus: Corpus,
    kubo: peers.Kubo,
    js_trees: dict[tuple[str, str, bool], dict[str, Any]],
) -> None:
    path = str(corpus.trees[tree])
    flags = kubo_dir_flags(profile, hidden)
    got = [cli_add(*flags, path), cli_add(*flags, "-q", path)]
    want = [kubo.add(*flags, path), kubo.add(*flags, "-q", path)]
    js = js_trees[(tree, profile, hidden)]
    where = corpus.tag(f"ipfs-kit add -n {' '.join(flags)} [|-q] {path}")
    assert got == want, where
    assert sorted(want[0]) == sorted(f"added {e['cid']} {e['path']}" for e in js["entries"])


def imported_blocks(path: Path, profile: ImportProfile) -> tuple[str, list[Block]]:
    blocks: list[Block] = []
    root = import_file(path, profile, blocks.append).cid
    return str(root), blocks


@pytest.mark.parametrize("profile", ["kubo", "kubo-v1"])
def test_car_bytes_identical_to_ipld_car(profile: str, corpus: Corpus, tmp_path: Path) -> None:
    root, blocks = imported_blocks(corpus.files["random-multi-chunk"], FILE_PROFILES[profile])
    extra_root = str(blocks[0].cid)
    roots = [root, extra_root]
    theirs = peer(
        peers.car_write, tmp_path / "ipld.car", roots, [(str(b.cid), b.data) for b in blocks]
    )
    ours = io.BytesIO()
    write_car(ours, [parse_cid(r) for r in roots], blocks)
    assert hashlib.sha256(ours.getvalue()).hexdigest() == hashlib.sha256(theirs).hexdigest(), (
        corpus.tag(f"CAR of random-multi-chunk ({len(blocks)} blocks, {profile})")
    )


def test_car_readers_read_each_other(corpus: Corpus, tmp_path: Path) -> None:
    root, blocks = imported_blocks(corpus.files["chunk-plus-1"], KUBO_CID_V1)
    theirs = tmp_path / "ipld.car"
    peer(peers.car_write, theirs, [root], [(str(b.cid), b.data) for b in blocks])
    with theirs.open("rb") as f:
        reader = CarReader(f)
        read = [(str(b.cid), b.data) for b in reader]
    assert [str(r) for r in reader.roots] == [root], corpus.tag("roots of @ipld/car's CAR")
    assert read == [(str(b.cid), b.data) for b in blocks], corpus.tag("blocks of @ipld/car's CAR")
    ours = tmp_path / "ours.car"
    with ours.open("wb") as f:
        write_car(f, [parse_cid(root)], blocks)
    back = peer(peers.car_read, ours)
    assert back == {"roots": [root], "blocks": [[str(b.cid), True, len(b.data)] for b in blocks]}


def storacha_sizes(rng: random.Random) -> Iterator[int]:
    yield from (0, 1, rng.randint(2, MIB - 1), MIB, MIB + 1, rng.randint(MIB + 2, 5 * MIB))


def test_storacha_encoding_matches_the_client(corpus: Corpus, tmp_path: Path) -> None:
    from ipfs_kit_py.backends.storacha.sharding import SHARD_SIZE, ShardWriter

    rng = random.Random(corpus.seed + 2)
    jobs, paths = [], []
    for i, size in enumerate(storacha_sizes(rng)):
        paths.append(write_file(spec(rng, size), tmp_path / f"storacha-{i}"))
        jobs.append({"path": str(paths[-1])})
    small = {"path": str(corpus.files["random-multi-chunk"]), "chunkSize": 1000, "width": 5}
    small["shardSize"] = 20_000
    jobs.append(small)
    paths.append(corpus.files["random-multi-chunk"])
    results = peer(peers.storacha_encode, jobs)
    mismatches = []
    for job, path, js in zip(jobs, paths, results, strict=True):
        profile = STORACHA
        if "chunkSize" in job:
            profile = ImportProfile(job["chunkSize"], True, 1, job["width"], layout="deferred")
        shard_dir = tmp_path / f"shards-{path.name}"
        shard_dir.mkdir()
        shard_size = job.get("shardSize", SHARD_SIZE)
        # uploadFile() writes a file smaller than the shard size as one CAR of any size
        if path.stat().st_size < shard_size:
            shard_size = sys.maxsize
        writer = ShardWriter(shard_dir, shard_size=shard_size)
        root = import_file(path, profile, writer.add).cid
        shards = [str(s.cid) for s in writer.finish(root)]
        theirs = [s["cid"] for s in js["shards"]]
        if str(root) != js["root"] or shards != theirs:
            first = next(
                (i for i, (a, b) in enumerate(zip(shards, theirs, strict=False)) if a != b), None
            )
            mismatches.append(
                f"{path} ({path.stat().st_size} B, {job}): root ours {root} / client "
                f"{js['root']}; {len(shards)} / {len(theirs)} shards, first differing shard "
                f"#{first}: {shards[first] if first is not None else '-'} / "
                f"{theirs[first] if first is not None else '-'}"
            )
    assert not mismatches, corpus.tag("\n".join(mismatches))


@pytest.mark.parametrize("profile", ["kubo", "kubo-v1"])
def test_cli_add_stdin_and_recursive_file(profile: str, corpus: Corpus, kubo: peers.Kubo) -> None:
    path = corpus.files["random-multi-chunk"]
    flags = CLI_FLAGS[profile]
    data = path.read_bytes()
    got = [cli_add(*flags, "-", stdin=data), cli_add(*flags, "-r", str(path))]
    want = [kubo.add(*flags, stdin=data), kubo.add(*flags, "-r", str(path))]
    assert got == want, corpus.tag(f"ipfs-kit add -n {' '.join(flags)} [- < file | -r file]")


@pytest.fixture(scope="session")
def tree_with_symlinks(corpus: Corpus) -> Path:
    root = corpus.root / "symlinks" / "links"
    write_tree({"target.txt": spec(random.Random(corpus.seed + 3), 1234), "d": {}}, root)
    (root / "to-file").symlink_to("target.txt")
    (root / "to-dir").symlink_to("d")
    (root / "dangling").symlink_to("no-such-target")
    (root / "d" / "up").symlink_to("../target.txt")
    return root


@pytest.mark.parametrize("profile", ["kubo", "kubo-v1"])
def test_cli_add_directory_with_symlinks(
    profile: str, corpus: Corpus, kubo: peers.Kubo, tree_with_symlinks: Path
) -> None:
    flags = kubo_dir_flags(profile, hidden=False)
    got = cli_add(*flags, str(tree_with_symlinks))
    want = kubo.add(*flags, str(tree_with_symlinks))
    assert got == want, corpus.tag(f"ipfs-kit add -n {' '.join(flags)} {tree_with_symlinks}")
