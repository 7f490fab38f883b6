"""`basb-report merge --out DIR SHARD_DIR...`: one gate from the gate.json files of shard runs.

The merged gate is judged by the same `build_gate` as a single run, from the union of the shards'
check results, so it has the same checks and verdict as one run over all services would have.
It never claims more than it saw: inputs that cannot be one run (other environments, other suites,
another shard count, a shard given twice) are refused; a missing shard or a shard that was itself
narrowed (-k, a test path) makes the merged report partial, with the reason named.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_basb.model.results import CheckResult
from pytest_basb.policy.waivers import WaiverStatus, merge_statuses
from pytest_basb.report.gate import (
    CI_CD,
    GateReport,
    PolicyChange,
    Scope,
    ServiceSummary,
    build_gate,
    ordered_suites,
)
from pytest_basb.report.gate_files import terminal_table, write_gate_json, write_gate_md

if TYPE_CHECKING:
    from pytest_basb.report.incident import IncidentEvidence


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
    scope = merged_scope(documents)
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
    waivers = merge_statuses(
        ([WaiverStatus.from_dict(w) for w in doc.get("waivers", [])] for _, doc in documents),
        full_run=scope is None or scope.full,
    )
    rules = [raw for _, doc in documents for raw in doc.get("policy", [])]
    policy = {json.dumps(raw, sort_keys=True): PolicyChange.from_dict(raw) for raw in rules}
    finished = max(datetime.fromisoformat(doc["finished_at"]) for _, doc in documents)
    report = build_gate(
        list(checks.values()),
        environment=environment,
        services=list(services.values()),
        started_at=min(datetime.fromisoformat(doc["started_at"]) for _, doc in documents),
        finished_at=finished,
        runbooks_dir=Path(runbooks) if runbooks and Path(runbooks).is_dir() else None,
        ci_ok=all(ci) if ci else None,
        ci_evidence=list(dict.fromkeys(ci_evidence)),
        scope=scope,
        waivers=waivers,
        policy=list(policy.values()),
        runbook_dirs=[Path(folder) for folder in searched if Path(folder).is_dir()],
        incident=merged_incident(documents, environment, finished),
    )
    extra = {"merged_from": [str(path) for path, _ in documents], "runbooks_dir": runbooks, "runbook_dirs": searched}
    return report, extra


def merged_incident(
    documents: Sequence[tuple[Path, dict[str, Any]]], environment: str, now: datetime
) -> IncidentEvidence | None:
    """The drill evidence of the shards: their `incident` facts, the ledgers they read and the
    `drills.jsonl` beside each shard's gate.json (None: no shard's environment asks for drills)."""
    from pytest_basb.inventory.load import IncidentPolicy
    from pytest_basb.model.drills import LEDGER, read_ledgers
    from pytest_basb.report.incident import IncidentEvidence

    facts = [doc["incident"] for _, doc in documents if isinstance(doc.get("incident"), dict)]
    if not facts:
        return None
    ledgers = [Path(p) for fact in facts for p in fact.get("ledgers", [])]
    ledgers += [path.parent / LEDGER for path, _ in documents]
    records, problems = read_ledgers(dict.fromkeys(ledgers))
    policy = IncidentPolicy(int(min(fact["drill_max_age_days"] for fact in facts)))
    return IncidentEvidence(environment, policy, tuple(records), now, tuple(problems))


_SHARD_REASON = "--basb-shard "


def merged_scope(documents: Sequence[tuple[Path, dict[str, Any]]]) -> Scope | None:
    """The scope of the merged run, or a MergeError when the inputs cannot be shards of one run.

    None when no input records a scope (reports of an older version): the merge is then taken as
    whole, as before.
    """
    scoped = [(path, doc["scope"]) for path, doc in documents if isinstance(doc.get("scope"), dict)]
    if not scoped:
        return None
    if len(scoped) != len(documents):
        bare = next(path for path, doc in documents if not isinstance(doc.get("scope"), dict))
        raise MergeError(f"{bare}: has no scope, the other reports have one; merge reports of one pytest-basb version")
    suites = {tuple(scope.get("suites", ())) for _, scope in scoped}
    if len(suites) != 1:
        raise MergeError(
            "shards of different runs: they checked different suites "
            f"({' vs '.join(sorted(', '.join(s) or '-' for s in suites))}); run every shard with the same -m"
        )
    shards = _shard_positions(documents)
    reasons: list[str] = []
    for path, scope in scoped:  # a shard narrowed beyond its shard (-k, a test path): partial input
        own = [r for r in scope.get("reasons", ()) if not str(r).startswith(_SHARD_REASON)]
        reasons += [f"{path}: {reason}" for reason in own]
    if shards:
        count = next(iter(shards.values()))[1]
        missing = [k for k in range(1, count + 1) if k not in {index for index, _ in shards.values()}]
        reasons += [f"shard {k}/{count} missing" for k in missing]
    elif len(documents) > 1:
        raise MergeError("several reports, none of them a shard (--basb-shard=K/N): merge the shards of one run")
    totals = {scope["checks"].get("total") for _, scope in scoped}
    services_total = max(int(scope["services"]["total"]) for _, scope in scoped)
    checks_selected = sum(int(scope["checks"]["selected"]) for _, scope in scoped)
    services_checked = sum(int(scope["services"]["checked"]) for _, scope in scoped)
    return Scope(
        suites=ordered_suites(set(next(iter(suites)))),
        services_checked=services_checked,
        services_total=services_total,
        checks_selected=checks_selected,
        checks_total=totals.pop() if len(totals) == 1 else None,
        reasons=tuple(reasons),
    )


def _shard_positions(documents: Sequence[tuple[Path, dict[str, Any]]]) -> dict[Path, tuple[int, int]]:
    """path -> (K, N) of every shard report; MergeError on mixed counts or a shard given twice."""
    positions: dict[Path, tuple[int, int]] = {}
    for path, doc in documents:
        shard = doc.get("shard")
        if shard is None:
            continue
        try:
            positions[path] = (int(shard["index"]), int(shard["total"]))
        except (KeyError, TypeError, ValueError):
            raise MergeError(f"{path}: `shard` is not {{index, total}}; was it written by pytest-basb?") from None
    if positions and len(positions) != len(documents):
        bare = next(path for path, _ in documents if path not in positions)
        raise MergeError(f"{bare}: not a shard run, the others are; merge the --basb-shard=K/N reports of one run")
    counts = {n for _, n in positions.values()}
    if len(counts) > 1:
        raise MergeError(f"shards of different runs: shard counts {sorted(counts)}; merge the K/N reports of one N")
    seen: dict[int, Path] = {}
    for path, (index, _) in positions.items():
        if index in seen:
            raise MergeError(f"{path}: shard {index} is also {seen[index]}; give each shard once")
        seen[index] = path
    return positions


def read_shard(folder: Path) -> tuple[Path, dict[str, Any]]:
    path = folder / "gate.json" if folder.is_dir() else folder
    try:
        document: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise MergeError(f"{path}: not found; pass the --basb-report-dir of each shard run") from None
    except (OSError, ValueError) as exc:
        raise MergeError(f"{path}: not a readable gate.json ({exc})") from None
    if not isinstance(document, dict) or document.get("version") != 1 or "checks" not in document:
        raise MergeError(f"{path}: not a pytest-basb gate.json (version 1 with checks)")
    problem = _schema_problem(document)
    if problem is not None:
        raise MergeError(f"{path}: not a valid gate.json: {problem}; pass the report folders the shard runs wrote")
    for key in ("started_at", "finished_at"):
        try:
            datetime.fromisoformat(document[key])
        except ValueError:
            raise MergeError(f"{path}: `{key}` is not an ISO date-time: {document[key]!r}") from None
    return path, document


def _schema_problem(document: dict[str, Any]) -> str | None:
    """The first way `document` breaks schemas/gate-report.schema.json, or None."""
    from importlib import resources

    import jsonschema

    schema = json.loads(resources.files("pytest_basb").joinpath("schemas/gate-report.schema.json").read_text("utf-8"))
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(document))
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
    return f"{where}: {error.message[:200]}"


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
