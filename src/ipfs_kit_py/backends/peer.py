"""The ``peer`` tier: another node's copies, read through the gateway that node serves.

A node running ``ipfs-kit serve`` advertises its URL in the shared index
(:meth:`~ipfs_kit_py.index.MetadataIndex.advertise`). For a CID whose good copies this
node cannot read itself (another node's memory or disk), the peer tier asks the nodes
holding one, in turn, through a :class:`~ipfs_kit_py.backends.gateway.GatewayBackend`:
trustless answers only (``?format=car``, ``?format=raw``), every block verified against
its CID before a byte is used. A node never opens another node's disk; a peer that
lies is refused (:class:`ContentMismatchError`), one that is down fails in seconds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

from ipfs_kit_py.advertise import peer_routes
from ipfs_kit_py.backends.base import BaseBackend, StoredObject
from ipfs_kit_py.backends.gateway import GatewayBackend
from ipfs_kit_py.content.cid import cid_key
from ipfs_kit_py.errors import (
    BackendError,
    BackendUnavailableError,
    ContentMismatchError,
    ContentNotFoundError,
    IpfsKitError,
)
from ipfs_kit_py.net import Timeouts

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID
    from ipfs_kit_py.content.unixfs import ImportProfile
    from ipfs_kit_py.index import MetadataIndex

__all__ = ["PEER_TIMEOUTS", "PeerBackend"]

T = TypeVar("T")
_PEER_FAULTS = (BackendError, ContentNotFoundError, ContentMismatchError)

# a peer is a machine of the same team: it answers at once or is down
PEER_TIMEOUTS = Timeouts(connect_timeout=2.0, idle_timeout=5.0, deadline=10.0, retries=1)


class PeerBackend(BaseBackend):
    """Read-only: the copies other nodes hold, through the gateways they advertise."""

    name = "peer"
    verifies_reads = True  # a GatewayBackend checks every block before it is yielded
    read_only = True

    def __init__(
        self, index: Callable[[], MetadataIndex], *, timeouts: Timeouts | None = None
    ) -> None:
        """``index``: the (lazily opened) shared index that says who holds what, where."""
        self._index = index
        self.timeouts = timeouts or PEER_TIMEOUTS
        self._gateways: dict[str, GatewayBackend] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PeerBackend(peers={sorted(self._gateways)})"

    def _gateway(self, url: str) -> GatewayBackend:
        with self._lock:
            gateway = self._gateways.get(url)
            if gateway is None:
                gateway = self._gateways[url] = GatewayBackend(url, timeouts=self.timeouts)
            return gateway

    def _routes(self, cid: CID) -> list[tuple[str, str]]:
        """``(node, url)`` of the nodes to ask, each once; ContentNotFoundError if none."""
        nodes = {node: url for node, _, url in peer_routes(self._index(), cid)}
        if not nodes:
            raise ContentNotFoundError(
                f"no other node serving its copies holds {cid}", backend=self.name
            )
        return list(nodes.items())

    def close(self) -> None:
        """Close every peer's HTTP client; idempotent."""
        with self._lock:
            gateways, self._gateways = list(self._gateways.values()), {}
        for gateway in gateways:
            gateway.close()

    # -- Backend protocol ----------------------------------------------------------

    def has(self, cid: CID) -> bool:
        """True if a node holding ``cid`` serves its root block now."""
        try:
            self._first(cid, lambda g: g.get_block(cid))
        except ContentNotFoundError:
            return False
        return True

    def stat(self, cid: CID) -> StoredObject:
        """Size and URL of ``cid`` at the first node that answers."""
        return self._first(cid, lambda g: g.stat(cid))

    def get(self, cid: CID) -> Iterator[bytes]:
        """Stream the verified bytes of ``cid`` from the first node that serves them."""
        return self._stream(cid, self._routes(cid))

    def put(
        self,
        cid: CID,
        chunks: Iterable[bytes],
        size: int | None = None,
        *,
        profile: ImportProfile | None = None,
    ) -> StoredObject:
        raise BackendError("the peer tier is read-only", backend=self.name)

    def delete(self, cid: CID) -> None:
        raise BackendError("the peer tier is read-only", backend=self.name)

    # -- reads -----------------------------------------------------------------------

    def _first(self, cid: CID, call: Callable[[GatewayBackend], T]) -> T:
        failures = _Failures(cid)
        for node, url in self._routes(cid):
            try:
                return call(self._gateway(url))
            except _PEER_FAULTS as exc:
                failures.add(node, url, exc)
        raise failures.error()

    def _stream(self, cid: CID, routes: list[tuple[str, str]]) -> Iterator[bytes]:
        """The first node's verified bytes; the next node only while none was yielded."""
        failures = _Failures(cid)
        for node, url in routes:
            started = False
            try:
                for chunk in self._gateway(url).iter_file(cid):
                    started = True
                    yield chunk
                return
            except _PEER_FAULTS as exc:
                if started:
                    raise
                failures.add(node, url, exc)
        raise failures.error()


class _Failures:
    """Why each node could not serve a CID; the error that sums them up."""

    def __init__(self, cid: CID) -> None:
        self.cid = cid
        self.lines: list[str] = []
        self.lied = self.unavailable = False

    def add(self, node: str, url: str, exc: IpfsKitError) -> None:
        self.lines.append(f"node {node} at {url}: {type(exc).__name__}: {exc}")
        self.lied |= isinstance(exc, ContentMismatchError)
        self.unavailable |= not isinstance(exc, ContentNotFoundError | ContentMismatchError)

    def error(self) -> IpfsKitError:
        """A lie first (the copy is refused), then unavailability, else not found."""
        text = "; ".join(self.lines)
        if self.lied:
            return ContentMismatchError(
                f"a peer sent bytes that do not match {self.cid}: {text}", cid=cid_key(self.cid)
            )
        if self.unavailable:
            return BackendUnavailableError(
                f"no peer could serve {self.cid}: {text}", backend="peer"
            )
        return ContentNotFoundError(f"no peer has {self.cid}: {text}", backend="peer")
