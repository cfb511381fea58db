"""The standing fuzz suite: replay the committed corpus, then fuzz each target briefly.

The corpus (``tests/fuzz/corpus/<target>/``) holds the inputs atheris found
interesting in earlier runs (``python -m bench.fuzz`` adds to it) and every input
that once crashed a target; replaying it is plain, deterministic pytest. Then each
target runs under atheris for a few seconds on a copy of its corpus, with libFuzzer's
memory and per-input time limits, so a new crash fails the suite with its input saved.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.targets import CORPUS, TARGETS, corpus_inputs

REPO = Path(__file__).resolve().parents[2]
SECONDS = int(os.environ.get("IPFS_KIT_FUZZ_SECONDS", "5"))  # per target: ~25 s in all


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_replay_corpus(target: str) -> None:
    inputs = corpus_inputs(target)
    assert inputs, f"no corpus in {CORPUS / target}"
    for name, data in inputs:
        try:
            TARGETS[target](data)
        except Exception as exc:
            raise AssertionError(f"{target} corpus input {name} crashes: {exc!r}") from exc


def fuzz(target: str, corpus: Path, artifacts: Path) -> subprocess.CompletedProcess[str]:
    artifacts.mkdir()
    argv = [
        sys.executable,
        "-m",
        "tests.fuzz.run",
        target,
        str(corpus),
        f"-max_total_time={SECONDS}",
        "-rss_limit_mb=1024",
        "-timeout=10",
        f"-artifact_prefix={artifacts}/",
    ]
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=SECONDS + 120)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_fuzz_briefly(target: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS / target, corpus)
    artifacts = tmp_path / "crashes"
    proc = fuzz(target, corpus, artifacts)
    found = sorted(p.name for p in artifacts.iterdir())
    tail = proc.stderr[-4000:]
    assert proc.returncode == 0 and not found, f"{target}: crash inputs {found}\n{tail}"
    assert "Done" in proc.stderr, tail


def test_a_crash_fails_the_run_and_keeps_its_input(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "seed").write_bytes(b"xxCRASHxx")
    proc = fuzz("self-test", corpus, tmp_path / "crashes")
    crashes = list((tmp_path / "crashes").iterdir())
    assert proc.returncode != 0 and "the self-test marker" in proc.stdout + proc.stderr
    assert [p.read_bytes() for p in crashes] == [b"xxCRASHxx"]
