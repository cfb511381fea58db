"""Run the reference implementations that our CIDs and CARs are compared with.

- ``ipfs_cid`` (Debian ``ipfs-cid``): kubo's default import of one file.
- ``js/import.mjs``: ipfs-unixfs-importer with kubo's profiles (files and directories).
- ``js/storacha.mjs``: @storacha/upload-client's encoder and CAR sharding.
- ``js/car.mjs``: @ipld/car's CarWriter and reader.

A peer that is not installed raises :class:`PeerMissingError`, which tests turn into a
failure naming the install script; a conformance test never skips.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

JS_DIR = Path(__file__).parent / "js"
NODE_INSTALL = "scripts/install/45-conformance-node.sh"
DEBIAN_INSTALL = "scripts/install/10-debian.sh"


class PeerMissingError(RuntimeError):
    """A reference implementation is not installed."""


class PeerFailedError(RuntimeError):
    """A reference implementation ran but failed."""


def _run(argv: Sequence[str], stdin: bytes = b"", timeout: float = 600) -> bytes:
    proc = subprocess.run(list(argv), input=stdin, capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        raise PeerFailedError(
            f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr.decode(errors='replace')}"
        )
    return proc.stdout


def ipfs_cid(path: Path) -> str:
    """Kubo's default-profile CIDv0 of the file at ``path``, from Debian's ``ipfs_cid``."""
    exe = shutil.which("ipfs_cid")
    if exe is None:
        raise PeerMissingError(f"ipfs_cid not found: install Debian ipfs-cid ({DEBIAN_INSTALL})")
    out = json.loads(_run([exe, str(path)]))
    return str(out["CIDv0"])


def node_script(name: str, jobs: Sequence[Any], timeout: float = 600) -> list[dict[str, Any]]:
    """Run ``js/<name>`` on a JSON list of jobs; return its JSON list of results."""
    node = shutil.which("node")
    if node is None:
        raise PeerMissingError(f"node not found: run {NODE_INSTALL}")
    if not (JS_DIR / "node_modules" / "ipfs-unixfs-importer").is_dir():
        raise PeerMissingError(f"{JS_DIR}/node_modules is missing: run {NODE_INSTALL}")
    out = _run([node, str(JS_DIR / name)], json.dumps(list(jobs)).encode(), timeout)
    results: list[dict[str, Any]] = json.loads(out)
    return results


def js_import(jobs: Sequence[dict[str, Any]], timeout: float = 600) -> list[dict[str, Any]]:
    """Import files or directories with ipfs-unixfs-importer.

    Each job: ``{"path", "profile", "hidden"?}`` with a profile name (``kubo``,
    ``kubo-v1``) or ``{"chunkSize", "rawLeaves", "cidVersion", "maxChildrenPerNode"}``.
    Each result: ``{"path", "cid", "tsize", "entries": [{"cid", "path"}]}``.
    """
    return node_script("import.mjs", jobs, timeout)


def storacha_encode(jobs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Encode files as @storacha/client does: ``{"path", "shardSize"?, "chunkSize"?,
    "width"?}`` -> ``{"root", "shards": [{"cid", "size"}], "blocks": [cid, ...]}``."""
    return node_script("storacha.mjs", jobs)


def car_write(out: Path, roots: Sequence[str], blocks: Sequence[tuple[str, bytes]]) -> bytes:
    """Write a CAR with @ipld/car's CarWriter; return its bytes."""
    job = {
        "op": "write",
        "out": str(out),
        "roots": list(roots),
        "blocks": [[cid, base64.b64encode(data).decode()] for cid, data in blocks],
    }
    node_script("car.mjs", [job])
    return out.read_bytes()


def car_read(path: Path) -> dict[str, Any]:
    """Read a CAR with @ipld/car: ``{"roots": [cid], "blocks": [[cid, hash_ok, length]]}``."""
    return node_script("car.mjs", [{"op": "read", "path": str(path)}])[0]


def profile_job(profile: Any) -> dict[str, Any] | str:
    """The JS importer's profile for one of our ``ImportProfile`` values."""
    return {
        "chunkSize": profile.chunk_size,
        "rawLeaves": profile.raw_leaves,
        "cidVersion": profile.cid_version,
        "maxChildrenPerNode": profile.max_links,
    }
