"""Rebuild the metadata index from what the tiers actually hold.

The old file is moved aside (never deleted); whatever can still be read from it (content
records, pins, tags, known copies) is salvaged row by row. Then every tier is listed:
disk objects, S3 objects under the CID prefix, kubo's pins, Storacha's uploads. Each
copy found is recorded (pinned if the old index pinned it); a copy the old index knew
that no tier holds any more is recorded as ``missing``, so the rebuild forgets nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipfs_kit_py.backends.base import Backend, Listable
from ipfs_kit_py.content.cid import cid_key, is_cid, parse_cid
from ipfs_kit_py.content.unixfs import ImportProfile
from ipfs_kit_py.errors import InvalidCIDError, IpfsKitError
from ipfs_kit_py.index import MetadataIndex

if TYPE_CHECKING:
    pass

__all__ = ["RebuildReport", "Salvage", "rebuild_index", "salvage", "scan_tier"]

logger = logging.getLogger(__name__)

Found = tuple[str, str, int | None]  # (cid key, locator, size)


@dataclass
class Salvage:
    """What could still be read from an old index file."""

    content: dict[str, tuple[int | None, str, str | None, str]] = field(default_factory=dict)
    copies: dict[tuple[str, str], tuple[str, bool]] = field(default_factory=dict)
    tags: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RebuildReport:
    """What :func:`rebuild_index` did."""

    path: str
    moved_to: str | None
    found: dict[str, int]  # tier -> copies found in it
    missing: int  # copies the old index knew that no tier holds now
    pins: int  # copies recorded pinned
    tags: int
    unreachable: dict[str, str]  # tier -> why it could not be listed
    salvage_errors: tuple[str, ...]


def _rows(db: sqlite3.Connection, sql: str, errors: list[str]) -> Iterator[tuple[Any, ...]]:
    """The rows of ``sql`` up to the first damaged page (noted in ``errors``)."""
    try:
        yield from db.execute(sql)
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        errors.append(f"{sql.split('FROM')[1].split()[0]}: {exc}")


def salvage(path: Path) -> Salvage:
    """Read what is readable of the index at ``path`` (nothing, if it is no database)."""
    found = Salvage()
    if not path.exists():
        return found
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        found.errors.append(str(exc))
        return found
    db.text_factory = lambda raw: raw.decode("utf-8", "replace")
    with contextlib.closing(db):
        sql = "SELECT cid, size, kind, profile, metadata FROM content"
        for text, size, kind, profile, meta in _rows(db, sql, found.errors):
            if (key := _key(text)) is not None:
                found.content[key] = _sane(size, kind, profile, meta)
        sql = "SELECT cid, backend, locator, pinned FROM locations"
        for text, backend, locator, pinned in _rows(db, sql, found.errors):
            if (key := _key(text)) is not None and isinstance(backend, str) and backend:
                found.copies[(key, backend)] = (str(locator), bool(pinned))
        for text, tag in _rows(db, "SELECT cid, tag FROM tags", found.errors):
            if (key := _key(text)) is not None and isinstance(tag, str):
                found.tags.append((key, tag))
    return found


def _sane(size: Any, kind: Any, profile: Any, meta: Any) -> tuple[int | None, str, str | None, str]:
    """A salvaged content row with every field checked (a damaged page yields anything)."""
    size = size if isinstance(size, int) and size >= 0 else None
    kind = kind if kind in ("file", "dir", "raw") else "file"
    try:
        profile = ImportProfile.parse(profile).key() if isinstance(profile, str) else None
    except (IpfsKitError, ValueError):
        profile = None
    try:
        meta = meta if isinstance(json.loads(meta), dict) else "{}"
    except (TypeError, ValueError):
        meta = "{}"
    if kind == "dir" and (profile is None or meta == "{}"):
        kind = "file"  # a directory record without its tree cannot be used
    return size, kind, profile, meta


def _key(text: Any) -> str | None:
    """The normal key of a CID found in a listing or a damaged file, or None."""
    if not (isinstance(text, str) or is_cid(text)):
        return None
    try:
        return cid_key(parse_cid(text))
    except (InvalidCIDError, ValueError, TypeError):
        return None


def scan_tier(tier: Listable) -> Iterator[Found]:
    """Every copy ``tier`` holds, as it lists them, under its index key."""
    for listed, locator, size in tier.holdings():
        if (key := _key(listed)) is not None:
            yield key, locator, size


def rebuild_index(path: Path, tiers: Sequence[Backend]) -> RebuildReport:
    """Move the index at ``path`` aside and rebuild it from what ``tiers`` hold."""
    moved = _move_aside(path)
    old = salvage(moved) if moved is not None else Salvage()
    with MetadataIndex(path) as index:
        found: dict[str, int] = {}
        unreachable: dict[str, str] = {}
        seen: set[tuple[str, str]] = set()
        for tier in tiers:
            if not isinstance(tier, Listable):
                continue  # memory (per process), gateways (hold nothing)
            try:
                copies = list(scan_tier(tier))
            except (IpfsKitError, OSError) as exc:
                unreachable[tier.name] = f"{type(exc).__name__}: {exc}"
                continue
            _record(index, old, tier.name, copies)
            seen.update((key, tier.name) for key, _, _ in copies)
            found[tier.name] = len(copies)
        missing = _record_missing(index, old, seen, set(unreachable))
        _restore_records(index, old)
        tags = [(k, t) for k, t in old.tags if index.content(k) is not None]
        for key, tag in tags:
            index.tag(key, tag)
        pins = index.stats()["pinned"]
    return RebuildReport(
        str(path),
        str(moved) if moved else None,
        found,
        missing,
        pins,
        len(tags),
        unreachable,
        tuple(old.errors),
    )


def _move_aside(path: Path) -> Path | None:
    if not path.exists():
        return None
    target = path.with_name(f"{path.name}.old-{time.strftime('%Y%m%d-%H%M%S')}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            source.replace(Path(f"{target}{suffix}"))
    logger.warning("moved the index %s aside to %s", path, target)
    return target


def _record(index: MetadataIndex, old: Salvage, tier: str, copies: list[Found]) -> None:
    rows = []
    for key, _, size in copies:
        size0, kind, profile, meta = old.content.get(key, (size, "file", None, "{}"))
        rows.append((key, size0 if size0 is not None else size, kind, profile, json.loads(meta)))
    index.upsert_many(rows)
    pinned = [(k, tier, loc) for k, loc, _ in copies if old.copies.get((k, tier), ("", False))[1]]
    loose = [
        (k, tier, loc) for k, loc, _ in copies if not old.copies.get((k, tier), ("", False))[1]
    ]
    index.record_many(pinned, pinned=True)
    index.record_many(loose, pinned=False)


def _record_missing(
    index: MetadataIndex, old: Salvage, seen: set[tuple[str, str]], unreachable: set[str]
) -> int:
    """Copies the old index knew that no tier reported: recorded, then marked missing."""
    lost = [
        (key, tier, locator, pinned)
        for (key, tier), (locator, pinned) in old.copies.items()
        if (key, tier) not in seen and tier != "memory"
    ]
    for key, tier, locator, pinned in lost:
        size, kind, profile, meta = old.content.get(key, (None, "file", None, "{}"))
        index.upsert_content(key, size=size, kind=kind, profile=profile, metadata=json.loads(meta))
        index.record(key, tier, locator, pinned=pinned)
        why = "tier unreachable during index rebuild" if tier in unreachable else "not found"
        index.mark_missing(key, tier, f"index rebuild: {why}")
    return len(lost)


def _restore_records(index: MetadataIndex, old: Salvage) -> None:
    """Directory records (their trees live in the record, not in a tier) come back as they were."""
    for key, (size, kind, profile, meta) in old.content.items():
        if kind == "dir" and index.content(key) is None:
            index.upsert_content(
                key, size=size, kind=kind, profile=profile, metadata=json.loads(meta)
            )
