"""The default node id of a shared index: one per cache directory, made once, kept."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.errors import ConfigurationError
from ipfs_kit_py.index import valid_node_id
from ipfs_kit_py.ipfs_kit import ipfs_kit
from ipfs_kit_py.kit_config import KitConfig
from ipfs_kit_py.node_identity import NODE_ID_FILE, local_node_id, stored_node_id

URL = "postgresql://kit:s3cret@db.example:5432/ledger"


def _config(cache: Path, **index: str) -> KitConfig:
    file = {"cache": {"cache_dir": str(cache)}, "index": {"url": URL, **index}}
    return KitConfig.from_sources({}, file, {"XDG_DATA_HOME": str(cache.parent / "data")})


def test_each_cache_dir_is_its_own_node_and_keeps_its_id(tmp_path: Path) -> None:
    a, b = _config(tmp_path / "a"), _config(tmp_path / "b")
    first = a.index_node_id()
    assert valid_node_id(first) and first != b.index_node_id()  # same host, two nodes
    assert _config(tmp_path / "a").index_node_id() == first  # kept across processes
    assert (tmp_path / "a" / NODE_ID_FILE).read_text().strip() == first
    assert [p.name for p in (tmp_path / "a").iterdir()] == [NODE_ID_FILE]  # no temp left


def test_asking_without_making_never_makes_one(tmp_path: Path) -> None:
    shared = _config(tmp_path / "a")
    assert shared.index_node_id(make=False) is None and not (tmp_path / "a").exists()
    made = shared.index_node_id()
    assert shared.index_node_id(make=False) == made
    assert _config(tmp_path / "b", node_id="rack-2").index_node_id(make=False) == "rack-2"
    alone = KitConfig.from_sources({"cache_dir": str(tmp_path / "c")}, {}, {})
    assert alone.index_node_id(make=False) == "" and not (tmp_path / "c").exists()


def test_the_config_summary_shows_the_node_id_without_making_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    cache = tmp_path / "cache"
    with ipfs_kit(cache_dir=cache, index_url="postgresql://kit@127.0.0.1:1/x") as kit:
        assert kit.config_summary()["node_id"] == "(made in the cache dir at first use)"
        assert not (cache / NODE_ID_FILE).exists()
        made = local_node_id(cache)
        assert kit.config_summary()["node_id"] == made


def test_a_set_node_id_wins_and_one_machine_needs_none(tmp_path: Path) -> None:
    assert _config(tmp_path / "a", node_id="rack-2").index_node_id() == "rack-2"
    assert not (tmp_path / "a").exists()
    alone = KitConfig.from_sources({"cache_dir": str(tmp_path / "c")}, {}, {})
    assert alone.index_node_id() == "" and not (tmp_path / "c").exists()


@pytest.mark.parametrize("content", [b"", b"   \n", b"a\x00b", b"x" * 300, b"\xff\xfe", b"a\nb"])
def test_a_damaged_node_id_file_is_a_configuration_error(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / NODE_ID_FILE).write_bytes(content)
    with pytest.raises(ConfigurationError, match="node id"):
        local_node_id(tmp_path / "a")


def test_a_cache_dir_that_cannot_be_written_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(ConfigurationError, match="node id in"):
        local_node_id(tmp_path / "file" / "cache")


def _make(cache: str, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    out.put(local_node_id(Path(cache)))


def test_processes_starting_at_once_agree_on_one_id(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    out: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_make, args=(str(tmp_path / "c"), out)) for _ in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    ids = {out.get(timeout=5) for _ in procs}
    assert len(ids) == 1 and ids == {stored_node_id(tmp_path / "c")}
    assert sorted(os.listdir(tmp_path / "c")) == [NODE_ID_FILE]


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=40))
def test_a_stored_id_is_read_exactly_or_refused(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    cache = tmp_path_factory.mktemp("c")
    (cache / NODE_ID_FILE).write_text(text, encoding="utf-8")
    try:
        found = stored_node_id(cache)
    except ConfigurationError:
        assert not valid_node_id(text.strip()) or not text.strip()
    else:
        assert found == text.strip() and valid_node_id(found)
