"""``forget(cid, from_)`` takes tier names as ``--to`` does (property over name lists).

Aliases resolve (``kubo`` is the ipfs tier), a name that is neither a tier, an alias, a
known backend left unconfigured nor a tier the index records is refused, and only
entries that exist are reported as dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipfs_kit_py.errors import InvalidInputError
from ipfs_kit_py.ipfs_kit import ipfs_kit

KNOWN = ["memory", "disk", "ipfs", "kubo", "s3", "storacha", "gateway"]
UNKNOWN = ["nope", "S3", "Disk", ""]


@pytest.fixture
def kit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ipfs_kit]:
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    for name in ("IPFS_API_URL", "AWS_ACCESS_KEY_ID", "STORACHA_KEY", "IPFS_KIT_GATEWAYS"):
        monkeypatch.delenv(name, raising=False)
    with ipfs_kit(cache_dir=tmp_path / "cache", index_path=tmp_path / "index.sqlite3") as k:
        yield k


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(names=st.lists(st.sampled_from(KNOWN + UNKNOWN), max_size=4), data=st.binary(max_size=64))
def test_forget_resolves_names_and_refuses_unknown_ones(
    kit: ipfs_kit, names: list[str], data: bytes
) -> None:
    cid = kit.add(data + b"!", to=["disk"]).cid
    if any(name in UNKNOWN for name in names):
        with pytest.raises(InvalidInputError, match="no tier named"):
            kit.forget(cid, names)
        assert kit.whereis(cid)[-1:] == ["disk"]  # nothing dropped
        return
    dropped = kit.forget(cid, names)
    assert dropped == (["disk"] if "disk" in names else [])
    assert ("disk" in kit.whereis(cid)) == ("disk" not in names)
    kit.forget(cid)  # start each example from an empty ledger
