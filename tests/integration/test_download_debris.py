"""A process SIGKILLed right after an S3 download into the disk tier's temp dir completed,
before the file is moved into place (the window the fleet test's killed worker hit now
and then): the next process on that node sweeps the file; nothing is left in ``tmp/``.
Real SeaweedFS, a real process killed by a real SIGKILL."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.servers.nodes import finish, kit_cli, node_env
from tests.servers.seaweedfs import SeaweedS3

# the kit reads CID from S3; its subscriber kills the process when the download is done
KILLED_AFTER_DOWNLOAD = """
import os, signal, sys
from ipfs_kit_py.ipfs_kit import ipfs_kit
from ipfs_kit_py.progress import BaseSubscriber

class Kill(BaseSubscriber):
    def on_done(self, key, error, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

with ipfs_kit() as kit:
    kit.tiers.subscribers.append(Kill())
    kit.tiers.get_bytes(sys.argv[1])
"""


def test_a_download_killed_before_it_is_in_place_is_swept(
    seaweedfs: SeaweedS3, tmp_path: Path
) -> None:
    s3 = (
        f'[s3]\nendpoint_url = "{seaweedfs.endpoint_url}"\n'
        f'access_key_id = "{seaweedfs.access_key}"\n'
        f'secret_access_key = "{seaweedfs.secret_key}"\nregion = "{seaweedfs.region}"\n'
        f'bucket = "{seaweedfs.bucket}"\nkey_prefix = "debris-{tmp_path.name}/"\n'
    )
    index = str(tmp_path / "index.sqlite3")
    seed, node = (node_env(tmp_path, n, index, s3) for n in ("seed", "node"))
    (tmp_path / "object").write_bytes(b"downloaded, then killed " * 4096)
    code, out, err = finish(kit_cli(seed, "add", "--to", "s3", "-Q", str(tmp_path / "object")))
    assert code == 0, err
    cid = out.strip()

    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_DOWNLOAD, cid],
        env=node,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    tmp_dirs = list((tmp_path / "node" / "cache").rglob("tmp"))
    assert [p for d in tmp_dirs for p in d.iterdir()], "the kill left no download to sweep"

    code, out, err = finish(kit_cli(node, "cat", cid))  # the next process on the node
    assert code == 0, err
    left = [p for d in tmp_dirs for p in d.iterdir()]
    assert not left, f"temp files left behind: {left}"
