"""Longer fuzzing runs: each target under atheris for N minutes, growing the corpus.

    .venv/bin/python -m bench.fuzz [--minutes 5] [--targets car,dagpb,extract]

New interesting inputs are kept in the repository's corpus (``tests/fuzz/corpus/<target>/``,
replayed by every test run); a crashing input is saved to ``bench/results/fuzz-crashes/``
(add it to the corpus once it is fixed). Prints a table per target (runs, execs/s,
coverage, corpus growth, crashes) and writes ``bench/results/fuzz-<stamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from tests.fuzz.targets import CORPUS, TARGETS

from bench.common import RESULTS_DIR

REPO = Path(__file__).resolve().parents[1]
CRASHES = RESULTS_DIR / "fuzz-crashes"
_STATS = re.compile(r"cov: (\d+) ft: (\d+) corp: (\d+)")
_DONE = re.compile(r"Done (\d+) runs in (\d+) second")


def fuzz_target(target: str, seconds: int) -> dict[str, object]:
    """Run one target for ``seconds``; return what libFuzzer reported."""
    folder = CORPUS / target
    before = len(list(folder.iterdir()))
    CRASHES.mkdir(parents=True, exist_ok=True)
    crashes_before = set(CRASHES.iterdir())
    argv = [
        sys.executable,
        "-m",
        "tests.fuzz.run",
        target,
        str(folder),
        f"-max_total_time={seconds}",
        "-rss_limit_mb=1024",
        "-timeout=10",
        f"-artifact_prefix={CRASHES}/{target}-",
    ]
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
    stats = _STATS.findall(proc.stderr)
    done = _DONE.search(proc.stderr)
    runs, took = (int(done.group(1)), int(done.group(2))) if done else (0, seconds)
    cov, features, _ = stats[-1] if stats else ("0", "0", "0")
    return {
        "target": target,
        "seconds": took,
        "runs": runs,
        "execs_per_s": round(runs / max(took, 1)),
        "coverage": int(cov),
        "features": int(features),
        "corpus_before": before,
        "corpus_after": len(list(folder.iterdir())),
        "crashes": sorted(str(p) for p in set(CRASHES.iterdir()) - crashes_before),
        "exit": proc.returncode,
    }


def table(rows: list[dict[str, object]]) -> str:
    head = ("target", "seconds", "runs", "execs/s", "coverage", "corpus", "crashes")
    lines = [head]
    for r in rows:
        corpus = f"{r['corpus_before']} -> {r['corpus_after']}"
        crashes = r["crashes"]
        count = str(len(crashes)) if isinstance(crashes, list) else "?"
        lines.append(
            (
                str(r["target"]),
                str(r["seconds"]),
                str(r["runs"]),
                str(r["execs_per_s"]),
                str(r["coverage"]),
                corpus,
                count,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=5.0, help="per target")
    parser.add_argument("--targets", default=",".join(TARGETS))
    args = parser.parse_args()
    rows = []
    for target in args.targets.split(","):
        if target not in TARGETS:
            raise SystemExit(f"unknown target {target!r}; targets: {', '.join(TARGETS)}")
        rows.append(fuzz_target(target, int(args.minutes * 60)))
        print(table(rows[-1:]), flush=True)
    print()
    print(table(rows))
    stamp = time.strftime("%Y%m%dT%H%M%S")
    path = RESULTS_DIR / f"fuzz-{stamp}.json"
    path.write_text(json.dumps({"name": "fuzz", "when": stamp, "targets": rows}, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
