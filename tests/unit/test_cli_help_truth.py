"""``ipfs-kit --help`` says what the code verifies: disk-cache hits too, by default."""

from __future__ import annotations

from ipfs_kit_py.cli.main import build_parser
from ipfs_kit_py.kit_config import KitConfig


def test_help_says_disk_hits_are_verified_by_default() -> None:
    text = " ".join(build_parser(None).format_help().split())
    assert KitConfig.from_sources({}, {}, {"XDG_CACHE_HOME": "/nonexistent"}).verify_disk_reads
    assert "disk-cache hits included" in text
    assert "verify_disk_reads = false: only when the file changed" in text
