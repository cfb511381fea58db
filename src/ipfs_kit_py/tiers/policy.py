"""How the tier manager behaves: where writes go, when reads promote, how failing tiers back off."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from ipfs_kit_py.errors import BackendUnavailableError

__all__ = ["CircuitBreaker", "TierPolicy", "is_availability_fault"]

# the breaker reports on tiers: its messages stay under the tier manager's logger
logger = logging.getLogger("ipfs_kit_py.tiers")


@dataclass(frozen=True, slots=True)
class TierPolicy:
    """Where writes go, when reads promote, and how failing tiers back off."""

    put_to: tuple[str, ...] = ("memory", "disk")
    promote_after: int = 2
    warm_disk: bool = True
    backoff_s: float = 5.0
    max_backoff_s: float = 120.0
    access_flush_every: int = 256
    trust_disk_stamps: bool = False  # True: skip the re-hash of an unchanged disk file
    read_only: tuple[str, ...] = ()  # tiers that serve reads but take no copies (gateways)


def is_availability_fault(exc: BaseException) -> bool:
    """True if ``exc`` says the backend itself cannot be reached in bounded time.

    Only such faults open the breaker: an input error (an absurd CID, a name too long),
    a per-object fault (a directory where a file should be, one object's failed read),
    credentials refused or a copy that does not match stay with the request that met
    them, so they never put a whole tier in back-off.
    """
    return isinstance(exc, BackendUnavailableError)


class CircuitBreaker:
    """Per-tier back-off of remote tiers: after an availability fault the tier is skipped,
    for longer each time (see :func:`is_availability_fault`)."""

    def __init__(self, base_s: float, max_s: float) -> None:
        self.base_s, self.max_s = base_s, max_s
        self._state: dict[str, tuple[float, float]] = {}  # name -> (open until, last delay)
        self.reasons: dict[str, str] = {}

    def is_open(self, name: str) -> bool:
        until, _ = self._state.get(name, (0.0, 0.0))
        return time.monotonic() < until

    def trip(self, name: str, reason: str) -> None:
        _, last = self._state.get(name, (0.0, 0.0))
        delay = min(self.max_s, last * 2 if last else self.base_s)
        self._state[name] = (time.monotonic() + delay, delay)
        self.reasons[name] = reason
        logger.warning("tier %s failed (%s); skipping it for %.0fs", name, reason, delay)

    def reset(self, name: str) -> None:
        if self._state.pop(name, None) is not None:
            self.reasons.pop(name, None)
            logger.info("tier %s is back", name)
