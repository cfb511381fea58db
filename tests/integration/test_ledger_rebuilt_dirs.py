"""``index rebuild`` records kubo pins it cannot tell apart as files; verify must not then
mark a good pinned directory bad (a real kubo; directories pinned behind the kit's back)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.servers.kubo import KuboNode

from ipfs_kit_py.errors import IpfsKitError
from ipfs_kit_py.ipfs_kit import ipfs_kit


def _config(tmp_path: Path, node: KuboNode) -> dict[str, object]:
    return {
        "cache_dir": tmp_path / "cache",
        "index_path": tmp_path / "index.sqlite3",
        "kubo": {"api_url": node.api_url},
    }


def _block_file(node: KuboNode, cid: str) -> Path:
    name = node.cli_text("cid", "format", "-b", "base32upper", "-f", "%M", cid)
    found = list((node.repo / "blocks").glob(f"*/{name}.data"))
    assert len(found) == 1, found
    return found[0]


def test_a_pinned_directory_found_by_rebuild_verifies_good(
    kubo_private: KuboNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.bin").write_bytes(os.urandom(300_000))
    (tree / "sub" / "b.txt").write_bytes(b"hello")
    root = kubo_private.cli_text("add", "-r", "-Q", str(tree))  # pinned, behind the kit
    with ipfs_kit(**_config(tmp_path, kubo_private)) as kit:
        report = kit.rebuild_index()
        assert report.found["ipfs"] >= 2  # our tree and kubo's own empty directory
        for check in kit.verify_all():
            assert check.bad == (), check  # no good pinned copy is called damaged
        assert "ipfs" in kit.verify(root).good


def test_a_damaged_pinned_file_found_by_rebuild_is_still_bad(
    kubo_private: KuboNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    source = tmp_path / "f.bin"
    source.write_bytes(os.urandom(600_000))
    cid = kubo_private.cli_text("add", "-Q", str(source))
    leaf = kubo_private.cli_text("refs", cid).splitlines()[0]
    block = _block_file(kubo_private, leaf)
    data = bytearray(block.read_bytes())
    data[-100] ^= 1  # a flipped bit in the leaf's payload, behind kubo's back
    block.write_bytes(bytes(data))
    with ipfs_kit(**_config(tmp_path, kubo_private)) as kit:
        kit.rebuild_index()
        check = kit.verify(cid)
        assert check.bad == ("ipfs",) and check.good == ()


def test_reading_a_pinned_directory_as_a_file_does_not_mark_it_bad(
    kubo_private: KuboNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.txt").write_bytes(b"a" * 1000)
    root = kubo_private.cli_text("add", "-r", "-Q", str(tree))
    with ipfs_kit(**_config(tmp_path, kubo_private)) as kit:
        kit.rebuild_index()
        with pytest.raises(IpfsKitError):
            kit.cat(root)  # no file: a typed error
        states = {loc.backend: loc.state for loc in kit.index.locations(root, include_bad=True)}
        assert states == {"ipfs": "good"}  # the read did not call the directory damaged
