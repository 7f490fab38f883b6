"""Controller side, at session end: build the gate and write every report of the run.

gate.json, gate.md, metrics.prom and events.jsonl always (and a Pushgateway push with
--basb-pushgateway); the Obsidian daily log when the environment (or --basb-vault) names a vault;
Allure's environment and categories files when --alluredir is given.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_basb.model.files import atomic_write
from pytest_basb.policy.catalogue import shipped_check_ids
from pytest_basb.policy.waivers import waiver_statuses
from pytest_basb.report.gate import (
    GateReport,
    PolicyChange,
    Scope,
    ServiceSummary,
    build_gate,
    count_services,
    matched_waivers,
)
from pytest_basb.report.gate_files import terminal_table, write_gate_json, write_gate_md
from pytest_basb.run.scope import run_scope
from pytest_basb.run.shipped import runbook_dirs
from pytest_basb.run.state import BasbState
from pytest_basb.targets.where import target_label, targets_line

if TYPE_CHECKING:
    from pytest_basb.inventory.load import Environment, ServiceConfig
    from pytest_basb.report.incident import IncidentEvidence

RERUN_LISTED = 5  # failing checks in the terminal's rerun line


def write_run_reports(state: BasbState, config: Any) -> None:
    environment = state.environment
    assert environment is not None
    searched = runbook_dirs(config.rootpath)
    runbooks_dir = searched[0] if searched else None
    targets = target_facts(state)
    ci_status = state.options.ci_status
    scope = stopped_early(run_scope(state), state)
    results = list(state.results.values())
    report = build_gate(
        results,
        environment=environment.name,
        services=[
            ServiceSummary(s.id, role=s.role, transport=_transport(state, s), target=target_label(targets[s.id]))
            for s in environment.services
        ],
        started_at=state.started_at or datetime.now(UTC),
        finished_at=datetime.now(UTC),
        runbooks_dir=runbooks_dir,
        # The pipeline's earlier jobs (--basb-ci-status); without them this run cannot judge CI.
        ci_ok=ci_status.ok if ci_status is not None else None,
        ci_evidence=ci_status.evidence() if ci_status is not None else (),
        scope=scope,
        waivers=waiver_statuses(
            environment.waivers,
            matched_waivers(results),
            today=state.run_date,
            full_run=scope is None or scope.full,
        ),
        policy=policy_changes(environment),
        runbook_dirs=searched,
        incident=incident_evidence(state),
    )
    report_dir = state.options.report_dir
    state.report_paths = [
        write_gate_json(report, report_dir / "gate.json", extra=_run_facts(state, searched, targets)),
        write_gate_md(report, report_dir / "gate.md"),
    ]
    notes: list[str] = [_monitoring_files(report, state)]
    if state.adhoc_services:
        notes.append(_adhoc_inventory(state, report_dir / "inventory.yaml"))
    notes += [f"recorded baseline: {path}" for path in recorded_baselines(report)]
    vault = state.options.vault or environment.vault
    if vault is not None:
        logs = logged(report, state)
        notes.append(_daily_log(report, state, vault, runbooks_dir) if logs else _not_logged(report, state))
    alluredir = getattr(config.option, "allure_report_dir", None)
    if alluredir:
        _allure_files(report, state, Path(alluredir))
    state.verdict = report.verdict
    state.terminal_lines = [
        *terminal_table(report),
        *rerun_line(report, state, config),
        targets_line(targets),
        *(f"report: {path}" for path in state.report_paths),
        *(note for note in notes if note),
    ]


def incident_evidence(state: BasbState) -> IncidentEvidence:
    """The drill ledgers (report folder and vault) and the environment's `incident:`, for the Incident item."""
    from pytest_basb.model.drills import read_ledgers
    from pytest_basb.report.incident import IncidentEvidence
    from pytest_basb.run.drills import ledger_paths

    environment = state.environment
    assert environment is not None
    records, problems = read_ledgers(ledger_paths(state))
    return IncidentEvidence(environment.name, environment.incident, tuple(records), datetime.now(UTC), tuple(problems))


def policy_changes(environment: Environment) -> list[PolicyChange]:
    """The policy rules that change some check's level, for the reports (none: no policy)."""
    if not environment.policy:
        return []
    return [
        PolicyChange(check=rule.pattern, level=rule.level, source=rule.place, service=service)
        for rule, service in environment.policy.changes(shipped_check_ids())
    ]


def rerun_line(report: GateReport, state: BasbState, config: Any) -> list[str]:
    """The failing checks as node ids to paste into pytest from the folder it was started in."""
    ids = [pasteable(c.nodeid, state.locations.get(c.nodeid), config) for c in report.root_failures[:RERUN_LISTED]]
    if not ids:
        return []
    more = f" (and {len(report.root_failures) - RERUN_LISTED} more)" if len(report.root_failures) > RERUN_LISTED else ""
    return [f"rerun: pytest {' '.join(shlex.quote(i) for i in ids)} (with the --basb-* options of this run){more}"]


def pasteable(nodeid: str, location: str | None, config: Any) -> str:
    """`nodeid` with its file relative to the invocation folder (the shipped suites live elsewhere)."""
    if location is None or "::" not in nodeid:
        return nodeid
    path = (Path(config.rootpath) / location).resolve()
    return f"{os.path.relpath(path, config.invocation_params.dir)}::{nodeid.split('::', 1)[1]}"


def recorded_baselines(report: GateReport) -> list[str]:
    """The baseline files a --basb-record-baseline run wrote (each once)."""
    paths = {str(c.evidence["path"]) for c in report.checks if c.evidence.get("recorded") and c.evidence.get("path")}
    return sorted(paths)


def stopped_early(scope: Scope | None, state: BasbState) -> Scope | None:
    """-x / --maxfail stopped the run: the checks it never reached make it partial."""
    if scope is None or state.stopped_early is None or len(state.results) >= scope.checks_selected:
        return scope
    return dataclasses.replace(
        scope,
        services_checked=count_services(r.service for r in state.results.values()),
        checks_selected=len(state.results),
        reasons=(*scope.reasons, f"{state.stopped_early} (-x/--maxfail)"),
    )


def _adhoc_inventory(state: BasbState, path: Path) -> str:
    """A zero-config run keeps its inventory (services named after their servers) for the team's file."""
    from pytest_basb.inventory.adhoc import ADHOC_ENV, inventory_yaml

    workdir = state.options.workdir or Path.cwd()
    cwd = os.path.relpath(workdir, path.parent) if any(s.command for s in state.adhoc_services) else None
    text = inventory_yaml(state.adhoc_services, timeout_s=state.options.timeout_s, cwd=cwd)
    state.report_paths.append(atomic_write(path, text))
    return f"inventory of this run: {path} (keep it: pytest --basb-inventory={path} --basb-env={ADHOC_ENV})"


def _monitoring_files(report: GateReport, state: BasbState) -> str:
    """metrics.prom and events.jsonl beside gate.json; a failed push is reported, never fatal."""
    from pytest_basb.report.events import write_events
    from pytest_basb.report.metrics import gate_registry, push_metrics, write_metrics

    report_dir = state.options.report_dir
    registry = gate_registry(report)
    state.report_paths.append(write_metrics(registry, report_dir / "metrics.prom"))
    state.report_paths.append(write_events(report, report_dir / "events.jsonl", redact=state.redactor.data))
    gateway = state.options.pushgateway
    if gateway is None:
        return ""
    try:
        push_metrics(registry, gateway, environment=report.environment)
    except (OSError, ValueError) as exc:  # urllib's URLError/HTTPError are OSErrors; a bad URL a ValueError
        return state.redactor.text(f"Pushgateway push to {gateway} failed: {exc}")
    return state.redactor.text(f"metrics pushed to {gateway}")


def _run_facts(state: BasbState, searched: tuple[Path, ...], targets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "target": state.options.target,
        "launch_ready_s": dict(sorted(state.launch_ready_s.items())),
        "runbooks_dir": str(searched[0]) if searched else None,  # the first searched (kept for readers)
        "runbook_dirs": [str(folder) for folder in searched],  # the team's folder first, then the shipped
        "targets": dict(sorted(targets.items())),  # per service: where it was tested
    }
    if state.options.shard is not None:
        facts["shard"] = {"index": state.options.shard[0], "total": state.options.shard[1]}
    environment = state.environment
    if environment is not None and environment.incident is not None:  # for basb-report merge
        from pytest_basb.run.drills import ledger_paths

        ledgers = [str(path) for path in ledger_paths(state)]
        facts["incident"] = {"drill_max_age_days": environment.incident.drill_max_age_days, "ledgers": ledgers}
    if state.containers is not None:
        facts["containers"] = {"run": state.containers.run_id, "leftovers_removed": state.containers.leftovers_removed}
    return facts


def logged(report: GateReport, state: BasbState) -> bool:
    """--basb-log: `auto` logs full runs that checked something; `always` and `never` as they say."""
    if state.options.log == "auto":
        return report.verdict != "none" and not report.partial
    return state.options.log == "always"


def _not_logged(report: GateReport, state: BasbState) -> str:
    if state.options.log == "never":
        return "DevOps log: not written (--basb-log=never)"
    why = "nothing was checked" if report.verdict == "none" else "a partial run"
    return f"DevOps log: not written ({why}; --basb-log=always logs it)"


def _transport(state: BasbState, service: ServiceConfig) -> str:
    """How the gate talked to it: a stdio service in a container is reached over streamable HTTP."""
    endpoint = state.endpoints.get(service.id)
    return endpoint.transport if endpoint is not None and endpoint.url else service.transport


def _daily_log(report: GateReport, state: BasbState, vault: Path, runbooks_dir: Path | None) -> str:
    from pytest_basb.obsidian.daily import write_daily_log

    vault.mkdir(parents=True, exist_ok=True)
    try:
        path = write_daily_log(report, vault=vault, report_paths=state.report_paths, runbooks_dir=runbooks_dir)
    except OSError as exc:
        return f"Obsidian log not written: {state.redactor.text(str(exc))}"
    state.report_paths.append(path)
    return ""


def _allure_files(report: GateReport, state: BasbState, alluredir: Path) -> None:
    from pytest_basb.report.allure_files import write_allure_environment

    write_allure_environment(
        alluredir,
        environment=report.environment,
        services=[s.summary for s in report.services],
        redact=state.redactor.text,
    )


def target_facts(state: BasbState) -> dict[str, dict[str, Any]]:
    """Per service: where it ran (live, local, containers with image id and digest), for the reports."""
    environment = state.environment
    assert environment is not None
    launcher = state.containers
    out: dict[str, dict[str, Any]] = {}
    for service in environment.services:
        if state.options.target == "containers":
            fallback = {"target": "containers", "image": service.container.image if service.container else None}
            out[service.id] = dict(launcher.facts.get(service.id, fallback) if launcher else fallback)
            continue
        launched = state.options.target == "local" and bool(service.launch)
        if service.transport == "stdio":
            facts: dict[str, Any] = {"target": "local", "how": "stdio process"}
        elif launched:
            facts = {"target": "local", "how": "launched process"}
            for key, value in state.launch_facts.get(service.id, {}).items():
                facts[key] = state.redactor.text(value) if isinstance(value, str) else value
        else:
            facts = {"target": "live"}
        if service.container is not None:
            facts["image_not_tested"] = service.container.image
        out[service.id] = facts
    return out


STALE_REPORTS = ("gate.json", "metrics.prom", "events.jsonl")


def write_interrupted_report(state: BasbState) -> None:
    """An interrupted run has no verdict: remove the last run's verdict files (a reader must never
    take them for this run's) and write a gate.md that says what happened."""
    from pytest_basb.model.files import atomic_write

    report_dir = state.options.report_dir
    for name in STALE_REPORTS:
        (report_dir / name).unlink(missing_ok=True)
    environment = state.environment.name if state.environment is not None else "?"
    text = (
        f"# BASB quality gate: {environment}\n\n"
        "**Interrupted** (Ctrl-C or SIGTERM) before the run finished: no verdict. "
        "Run the gate again; the previous run's gate.json, metrics.prom and events.jsonl were removed "
        "so they cannot be taken for this run's.\n"
    )
    path = atomic_write(report_dir / "gate.md", text)
    state.terminal_lines = [f"interrupted: no verdict; {path} says so, the previous verdict files were removed"]
