"""Benchmark: what the installed-but-inert plugin costs an unrelated pytest run.

Runs a one-test project with the plugin loaded (no environment given, so it stays inert) and with
`-p no:basb`, alternating, and prints the medians and their ratio.

    python bench/plugin_overhead.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from _timing import timed  # bench/ is on sys.path when a benchmark runs as a script


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "pytest.ini").write_text("[pytest]\n")
        (work / "test_plain.py").write_text("def test_plain():\n    assert True\n")
        base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
        timed(base, work)  # warm the file cache
        with_plugin, without = [], []
        for _ in range(runs):
            with_plugin.append(timed(base, work))
            without.append(timed([*base, "-p", "no:basb"], work))
    loaded, bare = statistics.median(with_plugin), statistics.median(without)
    print(f"runs: {runs} each, alternating")
    print(f"pytest with pytest-basb loaded (inert): median {loaded * 1000:.0f} ms")
    print(f"pytest with -p no:basb:                 median {bare * 1000:.0f} ms")
    print(f"ratio loaded / without: {loaded / bare:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
