"""Balanced-tree layouts: when leaves are grouped into parents, and so in what order
blocks come out. Both make the same tree (and so the same root CID); the order matters
to whoever shards the blocks into CARs, as the Storacha client does.

- :class:`EagerLayout` (go-unixfs, the JS ``ipfs-unixfs-importer``): a parent is made and
  emitted as soon as a row is full.
- :class:`DeferredLayout` (``@ipld/unixfs``, used by the Storacha client): a row is
  grouped only once it holds *more* than ``width`` items, at the end of each 64 KiB
  input read, and everything left is grouped bottom-up at close. Within one read, blocks
  come out as that library's task queue finishes them: the read's leaves, then the new
  parents whose children were all done before the read, then each parent as soon as
  its last child is out.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

__all__ = ["JS_READ_SIZE", "DeferredLayout", "EagerLayout", "Layout"]

N = TypeVar("N")
JS_READ_SIZE = 65536  # the Storacha client feeds its UnixFS writer 64 KiB reads


class Layout(Protocol[N]):
    """Groups leaves into parents with ``make_parent``; hands parents to ``emit``."""

    def begin_leaf(self, end_offset: int, final: bool) -> None:
        """Called before a leaf ending at ``end_offset`` is made (and emitted)."""
        ...

    def add_leaf(self, leaf: N) -> None: ...

    def finish(self, leaf_count: int) -> N: ...


class _Builder(Generic[N]):
    """What both layouts are given: the row width and how to make and emit a parent."""

    def __init__(
        self, width: int, make_parent: Callable[[list[N]], N], emit: Callable[[N], None]
    ) -> None:
        self.width = width
        self.make_parent = make_parent
        self.emit = emit


class EagerLayout(_Builder[N]):
    """Make (and emit) a parent the moment a row reaches ``width`` children."""

    def __init__(
        self, width: int, make_parent: Callable[[list[N]], N], emit: Callable[[N], None]
    ) -> None:
        super().__init__(width, make_parent, emit)
        self.rows: list[list[N]] = [[]]

    def begin_leaf(self, end_offset: int, final: bool) -> None:
        pass

    def add_leaf(self, leaf: N) -> None:
        self._push(0, leaf)

    def _parent(self, children: list[N]) -> N:
        parent = self.make_parent(children)
        self.emit(parent)
        return parent

    def _push(self, level: int, node: N) -> None:
        if level == len(self.rows):
            self.rows.append([])
        row = self.rows[level]
        row.append(node)
        if len(row) == self.width:
            self.rows[level] = []
            self._push(level + 1, self._parent(row))

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
                self.rows[level + 1].append(self._parent(row))
            level += 1
        raise AssertionError("unreachable: a non-empty tree always has a root")


class _Item(Generic[N]):
    """A tree entry and what @ipld/unixfs's queue knows of it."""

    __slots__ = ("done", "node", "parent", "waiting")

    def __init__(self, node: N) -> None:
        self.node = node
        self.parent: _Item[N] | None = None
        self.waiting = 0  # children not yet done when this parent was made
        self.done = False


class DeferredLayout(_Builder[N]):
    """``@ipld/unixfs``'s balanced layout and its emission order (see module doc)."""

    def __init__(
        self, width: int, make_parent: Callable[[list[N]], N], emit: Callable[[N], None]
    ) -> None:
        super().__init__(width, make_parent, emit)
        self.rows: list[list[_Item[N]]] = [[]]
        self._read: int | None = None  # the input read that completed the last leaf
        self._leaves: list[_Item[N]] = []  # made in the current read (already emitted)
        self._parents: list[_Item[N]] = []  # made at the end of the current read

    def begin_leaf(self, end_offset: int, final: bool) -> None:
        # A partial last chunk is cut at close, in the same step as the close.
        read = -1 if final else (end_offset - 1) // JS_READ_SIZE
        if self._read is not None and read != self._read:
            self._group(close=False)
            self._drain()
        self._read = read

    def add_leaf(self, leaf: N) -> None:
        item = _Item(leaf)
        self.rows[0].append(item)
        self._leaves.append(item)

    def finish(self, leaf_count: int) -> N:
        if leaf_count == 1:
            return self.rows[0][0].node
        self._group(close=False)
        if self._read != -1:  # the last read ended on a chunk boundary: close on its own
            self._drain()
        self._group(close=True)
        top = self.rows[-1]
        root = top[0] if len(top) == 1 else self._parent(top)
        self._drain()
        return root.node

    def _parent(self, children: list[_Item[N]]) -> _Item[N]:
        item = _Item(self.make_parent([c.node for c in children]))
        for child in children:
            child.parent = item
        item.waiting = sum(not c.done for c in children)
        self._parents.append(item)
        return item

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
                self.rows[depth + 1].append(self._parent(row[: self.width]))
            depth += 1

    def _drain(self) -> None:
        """Emit this step's parents in the order the JS task queue finishes them."""
        queue = deque(self._leaves)
        queue.extend(p for p in self._parents if p.waiting == 0)
        leaves = {id(item) for item in self._leaves}
        while queue:
            item = queue.popleft()
            if id(item) not in leaves:
                self.emit(item.node)
            item.done = True
            parent = item.parent
            if parent is not None and parent.waiting > 0:
                parent.waiting -= 1
                if parent.waiting == 0:
                    queue.append(parent)
        self._leaves, self._parents = [], []
