"""UnixFS directories: a local tree -> the same DAG and CIDs as ``ipfs add -r``.

Entries are read in byte order of their names (Go's ``os.ReadDir``), hidden names
(``.x``) are skipped unless asked for, symlinks become UnixFS Symlink nodes holding the
target (unless dereferenced), files are streamed through :func:`import_file`. A directory
node is dag-pb with UnixFS Directory data and its links sorted by name, each link's
Tsize the child's cumulative DAG size; it becomes a HAMT shard by kubo's rules
(:class:`ShardingPolicy`). The tree is walked with an explicit stack, so depth is not
limited by Python's recursion limit.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ipfs_kit_py.content.cid import DAG_PB, make_cid
from ipfs_kit_py.content.dagpb import PBLink, UnixFSType, encode_node, encode_unixfs
from ipfs_kit_py.content.hamt import KUBO_SHARDING, ShardingPolicy, build_shard, shard_order
from ipfs_kit_py.content.unixfs import (
    KUBO_DEFAULT,
    Block,
    FileImport,
    FileImporter,
    ImportProfile,
    import_file,
)
from ipfs_kit_py.errors import InputPathError

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID

__all__ = ["DirectoryImport", "EntryCallback", "directory_node", "import_directory"]

EntryCallback = Callable[[str, "CID", int], None]
BlockSink = Callable[[Block], None]

_EMPTY_DIR_DATA = encode_unixfs(UnixFSType.DIRECTORY)
_THREADED_IMPORT_SIZE = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class DirectoryImport:
    """The result of importing a directory tree."""

    cid: CID
    size: int  # bytes of file content and symlink targets in the tree
    dag_size: int  # bytes of all blocks: what a parent directory link records as Tsize


@dataclass(slots=True)
class _Dir:
    """A directory being imported: its entries so far, then its result."""

    fs_path: str
    name: str
    rel_path: str
    entries: int
    names: Iterator[str]
    identity: tuple[int, int]
    links: list[PBLink] = field(default_factory=list)
    size: int = 0
    subdirs: dict[str, _Dir] = field(default_factory=dict)
    sharded: bool = False
    result: DirectoryImport | None = None


def import_directory(
    path: str | os.PathLike[str],
    profile: ImportProfile = KUBO_DEFAULT,
    *,
    hidden: bool = False,
    empty_dirs: bool = True,
    dereference_symlinks: bool = False,
    sharding: ShardingPolicy = KUBO_SHARDING,
    on_block: BlockSink | None = None,
    on_entry: EntryCallback | None = None,
    on_node: BlockSink | None = None,
) -> DirectoryImport:
    """Import the directory at ``path`` as ``ipfs add -r`` does; return its root.

    ``hidden`` is ``--hidden``; ``empty_dirs=False`` is ``--empty-dirs=false`` (a
    directory with no visible entries is left out, the root never); ``dereference_symlinks``
    is ``--dereference-symlinks``; ``sharding`` holds the ``Import.UnixFSHAMTDirectory*``
    and ``--max-directory-links`` / ``--max-hamt-fanout`` settings. (kubo's
    ``--only-hash`` ignores the last two for the root directory; a real add applies them.)

    ``on_block`` receives every block, children before parents; ``on_node`` only the
    blocks that are not part of a file's DAG (directories, HAMT shards, symlinks), for a
    store that already holds the files. ``on_entry(path, cid,
    size)`` is called in the order of kubo's ``added <cid> <path>`` lines: every file and
    symlink as it is imported, then the directories, each after its contents, the root
    last; paths start with the root directory's name and use ``/``.

    Raises :class:`InputPathError` if ``path`` is not a directory, an entry cannot be
    read, is not a file, directory or symlink, has a name that is not UTF-8, or (when
    dereferencing) a symlink dangles or loops.
    """
    options = _Options(hidden, empty_dirs, dereference_symlinks, sharding)
    walker = _Walker(profile, options, on_block, on_entry, on_node)
    root = walker.walk(os.fspath(path))
    if on_entry is not None:
        for directory in _post_order(root):
            assert directory.result is not None
            on_entry(directory.rel_path, directory.result.cid, directory.result.size)
    assert root.result is not None
    return root.result


@dataclass(frozen=True, slots=True)
class _Options:
    hidden: bool
    empty_dirs: bool
    dereference: bool
    sharding: ShardingPolicy


class _Walker:
    def __init__(
        self,
        profile: ImportProfile,
        options: _Options,
        on_block: BlockSink | None,
        on_entry: EntryCallback | None,
        on_node: BlockSink | None = None,
    ) -> None:
        self.profile = profile
        self.on_node = on_node
        self.hidden = options.hidden
        self.empty_dirs = options.empty_dirs
        self.dereference = options.dereference
        self.sharding = options.sharding
        self.on_block = on_block
        self.on_entry = on_entry

    def walk(self, path: str) -> _Dir:
        """Import the tree under ``path``; return its root record."""
        info = _lstat(path)
        if stat.S_ISLNK(info.st_mode):
            if not self.dereference:
                raise InputPathError(f"{path} is a symlink; dereference it to import its target")
            info = _stat_target(path)
        if not stat.S_ISDIR(info.st_mode):
            raise InputPathError(f"{path} is not a directory")
        root_name = os.path.basename(os.path.abspath(path))
        root = self._open(path, root_name, root_name, info)
        stack = [root]
        while stack:
            current = stack[-1]
            entry = next(current.names, None)
            if entry is None:
                stack.pop()
                self._finish(current)
                if stack:
                    self._link(stack[-1], current)
                continue
            child = self._entry(current, entry, stack)
            if child is not None:
                stack.append(child)
        return root

    def _open(self, fs_path: str, name: str, rel_path: str, info: os.stat_result) -> _Dir:
        names = sorted(_list(fs_path), key=os.fsencode)
        if not self.hidden:
            names = [n for n in names if not n.startswith(".")]
        identity = (info.st_dev, info.st_ino)
        return _Dir(fs_path, name, rel_path, len(names), iter(names), identity)

    def _entry(self, parent: _Dir, name: str, stack: list[_Dir]) -> _Dir | None:
        """Import one entry of ``parent``; return a new directory to descend into."""
        _check_utf8(name, parent.fs_path)
        fs_path = os.path.join(parent.fs_path, name)
        rel_path = f"{parent.rel_path}/{name}"
        info = _lstat(fs_path)
        if stat.S_ISLNK(info.st_mode):
            if not self.dereference:
                self._symlink(parent, name, fs_path, rel_path)
                return None
            info = _stat_target(fs_path)
        if stat.S_ISDIR(info.st_mode):
            if any(d.identity == (info.st_dev, info.st_ino) for d in stack):
                raise InputPathError(
                    f"symlink loop: {fs_path} leads back to an enclosing directory"
                )
            child = self._open(fs_path, name, rel_path, info)
            return child if child.entries or self.empty_dirs else None
        if not stat.S_ISREG(info.st_mode):
            raise InputPathError(f"{fs_path} is not a regular file, directory or symlink")
        imported = self._file(fs_path, info.st_size)
        self._add(parent, name, imported.cid, imported.dag_size, imported.size, rel_path)
        return None

    def _file(self, fs_path: str, size: int) -> FileImport:
        # Large files go through import_file's threaded hashing; small ones (most
        # entries of most trees) are cheaper read directly, a chunk at a time.
        if size >= _THREADED_IMPORT_SIZE:
            return import_file(fs_path, self.profile, self.on_block)
        importer = FileImporter(self.profile, self.on_block)
        try:
            with open(fs_path, "rb") as f:
                while chunk := f.read(self.profile.chunk_size):
                    importer.update(chunk)
        except OSError as exc:
            raise InputPathError(f"cannot read {fs_path}: {exc.strerror or exc}") from exc
        return importer.finish()

    def _symlink(self, parent: _Dir, name: str, fs_path: str, rel_path: str) -> None:
        try:
            target = os.fsencode(os.readlink(fs_path))
        except OSError as exc:
            raise InputPathError(f"cannot read symlink {fs_path}: {exc.strerror}") from exc
        data = encode_node(encode_unixfs(UnixFSType.SYMLINK, data=target))
        cid = self._emit(data)
        self._add(parent, name, cid, len(data), len(target), rel_path)

    def _add(self, parent: _Dir, name: str, cid: CID, tsize: int, size: int, rel: str) -> None:
        parent.links.append(PBLink(cid, name, tsize))
        parent.size += size
        if self.on_entry is not None:
            self.on_entry(rel, cid, size)

    def _link(self, parent: _Dir, child: _Dir) -> None:
        assert child.result is not None
        parent.links.append(PBLink(child.result.cid, child.name, child.result.dag_size))
        parent.size += child.result.size
        parent.subdirs[child.name] = child

    def _finish(self, directory: _Dir) -> None:
        """Encode ``directory`` as a basic node or a HAMT and record its result."""
        cid, dag_size, sharded = directory_node(
            directory.links, self.profile.cid_version, self.sharding, self._node
        )
        directory.sharded = sharded
        directory.result = DirectoryImport(cid, directory.size, dag_size)
        directory.links = []  # the parent keeps one link; free the rest

    def _emit(self, data: bytes) -> CID:
        cid = make_cid(DAG_PB, hashlib.sha256(data).digest(), self.profile.cid_version)
        self._node(Block(cid, data))
        return cid

    def _node(self, block: Block) -> None:
        if self.on_block is not None:
            self.on_block(block)
        if self.on_node is not None:
            self.on_node(block)


def directory_node(
    links: list[PBLink], cid_version: int, sharding: ShardingPolicy, emit: BlockSink
) -> tuple[CID, int, bool]:
    """The node of a directory with ``links`` (sorted by name): a basic node or a HAMT
    as ``sharding`` decides, each block given to ``emit``. Returns its CID, its
    cumulative DAG size and whether it is sharded."""
    basic: list[bytes] = []

    def basic_node() -> bytes:
        if not basic:
            basic.append(encode_node(_EMPTY_DIR_DATA, links))
        return basic[0]

    if sharding.should_shard(links, lambda: len(basic_node())):
        shard = build_shard(
            [(link.name or "", link) for link in links],
            fanout=sharding.fanout,
            cid_version=cid_version,
            emit=lambda s: emit(Block(s.cid, s.data)),
        )
        return shard.cid, shard.dag_size, True
    data = basic_node()
    cid = make_cid(DAG_PB, hashlib.sha256(data).digest(), cid_version)
    emit(Block(cid, data))
    return cid, len(data) + sum(link.tsize or 0 for link in links), False


def _post_order(root: _Dir) -> Iterator[_Dir]:
    """Directories each after its subdirectories, in the order the parent lists them."""
    stack: list[tuple[_Dir, Iterator[str]]] = [(root, _listing(root))]
    while stack:
        directory, names = stack[-1]
        name = next(names, None)
        if name is None:
            stack.pop()
            yield directory
        else:
            child = directory.subdirs[name]
            stack.append((child, _listing(child)))


def _listing(directory: _Dir) -> Iterator[str]:
    names = list(directory.subdirs)  # already in byte order of names
    return iter(shard_order(names) if directory.sharded else names)


def _list(path: str) -> list[str]:
    try:
        with os.scandir(path) as entries:
            return [entry.name for entry in entries]
    except OSError as exc:
        raise InputPathError(f"cannot list {path}: {exc.strerror or exc}") from exc


def _lstat(path: str) -> os.stat_result:
    try:
        return os.lstat(path)
    except OSError as exc:
        raise InputPathError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:  # a NUL in the name
        raise InputPathError(f"cannot read {path!r}: {exc}") from exc


def _stat_target(path: str) -> os.stat_result:
    try:
        return os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputPathError(f"symlink loop at {path}") from exc
        raise InputPathError(f"cannot follow symlink {path}: {exc.strerror or exc}") from exc


def _check_utf8(name: str, directory: str) -> None:
    try:
        name.encode()
    except UnicodeEncodeError as exc:
        shown = os.fsencode(name)
        raise InputPathError(f"name {shown!r} in {directory} is not valid UTF-8") from exc
