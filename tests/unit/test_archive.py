from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ipfs_kit_py.cli.main import main
from ipfs_kit_py.content.archive import pack_car, verify_car
from ipfs_kit_py.content.car import CarReader, write_car
from ipfs_kit_py.content.unixfs import KUBO_CID_V1
from ipfs_kit_py.errors import ContentMismatchError, ContentNotFoundError, InputPathError


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "dt"
    (root / "sub" / "empty").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"a\n")
    (root / "sub" / "b").write_bytes(b"b\n" * 200_000)
    return root


def test_pack_then_verify(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.car"
    summary = pack_car(tree, out, KUBO_CID_V1)
    with out.open("rb") as f:
        checked = verify_car(f)
    assert checked.roots == summary.roots
    assert checked.blocks == summary.blocks > 3
    with out.open("rb") as f:
        first = next(iter(CarReader(f)))
    assert first.cid == summary.roots[0]  # root first, as kubo's dag export


def test_verify_names_a_missing_block(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.car"
    pack_car(tree, out)
    with out.open("rb") as f:
        reader = CarReader(f)
        blocks = list(reader)
    holey = io.BytesIO()
    write_car(holey, reader.roots, blocks[:-1])
    holey.seek(0)
    with pytest.raises(ContentNotFoundError, match=str(blocks[-1].cid)):
        verify_car(holey)


def test_verify_refuses_a_corrupt_block(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.car"
    pack_car(tree, out)
    data = bytearray(out.read_bytes())
    data[-1] ^= 0xFF
    with pytest.raises(ContentMismatchError):
        verify_car(io.BytesIO(bytes(data)))


def test_pack_of_a_missing_path_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "t.car"
    with pytest.raises(InputPathError):
        pack_car(tmp_path / "nope", out)
    assert list(tmp_path.iterdir()) == []


def test_cli_round_trip(tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    car, restored = tmp_path / "t.car", tmp_path / "restored"
    assert main(["car", "pack", str(tree), "-o", str(car), "--json"]) == 0
    root = json.loads(capsys.readouterr().out)["root"]
    assert root.startswith("Qm")
    assert main(["car", "verify", str(car)]) == 0
    assert main(["car", "extract", str(car), "-o", str(restored)]) == 0
    assert (restored / "sub" / "b").read_bytes() == (tree / "sub" / "b").read_bytes()
    assert (restored / "sub" / "empty").is_dir()
    capsys.readouterr()
    assert main(["car", "verify", str(tmp_path / "missing.car")]) == 2
    assert "no such CAR file" in capsys.readouterr().err
