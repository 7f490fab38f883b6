"""`basb-report merge --out DIR SHARD_DIR...`: one gate from the gate.json files of shard runs.

The merged gate is judged by the same `build_gate` as a single run, from the union of the shards'
check results, so it has the same checks and verdict as one run over all services would have.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pytest_basb.model.results import CheckResult
from pytest_basb.policy.waivers import WaiverStatus, merge_statuses
from pytest_basb.report.gate import CI_CD, GateReport, PolicyChange, ServiceSummary, build_gate
from pytest_basb.report.gate_files import terminal_table, write_gate_json, write_gate_md


class MergeError(ValueError):
    """The shard reports cannot be merged; the message names the file and the fix."""


def merge_gates(documents: Sequence[tuple[Path, dict[str, Any]]]) -> tuple[GateReport, dict[str, Any]]:
    """Merge parsed gate.json documents (with their paths, for messages) into one report."""
    if not documents:
        raise MergeError("no shard reports given")
    environments = {doc.get("environment") for _, doc in documents}
    if len(environments) != 1:
        raise MergeError(f"shards of different environments: {', '.join(sorted(map(str, environments)))}")
    environment = str(environments.pop())
    checks: dict[tuple[str, str, str], CheckResult] = {}
    services: dict[str, ServiceSummary] = {}
    for path, doc in documents:
        for raw in doc.get("checks", []):
            check = CheckResult.from_dict({**raw, "environment": environment})
            key = (check.service, check.id, check.nodeid)
            if key in checks:
                raise MergeError(
                    f"{path}: {check.id} on {check.service} is also in another shard; merge each shard once"
                )
            checks[key] = check
        for raw in doc.get("services", []):
            services.setdefault(
                raw["id"], ServiceSummary(raw["id"], role=raw.get("role"), transport=raw.get("transport"))
            )
    ci = [doc["ci_ok"] for _, doc in documents if doc.get("ci_ok") is not None]
    # The CI item's evidence (failed jobs by name) of the shards that were given a CI status.
    ci_evidence = [
        line
        for _, doc in documents
        if doc.get("ci_ok") is not None
        for item in doc.get("gate", [])
        if item.get("item") == CI_CD
        for line in item.get("evidence", [])
    ]
    runbooks = next((doc["runbooks_dir"] for _, doc in documents if doc.get("runbooks_dir")), None)
    searched = next((doc["runbook_dirs"] for _, doc in documents if doc.get("runbook_dirs")), None) or (
        [runbooks] if runbooks else []
    )
    # Each shard saw only its services: a waiver is stale when no shard's failures matched it.
    waivers = merge_statuses([WaiverStatus.from_dict(w) for w in doc.get("waivers", [])] for _, doc in documents)
    rules = [raw for _, doc in documents for raw in doc.get("policy", [])]
    policy = {json.dumps(raw, sort_keys=True): PolicyChange.from_dict(raw) for raw in rules}
    report = build_gate(
        list(checks.values()),
        environment=environment,
        services=list(services.values()),
        started_at=min(datetime.fromisoformat(doc["started_at"]) for _, doc in documents),
        finished_at=max(datetime.fromisoformat(doc["finished_at"]) for _, doc in documents),
        runbooks_dir=Path(runbooks) if runbooks and Path(runbooks).is_dir() else None,
        ci_ok=all(ci) if ci else None,
        ci_evidence=list(dict.fromkeys(ci_evidence)),
        waivers=waivers,
        policy=list(policy.values()),
        runbook_dirs=[Path(folder) for folder in searched if Path(folder).is_dir()],
    )
    extra = {"merged_from": [str(path) for path, _ in documents], "runbooks_dir": runbooks, "runbook_dirs": searched}
    return report, extra


def read_shard(folder: Path) -> tuple[Path, dict[str, Any]]:
    path = folder / "gate.json" if folder.is_dir() else folder
    try:
        document: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise MergeError(f"{path}: not found; pass the --basb-report-dir of each shard run") from None
    except (OSError, ValueError) as exc:
        raise MergeError(f"{path}: not a readable gate.json ({exc})") from None
    if document.get("version") != 1 or "checks" not in document:
        raise MergeError(f"{path}: not a pytest-basb gate.json (version 1 with checks)")
    return path, document


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="basb-report", description="Work with pytest-basb gate reports")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    merge = commands.add_parser("merge", help="Merge the gate.json of shard runs into one gate")
    merge.add_argument("--out", required=True, type=Path, help="Folder for the merged gate.json and gate.md")
    merge.add_argument("shards", nargs="+", type=Path, metavar="SHARD_DIR", help="Report folders of the shard runs")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    try:
        report, extra = merge_gates([read_shard(folder) for folder in args.shards])
    except MergeError as exc:
        print(f"basb-report: error: {exc}", file=sys.stderr)
        return 2
    out: Path = args.out
    write_gate_json(report, out / "gate.json", extra=extra)
    write_gate_md(report, out / "gate.md")
    from pytest_basb.report.events import write_events
    from pytest_basb.report.metrics import gate_registry, write_metrics

    written = [out / "gate.json", out / "gate.md"]
    written += [write_metrics(gate_registry(report), out / "metrics.prom"), write_events(report, out / "events.jsonl")]
    print("\n".join(terminal_table(report)))
    print("\n".join(f"report: {path}" for path in written))
    return 0 if report.verdict == "pass" else 1


if __name__ == "__main__":
    raise SystemExit(main())
