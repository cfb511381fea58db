"""A serving node's advertisement in the shared index: its URL, kept alive by a heartbeat.

While ``ipfs-kit serve`` runs, :class:`Advertiser` writes ``node id -> URL`` into the
index's ``nodes`` table with an expiry and renews it every third of its lifetime; a clean
stop removes it, and a node that dies stops renewing, so its row goes stale (other nodes
ignore it) within ``ttl_s``. Other nodes read through it as the ``peer`` tier
(:mod:`ipfs_kit_py.backends.peer`).
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import TYPE_CHECKING

from ipfs_kit_py.config import parse_url
from ipfs_kit_py.errors import ConfigurationError, InvalidInputError, IpfsKitError

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID
    from ipfs_kit_py.index import MetadataIndex

__all__ = ["MAX_TTL_S", "Advertiser", "check_ttl", "peer_routes", "peer_url", "serving_url"]

logger = logging.getLogger(__name__)

_WILDCARDS = ("0.0.0.0", "::", "")
MAX_TTL_S = 86400.0  # a day: a dead node's advertisement must go stale some time


def peer_url(url: object) -> str:
    """``url`` as advertised, if it is an http(s) URL every node may be shown (no
    credentials); else InvalidInputError."""
    if not isinstance(url, str) or len(url) > 2000:
        raise InvalidInputError("a peer URL is text of up to 2000 characters")
    try:
        clean, userinfo = parse_url("a peer URL", url)
    except ConfigurationError as exc:
        raise InvalidInputError(str(exc)) from None
    if userinfo is not None:
        raise InvalidInputError("a peer URL is shown to every node: it must hold no credentials")
    if "?" in clean or "#" in clean:  # a gateway's base URL: `/ipfs/<cid>?...` goes after it
        raise InvalidInputError("a peer URL is a base URL: no query (?...) or fragment (#...)")
    return clean


def check_ttl(ttl_s: object) -> float:
    """An advertisement's lifetime: 1 second to :data:`MAX_TTL_S`; else InvalidInputError."""
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, int | float) or not 1 <= ttl_s <= MAX_TTL_S:
        raise InvalidInputError(f"an advertisement lasts 1 to {MAX_TTL_S:g} seconds, got {ttl_s!r}")
    return float(ttl_s)


def serving_url(host: str, port: int) -> str:
    """The URL other nodes reach a server listening on ``host:port`` by (a wildcard
    address is advertised as this machine's host name)."""
    import ipaddress  # only `serve` asks: the index imports this module for its checks
    import socket

    name = socket.gethostname() if host in _WILDCARDS else host
    try:
        if ipaddress.ip_address(name).version == 6:
            name = f"[{name}]"
    except ValueError:
        pass  # a host name
    return f"http://{name}:{port}"


class Advertiser:
    """Advertise ``url`` for this node while the context is open; renew it meanwhile."""

    def __init__(self, index: MetadataIndex, url: str, ttl_s: float = 60.0) -> None:
        self.index, self.url, self.ttl_s = index, peer_url(url), check_ttl(ttl_s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"Advertiser({self.index.node_id!r} -> {self.url!r})"

    def start(self) -> None:
        """Advertise now (errors raise: the server should not start unannounced)."""
        self.index.advertise(self.url, self.ttl_s)
        self._thread = threading.Thread(target=self._beat, name="ipfs-kit-advertise", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the heartbeat and withdraw the advertisement; idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.ttl_s)
            self._thread = None
            try:
                self.index.withdraw(self.url)
            except IpfsKitError as exc:  # it goes stale by itself
                logger.warning("could not withdraw %s from the index: %s", self.url, exc)

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            try:
                self.index.advertise(self.url, self.ttl_s)
            except IpfsKitError as exc:  # the index is down: try again next beat
                logger.warning("could not renew %s in the index: %s", self.url, exc)

    def __enter__(self) -> Advertiser:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def peer_routes(index: MetadataIndex, cid: CID | str) -> list[tuple[str, str, str]]:
    """``(node, tier, url)`` for each other node holding a good local copy of ``cid``
    and advertising a URL now (stale advertisements are left out)."""
    peers = index.peers()
    if not peers:
        return []
    routes = []
    for loc in index.locations(cid, all_nodes=True):
        if loc.node in peers and loc.backend in index.local_tiers:
            routes.append((loc.node, loc.backend, peers[loc.node]))
    return routes
