"""The verdict's read-out: failures outside the gate items are named, -x runs are partial, the node
ids printed can be pasted back into pytest, and a recording run lists the files it wrote."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from tests.helpers import GOOD_SERVER, SUITES, Gate


def _inventory(gate: Gate, *, crash: bool = False) -> None:
    crashing = gate.path / "crash.py"
    crashing.write_text("import sys\nprint('boom', file=sys.stderr)\nsys.exit(2)\n")
    lines = [
        "version: 1",
        "environments:",
        "  t:",
        "    services:",
        f'      kit: {{transport: stdio, timeout_s: 30, command: ["python", "{GOOD_SERVER}"],'
        " smoke: [{tool: echo, arguments: {text: hi}, golden: true}]}",
    ]
    if crash:
        lines.append(f'      broken: {{transport: stdio, timeout_s: 30, command: ["python", "{crashing}"]}}')
    gate.write("\n".join(lines) + "\n")


def test_a_run_stopped_by_x_is_partial_and_its_rerun_ids_paste_into_pytest(gate: Gate) -> None:
    _inventory(gate, crash=True)
    result = gate.run("-m", "health", "-x")
    assert result.ret == 1
    scope = json.loads((gate.report_dir / "gate.json").read_text())["scope"]
    assert scope["full"] is False
    assert any("-x/--maxfail" in reason for reason in scope["reasons"]), scope
    result.stdout.fnmatch_lines(["verdict: FAIL (partial: *"])
    [rerun] = [line for line in result.stdout.lines if line.startswith("rerun: pytest ")]
    node_ids = [word for word in shlex.split(rerun.removeprefix("rerun: pytest ")) if "::" in word]
    assert node_ids == [node_ids[0]]
    assert node_ids[0].endswith("::test_handshake[broken]")
    # Pasted as it is (pytester runs in the folder the first run started in):
    again = gate.pytester.runpytest(*[a for a in gate.args("-m", "health") if a != str(SUITES)], node_ids[0])
    again.assert_outcomes(failed=1)


def test_a_failure_outside_the_gate_items_is_named_in_the_verdict(gate: Gate) -> None:
    _inventory(gate)
    result = gate.run("-m", "regression", "--basb-repeat=1")  # no baseline recorded: regression fails
    assert result.ret == 1
    verdict = next(line for line in result.stdout.lines if line.startswith("verdict: FAIL"))
    assert "outside the gate items: regression." in verdict, verdict
    assert "on kit" in verdict


def test_a_recording_run_lists_every_baseline_file_it_wrote(gate: Gate, tmp_path: Path) -> None:
    _inventory(gate)
    baselines = tmp_path / "baselines"
    result = gate.run(
        "-m", "regression", "--basb-repeat=1", "--basb-record-baseline", f"--basb-baseline-dir={baselines}"
    )
    assert result.ret == 0, result.stdout.str()[-2000:]
    listed = [line.removeprefix("recorded baseline: ") for line in result.stdout.lines if line.startswith("recorded ")]
    written = sorted(baselines.rglob("*.json"))
    assert written
    assert [Path(p).resolve() for p in listed] == [p.resolve() for p in written]
