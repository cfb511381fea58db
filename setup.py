"""Build the optional native piece-tree extension; all other metadata is in pyproject.toml.

``ipfs_kit_py._piece`` (src/ipfs_kit_py/_native/piece.c) needs a C compiler, the Python
headers and OpenSSL's libcrypto headers (Debian: gcc, python3-dev, libssl-dev). If any is
missing the build skips it (``optional=True``) and piece.py uses its pure-Python code.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "ipfs_kit_py._piece",
            sources=["src/ipfs_kit_py/_native/piece.c"],
            libraries=["crypto"],
            optional=True,
        )
    ]
)
