"""The tiered cache: the read path (verify, fall back, warm), the write path, and policy.

``manager`` (:class:`TieredCacheManager`), ``policy`` (:class:`TierPolicy`, the circuit
breaker) and ``verified_read`` (streams checked against their CID on the way in).
"""

from ipfs_kit_py.tiers.manager import TieredCacheManager
from ipfs_kit_py.tiers.policy import CircuitBreaker, TierPolicy

__all__ = ["CircuitBreaker", "TierPolicy", "TieredCacheManager"]
