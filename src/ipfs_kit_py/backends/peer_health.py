"""Each peer's health, on its own: back-off after a fault, and the order reads try peers in.

The ``peer`` tier asks other nodes for their copies. One node down, or one that lied,
must not stop reads from the others, so health is kept per peer (its URL), never for
the tier: a peer that was unreachable, sent bytes not matching their CID, or answered
what no gateway may (a bad CAR, a page, a redirect) is skipped for a while (5 s,
doubling to 2 min while it keeps failing); one good answer clears it. A peer that
began an answer and broke it off (its gateway found its copy bad mid-way, as it must)
is skipped for that CID only, for 2 min: one bad copy must not lock the fleet out of
the rest of its content. A miss (the peer does not hold the CID) or a bad request is
the request's, not the peer's, and changes nothing. Live peers are tried fastest
first (a moving average of the time to their first byte), those never measured after.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["PeerHealth"]

logger = logging.getLogger("ipfs_kit_py.backends.peer")

_SMOOTHING = 0.3  # weight of the newest latency in the moving average


@dataclass(slots=True)
class _State:
    open_until: float = 0.0  # monotonic time the back-off ends
    delay: float = 0.0  # the last back-off, doubled on the next fault
    reason: str = ""
    latency: float | None = None  # moving average of the seconds to the first byte


class PeerHealth:
    """Back-off and speed of each peer, by URL (thread-safe)."""

    def __init__(
        self,
        base_s: float = 5.0,
        max_s: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
        max_peers: int = 1024,
    ) -> None:
        """``max_peers``: the URLs remembered at most (each restart on a new port is a
        new one); the least recently judged beyond it are forgotten."""
        self.base_s, self.max_s, self._clock = base_s, max_s, clock
        self.max_peers = max_peers
        self._peers: dict[str, _State] = {}  # the most recently judged last
        # (url, cid) -> (until, why): one copy a peer broke off, the peer itself fine
        self._copies: dict[tuple[str, str], tuple[float, str]] = {}
        self._lock = threading.Lock()

    def backed_off(self, url: str, cid: str = "") -> str | None:
        """Why ``url`` is skipped now (for ``cid``), or None if it may be asked."""
        with self._lock:
            state = self._peers.get(url)
            if state is not None and self._clock() < state.open_until:
                return state.reason
            until, reason = self._copies.get((url, cid), (0.0, ""))
            return reason if self._clock() < until else None

    def order(self, urls: Sequence[str], cid: str = "") -> tuple[list[str], list[str]]:
        """``(to_try, skipped)``: the peers not in back-off (for ``cid``, too), fastest
        known first (the others after, in the given order), and those in back-off."""
        now = self._clock()
        with self._lock:
            states = {url: self._peers.get(url) or _State() for url in urls}
            for url in urls:
                until = self._copies.get((url, cid), (0.0, ""))[0]
                if now < until and until > states[url].open_until:
                    states[url] = _State(open_until=until, latency=states[url].latency)
        skipped = [u for u in urls if now < states[u].open_until]
        live = [u for u in urls if now >= states[u].open_until]
        measured = sorted((u for u in live if states[u].latency is not None), key=_latency(states))
        return measured + [u for u in live if states[u].latency is None], skipped

    def succeeded(self, url: str, latency_s: float) -> None:
        """``url`` answered (its first byte after ``latency_s``): clear its back-off."""
        with self._lock:
            state = self._judged(url)
            was_open = state.delay > 0
            state.open_until, state.delay, state.reason = 0.0, 0.0, ""
            latency = max(0.0, latency_s)
            old = state.latency
            state.latency = latency if old is None else old + _SMOOTHING * (latency - old)
        if was_open:
            logger.info("peer %s is back", url)

    def failed(self, url: str, reason: str) -> float:
        """``url`` was unreachable or lied: skip it for longer each time; the delay."""
        with self._lock:
            state = self._judged(url)
            state.delay = min(self.max_s, state.delay * 2 if state.delay else self.base_s)
            state.open_until = self._clock() + state.delay
            state.reason = reason
            delay = state.delay
        logger.warning("peer %s failed (%s); skipping it for %.0fs", url, reason, delay)
        return delay

    def broke_off(self, url: str, cid: str, reason: str) -> None:
        """``url`` began an answer for ``cid`` and broke it off (its own gateway found
        its copy bad mid-way, as it must): skip that copy for ``max_s``, not the peer."""
        with self._lock:
            self._copies.pop((url, cid), None)
            self._copies[(url, cid)] = (self._clock() + self.max_s, reason)
            while len(self._copies) > self.max_peers * 4:
                del self._copies[next(iter(self._copies))]
        logger.warning(
            "peer %s broke off its answer for %s (%s); skipping that copy", url, cid, reason
        )

    def _judged(self, url: str) -> _State:
        """The state of ``url``, moved last; the oldest beyond ``max_peers`` forgotten
        (the caller holds the lock)."""
        state = self._peers.pop(url, None) or _State()
        self._peers[url] = state
        while len(self._peers) > self.max_peers:
            del self._peers[next(iter(self._peers))]
        return state


def _latency(states: dict[str, _State]) -> Callable[[str], float]:
    def key(url: str) -> float:
        latency = states[url].latency
        return latency if latency is not None else 0.0

    return key
