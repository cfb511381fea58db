"""Without the s3 extra (obstore, boto3) the kit and the CLI still work, and S3 calls say
what to install. ``sys.modules["obstore"] = None`` makes the import fail as a missing
package does, in a child interpreter; tests/integration/test_wheel.py checks a real
install without the extra."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HINT = "pip install 'ipfs_kit_py[s3]'"
PRELUDE = "import sys\nsys.modules['obstore'] = None\n"


def child(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {"IPFS_KIT_CONFIG": str(tmp_path / "absent.toml"), "XDG_CACHE_HOME": str(tmp_path)}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    return subprocess.run(
        [sys.executable, "-c", PRELUDE + code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
    )


def test_importing_the_s3_backend_names_the_extra(tmp_path: Path) -> None:
    done = child(
        "from ipfs_kit_py.errors import MissingDependencyError, ConfigurationError\n"
        "try:\n    import ipfs_kit_py.backends.s3\n"
        "except MissingDependencyError as exc:\n"
        "    assert isinstance(exc, ConfigurationError) and isinstance(exc, ImportError)\n"
        "    print(exc)\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert HINT in done.stdout


def test_the_kit_works_and_its_s3_face_answers_with_the_extra(tmp_path: Path) -> None:
    done = child(
        "from ipfs_kit_py.ipfs_kit import ipfs_kit\n"
        "s3 = {'bucket': 'some-bucket', 'access_key_id': 'k', 'secret_access_key': 's'}\n"
        "with ipfs_kit(s3=s3) as kit:\n"
        "    print(kit.add(b'hello\\n').cid)\n"
        "    r = kit.s3_kit.upload_file(local_path='x', bucket='some-bucket', key='k')\n"
        "    print(r['success'], r['error_type'], r['error'])\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"
    assert lines[1].startswith("False MissingDependencyError ")
    assert HINT in lines[1]


def test_the_cli_runs_and_its_s3_command_answers_with_the_extra(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"hello\n")
    done = child(
        "from ipfs_kit_py.cli.main import main\n"
        "print('add', main(['add', '-n', '-Q', 'f']))\n"
        "print('s3', main(['s3', 'ls', 'some-bucket', '--json']))\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN\nadd 0\n" in done.stdout
    assert "s3 3" in done.stdout  # exit code 3: configuration
    assert HINT in " ".join((done.stdout + done.stderr).split())  # rich wraps long lines
