"""CARs and bytes cross kubo and our code both ways, byte-identically.

Our CARs (content.car) import into kubo (``dag import``); kubo's ``dag export`` CARs
read and verify in our CarReader and re-export to the same bytes; the kubo CLI cats
what we added over RPC, and we cat what the CLI added.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from ipfs_kit_py.backends.kubo.backend import KuboBackend
from ipfs_kit_py.backends.kubo.multipart import Part
from ipfs_kit_py.content.car import CarReader, export_dag, write_car
from ipfs_kit_py.content.cid import cid_key, parse_cid
from ipfs_kit_py.content.directory import import_directory
from ipfs_kit_py.content.unixfs import KUBO_CID_V1, KUBO_DEFAULT, Block, ImportProfile, import_file
from ipfs_kit_py.errors import ContentMismatchError
from tests.servers.kubo import KuboNode

SIZE = 1_500_000  # six 256 KiB leaves


@pytest.fixture
def backend(kubo: KuboNode) -> KuboBackend:
    return KuboBackend.from_config(kubo.config())


def _ours(data: bytes, profile: ImportProfile) -> tuple[Block, list[Block]]:
    """Our import of ``data``: its root block and all blocks, leaves first."""
    blocks: list[Block] = []
    root = import_file([data], profile, on_block=blocks.append).cid
    assert blocks[-1].cid == root
    return blocks[-1], blocks


@pytest.mark.parametrize("profile", [KUBO_DEFAULT, KUBO_CID_V1], ids=["v0", "v1"])
def test_our_car_imports_into_kubo(
    kubo: KuboNode, backend: KuboBackend, profile: ImportProfile
) -> None:
    data = os.urandom(SIZE)
    root, blocks = _ours(data, profile)
    out = io.BytesIO()
    write_car(out, [root.cid], reversed(blocks))  # root first, as kubo writes
    assert backend.import_car([out.getvalue()]) == [root.cid]
    assert backend.has(root.cid)
    assert kubo.cli("cat", str(root.cid)).stdout == data
    backend.delete(root.cid)


def test_kubo_export_verifies_and_reexports_identically(
    kubo: KuboNode, backend: KuboBackend, tmp_path: Path
) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(SIZE))
    cid = parse_cid(kubo.cli_text("add", "-Q", "--cid-version=1", str(path)))
    car = b"".join(backend.export_car(cid))
    assert car == kubo.cli("dag", "export", str(cid)).stdout
    reader = CarReader(io.BytesIO(car))
    blocks = list(reader)  # verified against their CIDs
    assert [cid_key(r) for r in reader.roots] == [cid_key(cid)]
    again = io.BytesIO()
    write_car(again, reader.roots, blocks)
    assert again.getvalue() == car
    by_cid = {bytes(b.cid): b.data for b in blocks}
    walked = io.BytesIO()
    export_dag(walked, cid, lambda c: by_cid[bytes(c)])
    assert walked.getvalue() == car  # our DAG walk is kubo's block order


def test_kubo_directory_export_matches_our_import(
    kubo: KuboNode, backend: KuboBackend, tmp_path: Path
) -> None:
    root = tmp_path / "tree"
    (root / "sub" / "empty").mkdir(parents=True)
    (root / "sub" / "x.bin").write_bytes(os.urandom(400_000))
    (root / "ü.txt").write_text("hi")
    ours: list[Block] = []
    cid = import_directory(root, on_block=ours.append).cid
    assert backend.add_path(root) == cid
    car = b"".join(backend.export_car(cid))
    exported = {bytes(b.cid): b.data for b in CarReader(io.BytesIO(car))}
    assert exported == {bytes(b.cid): b.data for b in ours}


def test_tampered_kubo_car_is_rejected(backend: KuboBackend) -> None:
    cid = backend.client.add([Part("t", body=[b"tamper me " * 100])])[-1].cid
    car = bytearray(b"".join(backend.export_car(cid)))
    car[-5] ^= 0xFF
    with pytest.raises(ContentMismatchError):
        list(CarReader(io.BytesIO(bytes(car))))


def test_cli_cats_what_we_added_and_we_cat_what_the_cli_added(
    kubo: KuboNode, backend: KuboBackend, tmp_path: Path
) -> None:
    ours = os.urandom(SIZE)
    cid = backend.client.add([Part("ours", body=[ours])])[-1].cid
    assert cid == import_file([ours]).cid
    assert kubo.cli("cat", str(cid)).stdout == ours
    theirs = os.urandom(SIZE)
    their_cid = parse_cid(kubo.cli("add", "-Q", input=theirs).stdout.decode().strip())
    assert b"".join(backend.cat_verified(their_cid)) == theirs
    # v0 with raw leaves is not among the guessed profiles: name it.
    raw_v0 = parse_cid(kubo.cli("add", "-Q", "--raw-leaves", input=theirs).stdout.decode().strip())
    profile = ImportProfile(raw_leaves=True, cid_version=0)
    assert b"".join(backend.cat_verified(raw_v0, profile)) == theirs
