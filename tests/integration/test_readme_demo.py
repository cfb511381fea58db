"""The README's first command (scripts/demo.sh) runs the main job on the embedded default."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_adds_reads_back_and_locates(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "IPFS_KIT_CONFIG": str(tmp_path / "absent.toml"),
    }
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "IPFS_API_URL", "STORACHA_KEY"):
        env.pop(name, None)
    run = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    cid = re.search(r"^(Qm\w{44})$", out, re.MULTILINE)
    assert cid, out
    assert f"added {cid.group(1)} hello-ipfs-kit.txt" in out  # --only-hash agrees
    assert "Hello from ipfs_kit_py at " in out  # read back, verified
    assert re.search(r"^disk$", out, re.MULTILINE), out  # where it lives
    assert list((tmp_path / "data").rglob("*.sqlite3")), "the index lives under XDG_DATA_HOME"
