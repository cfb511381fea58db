"""The node id a kit uses in a shared index when none is set: one per cache directory.

A node's disk copies live in its cache directory, so the id travels with it: two kits on
one machine with different cache directories are two nodes (each would otherwise mark
the other's disk copies missing), and two machines with the same host name (cloned VMs,
containers) are never one. The id is made once, ``<host name>-<8 hex digits>``, and kept
in ``<cache_dir>/node-id``; concurrent first uses agree on one (the file is published
with ``link``, which fails if it exists).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ipfs_kit_py.errors import ConfigurationError
from ipfs_kit_py.index import valid_node_id

NODE_ID_FILE = "node-id"
_MAX_BYTES = 256  # a node id is at most 200 characters


def stored_node_id(cache_dir: Path) -> str | None:
    """The id kept in ``cache_dir``, or None when there is none yet."""
    path = cache_dir / NODE_ID_FILE
    try:
        with open(path, "rb") as handle:
            raw = handle.read(_MAX_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigurationError(f"cannot read the node id in {path}: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        text = ""
    if len(raw) > _MAX_BYTES or not text or not valid_node_id(text):
        raise ConfigurationError(
            f"{path} does not hold a node id (printable text up to 200 characters): "
            "fix it, or remove it to make a new one"
        )
    return text


def local_node_id(cache_dir: Path) -> str:
    """The id kept in ``cache_dir``, made and kept there on first use."""
    found = stored_node_id(cache_dir)
    if found is not None:
        return found
    import secrets
    import socket

    host = "".join(c for c in socket.gethostname() if c.isprintable() and not c.isspace())
    made = f"{host[:180] or 'node'}-{secrets.token_hex(4)}"
    path = cache_dir / NODE_ID_FILE
    temp = cache_dir / f".{NODE_ID_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        temp.write_text(made + "\n", encoding="utf-8")
        with contextlib.suppress(FileExistsError):  # the first to publish wins
            os.link(temp, path)
    except OSError as exc:
        raise ConfigurationError(f"cannot keep a node id in {cache_dir}: {exc.strerror}") from exc
    finally:
        temp.unlink(missing_ok=True)
    found = stored_node_id(cache_dir)
    if found is None:  # removed between link and read: a race nobody should run
        raise ConfigurationError(f"the node id in {path} vanished while it was made")
    return found
