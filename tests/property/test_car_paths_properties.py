"""Odd paths and failing streams through the content API: only ``ipfs_kit_py.errors`` escape.

``import_file``, ``import_directory``, ``pack_car``, ``verify_car`` and ``extract_car``
are public entry points: whatever the
source, the target or the stream (missing, a FIFO, a device, a directory where a file
belongs, a NUL in the name, ``/proc``, a read that fails halfway), each either works or
raises an ``IpfsKitError``, and nothing is left behind at the target.
"""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipfs_kit_py.content.archive import pack_car, verify_car
from ipfs_kit_py.content.directory import import_directory
from ipfs_kit_py.content.extract import extract_car
from ipfs_kit_py.content.unixfs import import_file
from ipfs_kit_py.errors import InputPathError, IpfsKitError

SOURCES = [
    "file",
    "empty",
    "dir",
    "emptydir",
    "missing",
    "fifo",
    "device",
    "nul",
    "loop",
    "dangling",
    "dir-with-fifo",
]
TARGETS = ["new", "existing-file", "existing-dir", "missing-parent", "proc", "nul", "file-parent"]
pytestmark = pytest.mark.timeout(120)  # a FIFO that blocks fails the test, not the run
FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def make_source(root: Path, kind: str) -> str:
    """A source path of ``kind`` under ``root``."""
    path = root / f"src-{kind}"
    if kind == "file":
        path.write_bytes(b"hello odd paths" * 1000)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind in ("dir", "dir-with-fifo"):
        (path / "sub").mkdir(parents=True)
        (path / "sub" / "a").write_bytes(b"a")
        if kind == "dir-with-fifo":
            os.mkfifo(path / "pipe")
    elif kind == "emptydir":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        return "/dev/zero"
    elif kind == "nul":
        return str(root / "a\0b")
    elif kind == "loop":
        path.symlink_to(path)
    elif kind == "dangling":
        path.symlink_to(root / "nowhere")
    return str(path)


def make_target(root: Path, kind: str, name: str) -> str:
    """A target path of ``kind`` under ``root`` (``name`` keeps examples apart)."""
    path = root / f"out-{name}"
    if kind == "existing-file":
        path.write_bytes(b"old")
    elif kind == "existing-dir":
        path.mkdir()
    elif kind == "missing-parent":
        return str(root / "no-such-dir" / name)
    elif kind == "proc":
        return f"/proc/ipfs-kit-{name}"
    elif kind == "nul":
        return str(root / f"o\0{name}")
    elif kind == "file-parent":
        (root / f"plain-{name}").write_bytes(b"")
        return str(root / f"plain-{name}" / "x.car")
    return str(path)


def leftovers(root: Path) -> list[Path]:
    """Temporary files a failed call might leave: ``.out-*`` CAR temps, extract staging."""
    return [p for p in root.rglob(".*") if ".out-" in p.name or "ipfs-kit" in p.name]


@FAST
@given(source=st.sampled_from(SOURCES), target=st.sampled_from(TARGETS))
def test_pack_car_answers_every_odd_path(tmp_path: Path, source: str, target: str) -> None:
    root = tmp_path / os.urandom(4).hex()
    root.mkdir()
    src = make_source(root, source)
    out = make_target(root, target, "car")
    before = Path(out).read_bytes() if target == "existing-file" else None
    try:
        summary = pack_car(src, out)
    except IpfsKitError:
        if before is not None:
            assert Path(out).read_bytes() == before  # a failed pack replaces nothing
    else:
        assert source in ("file", "empty", "dir", "emptydir")
        with open(out, "rb") as f:
            assert verify_car(f).roots == summary.roots
    assert not leftovers(root)


@pytest.mark.parametrize("source", ["fifo", "device", "dir-with-fifo", "loop", "nul"])
def test_pack_car_refuses_what_would_never_end(tmp_path: Path, source: str) -> None:
    with pytest.raises(InputPathError):
        pack_car(make_source(tmp_path, source), tmp_path / "x.car")
    assert not (tmp_path / "x.car").exists()


@FAST
@given(source=st.sampled_from(SOURCES))
def test_importing_an_odd_path_is_typed(tmp_path: Path, source: str) -> None:
    root = tmp_path / os.urandom(4).hex()
    root.mkdir()
    path = make_source(root, source)
    for entry in (import_file, import_directory):
        try:
            entry(path)
        except IpfsKitError:
            continue
        assert source in ("file", "empty") if entry is import_file else "dir" in source


@pytest.mark.parametrize("target", ["missing-parent", "proc", "existing-dir", "file-parent"])
def test_pack_car_refuses_a_target_it_cannot_write(tmp_path: Path, target: str) -> None:
    src = make_source(tmp_path, "file")
    with pytest.raises(InputPathError):
        pack_car(src, make_target(tmp_path, target, "car"))
    assert not leftovers(tmp_path)


class FailingStream(io.RawIOBase):
    """A readable stream over ``data`` whose reads fail with ``code`` after ``at`` bytes."""

    def __init__(self, data: bytes, at: int, code: int) -> None:
        self._data, self._at, self._code, self._pos = data, at, code, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._pos >= self._at:
            raise OSError(self._code, os.strerror(self._code))
        n = min(len(buffer), self._at - self._pos, len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


@FAST
@given(
    at=st.integers(0, 4000),
    code=st.sampled_from([errno.EIO, errno.ENOSPC, errno.EACCES]),
    target=st.sampled_from(TARGETS),
)
def test_car_reads_that_fail_halfway_are_typed(
    tmp_path: Path, at: int, code: int, target: str
) -> None:
    root = tmp_path / os.urandom(4).hex()
    root.mkdir()
    car = root / "good.car"
    pack_car(make_source(root, "dir"), car)
    data = car.read_bytes()
    with pytest.raises(IpfsKitError):  # the stream always fails before its end
        verify_car(io.BufferedReader(FailingStream(data, min(at, len(data) - 1), code)))
    out = make_target(root, target, "x")
    existed = os.path.lexists(out) if "\0" not in out else False
    with pytest.raises(IpfsKitError):
        extract_car(io.BufferedReader(FailingStream(data, min(at, len(data) - 1), code)), out)
    assert existed == (os.path.lexists(out) if "\0" not in out else False)
    assert not leftovers(root)
