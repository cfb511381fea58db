"""The layering, read from the imports (an AST scan of src/ipfs_kit_py).

- ``content/`` imports nothing above it (only itself, ``errors`` and ``streams``);
- the tier manager, the index, replication and the facade modules import no backend
  module except through ``backends.base`` and ``backends.registry``;
- a dict kit (``s3_kit``, ``storacha_kit``) reaches only its own backend package;
- ``cli/`` imports no backend module (it uses the facade and the public names);
- ``gateway/`` (the ASGI app of ``ipfs-kit serve``) imports no backend module either: it
  sits above the facade and the tiers, as the CLI does.

Imports under ``if TYPE_CHECKING:`` are left out: they name the typed backends a
facade property returns, but load nothing at run time. A public name imported from the
package root counts as an import of the module that defines it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import ipfs_kit_py

PACKAGE = Path(ipfs_kit_py.__file__).parent
BACKEND_GATES = ("ipfs_kit_py.backends.base", "ipfs_kit_py.backends.registry")
ABOVE_BACKENDS = (
    "tiers/",
    "index.py",
    "index_schema.py",
    "replication.py",
    "directory_store.py",
    "ipfs_kit.py",
    "kit_wiring.py",
    "kit_config.py",
    "results.py",
)
KITS = {"s3_kit.py": "ipfs_kit_py.backends.s3", "storacha_kit.py": "ipfs_kit_py.backends.storacha"}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_imports(path: Path) -> Iterator[str]:
    """The modules ``path`` imports at run time (absolute names)."""
    package = ".".join(("ipfs_kit_py", *path.relative_to(PACKAGE).parent.parts))
    nodes: list[ast.AST] = [ast.parse(path.read_text(), str(path))]
    while nodes:
        node = nodes.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            nodes.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            yield from (_resolve(base, alias.name) for alias in node.names)
        nodes.extend(ast.iter_child_nodes(node))


def _resolve(base: str, name: str) -> str:
    """The module ``from base import name`` loads: a public name's home, or a submodule."""
    if base == "ipfs_kit_py" and name in ipfs_kit_py._EXPORTS:
        return ipfs_kit_py._EXPORTS[name]
    folder = PACKAGE.joinpath(*base.split(".")[1:])
    if base.startswith("ipfs_kit_py") and folder.is_dir():
        return f"{base}.{name}"
    return base


def modules(prefix: str) -> list[Path]:
    """The source files under ``prefix`` (a folder ending in '/' or one file)."""
    if prefix.endswith("/"):
        return sorted((PACKAGE / prefix).rglob("*.py"))
    return [PACKAGE / prefix]


def _rel(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


def _within(name: str, *allowed: str) -> bool:
    return any(name == a or name.startswith(a + ".") for a in allowed)


@pytest.mark.parametrize("path", modules("content/"), ids=_rel)
def test_content_imports_nothing_above_it(path: Path) -> None:
    # debris: the journal of temp paths; sources: opening a regular file without blocking
    # (leaf utilities, like streams)
    allowed = (
        "ipfs_kit_py.content",
        "ipfs_kit_py.errors",
        "ipfs_kit_py.streams",
        "ipfs_kit_py.debris",
        "ipfs_kit_py.sources",
    )
    bad = [
        name
        for name in runtime_imports(path)
        if name.startswith("ipfs_kit_py") and not _within(name, *allowed)
    ]
    assert not bad, f"{_rel(path)} imports {bad}"


@pytest.mark.parametrize(
    "path", [p for prefix in ABOVE_BACKENDS for p in modules(prefix)], ids=_rel
)
def test_tiers_index_and_facade_reach_backends_only_through_the_gates(path: Path) -> None:
    bad = [
        name
        for name in runtime_imports(path)
        if _within(name, "ipfs_kit_py.backends") and not _within(name, *BACKEND_GATES)
    ]
    assert not bad, f"{_rel(path)} imports {bad}"


@pytest.mark.parametrize("kit", sorted(KITS))
def test_a_kit_reaches_only_its_own_backend(kit: str) -> None:
    own = KITS[kit]
    bad = [
        name
        for name in runtime_imports(PACKAGE / kit)
        if _within(name, "ipfs_kit_py.backends") and not _within(name, own, *BACKEND_GATES)
    ]
    assert not bad, f"{kit} imports {bad}"


@pytest.mark.parametrize("path", modules("cli/"), ids=_rel)
def test_cli_imports_no_backend(path: Path) -> None:
    bad = [name for name in runtime_imports(path) if _within(name, "ipfs_kit_py.backends")]
    assert not bad, f"{_rel(path)} imports {bad}"


@pytest.mark.parametrize("path", modules("gateway/"), ids=_rel)
def test_gateway_imports_no_backend(path: Path) -> None:
    bad = [name for name in runtime_imports(path) if _within(name, "ipfs_kit_py.backends")]
    assert not bad, f"{_rel(path)} imports {bad}"


def test_the_scan_sees_imports() -> None:
    """Guard the guard: the scan finds the imports a module really has."""
    found = set(runtime_imports(PACKAGE / "kit_wiring.py"))
    assert "ipfs_kit_py.backends.registry" in found
    assert "ipfs_kit_py.errors" in found
    relative = set(runtime_imports(PACKAGE / "backends" / "s3" / "backend.py"))
    assert "ipfs_kit_py.backends.s3.client" in relative
    assert _resolve("ipfs_kit_py", "S3Backend") == "ipfs_kit_py.backends.s3"
    assert _resolve("ipfs_kit_py.backends", "registry") == "ipfs_kit_py.backends.registry"
