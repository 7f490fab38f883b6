"""Benchmark: a regression record and a compare run on the embedded `local` environment.

Records the baselines of `local` into a temporary folder, then compares against them (the repo's
own baselines/ are not touched), and prints the wall time of each run.

    python bench/regression_record_compare.py [--runs 3] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(argv: list[str]) -> float:
    """Seconds one run takes; a failing run aborts the benchmark with the end of its output."""
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"run failed (exit {done.returncode}):\n" + "\n".join(done.stdout.splitlines()[-30:]))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5, help="--basb-repeat of the runs")
    args = parser.parse_args()
    records, compares = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            base = [
                sys.executable, "-m", "pytest", "--basb-env=local", "-m", "regression", "-q", "-p", "no:cacheprovider",
                f"--basb-baseline-dir={tmp}", f"--basb-report-dir={tmp}/report", f"--basb-vault={tmp}/vault",
                f"--basb-repeat={args.repeat}",
            ]  # fmt: skip
            records.append(timed([*base, "--basb-record-baseline"]))
            compares.append(timed(base))
    print(f"record  (6 services, --basb-repeat={args.repeat}): median {statistics.median(records):.2f} s")
    print(f"compare (6 services, --basb-repeat={args.repeat}): median {statistics.median(compares):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
