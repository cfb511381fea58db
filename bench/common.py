"""Shared benchmark plumbing: time peers and us side by side, print a table, write JSON."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Measurement:
    """One contender in one case: best-of-N seconds and the throughput it implies."""

    case: str
    contender: str
    seconds: list[float]
    nbytes: int = 0
    ops: int = 0
    notes: str = ""

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def mb_per_s(self) -> float:
        return self.nbytes / self.best / 1e6 if self.nbytes else 0.0

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.best if self.ops else 0.0


@dataclass
class BenchRun:
    """All measurements of one benchmark run, compared against a baseline contender."""

    name: str
    measurements: list[Measurement] = field(default_factory=list)

    def time(
        self,
        case: str,
        contender: str,
        func: Callable[[], object],
        *,
        repeat: int = 3,
        nbytes: int = 0,
        ops: int = 0,
        notes: str = "",
    ) -> Measurement:
        """Run ``func`` ``repeat`` times and record the wall-clock seconds of each run."""
        seconds = []
        for _ in range(repeat):
            start = time.perf_counter()
            func()
            seconds.append(time.perf_counter() - start)
        m = Measurement(case, contender, seconds, nbytes, ops, notes)
        self.measurements.append(m)
        return m

    def add(self, m: Measurement) -> None:
        self.measurements.append(m)

    def ratio(self, case: str, contender: str, baseline: str) -> float:
        """Speed of ``contender`` relative to ``baseline`` in ``case`` (>1 means faster)."""
        by_name = {m.contender: m for m in self.measurements if m.case == case}
        return by_name[baseline].best / by_name[contender].best

    def table(self, baselines: dict[str, str]) -> str:
        """Render a text table; ``baselines`` maps case -> the contender ratios refer to."""
        rows = [("case", "contender", "best s", "median s", "MB/s", "ops/s", "ratio", "notes")]
        for m in self.measurements:
            base = baselines.get(m.case)
            ratio = f"{self.ratio(m.case, m.contender, base):.2f}x" if base else ""
            rows.append(
                (
                    m.case,
                    m.contender,
                    f"{m.best:.4f}",
                    f"{m.median:.4f}",
                    f"{m.mb_per_s:.1f}" if m.nbytes else "",
                    f"{m.ops_per_s:.0f}" if m.ops else "",
                    ratio,
                    m.notes,
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def report(self, baselines: dict[str, str]) -> Path:
        """Print the table and write ``bench/results/<name>-<timestamp>.json``."""
        print(self.table(baselines))
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        path = RESULTS_DIR / f"{self.name}-{stamp}.json"
        payload = {
            "name": self.name,
            "when": stamp,
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "baselines": baselines,
            "measurements": [
                {**asdict(m), "best": m.best, "median": m.median, "mb_per_s": m.mb_per_s}
                for m in self.measurements
            ],
            "ratios": {
                f"{m.case}/{m.contender}": self.ratio(m.case, m.contender, baselines[m.case])
                for m in self.measurements
                if m.case in baselines
            },
        }
        path.write_text(json.dumps(payload, indent=2))
        print(f"wrote {path}")
        return path


def make_file(path: Path, size: int) -> None:
    """Write ``size`` pseudo-random bytes (fast: one random MiB varied by a counter)."""
    block = os.urandom(1 << 20)
    with path.open("wb") as f:
        for i in range(size // len(block)):
            f.write(i.to_bytes(8, "little") + block[8:])
        f.write(block[: size % len(block)])
