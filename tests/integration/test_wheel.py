"""The package as users get it: an sdist built with ``python -m build``, wheels built from
that sdist with the native piece extension and without (``IPFS_KIT_NO_NATIVE=1``), each
installed into a fresh venv (exact versions from constraints.txt) and run from outside
the repo: ``ipfs-kit add -n`` prints the CIDs kubo prints, the piece CID is the same. The
native wheel is installed with the ``s3`` extra, the pure one without: its S3 command
answers with the extra to install."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from tests.random_files import write_random_file

from ipfs_kit_py.backends.storacha.piece import piece_cid
from ipfs_kit_py.content.unixfs import KUBO_CID_V1, import_file

ROOT = Path(__file__).resolve().parents[2]
HELLO_V0 = "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"  # `echo hello | ipfs add -n`


def run(*argv: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in argv],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout.strip()


def only(paths: list[Path]) -> Path:
    assert len(paths) == 1, paths
    return paths[0]


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """{"native": wheel, "pure": wheel}, each built from its own copy of the sdist."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--sdist", "--outdir", out, ROOT)
    sdist = only(list(out.glob("*.tar.gz")))
    built = {}
    for kind, env in [
        ("native", {"IPFS_KIT_NO_NATIVE": "0"}),
        ("pure", {"IPFS_KIT_NO_NATIVE": "1"}),
    ]:
        with tarfile.open(sdist) as archive:
            archive.extractall(out / kind, filter="data")
        tree = only(list((out / kind).iterdir()))
        run(
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--outdir",
            out / f"{kind}-wheel",
            tree,
            env=env,
        )
        built[kind] = only(list((out / f"{kind}-wheel").glob("*.whl")))
    return built


@pytest.mark.parametrize("kind", ["native", "pure"])
def test_wheel_installs_and_runs_in_a_clean_venv(
    wheels: dict[str, Path], tmp_path: Path, kind: str
) -> None:
    wheel = wheels[kind]
    assert wheel.name.endswith("-py3-none-any.whl") == (kind == "pure"), wheel.name
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    python, kit = venv / "bin" / "python", venv / "bin" / "ipfs-kit"
    extra = "[s3]" if kind == "native" else ""
    run(python, "-m", "pip", "install", "-q", "-c", ROOT / "constraints.txt", f"{wheel}{extra}")

    # From outside the repo, the installed copy (not the source tree) is what runs.
    probe = "import ipfs_kit_py.backends.storacha.piece as p; print(p.__file__, p.NATIVE)"
    where, native = run(python, "-c", probe, cwd=tmp_path).split()
    assert Path(where).is_relative_to(venv), where
    assert native == str(kind == "native")

    hello = tmp_path / "hello.txt"
    hello.write_bytes(b"hello\n")
    assert run(kit, "add", "-n", "-Q", hello, cwd=tmp_path) == HELLO_V0
    sample = write_random_file(
        tmp_path / "sample.bin", 3 * 262144 + 7, randbytes=random.Random(16).randbytes
    )
    assert run(kit, "add", "-n", "-Q", sample, cwd=tmp_path) == str(import_file(sample).cid)
    cid_v1 = run(kit, "add", "-n", "-Q", "--cid-version=1", sample, cwd=tmp_path)
    assert cid_v1 == str(import_file(sample, KUBO_CID_V1).cid)

    piece = "import sys; from ipfs_kit_py.backends.storacha.piece import piece_cid; "
    piece += "print(piece_cid(open(sys.argv[1], 'rb').read()))"
    assert run(python, "-c", piece, sample, cwd=tmp_path) == str(piece_cid(sample.read_bytes()))

    s3 = subprocess.run(
        [kit, "s3", "ls", "some-bucket"], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    if extra:
        assert "install the extra" not in s3.stderr
        run(python, "-c", "import ipfs_kit_py.backends.s3, obstore, boto3", cwd=tmp_path)
    else:
        assert s3.returncode == 3, s3.stderr
        assert "pip install 'ipfs_kit_py[s3]'" in " ".join(s3.stderr.split())
