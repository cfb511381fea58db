"""Files of random bytes for tests and benchmarks, written piece by piece."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def write_random_file(
    path: Path, size: int, *, piece: int = 1 << 20, randbytes: Callable[[int], bytes] = os.urandom
) -> Path:
    """Write ``size`` bytes of ``randbytes`` to ``path`` in pieces of ``piece`` bytes.

    Every piece is fresh, so no chunk repeats and no store can deduplicate any; pass a
    seeded ``random.Random().randbytes`` for reproducible content.
    """
    with path.open("wb") as f:
        left = size
        while left:
            n = min(left, piece)
            f.write(randbytes(n))
            left -= n
    return path
