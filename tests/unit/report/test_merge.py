"""`basb-report merge`: shard reports merge into one gate, and inputs that cannot be merged are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_basb.report.merge import main as basb_report


def test_merge_refuses_reports_of_different_environments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, env in (("a", "staging"), ("b", "prod")):
        (tmp_path / name).mkdir()
        document = {"version": 1, "environment": env, "checks": [], "services": []}
        (tmp_path / name / "gate.json").write_text(json.dumps(document))
    assert basb_report(["merge", "--out", str(tmp_path / "out"), str(tmp_path / "a"), str(tmp_path / "b")]) == 2
    assert "different environments" in capsys.readouterr().err
    assert basb_report(["merge", "--out", str(tmp_path / "out"), str(tmp_path / "missing")]) == 2
    assert "not found" in capsys.readouterr().err
