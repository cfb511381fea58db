"""The kubo test fixture fails loudly (ServerStartError), never skips (no daemon started)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.servers.kubo import kubo_binary, start_kubo
from tests.servers.process import ServerStartError


def test_missing_binary_is_a_start_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPFS_KIT_KUBO_BIN", str(tmp_path / "no-ipfs"))
    with pytest.raises(ServerStartError, match=r"run scripts/install/30-kubo\.sh"):
        kubo_binary()


def test_binary_that_fails_is_a_start_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "ipfs"
    fake.write_text("#!/bin/sh\necho 'not kubo' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("IPFS_KIT_KUBO_BIN", str(fake))
    with pytest.raises(ServerStartError, match="ipfs init failed: not kubo"):
        start_kubo(tmp_path / "node")
