"""Kit nodes as separate processes: each with its own config file, cache and XDG dirs,
driven through the ``ipfs-kit`` CLI or a small add script (the fleet and peer tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ADD_SCRIPT = """
import json, sys
from ipfs_kit_py.ipfs_kit import ipfs_kit
to, first, count = sys.argv[1].split(","), int(sys.argv[2]), int(sys.argv[3])
with ipfs_kit() as kit:
    out = {}
    for n in range(first, first + count):
        data = f"fleet object {n} ".encode() * (n % 7 + 1)
        out[str(kit.add(data, to=to).cid)] = data.hex()
print(json.dumps(out))
"""


def node_env(root: Path, name: str, url: str, extra_config: str = "") -> dict[str, str]:
    """The environment of node ``name`` under ``root``: a config file naming the shared
    index ``url`` (PostgreSQL, or a SQLite file's path) and the node, its own cache and
    XDG dirs, plus ``extra_config``."""
    home = root / name
    home.mkdir()
    config = home / "ipfs-kit.toml"
    key = "url" if url.startswith("postgresql://") else "index_path"
    config.write_text(
        f'[index]\n{key} = "{url}"\nnode_id = "{name}"\n'
        f'[cache]\ncache_dir = "{home / "cache"}"\n' + extra_config
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IPFS_KIT_", "XDG_"))}
    for kind in ("CACHE", "DATA", "CONFIG", "STATE"):
        env[f"XDG_{kind}_HOME"] = str(home / kind.lower())
    env["IPFS_KIT_CONFIG"] = str(config)
    return env


def kit_cli(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """``ipfs-kit ARGS`` started in a node's environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "ipfs_kit_py.cli.main", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 600) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``proc`` once it ends."""
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def run_script(env: dict[str, str], script: str, *args: str) -> str:
    """Run Python ``script`` with ``args`` as a node's process; what it printed."""
    proc = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def add_objects(env: dict[str, str], to: str, first: int, count: int) -> dict[str, bytes]:
    """Add ``count`` small objects (numbered from ``first``) to tiers ``to`` (comma
    separated) in a node's process; their CIDs and bytes."""
    printed = run_script(env, ADD_SCRIPT, to, str(first), str(count))
    return {cid: bytes.fromhex(h) for cid, h in json.loads(printed).items()}
