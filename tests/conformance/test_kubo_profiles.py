"""Every named import profile (``--profile NAME``) gives the CIDs kubo gives under it.

The peer is kubo v0.43.1's own ``ipfs add -r --only-hash`` in a repo of its own, with the
profile applied by ``ipfs config profile apply NAME`` where kubo still ships it, or with
the ``Import.*`` settings it stood for (``test-cid-v1``, ``test-cid-v1-wide``: kubo
v0.29-v0.39). The corpus separates the profiles: a file of 175 MiB + 1 (deeper under 174
links than under 1024), chunk-boundary sizes, and two directories, one over 256 KiB of
links (a shard except under ``test-cid-v1-wide``) and one over 1 MiB (a shard under every
profile, of fanout 1024 under ``test-cid-v1-wide``). No daemon runs: the CLI opens the
repo itself, so the repo's config is what it applies.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

import pytest

from ipfs_kit_py.cli.main import main as cli_main
from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.content.directory import import_directory
from ipfs_kit_py.content.profiles import PROFILES, named_profile
from tests.random_files import write_random_file
from tests.servers.kubo import kubo_binary

MIB = 1024 * 1024
SEED = int(os.environ.get("IPFS_KIT_TEST_SEED") or random.SystemRandom().randrange(1 << 30))

# Import.* settings of the profiles kubo v0.43.1 no longer ships (from its v0.39 source).
HISTORICAL = {
    "test-cid-v1": {
        "CidVersion": 1,
        "UnixFSRawLeaves": True,
        "UnixFSChunker": "size-1048576",
        "HashFunction": "sha2-256",
        "UnixFSFileMaxLinks": 174,
        "UnixFSDirectoryMaxLinks": 0,
        "UnixFSHAMTDirectoryMaxFanout": 256,
        "UnixFSHAMTDirectorySizeThreshold": "256KiB",
    },
    "test-cid-v1-wide": {
        "CidVersion": 1,
        "UnixFSRawLeaves": True,
        "UnixFSChunker": "size-1048576",
        "HashFunction": "sha2-256",
        "UnixFSFileMaxLinks": 1024,
        "UnixFSDirectoryMaxLinks": 0,
        "UnixFSHAMTDirectoryMaxFanout": 1024,
        "UnixFSHAMTDirectorySizeThreshold": "1MiB",
    },
}
KUBO_NAMES = ["kubo", "unixfs-v0-2015", "legacy-cid-v0", "unixfs-v1-2025", *HISTORICAL]


def _ipfs(repo: Path, *args: str) -> str:
    out = subprocess.run(
        [kubo_binary(), *args],
        capture_output=True,
        check=True,
        timeout=600,
        env={**os.environ, "IPFS_PATH": str(repo)},
    )
    return out.stdout.decode()


def kubo_repo(base: Path, name: str) -> Path:
    """A kubo repo with ``name``'s import settings; ``kubo`` is kubo's defaults."""
    repo = base / f"repo-{name}"
    _ipfs(repo, "init", "--profile=test")
    if name in HISTORICAL:
        for key, value in HISTORICAL[name].items():
            _ipfs(repo, "config", "--json", f"Import.{key}", json.dumps(value))
    elif name != "kubo":
        _ipfs(repo, "config", "profile", "apply", name)
    return repo


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("profiles") / "corpus"
    root.mkdir()
    rng = random.Random(SEED)
    for size in [0, 1, MIB - 1, MIB, MIB + 1, 262144 * 175 + 1, 175 * MIB + 1]:
        write_random_file(root / f"f{size:010d}", size, randbytes=rng.randbytes)
    # 236 bytes of links-estimate per entry: 2000 entries ~ 472 KB, 5000 ~ 1.18 MB.
    for dirname, entries in [("wide", 2000), ("wider", 5000)]:
        (root / dirname).mkdir()
        for i in range(entries):
            (root / dirname / f"{i:05d}-{'n' * 195}").write_bytes(b"%d" % (i % 7))
    return root


def kubo_cids(repo: Path, corpus: Path) -> dict[str, str]:
    out = _ipfs(repo, "add", "-r", "--only-hash", str(corpus))
    return {name: cid for _, cid, name in (line.split(" ", 2) for line in out.splitlines())}


def our_cids(corpus: Path, name: str) -> dict[str, str]:
    profile = named_profile(name)
    ours: dict[str, str] = {}

    def entry(path: str, cid: CID, _size: int) -> None:
        ours[path] = str(cid)

    import_directory(corpus, profile.file, sharding=profile.sharding, on_entry=entry)
    return ours


@pytest.mark.parametrize("name", KUBO_NAMES)
def test_named_profile_matches_kubo(tmp_path: Path, corpus: Path, name: str) -> None:
    expected = kubo_cids(kubo_repo(tmp_path, name), corpus)
    ours = our_cids(corpus, name)
    assert ours == expected, f"seed {SEED}, profile {name}"


def test_the_profiles_differ_where_the_corpus_says(corpus: Path) -> None:
    # Guards the corpus itself: if two profiles agreed on everything, a wrong profile
    # table could still match kubo.
    roots = {name: our_cids(corpus, name)["corpus"] for name in KUBO_NAMES}
    assert roots["kubo"] == roots["unixfs-v0-2015"] == roots["legacy-cid-v0"]
    distinct = {roots[n] for n in ["kubo", "unixfs-v1-2025", "test-cid-v1", "test-cid-v1-wide"]}
    assert len(distinct) == 4


def test_cli_profile_flag_prints_kubos_root(
    tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = kubo_repo(tmp_path, "test-cid-v1-wide")
    expected = kubo_cids(repo, corpus)["corpus"]
    assert cli_main(["add", "-n", "-r", "-Q", "--profile", "test-cid-v1-wide", str(corpus)]) == 0
    assert capsys.readouterr().out.strip() == expected


def test_every_profile_is_checked() -> None:
    assert set(PROFILES) == {*KUBO_NAMES, "storacha"}  # storacha: test_kubo_cids, test_golden
