"""Balanced-tree layouts: when leaves are grouped into parents, and so in what order
blocks come out. Both make the same tree (and so the same root CID); the order matters
to whoever shards the blocks into CARs, as the Storacha client does.

- :class:`EagerLayout` (go-unixfs, the JS ``ipfs-unixfs-importer``): a parent is made as
  soon as a row is full.
- :class:`DeferredLayout` (``@ipld/unixfs``, used by the Storacha client): a row is
  grouped only once it holds *more* than ``width`` items, at the end of each 64 KiB
  input read, and everything left is grouped bottom-up at close.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

__all__ = ["JS_READ_SIZE", "DeferredLayout", "EagerLayout", "Layout"]

N = TypeVar("N")
JS_READ_SIZE = 65536  # the Storacha client feeds its UnixFS writer 64 KiB reads


class Layout(Protocol[N]):
    """Groups leaves into parents; ``make_parent`` builds (and emits) one parent."""

    def begin_leaf(self, end_offset: int, final: bool) -> None:
        """Called before a leaf ending at ``end_offset`` is made (and emitted)."""
        ...

    def add_leaf(self, leaf: N) -> None: ...

    def finish(self, leaf_count: int) -> N: ...


class EagerLayout(Generic[N]):
    """Make a parent the moment a row reaches ``width`` children."""

    def __init__(self, width: int, make_parent: Callable[[list[N]], N]) -> None:
        self.width = width
        self.make_parent = make_parent
        self.rows: list[list[N]] = [[]]

    def begin_leaf(self, end_offset: int, final: bool) -> None:
        pass

    def add_leaf(self, leaf: N) -> None:
        self._push(0, leaf)

    def _push(self, level: int, node: N) -> None:
        if level == len(self.rows):
            self.rows.append([])
        row = self.rows[level]
        row.append(node)
        if len(row) == self.width:
            self.rows[level] = []
            self._push(level + 1, self.make_parent(row))

    def finish(self, leaf_count: int) -> N:
        if leaf_count == 1:
            return self.rows[0][0]
        level = 0
        while level < len(self.rows):
            row = self.rows[level]
            if len(row) == 1 and not any(self.rows[level + 1 :]):
                return row[0]
            if row:
                self.rows[level] = []
                if level + 1 == len(self.rows):
                    self.rows.append([])
                self.rows[level + 1].append(self.make_parent(row))
            level += 1
        raise AssertionError("unreachable: a non-empty tree always has a root")


class DeferredLayout(Generic[N]):
    """``@ipld/unixfs``'s balanced layout, including when it groups (see module doc)."""

    def __init__(self, width: int, make_parent: Callable[[list[N]], N]) -> None:
        self.width = width
        self.make_parent = make_parent
        self.rows: list[list[N]] = [[]]
        self._read: int | None = None  # the input read that completed the last leaf

    def begin_leaf(self, end_offset: int, final: bool) -> None:
        # Grouping happens at the end of each read, before the next read's leaves.
        # A partial last chunk is cut at close, in a read of its own.
        read = -1 if final else (end_offset - 1) // JS_READ_SIZE
        if self._read is not None and read != self._read:
            self._group(close=False)
        self._read = read

    def add_leaf(self, leaf: N) -> None:
        self.rows[0].append(leaf)

    def _group(self, close: bool) -> None:
        depth = 0
        while depth < len(self.rows):
            higher = depth + 1 < len(self.rows)
            while len(self.rows[depth]) > self.width or (
                self.rows[depth] and close and (depth == 0 or higher)
            ):
                row = self.rows[depth]
                self.rows[depth] = row[self.width :]
                if not higher:
                    self.rows.append([])
                    higher = True
                self.rows[depth + 1].append(self.make_parent(row[: self.width]))
            depth += 1

    def finish(self, leaf_count: int) -> N:
        if leaf_count == 1:
            return self.rows[0][0]
        self._group(close=False)
        self._group(close=True)
        top = self.rows[-1]
        return top[0] if len(top) == 1 else self.make_parent(top)
