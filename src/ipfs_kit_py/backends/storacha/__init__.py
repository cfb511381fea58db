"""Storacha: a native ucanto client (UCAN 0.9.1, agent messages, blob uploads) and backend.

Layers, bottom up: ``did`` (keys, DIDs, signatures), ``ucan`` (UCAN blocks),
``delegation`` (``m...`` proofs), ``message`` (agent-message CARs, receipts),
``piece`` (Filecoin piece CIDs), ``sharding`` (CAR shards, DAG index), ``client``
(invocations over HTTP), ``upload`` (the upload flow), ``backend`` (the Backend).
"""

from ipfs_kit_py.backends.storacha.backend import StorachaBackend, UploadPage
from ipfs_kit_py.backends.storacha.client import StorachaClient
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.backends.storacha.upload import UploadResult

__all__ = ["StorachaBackend", "StorachaClient", "StorachaConfig", "UploadPage", "UploadResult"]
