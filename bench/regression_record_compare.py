"""Benchmark: a regression record and a compare run on the embedded `local` environment.

Records the baselines of `local` into a temporary folder, then compares against them (the repo's
own baselines/ are not touched), and prints the wall time of each run.

    python bench/regression_record_compare.py [--runs 3] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from _timing import timed  # bench/ is on sys.path when a benchmark runs as a script

REPO = Path(__file__).resolve().parent.parent


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
            records.append(timed([*base, "--basb-record-baseline"], REPO))
            compares.append(timed(base, REPO))
    print(f"record  (6 services, --basb-repeat={args.repeat}): median {statistics.median(records):.2f} s")
    print(f"compare (6 services, --basb-repeat={args.repeat}): median {statistics.median(compares):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
