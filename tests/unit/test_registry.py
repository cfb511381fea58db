"""The backend registry and the base class: built-ins, a third party's backend, errors."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Self

import pytest

from ipfs_kit_py.backends import registry
from ipfs_kit_py.backends.base import Backend, BaseBackend, StoredObject
from ipfs_kit_py.config import Sources
from ipfs_kit_py.content.cid import CID, cid_key
from ipfs_kit_py.content.unixfs import ImportProfile
from ipfs_kit_py.errors import ConfigurationError, ContentNotFoundError, NotConfiguredError
from ipfs_kit_py.ipfs_kit import ipfs_kit


class FolderBackend(BaseBackend):
    """A third party's backend: one file per CID in a folder (``[folder] root``)."""

    name = "folder"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.closed = 0

    @classmethod
    def from_sources(
        cls,
        args: Mapping[str, Any] | None = None,
        section: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Self:
        root = Sources.of(args, section, env).get("root", "FOLDER_BACKEND_ROOT")
        if not root:
            raise NotConfiguredError("folder is not configured: set [folder] root")
        return cls(Path(root))

    def _path(self, cid: CID) -> Path:
        return self.root / cid_key(cid)

    def has(self, cid: CID) -> bool:
        return self._path(cid).is_file()

    def stat(self, cid: CID) -> StoredObject:
        if not self.has(cid):
            raise ContentNotFoundError(f"{cid} is not in {self.root}")
        return StoredObject(cid, self._path(cid).stat().st_size, str(self._path(cid)))

    def get(self, cid: CID) -> Iterator[bytes]:
        if not self.has(cid):
            raise ContentNotFoundError(f"{cid} is not in {self.root}")
        return iter([self._path(cid).read_bytes()])

    def put(
        self,
        cid: CID,
        chunks: Iterable[bytes],
        size: int | None = None,
        *,
        profile: ImportProfile | None = None,
    ) -> StoredObject:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self._path(cid).with_suffix(".part")
        with tmp.open("wb") as f:
            for chunk in chunks:
                f.write(chunk)
        os.replace(tmp, self._path(cid))
        return self.stat(cid)

    def delete(self, cid: CID) -> None:
        self._path(cid).unlink(missing_ok=True)

    def close(self) -> None:
        self.closed += 1


@pytest.fixture
def folder_registered() -> Iterator[None]:
    registry.register_implementation("folder", FolderBackend, hint="set [folder] root")
    try:
        yield
    finally:
        registry.known_implementations.pop("folder", None)
        registry._classes.pop("folder", None)


def test_builtins_are_known_and_imported_lazily() -> None:
    assert registry.available_backends()[:6] == [
        "memory",
        "disk",
        "kubo",
        "s3",
        "storacha",
        "gateway",
    ]
    for name in registry.available_backends():
        cls = registry.get_backend_class(name)
        assert issubclass(cls, BaseBackend)
        assert cls.__module__ + "." + cls.__qualname__ == registry.implementation(name).class_path


def test_every_builtin_declares_its_capabilities(tmp_path: Path) -> None:
    env = {"IPFS_API_URL": "http://127.0.0.1:9", "IPFS_KIT_GATEWAYS": "http://127.0.0.1:9"}
    built = {
        name: registry.build_backend(name, {"cache_dir": tmp_path}, {}, env)
        for name in registry.available_backends()
    }
    for backend in built.values():
        with backend as entered:
            assert entered is backend
            assert isinstance(backend, Backend)
        backend.close()  # close twice: idempotent
    assert [n for n, b in built.items() if b.verifies_reads] == ["s3", "storacha", "gateway"]
    assert [n for n, b in built.items() if b.read_only] == ["gateway"]
    assert [n for n, b in built.items() if not b.durable] == ["memory"]


def test_unknown_and_broken_registrations_raise_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="unknown backend 'nope'"):
        registry.build_backend("nope")
    with pytest.raises(ConfigurationError, match="identifier"):
        registry.register_implementation("no way", FolderBackend)
    with pytest.raises(ConfigurationError, match="BaseBackend"):
        registry.register_implementation("dicts", dict)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="already"):
        registry.register_implementation("s3", FolderBackend)
    registry.register_implementation("ghost", "no_such_module.GhostBackend", hint="pip it")
    try:
        with pytest.raises(ConfigurationError, match=r"cannot be loaded.*pip it"):
            registry.get_backend_class("ghost")
    finally:
        registry.known_implementations.pop("ghost")


def test_unconfigured_sources_say_what_to_set() -> None:
    with pytest.raises(NotConfiguredError, match="IPFS_API_URL"):
        registry.build_backend("kubo", {}, {}, {})
    with pytest.raises(NotConfiguredError, match="IPFS_KIT_GATEWAYS"):
        registry.build_backend("gateway", {}, {}, {})


def test_gateways_one_per_url_named_in_order() -> None:
    gateways = registry.build_backends("gateway", {"urls": "http://a:1, http://b:2,"}, {}, {})
    assert [(g.name, g.base_url) for g in gateways] == [  # type: ignore[attr-defined]
        ("gateway", "http://a:1/ipfs"),
        ("gateway2", "http://b:2/ipfs"),
    ]


def test_a_third_party_backend_joins_the_tiers(folder_registered: None, tmp_path: Path) -> None:
    root = tmp_path / "folder"
    sections = {"folder": {"root": str(root)}}
    with ipfs_kit(
        {}, cache_dir=tmp_path / "c", index_path=tmp_path / "i", sections=sections
    ) as kit:
        added = kit.add(b"third party", to=["folder"])
        assert kit.whereis(added.cid) == ["folder"]
        assert (root / cid_key(added.cid)).read_bytes() == b"third party"
        assert kit.cat(added.cid) == b"third party"  # read back (and verified) from the folder
        assert {s.name for s in kit.backends() if s.reachable} >= {"memory", "disk", "folder"}
        folder = kit.tiers.tier("folder")
    assert folder.closed >= 1  # type: ignore[attr-defined]


def test_a_third_party_backend_left_unconfigured_is_reported(
    folder_registered: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IPFS_API_URL", raising=False)
    monkeypatch.delenv("IPFS_PATH", raising=False)
    with ipfs_kit({}, cache_dir=tmp_path / "c", index_path=tmp_path / "i") as kit:
        statuses = {s.name: s for s in kit.backends()}
        assert not statuses["folder"].configured
        assert statuses["folder"].reason == "folder is not configured: set [folder] root"
        kubo = statuses["ipfs"]  # reported under the tier name kubo declares
        assert (kubo.kind, kubo.configured) == ("KuboBackend", False)
        assert "IPFS_API_URL" in kubo.reason and "kubo" not in statuses


def test_a_backend_that_cannot_load_leaves_its_kit_unconfigured(tmp_path: Path) -> None:
    saved = registry.known_implementations["s3"]
    registry.register_implementation("s3", "no_such_module.S3Backend", hint="pip it", clobber=True)
    try:
        with ipfs_kit({}, cache_dir=tmp_path / "c", index_path=tmp_path / "i") as kit:
            assert type(kit.s3_kit).__name__ == "UnconfiguredKit"
            answer = kit.s3_kit.upload_file("f")
            assert answer["error_type"] == "NotConfiguredError" and "pip it" in answer["error"]
            with pytest.raises(AttributeError, match="uplaod_file"):
                kit.s3_kit.uplaod_file("f")
            with pytest.raises(NotConfiguredError, match="cannot be loaded"):
                kit.s3  # noqa: B018
            assert "s3" not in [t.name for t in kit.tiers.tiers]
    finally:
        registry.known_implementations["s3"] = saved
        registry._classes.pop("s3", None)


class BrokenBackend(FolderBackend):
    """A backend whose configuration is always invalid."""

    @classmethod
    def from_sources(
        cls,
        args: Mapping[str, Any] | None = None,
        section: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Self:
        raise ConfigurationError("broken: bad setting")


def test_an_invalid_backend_setting_closes_what_was_built(
    folder_registered: None, tmp_path: Path
) -> None:
    built: list[FolderBackend] = []

    class Tracked(FolderBackend):
        def __init__(self, root: Path) -> None:
            super().__init__(root)
            built.append(self)

    registry.register_implementation("folder", Tracked, clobber=True)
    registry.register_implementation("broken", BrokenBackend)
    try:
        sections = {"folder": {"root": str(tmp_path)}, "broken": {"x": 1}}
        with pytest.raises(ConfigurationError, match="broken: bad setting"):
            ipfs_kit({}, cache_dir=tmp_path / "c", index_path=tmp_path / "i", sections=sections)
        assert [b.closed for b in built] == [1]
    finally:
        registry.known_implementations.pop("broken")
        registry._classes.pop("broken", None)


def test_a_section_for_no_backend_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"no backend named \['foldr'\]"):
        ipfs_kit({}, cache_dir=tmp_path / "c", sections={"foldr": {"root": "/x"}})
