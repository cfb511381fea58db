"""KuboBackend and KuboClient round trips against a real kubo daemon."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.servers.kubo import KuboNode

from ipfs_kit_py.backends.base import Backend
from ipfs_kit_py.backends.kubo.backend import KuboBackend
from ipfs_kit_py.backends.kubo.multipart import Part
from ipfs_kit_py.backends.kubo.rpc import AddOptions
from ipfs_kit_py.content.car import CarReader
from ipfs_kit_py.content.cid import RAW, cid_key, parse_cid, sha256_cid
from ipfs_kit_py.content.unixfs import KUBO_CID_V1, STORACHA, ImportProfile, import_file
from ipfs_kit_py.errors import (
    BackendUnavailableError,
    ContentMismatchError,
    ContentNotFoundError,
    InputPathError,
)


@pytest.fixture
def backend(kubo: KuboNode) -> KuboBackend:
    with kubo.backend() as b:
        yield b  # type: ignore[misc]


def test_node_info(backend: KuboBackend) -> None:
    assert backend.client.version()["Version"] == "0.43.1"
    assert backend.client.id()["ID"]
    assert int(backend.client.repo_stat()["NumObjects"]) >= 0
    assert isinstance(backend, Backend)


def test_put_get_has_stat_delete(backend: KuboBackend) -> None:
    data = os.urandom(700_000)
    cid = import_file([data]).cid
    assert not backend.has(cid)
    stored = backend.put(cid, [data[:100], data[100:]])
    assert (stored.cid, stored.size) == (cid, len(data))
    assert backend.has(cid)
    assert backend.stat(cid).size == len(data)
    assert b"".join(backend.get(cid)) == data
    backend.delete(cid)
    assert not backend.has(cid)
    backend.delete(cid)  # absent: not an error
    with pytest.raises(ContentNotFoundError):
        backend.stat(cid)


@pytest.mark.parametrize("profile", [KUBO_CID_V1, STORACHA], ids=["kubo-v1", "storacha"])
def test_put_with_v1_profiles(backend: KuboBackend, profile: ImportProfile) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    cid = import_file([data], profile).cid
    backend.put(cid, [data], len(data), profile=profile)
    assert b"".join(backend.cat_verified(cid, profile)) == data
    backend.delete(cid)


def test_put_raw_block(backend: KuboBackend) -> None:
    data = b"a raw block"
    cid = sha256_cid(RAW, data)
    assert backend.put(cid, [data]).size == len(data)
    assert backend.client.block_get(cid) == data
    assert b"".join(backend.get(cid)) == data
    backend.delete(cid)


def test_put_of_wrong_bytes_is_a_mismatch_and_pins_nothing(backend: KuboBackend) -> None:
    cid = import_file([b"the right bytes"]).cid
    wrong = import_file([b"the wrong bytes"]).cid
    with pytest.raises(ContentMismatchError, match="imported by kubo as"):
        backend.put(cid, [b"the wrong bytes"])
    assert not backend.has(wrong)
    assert not backend.has(cid)
    # a pin someone else made on the wrong content survives the failed put
    backend.put(wrong, [b"the wrong bytes"])
    with pytest.raises(ContentMismatchError):
        backend.put(cid, [b"the wrong bytes"])
    assert backend.has(wrong)
    backend.delete(wrong)


def test_cat_verified_and_ranges(backend: KuboBackend) -> None:
    data = os.urandom(1_000_000)
    cid = backend.client.add([Part("f", body=[data])])[-1].cid
    assert b"".join(backend.cat_verified(cid)) == data
    assert b"".join(backend.client.cat(cid, offset=10, length=1000)) == data[10:1010]
    backend.delete(cid)


def test_add_options(backend: KuboBackend, kubo: KuboNode) -> None:
    data = os.urandom(5000)
    options = AddOptions(cid_version=1, raw_leaves=True, chunker="size-1024", only_hash=True)
    entry = backend.client.add([Part("f.bin", body=[data])], options)[-1]
    assert entry.cid.version == 1
    assert entry.cid == import_file([data], ImportProfile(1024, True, 1)).cid
    with pytest.raises(ContentNotFoundError):
        backend.client.block_stat(entry.cid, offline=True)  # only-hash stored nothing
    wrapped = backend.client.add(
        [Part("f.bin", body=[data])], AddOptions(wrap_with_directory=True, pin=False)
    )
    assert [e.name for e in wrapped] == ["f.bin", ""]
    assert kubo.cli_text("ls", str(wrapped[-1].cid)).endswith("f.bin")


def test_add_path_and_get_to_path(backend: KuboBackend, tmp_path: Path) -> None:
    src = tmp_path / "tree"
    (src / "sub" / "empty").mkdir(parents=True)
    (src / "a.bin").write_bytes(os.urandom(300_000))
    (src / "sub" / "ü b.txt").write_text("unicode")
    (src / ".hidden").write_text("skipped")
    root = backend.add_path(src)
    out = backend.get_to_path(root, tmp_path / "out")
    assert (out / "a.bin").read_bytes() == (src / "a.bin").read_bytes()
    assert (out / "sub" / "ü b.txt").read_text() == "unicode"
    assert (out / "sub" / "empty").is_dir()
    assert not (out / ".hidden").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "tree"]
    single = backend.get_to_path(backend.add_path(src / "a.bin"), tmp_path / "single.bin")
    assert single.read_bytes() == (src / "a.bin").read_bytes()
    with pytest.raises(InputPathError, match="refusing to overwrite"):
        backend.get_to_path(root, out)


def test_block_put_get_stat(backend: KuboBackend) -> None:
    data = os.urandom(4096)
    cid = backend.client.block_put(data)
    assert cid == sha256_cid(RAW, data)
    assert backend.client.block_get(cid) == data
    assert backend.client.block_stat(cid) == len(data)


def test_pins(backend: KuboBackend) -> None:
    cid = backend.client.add([Part("p", body=[b"pinned"])], AddOptions(pin=False))[-1].cid
    assert not backend.has(cid)
    backend.client.pin_add(cid)
    assert backend.client.pin_ls(cid) == {str(cid): "recursive"}
    assert str(cid) in backend.client.pin_ls()
    backend.client.pin_rm(cid)
    with pytest.raises(ContentNotFoundError, match="not pinned"):
        backend.client.pin_rm(cid)


def test_dag_export_import_round_trip(kubo_private: KuboNode) -> None:
    # garbage collection in between: on a daemon of its own, not the shared one
    backend = kubo_private.backend()
    data = os.urandom(600_000)
    cid = backend.client.add([Part("d", body=[data])])[-1].cid
    car = b"".join(backend.export_car(cid))
    reader = CarReader(io.BytesIO(car))
    assert [cid_key(r) for r in reader.roots] == [cid_key(cid)]
    assert len(list(reader)) == 4  # 3 leaves + root
    backend.delete(cid)
    kubo_private.cli("repo", "gc")
    with pytest.raises(ContentNotFoundError):
        backend.client.block_stat(cid)
    assert backend.import_car([car[:1000], car[1000:]]) == [cid]
    assert backend.has(cid)
    assert b"".join(backend.cat_verified(cid)) == data


def test_findprovs_needs_an_online_node(backend: KuboBackend) -> None:
    cid = parse_cid("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")
    with pytest.raises(BackendUnavailableError, match="online mode"):
        backend.client.findprovs(cid, num_providers=1)


_RSS_PROBE = """
import resource, sys
from pathlib import Path
from ipfs_kit_py.backends.kubo.backend import KuboBackend, KuboConfig
backend = KuboBackend.from_config(KuboConfig(api_url=sys.argv[1]))
backend.client.version()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
cid = backend.add_path(Path(sys.argv[2]), pin=False)
n = sum(len(c) for c in backend.get(cid))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(after - before, n)
"""


def test_add_and_cat_stream_in_bounded_memory(kubo: KuboNode, tmp_path: Path) -> None:
    size = 96 * 1024 * 1024
    path = tmp_path / "big.bin"
    with path.open("wb") as f:
        for _ in range(size >> 20):
            f.write(os.urandom(1 << 20))
    out = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, kubo.api_url, str(path)],
        capture_output=True,
        check=True,
        text=True,
    ).stdout.split()
    growth_kib, received = int(out[0]), int(out[1])
    assert received == size
    assert growth_kib < 24 * 1024, f"RSS grew {growth_kib} KiB while streaming {size} bytes"
