"""Scale: one session and one server process per service per run, shards that merge into one gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_basb.inventory.sharding import shard_of
from pytest_basb.report.merge import main as basb_report
from tests.helpers import ROGUE_SERVER, Gate

SERVICES = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot")


def fleet_inventory(tmp: Path) -> str:
    """Six fast stdio servers; each logs the methods it receives, one file per process."""
    lines = []
    for name in SERVICES:
        argv = ["python", str(ROGUE_SERVER), "--mode", "ok", "--method-log", str(tmp / f"{name}.methods")]
        lines.append(
            f"      {name}: {{transport: stdio, timeout_s: 30, command: {json.dumps(argv)},"
            " smoke: [{tool: echo, arguments: {text: hi}}]}"
        )
    return "version: 1\nenvironments:\n  t:\n    services:\n" + "\n".join(lines) + "\n"


def outcomes(report_dir: Path) -> tuple[str, list[tuple[str, str, str]]]:
    data = json.loads((report_dir / "gate.json").read_text())
    return data["verdict"], sorted((c["service"], c["id"], c["outcome"]) for c in data["checks"])


def test_xdist_opens_one_session_per_service_for_the_whole_run(gate: Gate, tmp_path: Path) -> None:
    gate.write(fleet_inventory(tmp_path))
    # Every suite, security.shadowing included: it compares each service with all the others, whose
    # tools it reads as their own worker published them, without sessions of its own.
    result = gate.run_subprocess("-n", "2", timeout=180)
    assert result.ret == 0, result.stdout.str()[-3000:]
    for name in SERVICES:
        methods = (tmp_path / f"{name}.methods").read_text().split()
        # Each new session starts with a discover attempt: exactly one per service per run.
        assert methods.count("server/discover") == 1, (name, methods)
        assert methods.count("tools/list") == 1, (name, methods)
        # Prefetched by its worker: listed right after the handshake, before any check's request.
        assert methods.index("tools/list") == methods.index("initialize") + 1, (name, methods)


def test_shards_merge_into_the_gate_of_a_single_run(gate: Gate, tmp_path: Path) -> None:
    gate.write(fleet_inventory(tmp_path))
    single = gate.run_subprocess(f"--basb-report-dir={tmp_path / 'single'}", timeout=180)
    assert single.ret == 0, single.stdout.str()[-3000:]
    shard_dirs = []
    for k in (1, 2, 3):
        shard_dir = tmp_path / f"shard{k}"
        shard_dirs.append(shard_dir)
        run = gate.run_subprocess(f"--basb-shard={k}/3", f"--basb-report-dir={shard_dir}", "-n", "2", timeout=180)
        assert run.ret == 0, run.stdout.str()[-3000:]  # also a shard that holds no service
        document = json.loads((shard_dir / "gate.json").read_text())
        assert document["shard"] == {"index": k, "total": 3}
        assert document["scope"]["full"] is False  # a shard alone is partial
        assert document["scope"]["reasons"] == [f"--basb-shard {k}/3"]
    assert basb_report(["merge", "--out", str(tmp_path / "merged"), *map(str, shard_dirs)]) == 0
    assert outcomes(tmp_path / "merged") == outcomes(tmp_path / "single")
    merged, whole = (json.loads((tmp_path / d / "gate.json").read_text())["scope"] for d in ("merged", "single"))
    assert merged == whole  # every shard merged: full, the same counts as one run
    assert merged["full"] is True
    per_shard = [{c[0] for c in outcomes(d)[1]} for d in shard_dirs]
    assert sum(len(s) for s in per_shard) == len(SERVICES)  # every service in exactly one shard


def test_a_bad_shard_option_is_a_usage_error(gate: Gate, tmp_path: Path) -> None:
    gate.write(fleet_inventory(tmp_path))
    result = gate.run("--basb-shard=3/2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--basb-shard: expected K/N with 1 <= K <= N*"])


def test_a_shard_without_services_passes_and_still_writes_a_report(gate: Gate, tmp_path: Path) -> None:
    gate.write(fleet_inventory(tmp_path))
    empty = next(k for k in range(1, 9) if all(shard_of(name, 8) != k for name in SERVICES))
    result = gate.run(f"--basb-shard={empty}/8")
    assert result.ret == pytest.ExitCode.OK
    verdict, checks = outcomes(gate.report_dir)
    assert checks == []
    assert verdict == "none"  # nothing was checked: the job succeeds, the report says so


CODE_ROLES = ("capture", "organize", "distill", "express", "search")


STARTS_LOGGER = """
import os, sys
with open(sys.argv[1], "a") as log:
    log.write(os.path.basename(sys.argv[2]) + "\\n")
os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
"""


def test_the_code_flow_under_xdist_starts_each_stdio_server_once(gate: Gate, tmp_path: Path) -> None:
    """The flow reaches four other services by role; under -n 2 they run on the flow's worker,
    so no worker starts a second copy of a stdio server for it."""
    from tests.helpers import REPO

    logger, starts = tmp_path / "starts.py", tmp_path / "starts.log"
    logger.write_text(STARTS_LOGGER)
    services = REPO / "fixtures" / "services"
    lines = [
        f"      {role}: {{role: {role}, contract: basb/1, transport: stdio, timeout_s: 30,"
        f" env: {{BASB_VAULT: '${{BASB_VAULT}}'}},"
        f" command: {json.dumps(['python', str(logger), str(starts), str(services / f'{role}.py')])}}}"
        for role in CODE_ROLES
    ]
    seed = REPO / "fixtures" / "sample-vault"
    gate.write(f"version: 1\nenvironments:\n  t:\n    seed_vault: {seed}\n    services:\n" + "\n".join(lines) + "\n")
    result = gate.run_subprocess("-n", "2", "-m", "smoke", timeout=240)
    assert result.ret == 0, result.stdout.str()[-3000:]
    checks = {
        (c["id"], c["service"]): c["outcome"] for c in json.loads((gate.report_dir / "gate.json").read_text())["checks"]
    }
    assert checks[("basb.code.flow", "search")] == "pass"
    started = starts.read_text().split()
    assert sorted(started) == sorted(f"{role}.py" for role in CODE_ROLES), started
