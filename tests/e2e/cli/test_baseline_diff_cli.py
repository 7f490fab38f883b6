"""`basb-baseline diff SOURCE TARGET`: positional environments, golden results, `--json`, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_basb.checks.drift import surface
from pytest_basb.cli.baseline import main
from pytest_basb.regression.baseline import dumps

ECHO: dict[str, Any] = {"name": "echo", "description": "Echo.", "inputSchema": {"type": "object"}}


def write(directory: Path, env: str, golden: dict[str, Any]) -> None:
    data = {
        "version": 1,
        "environment": env,
        "service": "kit",
        "server": {"name": "basb-testkit", "version": "1.0.0"},
        "surface": surface(tools=[ECHO]),
        "golden": golden,
    }
    (directory / env).mkdir(parents=True, exist_ok=True)
    (directory / env / "kit.json").write_text(dumps(data))


def golden(bucket: str, *, modified: str = "t1") -> dict[str, Any]:
    return {
        "echo": {
            "is_error": False,
            "structured_content": {"bucket": bucket, "modified": modified},
            "arguments": {},
            "ignore": ["/modified"],
        }
    }


def test_positional_environments_read_as_promoting_source_to_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "staging", golden("areas"))
    write(tmp_path, "prod", golden("projects"))
    assert main(["diff", "staging", "prod", "--baseline-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "what promoting staging to prod changes" in out
    assert '  GOLDEN    echo: result differs: /bucket: expected "projects", got "areas"' in out
    assert out.rstrip().endswith("BREAKING: promoting staging to prod breaks callers of kit")


def test_ignored_pointers_are_not_drift_and_the_old_options_still_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "staging", golden("areas", modified="t2"))
    write(tmp_path, "prod", golden("areas", modified="t1"))
    assert main(["diff", "--from", "staging", "--to", "prod", "--baseline-dir", str(tmp_path)]) == 0
    assert "kit: no drift" in capsys.readouterr().out


def test_json_output_carries_the_same_verdict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "staging", golden("areas"))
    write(tmp_path, "prod", golden("projects"))
    assert main(["diff", "staging", "prod", "--json", "--baseline-dir", str(tmp_path)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["source"] == "staging"
    assert report["target"] == "prod"
    assert report["breaking"] == ["kit"]
    [kit] = report["services"]
    assert kit["counts"]["golden"] == 1
    assert kit["status"] == "drift"


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["diff", "staging", "prod", "--from", "qa"], "given twice"),
        (["diff", "staging"], "name both environments"),
        (["diff", "staging", "prod", "--service", "nope"], "no baseline for service(s) nope"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], problem: str
) -> None:
    write(tmp_path, "staging", golden("areas"))
    write(tmp_path, "prod", golden("areas"))
    assert main([*args, "--baseline-dir", str(tmp_path)]) == 2
    assert problem in capsys.readouterr().err


def test_the_console_script_never_prints_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "staging").mkdir()
    (tmp_path / "staging" / "kit.json").write_bytes(b"\xff\xfe not utf-8")
    write(tmp_path, "prod", golden("areas"))
    args = ["diff", "staging", "prod", "--baseline-dir", str(tmp_path)]
    done = subprocess.run([sys.executable, "-m", "pytest_basb.cli.baseline", *args], capture_output=True, text=True)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "basb-baseline: error:" in done.stderr
