"""Directory trees as data for tests: ``{name: bytes | ("link", target) | Tree}``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

Tree = dict[str, Any]  # name -> bytes (file), ("link", target) or a Tree


def write_tree(path: Path, tree: Tree) -> None:
    """Create ``path`` holding ``tree``: files, symlinks and sub-directories."""
    path.mkdir()
    for name, value in tree.items():
        if isinstance(value, dict):
            write_tree(path / name, value)
        elif isinstance(value, tuple):
            os.symlink(value[1], path / name)
        else:
            (path / name).write_bytes(value)
