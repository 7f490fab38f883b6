"""metrics.prom is valid Prometheus text exposition: `promtool check metrics` accepts it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pytest_basb.report.metrics import gate_registry, write_metrics
from tests.unit.ops.test_monitoring import RESULTS, report


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool not installed (Debian package `prometheus`; .ci/run installs it)")
    return path


def test_metrics_prom_passes_promtool_check_metrics(tmp_path: Path) -> None:
    path = write_metrics(gate_registry(report(RESULTS)), tmp_path / "metrics.prom")
    run = subprocess.run([promtool(), "check", "metrics"], input=path.read_bytes(), capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr.decode() + run.stdout.decode()
