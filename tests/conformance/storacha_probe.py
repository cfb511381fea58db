"""The probe input of the Storacha vectors, and what @storacha/client 2.1.4 makes of it."""

from __future__ import annotations

PROBE = b"storacha-python-probe-"

# uploadFile of the probe input cut to each length: (root CID, shard CID)
GOLDEN = {
    100: (
        "bafkreierpjygodpr3vyayx23vgpasnf7d3gpgbstorpjru4fcblho6qqde",
        "bagbaieraomjsl3fqc5foz5yvoy4eaknp63d36ehcivaak6ybask3ncb7xjuq",
    ),
    2_621_440: (
        "bafybeibhmwvkmxhp4dfm76egsabq5op46wgg4dljjtdys6eqbqnnv3ntq4",
        "bagbaierairpueyzaa36wsgwsa2jcevnv4rg2lilww6rgunveseoylkbqhi7a",
    ),
}


def probe(n: int) -> bytes:
    """The first ``n`` bytes of PROBE repeated."""
    return (PROBE * (n // len(PROBE) + 1))[:n]
