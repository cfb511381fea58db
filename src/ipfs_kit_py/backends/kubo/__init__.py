"""kubo (the reference IPFS node) over its RPC API: pins, blocks and DAGs by CID.

``backend`` (the :class:`KuboBackend` and its config), ``rpc`` (the typed RPC client),
``transport`` (HTTP with kubo's stream-error trailers) and ``multipart`` (streamed ``add``).
"""

from ipfs_kit_py.backends.kubo.backend import KuboBackend, KuboConfig

__all__ = ["KuboBackend", "KuboConfig"]
