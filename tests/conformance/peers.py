"""Run the reference implementations that our CIDs and CARs are compared with.

- kubo itself (``scripts/install/30-kubo.sh``): ``ipfs add --only-hash`` in a throwaway
  offline repo; the only peer that prints kubo's exact ``added`` lines.
- ``ipfs_cid`` (Debian ``ipfs-cid``): kubo's default import of one file.
- ``js/import.mjs``: ipfs-unixfs-importer with kubo's profiles (files and directories).
- ``js/storacha.mjs``: @storacha/upload-client's encoder and CAR sharding.
- ``js/storacha_dir.mjs``: the same for a directory, as ``uploadDirectory`` encodes it.
- ``js/car.mjs``: @ipld/car's CarWriter and reader.

A peer that is not installed raises :class:`PeerMissingError`, which tests turn into a
failure naming the install script; a conformance test never skips.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.servers.process import ServerStartError

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


class Kubo:
    """kubo's CLI with its own offline repo under ``repo`` (no daemon: ``add -n`` only)."""

    def __init__(self, repo: Path) -> None:
        from tests.servers.kubo import kubo_binary

        try:
            self.binary = kubo_binary()
        except ServerStartError as exc:
            raise PeerMissingError(str(exc)) from None
        self.env = {**os.environ, "IPFS_PATH": str(repo)}
        if not (repo / "config").exists():
            proc = subprocess.run(
                [self.binary, "init", "--profile=test"], env=self.env, capture_output=True
            )
            if proc.returncode != 0:
                raise PeerFailedError(f"ipfs init failed: {proc.stderr.decode(errors='replace')}")

    def version(self) -> str:
        """kubo's version number."""
        out = subprocess.run([self.binary, "version", "--number"], capture_output=True, text=True)
        return out.stdout.strip()

    def add(self, *args: str, stdin: bytes | None = None) -> list[str]:
        """Run ``ipfs add --only-hash ARGS``; return its output lines."""
        argv = [self.binary, "add", "--only-hash", "--offline", *args]
        proc = subprocess.run(argv, env=self.env, capture_output=True, timeout=600, input=stdin)
        if proc.returncode != 0:
            raise PeerFailedError(
                f"{' '.join(argv)} exited {proc.returncode}:\n"
                f"{proc.stderr.decode(errors='replace')}"
            )
        return proc.stdout.decode().splitlines()


def kubo_flags(chunk_size: int, raw_leaves: bool, cid_version: int) -> list[str]:
    """``ipfs add`` flags for an import profile (kubo cannot set the tree width)."""
    return [
        f"--chunker=size-{chunk_size}",
        f"--raw-leaves={'true' if raw_leaves else 'false'}",
        f"--cid-version={cid_version}",
    ]


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


def storacha_encode_directory(jobs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Encode trees as @storacha/client's uploadDirectory does (files listed as ``storacha
    up DIR`` lists them): ``{"dir", "hidden"?, "shardSize"?}`` -> ``{"root", "files",
    "shards": [{"cid", "size"}], "blocks": [cid, ...], "links": [{"name", "cid"}]}``."""
    return node_script("storacha_dir.mjs", jobs)


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
