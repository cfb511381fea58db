"""Session fixtures: each real server lives in its own module under tests/servers/.

The suite never touches the user's own config, index or caches: every XDG base directory
points into one temporary directory for the whole session (a test that needs another sets
its own), so a kit built with defaults, here or in a child process, writes only there.
"""

import os
import shutil
import tempfile

import pytest

pytest_plugins: list[str] = [
    "tests.servers.kubo",
    "tests.servers.storacha",
    "tests.servers.seaweedfs",
    "tests.servers.postgres",
]

_XDG_KINDS = ("CONFIG", "DATA", "STATE", "CACHE")
_home_key = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    home = tempfile.mkdtemp(prefix="ipfs-kit-tests-")
    config.stash[_home_key] = home
    for kind in _XDG_KINDS:
        path = os.path.join(home, kind.lower())
        os.makedirs(path, exist_ok=True)
        os.environ[f"XDG_{kind}_HOME"] = path


def pytest_unconfigure(config: pytest.Config) -> None:
    home = config.stash.get(_home_key, None)
    if home:
        shutil.rmtree(home, ignore_errors=True)
