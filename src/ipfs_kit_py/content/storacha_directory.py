"""UnixFS directories as the Storacha client builds them (``uploadDirectory``).

@storacha/upload-client is given a list of files, not a tree, so its DAG differs from
``ipfs add -r`` (:mod:`.directory`):

- the files are sorted by their whole path, as JavaScript compares strings (UTF-16 code
  units), and each directory lists its entries in the order they first appear there;
  this order is the order blocks are emitted in (link order inside a node is still
  dag-pb's, by UTF-8 name bytes);
- a directory exists only on the path of some file: empty directories vanish (an empty
  tree is one empty directory);
- a directory becomes a HAMT shard when it has more than 1000 entries (not by size):
  @ipld/unixfs's sharded directory, murmur3-x64-64, fanout 256, the same node format as
  kubo's (:mod:`.hamt`); no mode or mtime anywhere; CIDv1;
- files are encoded with the :data:`~.unixfs.STORACHA` profile.

Here the list of files is a walk of a local tree as ``storacha up DIR`` makes it
(files-from-path, :func:`list_files`): regular files only (symlinks below the root are
skipped), hidden names left out unless ``hidden``, names relative to the deepest
directory that holds every file.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field

from ipfs_kit_py.content.cid import DAG_PB, make_cid
from ipfs_kit_py.content.dagpb import PBLink, UnixFSType, encode_node, encode_unixfs
from ipfs_kit_py.content.directory import DirectoryImport
from ipfs_kit_py.content.hamt import Shard, build_shard
from ipfs_kit_py.content.unixfs import STORACHA, Block, FileImport, FileImporter, ImportProfile
from ipfs_kit_py.errors import InputPathError

__all__ = ["SHARD_THRESHOLD", "import_directory_storacha", "list_files", "upload_order"]

SHARD_THRESHOLD = 1000  # @storacha/upload-client: a HAMT above 1000 entries
HAMT_FANOUT = 256  # @perma/map/unixfs bitWidth 8

BlockSink = Callable[[Block], None]
_DIR_DATA = encode_unixfs(UnixFSType.DIRECTORY)


@dataclass(slots=True)
class _Dir:
    entries: dict[str, _Dir | str] = field(default_factory=dict)  # name -> dir or fs path


def upload_order(names: list[str]) -> list[str]:
    """``names`` sorted as ``defaultFileComparator`` sorts them (JS string order)."""
    return sorted(names, key=lambda n: n.encode("utf-16-be", "surrogatepass"))


def list_files(path: str | os.PathLike[str], *, hidden: bool = False) -> list[tuple[str, str]]:
    """``(name, fs_path)`` of the files under ``path`` as ``storacha up PATH`` lists them
    (files-from-path), in upload order.

    Every regular file; symlinks below ``path`` are skipped (neither file nor directory
    to a typed ``readdir``); names starting with ``.`` are left out unless ``hidden``;
    each name is the path relative to the deepest directory holding all files.

    Raises :class:`InputPathError` if ``path`` is not a directory, an entry cannot be
    read, or a name is not UTF-8.
    """
    root = os.fspath(path)
    try:
        is_dir = stat.S_ISDIR(os.stat(root).st_mode)
    except OSError as exc:
        raise InputPathError(f"cannot read {root}: {exc.strerror or exc}") from exc
    if not is_dir:
        raise InputPathError(f"{root} is not a directory")
    found: dict[str, str] = {}
    stack = [(root, "")]
    while stack:
        fs_dir, rel = stack.pop()
        for entry in _scan(fs_dir):
            name = entry.name
            if not hidden and name.startswith("."):
                continue
            try:
                name.encode()
            except UnicodeEncodeError as exc:
                raise InputPathError(
                    f"name {os.fsencode(name)!r} in {fs_dir} is not valid UTF-8"
                ) from exc
            rel_path = f"{rel}/{name}" if rel else name
            try:
                if entry.is_file(follow_symlinks=False):
                    found[rel_path] = entry.path
                elif entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, rel_path))
            except OSError as exc:
                raise InputPathError(f"cannot read {entry.path}: {exc.strerror}") from exc
    prefix = _common_directory(list(found))
    return [(name[len(prefix) :], found[name]) for name in upload_order(list(found))]


def _common_directory(names: list[str]) -> str:
    """The directory prefix (with its trailing ``/``) that every name shares, or ``""``."""
    common: list[str] | None = None
    for name in names:
        parts = name.split("/")[:-1]
        if common is None:
            common = parts
            continue
        i = 0
        while i < min(len(common), len(parts)) and common[i] == parts[i]:
            i += 1
        common = common[:i]
    return "/".join(common) + "/" if common else ""


def import_directory_storacha(
    path: str | os.PathLike[str],
    profile: ImportProfile = STORACHA,
    *,
    hidden: bool = False,
    on_block: BlockSink | None = None,
) -> DirectoryImport:
    """Import the tree at ``path`` as @storacha/client's ``uploadDirectory`` encodes its
    files; ``on_block`` gets every block in the client's order (before de-duplication).

    Raises :class:`InputPathError` as :func:`list_files` does, or if a file cannot be read.
    """
    root = _Dir()
    for name, fs_path in list_files(path, hidden=hidden):
        parts = name.split("/")
        node = root
        for part in parts[:-1]:
            child = node.entries.setdefault(part, _Dir())
            assert isinstance(child, _Dir)
            node = child
        node.entries[parts[-1]] = fs_path
    return _Encoder(profile, on_block).directory(root)


class _Encoder:
    def __init__(self, profile: ImportProfile, on_block: BlockSink | None) -> None:
        self.profile = profile
        self.on_block = on_block

    def directory(self, node: _Dir) -> DirectoryImport:
        links: list[PBLink] = []
        size = 0
        for name, entry in node.entries.items():
            if isinstance(entry, _Dir):
                result = self.directory(entry)
                cid, tsize, content = result.cid, result.dag_size, result.size
            else:
                imported = self._file(entry)
                cid, tsize, content = imported.cid, imported.dag_size, imported.size
            links.append(PBLink(cid, name, tsize))
            size += content
        if len(links) > SHARD_THRESHOLD:
            shard = build_shard(
                [(link.name or "", link) for link in links],
                fanout=HAMT_FANOUT,
                cid_version=self.profile.cid_version,
                emit=self._emit_shard,
            )
            return DirectoryImport(shard.cid, size, shard.dag_size)
        links.sort(key=lambda link: (link.name or "").encode())
        data = encode_node(_DIR_DATA, links)
        cid = make_cid(DAG_PB, hashlib.sha256(data).digest(), self.profile.cid_version)
        if self.on_block is not None:
            self.on_block(Block(cid, data))
        return DirectoryImport(cid, size, len(data) + sum(link.tsize or 0 for link in links))

    def _file(self, fs_path: str) -> FileImport:
        importer = FileImporter(self.profile, self.on_block)
        try:
            with open(fs_path, "rb") as f:
                while chunk := f.read(self.profile.chunk_size):
                    importer.update(chunk)
        except OSError as exc:
            raise InputPathError(f"cannot read {fs_path}: {exc.strerror or exc}") from exc
        return importer.finish()

    def _emit_shard(self, shard: Shard) -> None:
        if self.on_block is not None:
            self.on_block(Block(shard.cid, shard.data))


def _scan(path: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as entries:
            return list(entries)
    except OSError as exc:
        raise InputPathError(f"cannot list {path}: {exc.strerror or exc}") from exc
