"""``whereis`` of an identity CID: no tier needs to hold it, as ``cat`` reads it inline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipfs_kit_py.cli.main import main
from ipfs_kit_py.content.cid import RAW, sha256_cid

IDENTITY_RAW = b"\x01\x55\x00"  # CIDv1, raw, identity multihash


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for kind in ("CACHE", "DATA", "CONFIG"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
    monkeypatch.delenv("IPFS_KIT_CONFIG", raising=False)
    return tmp_path


def identity_cid(data: bytes) -> str:
    from ipfs_kit_py.content.cid import decode_cid_bytes

    return str(decode_cid_bytes(IDENTITY_RAW + bytes([len(data)]) + data))


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=100))
def test_whereis_an_identity_cid_answers_inline(
    home: Path, capsys: pytest.CaptureFixture[str], data: bytes
) -> None:
    cid = identity_cid(data)
    assert main(["whereis", cid]) == 0
    assert capsys.readouterr().out.strip().endswith("no tier is needed")
    assert main(["whereis", "--json", cid]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["success"] and answer["inline"] and answer["backends"] == []


def test_cat_and_whereis_agree_on_an_identity_cid(
    home: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    cid = identity_cid(b"hi\n")
    assert main(["cat", cid]) == 0
    assert capfdbinary.readouterr().out == b"hi\n"
    assert main(["whereis", cid]) == 0


def test_a_sha256_cid_nobody_holds_is_still_not_held(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = str(sha256_cid(RAW, b"never added"))
    assert main(["whereis", cid]) == 1
    assert capsys.readouterr().out.strip() == f"{cid}: not held by any tier"
