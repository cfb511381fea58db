"""A killed upload leaves no shard dir behind: SIGTERM cleans up, SIGKILL's is swept next time.

The upload runs in a child process against the real local service, stalled inside its
content source so it is killed mid-upload, with its own TMPDIR to look into.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from tests.servers.storacha import StorachaService, StorachaTestCredentials, config_for

from ipfs_kit_py.backends.storacha.backend import StorachaBackend
from ipfs_kit_py.backends.storacha.debris import sweep_stale

ROOT = Path(__file__).resolve().parents[2]
STALLED_UPLOAD = """
import json, os, sys, time
from ipfs_kit_py.backends.storacha.backend import StorachaBackend
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.config import Secret

fields = json.loads(os.environ["UPLOAD_CONFIG"])
fields["key"], fields["proof"] = Secret(fields["key"]), Secret(fields["proof"])

def stalled():
    yield os.urandom(3_000_000)
    print("STARTED", flush=True)
    time.sleep(600)
    yield b""

with StorachaBackend(StorachaConfig(**fields)) as backend:
    backend.upload_file(stalled())
"""


def start_stalled_upload(config: Any, tmpdir: Path) -> subprocess.Popen[str]:
    fields = {
        "key": config.key.value,
        "proof": config.proof.value,
        "service_url": config.service_url,
        "service_did": config.service_did,
        "gateway_url": config.gateway_url,
        "shard_size": 2_200_000,  # shards are closed and stored while the source stalls
    }
    child = subprocess.Popen(
        [sys.executable, "-c", STALLED_UPLOAD],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(tmpdir), "UPLOAD_CONFIG": json.dumps(fields)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    if line.strip() != "STARTED":
        child.kill()
        raise AssertionError(f"the upload did not start: {line!r} {child.communicate()[1]}")
    return child


def shard_dirs(tmpdir: Path) -> list[Path]:
    return sorted(tmpdir.glob("storacha-shards-*"))


@pytest.fixture
def config(storacha_service: StorachaService, storacha_credentials: StorachaTestCredentials) -> Any:
    return config_for(storacha_service, storacha_credentials)


def test_sigterm_mid_upload_removes_the_shard_dir(config: Any, tmp_path: Path) -> None:
    child = start_stalled_upload(config, tmp_path)
    (mine,) = shard_dirs(tmp_path)
    assert mine.name.startswith(f"storacha-shards-{child.pid}-")
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert child.returncode != 0 and "KeyboardInterrupt" in err
    assert shard_dirs(tmp_path) == []


def test_sigkill_debris_is_swept_by_the_next_upload(
    config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    child = start_stalled_upload(config, tmp_path)
    child.kill()
    child.communicate(timeout=60)
    (left,) = shard_dirs(tmp_path)
    assert any(left.iterdir())  # shard files were written before the kill
    live = tmp_path / f"storacha-shards-{os.getpid()}-busy"
    live.mkdir()  # an upload of a process still running is left alone
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with StorachaBackend(config) as backend:
        backend.upload_file([b"the next upload sweeps what the killed one left"])
    assert shard_dirs(tmp_path) == [live]


def test_sweep_leaves_other_users_names_and_fresh_unnamed_dirs(tmp_path: Path) -> None:
    old_style = tmp_path / "storacha-shards-abcdef"  # before dirs carried a pid
    old_style.mkdir()
    (tmp_path / "storacha-shards-99999999-x").write_text("a file, not a dir")
    assert sweep_stale(tmp_path) == 0
    assert sweep_stale(tmp_path, now=os.stat(old_style).st_mtime + 2 * 24 * 3600) == 1
    assert not old_style.exists()
