"""An upload SIGKILLed after some shards, run again: only what the service lacks is re-sent,
and the result is the clean upload's (same root, same shards)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from tests.servers.storacha import StorachaService, StorachaTestCredentials

from ipfs_kit_py.backends.storacha.backend import StorachaBackend
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.backends.storacha.upload import Uploader
from ipfs_kit_py.content.unixfs import STORACHA, import_file

SHARD = 1_100_000  # one 1 MiB leaf per shard: several shards from a small file
KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from ipfs_kit_py.backends.storacha.backend import StorachaBackend
    from ipfs_kit_py.backends.storacha.upload import Uploader

    stored, kill_after = [], int(sys.argv[2])
    add_blob = Uploader.add_blob

    def counting(self, digest, size, body):
        add_blob(self, digest, size, body)
        stored.append(size)
        if len(stored) == kill_after:  # the fault: the process dies mid-upload
            os.kill(os.getpid(), signal.SIGKILL)

    Uploader.add_blob = counting
    with StorachaBackend.from_sources() as backend:
        backend.upload_file(sys.argv[1])
    """
)


def _env(service: StorachaService, creds: StorachaTestCredentials) -> dict[str, str]:
    return {
        "STORACHA_KEY": creds.key,
        "STORACHA_PROOF": creds.proof,
        "STORACHA_SPACE": creds.space_did,
        "STORACHA_SERVICE_URL": service.url,
        "STORACHA_SERVICE_DID": service.did,
        "STORACHA_SERVICE_KEY": service.did_key,
        "STORACHA_GATEWAY_URL": service.gateway_url,
        "STORACHA_SHARD_SIZE": str(SHARD),
    }


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
    env = _env(storacha_service, storacha_credentials)
    child = subprocess.run(
        [sys.executable, "-c", KILLER, str(source), str(kill_after)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]

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
