"""``get`` of a directory and its symlinks: the safe default of ``car extract``.

A symlink whose target is absolute or climbs out of the tree is refused before anything
is written (``keep_escaping_symlinks`` / ``--keep-escaping-symlinks`` makes it as it is);
an entry under a symlink is refused always, so nothing is written through one. The
property tests build hostile trees: real directories (any symlink target) added to the
disk tier and got back, and index entries (any name) that only a damaged or forged index
can hold.
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipfs_kit_py.cli.main import main
from ipfs_kit_py.content.cid import parse_cid
from ipfs_kit_py.content.unixfs import KUBO_DEFAULT
from ipfs_kit_py.directory_store import StoredTree, check_tree_paths
from ipfs_kit_py.errors import UnsafePathError
from ipfs_kit_py.ipfs_kit import ipfs_kit

ROOT = parse_cid("QmT7nZENQvRNb48AZWD9xSbnaGa9mYvsFdsqtcBhJmYjph")
COMPONENTS = ["a", "b", "..", ".", "", "x y", "\\"]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for kind in ("CACHE", "DATA", "CONFIG"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    for name in ("IPFS_API_URL", "IPFS_PATH", "IPFS_KIT_GATEWAYS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def kit(home: Path) -> Iterator[ipfs_kit]:
    with ipfs_kit() as k:  # in the XDG homes, as the CLI's
        yield k


def make_tree(root: Path, links: dict[str, str]) -> Path:
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "file").write_bytes(b"inside\n")
    for inner, target in links.items():
        os.symlink(target, root / inner)
    return root


def escapes(inner: str, target: str) -> bool:
    """The model: does following ``target`` from ``inner``'s directory ever leave the tree
    (lexically, at any step, since a step may pass through another symlink)? The kit
    refuses more (any ``..`` after a name: that name may be a symlink)."""
    if target.startswith("/"):
        return True
    depth = inner.count("/")
    for part in target.replace("\\", "/").split("/"):
        depth += -1 if part == ".." else 0 if part in ("", ".") else 1
        if depth < 0:
            return True
    return False


def only_the_output(home: Path, out: Path) -> set[str]:
    return {p.name for p in out.parent.iterdir()} - {
        "tree",
        "cache",
        "config",
        "data",
        "absent.toml",
    }


@pytest.mark.parametrize(
    "target", ["/etc/passwd", "../../outside", "b/../../..", "../a/../../x", "b/../../../etc"]
)
def test_an_escaping_symlink_is_refused_and_nothing_is_written(
    kit: ipfs_kit, home: Path, target: str
) -> None:
    added = kit.add(make_tree(home / "tree", {"a/link": target}), to=["disk"])
    out = home / "out"
    with pytest.raises(UnsafePathError, match="symlink"):
        kit.get_to_path(added.cid, out)
    assert not os.path.lexists(out)
    assert only_the_output(home, out) == set()
    kept = kit.get_to_path(added.cid, out, keep_escaping_symlinks=True)  # checked by its CID
    assert os.readlink(kept / "a" / "link") == target


@pytest.mark.parametrize("target", ["file", "b", "../a/file", "./b/.", "../nothing"])
def test_a_symlink_inside_the_tree_comes_back_as_it_was(
    kit: ipfs_kit, home: Path, target: str
) -> None:
    added = kit.add(make_tree(home / "tree", {"a/link": target}), to=["disk"])
    out = kit.get_to_path(added.cid, home / "out")
    assert os.readlink(out / "a" / "link") == target


def test_the_cli_refuses_by_default_and_keeps_with_the_flag(
    kit: ipfs_kit, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    added = kit.add(make_tree(home / "tree", {"abs": "/etc/passwd"}), to=["disk"])
    kit.close()
    code = main(["get", str(added.cid), "-o", str(home / "out")])
    err = capsys.readouterr().err
    assert code != 0 and "absolute" in err and "/etc/passwd" in err
    assert not os.path.lexists(home / "out")
    flags = ["get", "--json", str(added.cid), "-o", str(home / "out"), "--keep-escaping-symlinks"]
    assert main(flags) == 0
    assert json.loads(capsys.readouterr().out)["path"] == str(home / "out")
    assert os.readlink(home / "out" / "abs") == "/etc/passwd"


def test_an_entry_under_a_symlink_is_refused_even_when_symlinks_are_kept(home: Path) -> None:
    outside = home / "outside"
    tree = StoredTree({"link/planted": str(ROOT)}, [], KUBO_DEFAULT, False, {"link": str(outside)})
    for keep in (False, True):
        with pytest.raises(UnsafePathError):
            check_tree_paths(ROOT, tree, keep_escaping_symlinks=keep)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    links=st.dictionaries(
        st.sampled_from(["l1", "a/l2", "a/b/l3"]),
        st.lists(st.sampled_from(["a", "b", "file", "..", "."]), min_size=1, max_size=5).map(
            "/".join
        )
        | st.sampled_from(["/etc", "/", "//x"]),
        min_size=1,
    )
)
def test_got_trees_hold_only_links_that_stay_inside(
    home: Path, links: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    work = tmp_path_factory.mktemp("tree")
    with ipfs_kit() as k:
        added = k.add(make_tree(work / "tree", links), to=["disk"])
        out = work / "out"
        try:
            k.get_to_path(added.cid, out)
        except UnsafePathError:  # refused: nothing written (a safe link may be refused too)
            assert sorted(p.name for p in work.iterdir()) == ["tree"]
            return
    assert not any(escapes(inner, target) for inner, target in links.items())
    for inner, target in links.items():
        assert os.readlink(out / inner) == target
        assert os.path.realpath(out / inner).startswith(str(out.resolve()))


hostile_paths = st.lists(st.sampled_from(COMPONENTS), min_size=1, max_size=4).map("/".join) | (
    st.text(max_size=12)
)


@settings(max_examples=300, deadline=None)
@given(
    files=st.dictionaries(hostile_paths, st.just(str(ROOT)), max_size=3),
    dirs=st.lists(hostile_paths, max_size=3),
    links=st.dictionaries(hostile_paths, hostile_paths, max_size=3),
    keep=st.booleans(),
)
def test_index_entries_that_would_escape_are_refused(
    files: dict[str, str], dirs: list[str], links: dict[str, str], keep: bool
) -> None:
    tree = StoredTree(files, dirs, KUBO_DEFAULT, False, links)
    try:
        check_tree_paths(ROOT, tree, keep_escaping_symlinks=keep)
    except UnsafePathError:
        return
    link_paths = {posixpath.normpath(inner) for inner in links}
    for inner in [*files, *dirs, *links]:
        assert inner and "\0" not in inner and not inner.startswith("/")
        assert ".." not in inner.split("/")
        parents = {posixpath.normpath("/".join(inner.split("/")[:i])) for i in range(1, 9)}
        assert not (parents - {posixpath.normpath(inner)}) & link_paths
    for inner, target in links.items():
        assert target and "\0" not in target
        assert keep or not escapes(posixpath.normpath(inner), target)
