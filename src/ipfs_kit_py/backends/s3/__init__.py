"""S3-compatible object stores (AWS, MinIO, SeaweedFS, R2): one content object per CID.

``backend`` (the :class:`S3Backend`), ``client`` (the object-store engine), ``transfer``
(streamed, multipart uploads and downloads), ``config`` and ``errors``.
"""

from ipfs_kit_py.backends.s3.backend import S3Backend, object_key
from ipfs_kit_py.backends.s3.config import S3Config

__all__ = ["S3Backend", "S3Config", "object_key"]
