"""Build the optional native piece-tree extension; all other metadata is in pyproject.toml.

``ipfs_kit_py._piece`` (src/ipfs_kit_py/_native/piece.c) needs a C compiler, the Python
headers and OpenSSL's libcrypto headers (Debian: gcc, python3-dev, libssl-dev). If any is
missing the build skips it (``optional=True``) and piece.py uses its pure-Python code.
``IPFS_KIT_NO_NATIVE=1`` leaves it out on purpose: a pure-Python (``py3-none-any``) wheel.
"""

import os

from setuptools import Extension, setup

PIECE = Extension(
    "ipfs_kit_py._piece",
    sources=["src/ipfs_kit_py/_native/piece.c"],
    libraries=["crypto"],
    optional=True,
)

setup(ext_modules=[] if os.environ.get("IPFS_KIT_NO_NATIVE") == "1" else [PIECE])
