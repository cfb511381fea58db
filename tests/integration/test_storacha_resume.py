"""An upload SIGKILLed after some shards, run again: only what the service lacks is re-sent,
and the result is the clean upload's (same root, same shards)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from tests.servers.sigkill import kill_after_calls, run_until_killed
from tests.servers.storacha import StorachaService, StorachaTestCredentials

from ipfs_kit_py.backends.storacha.backend import StorachaBackend
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.backends.storacha.upload import Uploader
from ipfs_kit_py.content.unixfs import STORACHA, import_file

SHARD = 1_100_000  # one 1 MiB leaf per shard: several shards from a small file
KILLER = kill_after_calls(  # dies after the kill_after-th blob is stored
    "ipfs_kit_py.backends.storacha.upload",
    "Uploader.add_blob",
    """
    from ipfs_kit_py.backends.storacha.backend import StorachaBackend
    with StorachaBackend.from_sources() as backend:
        backend.upload_file(sys.argv[1])
    """,
)


@pytest.mark.parametrize("kill_after", [1, 3])
def test_a_killed_upload_resumes_sending_only_the_missing_shards(
    storacha_service: StorachaService,
    storacha_credentials: StorachaTestCredentials,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kill_after: int,
) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(5 * 1024 * 1024 + 12345))
    env = storacha_service.client_env(storacha_credentials, STORACHA_SHARD_SIZE=str(SHARD))
    run_until_killed(KILLER, env, str(source), str(kill_after))

    sent: list[int] = []
    put = Uploader._put

    def spy(self: Uploader, address: Any, size: int, body: Any) -> None:
        sent.append(size)  # then the real PUT
        put(self, address, size, body)

    monkeypatch.setattr(Uploader, "_put", spy)
    config = StorachaConfig.from_sources({}, {}, env)
    with StorachaBackend(config) as backend:
        result = backend.upload_file(source)
        assert result.root == import_file(source, STORACHA).cid
        assert len(result.shards) >= 4  # several shards, so the kill points differ
        # every shard stored before the kill is skipped: the service holds it (one more
        # transfer may have finished meanwhile: two are in flight by default)
        shard_puts = [s for s in sent if s > 1_000_000]
        missing = len(result.shards) - kill_after
        assert missing - 1 <= len(shard_puts) <= missing, sent
        assert sum(sent) < sum(s for s in sent if s > 1_000_000) + 64 * 1024  # + the index
        records = backend.find_upload(result.root)
        assert records is not None and records["shards"] == result.shards
        assert b"".join(backend.get(result.root)) == source.read_bytes()
