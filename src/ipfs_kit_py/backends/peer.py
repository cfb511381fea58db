"""The ``peer`` tier: another node's copies, read through the gateway that node serves.

A node running ``ipfs-kit serve`` advertises its URL in the shared index
(:meth:`~ipfs_kit_py.index.MetadataIndex.advertise`). For a CID whose good copies this
node cannot read itself (another node's memory or disk), the peer tier asks the nodes
holding one, fastest live one first, through a
:class:`~ipfs_kit_py.backends.gateway.GatewayBackend`: trustless answers only
(``?format=car``, ``?format=raw``), every block verified against its CID before a byte
is used. A node never opens another node's disk. Each peer has its own back-off
(:class:`~ipfs_kit_py.backends.peer_health.PeerHealth`): one that is down fails in
seconds and is skipped for a while, one that lies or answers what no gateway may (a
page, a bad CAR, a redirect: never followed) is refused, logged and skipped; the
read goes on with the next holder, and ends in :class:`ContentMismatchError` (naming
the peer) if the only answers were lies.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

import httpx

from ipfs_kit_py.advertise import peer_routes
from ipfs_kit_py.backends.base import BaseBackend, StoredObject
from ipfs_kit_py.backends.gateway import GatewayBackend
from ipfs_kit_py.backends.peer_health import PeerHealth
from ipfs_kit_py.content.cid import cid_key
from ipfs_kit_py.errors import (
    BackendError,
    BackendUnavailableError,
    ContentMismatchError,
    ContentNotFoundError,
    InvalidInputError,
    IpfsKitError,
    ProtocolError,
)
from ipfs_kit_py.net import Timeouts

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID
    from ipfs_kit_py.content.unixfs import ImportProfile
    from ipfs_kit_py.index import MetadataIndex

__all__ = ["MAX_PEER_CLIENTS", "PEER_TIMEOUTS", "PeerBackend"]

logger = logging.getLogger(__name__)
T = TypeVar("T")
_PEER_FAULTS = (BackendError, ContentNotFoundError, ContentMismatchError)

MAX_PEER_CLIENTS = 64  # HTTP clients kept, one per peer URL
# a peer is a machine of the same team: it answers at once or is down
PEER_TIMEOUTS = Timeouts(connect_timeout=2.0, idle_timeout=5.0, deadline=10.0, retries=1)


class PeerBackend(BaseBackend):
    """Read-only: the copies other nodes hold, through the gateways they advertise."""

    name = "peer"
    verifies_reads = True  # a GatewayBackend checks every block before it is yielded
    read_only = True
    # each peer is backed off by itself (PeerHealth) and a lie names its peer: the tier
    # manager neither backs the whole tier off nor marks a copy bad for one peer's fault
    judges_its_sources = True

    def __init__(
        self, index: Callable[[], MetadataIndex], *, timeouts: Timeouts | None = None
    ) -> None:
        """``index``: the (lazily opened) shared index that says who holds what, where."""
        self._index = index
        self.timeouts = timeouts or PEER_TIMEOUTS
        self._gateways: dict[str, GatewayBackend] = {}
        self._lock = threading.Lock()
        self.health = PeerHealth()

    def __repr__(self) -> str:
        return f"PeerBackend(peers={sorted(self._gateways)})"

    def _gateway(self, url: str) -> GatewayBackend:
        """The client of ``url``; at most :data:`MAX_PEER_CLIENTS` are kept (a node
        restarted on a new port advertises a new URL), the least recently used closed."""
        with self._lock:
            gateway = self._gateways.pop(url, None)
            if gateway is None:
                gateway = GatewayBackend(
                    url, timeouts=self.timeouts, trust_setting="peer", follow_redirects=False
                )
            self._gateways[url] = gateway  # the most recently used last
            stale = list(self._gateways)[: max(0, len(self._gateways) - MAX_PEER_CLIENTS)]
            dropped = [self._gateways.pop(old) for old in stale]
        for old in dropped:
            old.close()
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
        return self._stream(cid, self._routes(cid))  # no route: ContentNotFoundError now

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

    def _live(self, routes: list[tuple[str, str]], failures: _Failures) -> list[tuple[str, str]]:
        """The routes to try, fastest live peer first; those in back-off are noted."""
        nodes = {url: node for node, url in routes}
        key = cid_key(failures.cid)
        to_try, skipped = self.health.order(list(nodes), key)
        for url in skipped:
            failures.skip(nodes[url], url, self.health.backed_off(url, key) or "backed off")
        return [(nodes[url], url) for url in to_try]

    def _failed(self, cid: CID, node: str, url: str, exc: IpfsKitError) -> None:
        """A fault of the peer itself (down, it lied, or it answered what no gateway may:
        a bad CAR, an HTML page, a redirect) backs that peer off; a miss or a request
        the content cannot answer (a directory asked for as a file) changes nothing."""
        if isinstance(exc, ContentMismatchError):
            logger.warning("peer %s at %s sent bytes that do not match %s: %s", node, url, cid, exc)
            self.health.failed(url, f"sent bytes that do not match {cid}")
        elif isinstance(exc.__cause__, httpx.RemoteProtocolError):  # an answer broken off
            self.health.broke_off(url, cid_key(cid), f"{type(exc).__name__}: {exc}")
        elif isinstance(exc, BackendUnavailableError) or _bad_answer(exc):
            self.health.failed(url, f"{type(exc).__name__}: {exc}")

    def _first(self, cid: CID, call: Callable[[GatewayBackend], T]) -> T:
        failures = _Failures(cid)
        for node, url in self._live(self._routes(cid), failures):
            began = time.monotonic()
            try:
                result = call(self._gateway(url))
            except _PEER_FAULTS as exc:
                failures.add(node, url, exc)
                self._failed(cid, node, url, exc)
                continue
            self.health.succeeded(url, time.monotonic() - began)
            return result
        raise failures.error()

    def _stream(self, cid: CID, routes: list[tuple[str, str]]) -> Iterator[bytes]:
        """The verified bytes of ``cid`` from the fastest live peer; if one fails or lies
        midway, the next one goes on from where it stopped (every byte yielded was
        verified, so it is the content's prefix whoever sent it)."""
        failures = _Failures(cid)
        sent = 0
        for node, url in self._live(routes, failures):
            began, latency = time.monotonic(), None
            try:
                for chunk in _after(self._gateway(url).iter_file(cid), sent):
                    if latency is None:
                        latency = time.monotonic() - began
                    sent += len(chunk)
                    yield chunk
            except _PEER_FAULTS as exc:
                failures.add(node, url, exc)
                self._failed(cid, node, url, exc)
                continue
            self.health.succeeded(url, time.monotonic() - began if latency is None else latency)
            return
        raise failures.error()


def _bad_answer(exc: IpfsKitError) -> bool:
    """An answer no gateway may give, as opposed to content the request cannot be
    answered for (not a file, a hash function no one can check: InvalidInputError)."""
    return isinstance(exc, ProtocolError) and not isinstance(exc.__cause__, InvalidInputError)


def _after(chunks: Iterator[bytes], skip: int) -> Iterator[bytes]:
    """``chunks`` without their first ``skip`` bytes."""
    for chunk in chunks:
        if skip >= len(chunk):
            skip -= len(chunk)
            continue
        yield chunk[skip:] if skip else chunk
        skip = 0


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

    def skip(self, node: str, url: str, reason: str) -> None:
        self.lines.append(f"node {node} at {url}: backed off ({reason})")
        self.unavailable = True

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
