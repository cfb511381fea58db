"""Every ```python and ```bash block in README.md and docs/*.md runs as written.

Each block runs in a fresh directory (its own cache, index and config: nothing from the
user's), Python blocks with this interpreter, bash blocks with ``set -euo pipefail`` and
the venv's ``bin`` first on PATH. An HTML comment on the line before a block says what
it needs, which the reader sees in the source too:

    <!-- doc-test: env=s3,storacha; files=a.dat,photos/ -->
    <!-- doc-test: skip (why it cannot run inside the test suite: it is not run) -->

``env`` names servers the suite starts and hands to the block the way a user would, by
environment variables (``s3``: AWS_* / S3_ENDPOINT_URL / IPFS_KIT_S3_BUCKET for SeaweedFS;
``storacha``: STORACHA_* for the local service; ``kubo``: IPFS_API_URL); ``files`` are
made in the block's directory before it runs (a trailing ``/`` makes a directory with two
files in it). The seed's dict face never raises, so a block prints its results and the
test fails on any ``'success': False`` among them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.servers.kubo import KuboNode
from tests.servers.seaweedfs import SeaweedS3
from tests.servers.storacha import StorachaService, StorachaTestCredentials

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN_LANGUAGES = {"python", "bash"}
ENVS = {"s3", "storacha", "kubo"}
_FENCE = re.compile(r"^```(\w*)\s*$")
_DIRECTIVE = re.compile(r"^<!--\s*doc-test:\s*(.*?)\s*-->$")
_CLEARED = ("AWS_", "S3_", "STORACHA_", "IPFS_KIT_", "IPFS_API_URL", "IPFS_PATH")


@dataclass(frozen=True)
class Block:
    """One fenced block and what its doc-test comment asks for."""

    path: Path
    line: int
    language: str
    code: str
    envs: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    skip: str | None = None

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def parse_directive(text: str) -> dict[str, str]:
    """``env=a,b; files=x`` -> {"env": "a,b", "files": "x"}; ``skip (why)`` -> {"skip": why}."""
    if text.startswith("skip"):
        reason = text[4:].strip().strip("()").strip()
        if not reason:
            raise ValueError("a doc-test skip needs a reason: <!-- doc-test: skip (why) -->")
        return {"skip": reason}
    fields = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        key, sep, value = part.partition("=")
        if not sep or key.strip() not in ("env", "files"):
            raise ValueError(f"unknown doc-test field {part!r}")
        fields[key.strip()] = value.strip()
    return fields


def blocks_in(path: Path) -> list[Block]:
    """The fenced blocks of ``path`` in the languages we run, with their directives."""
    lines = path.read_text().splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        start, language = index, match.group(1)
        end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("```"))
        if language in RUN_LANGUAGES:
            previous = next((lines[i] for i in range(start - 1, -1, -1) if lines[i].strip()), "")
            directive = _DIRECTIVE.match(previous.strip())
            fields = parse_directive(directive.group(1)) if directive else {}
            envs = tuple(e for e in fields.get("env", "").split(",") if e)
            assert set(envs) <= ENVS, f"{path}:{start + 1}: unknown env in {envs}"
            found.append(
                Block(
                    path,
                    start + 1,
                    language,
                    "\n".join(lines[start + 1 : end]) + "\n",
                    envs,
                    tuple(f for f in fields.get("files", "").split(",") if f),
                    fields.get("skip"),
                )
            )
        index = end + 1
    return found


ALL_BLOCKS = [block for path in DOCS for block in blocks_in(path)]
RUN_BLOCKS = [block for block in ALL_BLOCKS if not block.skip]


def make_files(where: Path, names: tuple[str, ...]) -> None:
    for name in names:
        target = where / name.rstrip("/")
        if name.endswith("/"):
            target.mkdir(parents=True)
            (target / "a.jpg").write_bytes(os.urandom(3000))
            (target / "b.txt").write_bytes(b"second file\n")
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(os.urandom(300_000) + name.encode())


def s3_env(server: SeaweedS3) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": server.access_key,
        "AWS_SECRET_ACCESS_KEY": server.secret_key,
        "AWS_REGION": server.region,
        "S3_ENDPOINT_URL": server.endpoint_url,
        "IPFS_KIT_S3_BUCKET": server.bucket,
    }


def storacha_env(service: StorachaService, creds: StorachaTestCredentials) -> dict[str, str]:
    return service.client_env(creds)


def block_env(block: Block, request: pytest.FixtureRequest, home: Path) -> dict[str, str]:
    """A user's environment with only what ``block`` asks for: no ambient credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CLEARED)}
    env.update(
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
        IPFS_KIT_CONFIG=str(home / "absent.toml"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    if "s3" in block.envs:
        env.update(s3_env(request.getfixturevalue("seaweedfs")))
    if "storacha" in block.envs:
        service = request.getfixturevalue("storacha_service")
        env.update(storacha_env(service, request.getfixturevalue("storacha_credentials")))
    if "kubo" in block.envs:
        node: KuboNode = request.getfixturevalue("kubo")
        env["IPFS_API_URL"] = node.api_url
    return env


@pytest.mark.parametrize("block", RUN_BLOCKS, ids=[b.id for b in RUN_BLOCKS])
def test_block_runs_as_written(
    block: Block, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    make_files(work, block.files)
    env = block_env(block, request, tmp_path)
    if block.language == "python":
        (work / "block.py").write_text(block.code)
        argv = [sys.executable, "block.py"]
    else:
        (work / "block.sh").write_text("set -euo pipefail\n" + block.code)
        argv = ["bash", "block.sh"]
    done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=300)
    # A dict-face call never raises: a block prints its results, and none may have failed.
    failed = "'success': False" in done.stdout
    assert done.returncode == 0 and not failed, (
        f"{block.id} ({block.language}) exited {done.returncode}\n--- code\n{block.code}"
        f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    )


def test_blocks_are_found_and_the_unrun_ones_are_the_known_two() -> None:
    # Not run, each with its reason in the doc: README's install commands (demo.sh has its
    # own test; test.sh is this suite) and the constraints refresh (it rewrites the repo).
    assert {b.path.name for b in RUN_BLOCKS} >= {"README.md", "kubo.md", "s3.md", "tiers.md"}
    unrun = {b.id.split(":")[0]: b.skip for b in ALL_BLOCKS if b.skip}
    assert set(unrun) == {"README.md", "docs/install.md"}, unrun


def test_directives_are_parsed_strictly() -> None:
    assert parse_directive("env=s3,kubo; files=a.dat,d/") == {"env": "s3,kubo", "files": "a.dat,d/"}
    assert parse_directive("skip (it is the suite itself)") == {"skip": "it is the suite itself"}
    for bad in ["skip", "skip ()", "envs=s3", "files"]:
        with pytest.raises(ValueError):
            parse_directive(bad)
