"""LayoutStore: a kept layout loads only for the copy it was made from, every node
verified; any damage to its file gives None (the file deleted), never an exception;
the store keeps within its bounds, least recently used dropped first."""

from __future__ import annotations

import io
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipfs_kit_py.content.unixfs import KUBO_DEFAULT, ImportProfile, import_file
from ipfs_kit_py.gateway.file_layouts import layout_of_stream
from ipfs_kit_py.gateway.layout_store import LayoutStore

SMALL = ImportProfile(chunk_size=1024, raw_leaves=True, cid_version=1, max_links=4)


def a_layout(tmp_path: Path, data: bytes) -> tuple[object, dict[bytes, bytes], os.stat_result]:
    path = tmp_path / "copy"
    path.write_bytes(data)
    cid = import_file(io.BytesIO(data), SMALL).cid
    nodes, _ = layout_of_stream(cid, io.BytesIO(data), SMALL)
    return cid, nodes, path.stat()


def test_a_layout_loads_for_its_copy_only(tmp_path: Path) -> None:
    store = LayoutStore(tmp_path / "layouts")
    cid, nodes, copy = a_layout(tmp_path, os.urandom(20_000))
    store.save(cid, nodes, copy)  # type: ignore[arg-type]
    assert store.load(cid, copy) == (nodes, copy.st_size)  # type: ignore[arg-type]
    os.utime(tmp_path / "copy", ns=(1, 1))
    assert store.load(cid, (tmp_path / "copy").stat()) is None  # type: ignore[arg-type]
    assert not list((tmp_path / "layouts").glob("*.layout"))  # dropped


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    where=st.integers(min_value=0), value=st.integers(min_value=1, max_value=255), cut=st.booleans()
)
def test_any_damage_gives_none_never_an_exception(
    tmp_path: Path, where: int, value: int, cut: bool
) -> None:
    store = LayoutStore(tmp_path / "layouts")
    cid, nodes, copy = a_layout(tmp_path, b"x" * 9000)
    store.save(cid, nodes, copy)  # type: ignore[arg-type]
    (kept,) = (tmp_path / "layouts").glob("*.layout")
    raw = bytearray(kept.read_bytes())
    where %= len(raw)
    if cut:
        raw = raw[:where]
    else:
        raw[where] ^= value
    kept.write_bytes(bytes(raw))
    found = store.load(cid, copy)  # type: ignore[arg-type]
    assert found is None or found == (nodes, copy.st_size)


def test_the_store_keeps_within_its_bounds(tmp_path: Path) -> None:
    store = LayoutStore(tmp_path / "layouts", max_files=2)
    made = []
    for i in range(3):
        sub = tmp_path / str(i)
        sub.mkdir()
        cid, nodes, copy = a_layout(sub, os.urandom(8000 + i))
        store.save(cid, nodes, copy)  # type: ignore[arg-type]
        made.append((cid, copy))
    assert len(list((tmp_path / "layouts").glob("*.layout"))) == 2
    assert store.load(*made[-1]) is not None  # type: ignore[arg-type]


def test_a_one_block_file_keeps_nothing(tmp_path: Path) -> None:
    store = LayoutStore(tmp_path / "layouts")
    data = b"tiny"
    (tmp_path / "c").write_bytes(data)
    cid = import_file(io.BytesIO(data), KUBO_DEFAULT).cid
    store.save(cid, {}, (tmp_path / "c").stat())
    assert not (tmp_path / "layouts").exists()


def test_a_fifo_or_symlink_in_a_layouts_place_is_dropped_not_waited_on(tmp_path: Path) -> None:
    """A FIFO named like a layout hung the server for ever (open waits for a writer,
    SIGTERM could not stop it); a symlink was followed elsewhere (a14b item 2)."""
    store = LayoutStore(tmp_path / "layouts")
    cid, nodes, copy = a_layout(tmp_path, os.urandom(20_000))
    store.save(cid, nodes, copy)  # type: ignore[arg-type]
    (kept,) = (tmp_path / "layouts").glob("*.layout")
    elsewhere = tmp_path / "elsewhere.layout"
    os.replace(kept, elsewhere)  # a valid layout, but not in its place
    kept.symlink_to(elsewhere)
    assert store.load(cid, copy) is None  # type: ignore[arg-type]
    assert not kept.is_symlink() and elsewhere.exists()  # the link dropped, not its target
    os.mkfifo(kept)
    assert store.load(cid, copy) is None  # type: ignore[arg-type]
    assert not kept.exists()
    store.save(cid, nodes, copy)  # type: ignore[arg-type]
    assert store.load(cid, copy) == (nodes, copy.st_size)  # type: ignore[arg-type]
