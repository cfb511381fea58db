"""A serving node's advertisement in the shared index: its URL, kept alive by a heartbeat.

While ``ipfs-kit serve`` runs, :class:`Advertiser` writes ``node id -> URL`` into the
index's ``nodes`` table with an expiry and renews it every third of its lifetime; a clean
stop removes it, and a node that dies stops renewing, so its row goes stale (other nodes
ignore it) within ``ttl_s``. Other nodes read through it as the ``peer`` tier
(:mod:`ipfs_kit_py.backends.peer`).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from types import TracebackType
from typing import TYPE_CHECKING

from ipfs_kit_py.errors import InvalidInputError, IpfsKitError

if TYPE_CHECKING:
    from ipfs_kit_py.index import MetadataIndex

__all__ = ["Advertiser", "serving_url"]

logger = logging.getLogger(__name__)

_WILDCARDS = ("0.0.0.0", "::", "")


def serving_url(host: str, port: int) -> str:
    """The URL other nodes reach a server listening on ``host:port`` by (a wildcard
    address is advertised as this machine's host name)."""
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
        if not ttl_s >= 1:
            raise InvalidInputError(f"an advertisement lasts at least 1 second, got {ttl_s!r}")
        self.index, self.url, self.ttl_s = index, url, ttl_s
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
