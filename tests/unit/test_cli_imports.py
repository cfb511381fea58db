"""Each fast command imports only what it uses (module lists, not timings).

Every case runs ``ipfs-kit`` in a fresh interpreter with no backend configured and
records ``sys.modules`` when the command has finished.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ipfs_kit_py.cli.main import COMMANDS, build_parser

RUN = """
import json, sys
from ipfs_kit_py.cli.main import main
try:
    code = main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
with open(sys.argv[1], "w") as f:
    json.dump({"code": code, "modules": sorted(sys.modules)}, f)
"""

# loaded by no command that talks to no remote tier
REMOTE = [
    "httpx",
    "httpcore",
    "h11",
    "anyio",
    "obstore",
    "boto3",
    "botocore",
    "cryptography",
    "dag_cbor",
    "ipfs_kit_py.backends.kubo",
    "ipfs_kit_py.backends.s3",
    "ipfs_kit_py.backends.storacha",
    "ipfs_kit_py.backends.gateway",
    "ipfs_kit_py.s3_kit",
    "ipfs_kit_py.storacha_kit",
]
OTHER_COMMANDS = ["ipfs_kit_py.cli.s3", "ipfs_kit_py.cli.storacha", "ipfs_kit_py.cli.car"]
FORBIDDEN = {
    "help": [
        *REMOTE,
        "rich",
        "multiformats",
        "sqlite3",
        "ipfs_kit_py.content",
        "ipfs_kit_py.ipfs_kit",
        "ipfs_kit_py.cli.add",
        "ipfs_kit_py.cli.content",
        "ipfs_kit_py.debris",
        *OTHER_COMMANDS,
    ],
    "add -n": [
        *REMOTE,
        "rich",
        "multiformats",
        "sqlite3",
        "ipfs_kit_py.index",
        "ipfs_kit_py.ipfs_kit",
        "ipfs_kit_py.tiers",
        "ipfs_kit_py.cli.content",
        "ipfs_kit_py.debris",
        *OTHER_COMMANDS,
    ],
    # a cached CID is read by its key (no multiformats CID), from the disk tier alone:
    # no facade, no backend wiring, no directory or DAG code, no stdlib it does not use
    "cat": [
        *REMOTE,
        "rich",
        "multiformats",
        "ipfs_kit_py.content.archive",  # CAR packing and DAG checks
        "ipfs_kit_py.replication",  # replicate / verify / repair
        "ipfs_kit_py.cli.add",
        *OTHER_COMMANDS,
        "ipfs_kit_py.ipfs_kit",  # the facade: built only when the cache cannot answer
        "ipfs_kit_py.kit_wiring",
        "ipfs_kit_py.kit_reads",
        "ipfs_kit_py.results",
        "ipfs_kit_py.replication_policy",
        "ipfs_kit_py.upload_ledger",
        "ipfs_kit_py.outfile",
        "ipfs_kit_py.directory_store",
        "ipfs_kit_py.directory_copies",
        "ipfs_kit_py.content.directory",
        "ipfs_kit_py.content.hamt",
        "ipfs_kit_py.content.dag",
        "ipfs_kit_py.content.car",
        "ipfs_kit_py.backends.memory",  # a new process's memory tier is empty
        "mmh3",
        "tomllib",  # no config file
        "uuid",
        "socket",
        "tempfile",
        "random",
        "secrets",
        "concurrent.futures",  # a small file is hashed on the caller's thread
    ],
}


def run_cli(home: Path, *argv: str) -> tuple[int, list[str]]:
    """Run ``ipfs-kit argv`` in a clean interpreter; return its exit code and modules."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
    }
    report = home / "modules.json"
    subprocess.run(
        [sys.executable, "-c", RUN, str(report), *argv],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=60,
    )
    result = json.loads(report.read_text())
    return result["code"], result["modules"]


def loaded(modules: list[str], names: list[str]) -> list[str]:
    """The ``names`` (packages count with their submodules) found in ``modules``."""
    return [n for n in names if any(m == n or m.startswith(n + ".") for m in modules)]


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.bin"
    path.write_bytes(b"a small file\n" * 77)
    return path


def test_help_imports_no_command_module(tmp_path: Path) -> None:
    code, modules = run_cli(tmp_path, "--help")
    assert code == 0 and "ipfs_kit_py.cli.main" in modules
    assert loaded(modules, FORBIDDEN["help"]) == []


def test_add_only_hash_imports_no_index_no_client(tmp_path: Path, small: Path) -> None:
    code, modules = run_cli(tmp_path, "add", "-n", "-Q", str(small))
    assert code == 0 and "ipfs_kit_py.content.unixfs" in modules
    assert loaded(modules, FORBIDDEN["add -n"]) == []


def test_cat_of_a_cached_cid_loads_no_remote_client(tmp_path: Path, small: Path) -> None:
    code, _ = run_cli(tmp_path, "add", str(small))
    assert code == 0
    cid = subprocess.run(
        [sys.executable, "-m", "ipfs_kit_py.cli.main", "add", "-n", "-Q", str(small)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    code, modules = run_cli(tmp_path, "cat", cid)
    assert code == 0 and "ipfs_kit_py.kit_local" in modules and "sqlite3" in modules
    assert "ipfs_kit_py.content.verify" in modules  # read from disk, and verified
    assert loaded(modules, FORBIDDEN["cat"]) == []
    code, modules = run_cli(tmp_path, "cat", "--json", cid)
    assert code == 0 and loaded(modules, FORBIDDEN["cat"]) == []


def test_cat_of_an_uncached_cid_opens_the_whole_kit(tmp_path: Path, small: Path) -> None:
    """The "cat" list's facade entries can fail: a CID the cache lacks goes to the kit."""
    code, modules = run_cli(
        tmp_path, "cat", "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    )
    assert code == 1 and "ipfs_kit_py.ipfs_kit" in modules and "ipfs_kit_py.kit_wiring" in modules


def test_the_forbidden_lists_can_fail(tmp_path: Path) -> None:
    """A command that does use S3 loads its client: the check sees real imports."""
    code, modules = run_cli(tmp_path, "s3", "ls", "--json")
    assert code == 3  # not configured, but the S3 command module and client were loaded
    assert loaded(modules, ["ipfs_kit_py.cli.s3", "ipfs_kit_py.backends.s3"]) != []


def test_verify_loads_replication_that_cat_does_not(tmp_path: Path, small: Path) -> None:
    """The "cat" list's replication entry can fail: the command that uses it loads it."""
    code, modules = run_cli(tmp_path, "add", str(small))
    assert code == 0 and "ipfs_kit_py.replication_policy" in modules
    assert loaded(modules, ["ipfs_kit_py.replication"]) == []
    code, modules = run_cli(tmp_path, "verify", "--all")
    assert code == 0 and "ipfs_kit_py.replication" in modules


def test_command_table_matches_the_modules() -> None:
    """``--help`` lists each command from the table; each module registers exactly those."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    registered = {c.dest: c.help for c in sub._choices_actions}
    assert registered == {name: help_text for name, (_, help_text) in COMMANDS.items()}
