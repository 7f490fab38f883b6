"""gate.json, gate.md and the terminal table, written atomically and deterministically.

Everything is sorted (services by id, checks by (service, id, nodeid), evidence keys) so two runs
with the same results give byte-identical files apart from the timestamps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_basb.model.files import atomic_write
from pytest_basb.model.results import CheckResult
from pytest_basb.model.text import shorten
from pytest_basb.policy.levels import Decision
from pytest_basb.report.flow_data import flow_data_lines
from pytest_basb.report.gate import (
    NOT_EVALUATED,
    SUITES,
    CheckKey,
    GateReport,
    PolicyChange,
    ServiceResult,
    blocked_lines,
    check_key,
    outside_items,
    plural,
    suite_of,
)

STATUS_ICON = {"pass": "✅", "fail": "❌", NOT_EVALUATED: "⚪", "none": "⚪"}
NOTHING_CHECKED = "nothing was checked"
MESSAGE_LIMIT = 300  # characters of a check message shown in Markdown; gate.json keeps all of it


# --- gate.json ----------------------------------------------------------------------------------


def gate_dict(report: GateReport) -> dict[str, Any]:
    """The gate.json document (schema: pytest_basb/schemas/gate-report.schema.json)."""
    return {
        "version": 1,
        "environment": report.environment,
        "verdict": report.verdict,
        "started_at": report.started_at.isoformat(timespec="seconds"),
        "finished_at": report.finished_at.isoformat(timespec="seconds"),
        "duration_s": report.duration_s,
        "ci_ok": report.ci_ok,
        "scope": report.full_scope.to_dict(),
        "summary": report.summary,
        "services": [_service_dict(s) for s in report.services],
        "checks": [_check_dict(c) for c in report.checks],
        "gate": [{"item": g.item, "status": g.status, "evidence": list(g.evidence)} for g in report.gate],
        "policy": [change.to_dict() for change in report.policy],
        "waivers": [waiver.to_dict() for waiver in report.waivers],
    }


def _service_dict(service: ServiceResult) -> dict[str, Any]:
    s = service.summary
    return {
        "id": s.id,
        "status": service.status,
        "role": s.role,
        "transport": s.transport,
        "server": {"name": s.server_name, "version": s.server_version},
        "protocol_version": s.protocol_version,
        "counts": {suite: dict(counts) for suite, counts in service.counts.items()},
    }


def _check_dict(check: CheckResult) -> dict[str, Any]:
    return {
        "id": check.id,
        "service": check.service,
        "outcome": check.outcome,
        "severity": check.severity,
        "duration_s": check.duration_s,
        "message": check.message,
        "evidence": _sorted_json(check.evidence),
        "nodeid": check.nodeid,
        "policy": check.policy or Decision().to_dict(),  # the level in force and where it was set
        "waiver": check.waiver,
        **({"blocked_by": check.blocked_by} if check.blocked_by else {}),
    }


def _sorted_json(value: Any) -> Any:
    """JSON-safe copy with mapping keys sorted (evidence order depends on the check's code path)."""
    if isinstance(value, Mapping):
        return {str(k): _sorted_json(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [_sorted_json(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def write_gate_json(report: GateReport, path: Path, *, extra: Mapping[str, Any] | None = None) -> Path:
    """gate.json; `extra` adds run facts outside the gate itself (e.g. launch timings)."""
    document = {**gate_dict(report), **(extra or {})}
    return atomic_write(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


# --- gate.md ------------------------------------------------------------------------------------


def write_gate_md(report: GateReport, path: Path) -> Path:
    return atomic_write(path, "\n".join(gate_md_lines(report)) + "\n")


def gate_md_lines(report: GateReport) -> list[str]:
    return [
        *_md_header(report),
        *_md_gate_table(report),
        *_md_service_table(report),
        *_md_failures(report),
        *_md_check_list("Warnings", report.warnings),
        *_md_flow_data(report),
        *_md_waived(report),
        *_md_policy(report),
    ]


def _md_header(report: GateReport) -> list[str]:
    s = report.summary
    counts = ", ".join(f"{s[o]} {o}" for o in s)
    lines = [
        f"# BASB quality gate — {inline_code(report.environment)}",
        "",
        f"**Verdict: {STATUS_ICON[report.verdict]} {report.verdict_text()}**",
        "",
        f"- Run: {report.started_at.isoformat(timespec='seconds')} → "
        f"{report.finished_at.isoformat(timespec='seconds')} ({report.duration_s:g} s)",
        *scope_lines(report),
        f"- Checks: {len(report.checks)} ({counts})",
        "",
    ]
    if report.verdict == "none":
        lines += [
            f"**{NOTHING_CHECKED.capitalize()}**: no check of this run's selection ran; this report "
            "replaces the previous one so that no stale verdict stays in place.",
            "",
        ]
    return lines


def scope_lines(report: GateReport) -> list[str]:
    """`- Suites: health, smoke` and, for a partial run, what narrowed it."""
    scope = report.full_scope
    lines = [f"- Suites: {', '.join(scope.suites) or '—'}"]
    if not scope.full:
        lines.append(f"- Scope: {scope.label()} — narrowed by {'; '.join(scope.reasons)}")
    return lines


def _md_gate_table(report: GateReport) -> list[str]:
    lines = ["## Quality gate", "", "| Item | Status | Evidence |", "|---|---|---|"]
    for g in report.gate:
        evidence = "<br>".join(table_text(e) for e in g.evidence) or "—"
        lines.append(f"| {g.item} | {STATUS_ICON[g.status]} {g.status} | {evidence} |")
    return [*lines, ""]


def _md_service_table(report: GateReport) -> list[str]:
    suites = report_suites(report)
    lines = [
        "## Services",
        "",
        "Suite cells: passed / failed (errors included) / warnings; — when the suite did not run.",
        "",
        "| Service | Status | Role | Transport | Target | Server | Protocol | " + " | ".join(suites) + " |",
        "|---|---|---|---|---|---|---|" + "---|" * len(suites),
    ]
    for service in report.services:
        s = service.summary
        server = " ".join(v for v in (s.server_name, s.server_version) if v)
        cells = [
            inline_code(s.id),
            f"{STATUS_ICON[service.status]} {service.status}",
            table_text(s.role or "—"),
            table_text(s.transport or "—"),
            table_text(s.target or "—"),
            table_text(server or "—"),
            table_text(s.protocol_version or "—"),
            *(suite_cell(service, suite) for suite in suites),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def report_suites(report: GateReport) -> list[str]:
    """The four standard suites, then any other suite that ran (e.g. basb role suites)."""
    extra = sorted({suite_of(c.id) for c in report.checks} - set(SUITES))
    return [*SUITES, *extra]


def suite_cell(service: ServiceResult, suite: str) -> str:
    counts = service.suite_counts(suite)
    if not counts:
        return "—"
    if set(counts) == {"skip"}:
        return "skipped"
    failed = counts.get("fail", 0) + counts.get("error", 0)
    waived = f" ({counts['waived']} waived)" if counts.get("waived") else ""
    return f"{counts.get('pass', 0)} / {failed} / {counts.get('warn', 0)}{waived}"


def _md_failures(report: GateReport) -> list[str]:
    """Each root cause once; the checks it blocked are counted, not repeated."""
    lines = _md_check_list("Failures", report.root_failures)
    blocked = blocked_lines(report.checks)
    if blocked:
        lines[-1:] = [*(f"- {line} (not repeated: same cause)" for line in blocked), ""]
    return lines


def _md_flow_data(report: GateReport) -> list[str]:
    lines = flow_data_lines(report.checks)
    return ["## Flows that wrote data", "", *(f"- {line}" for line in lines), ""] if lines else []


def _md_waived(report: GateReport) -> list[str]:
    """Waived failures with their reason and expiry, then every waiver of the environment."""
    lines: list[str] = []
    if report.waived:
        lines += ["## Waived failures", "", "Accepted for now by a waiver; they do not fail the verdict.", ""]
        for c in report.waived:
            message = inline_code(c.message) if c.message else "(no message)"
            lines.append(f"- {inline_code(c.id)} on {inline_code(c.service)}: {message} — {waiver_note(c)}")
        lines.append("")
    if report.waivers:
        lines += [
            "## Waivers",
            "",
            "| Check | Service | State | Expires | Matched | Reason |",
            "|---|---|---|---|---|---|",
        ]
        for w in report.waivers:
            cells = [inline_code(w.check), inline_code(w.service), w.state, w.expires, str(w.matched)]
            lines.append("| " + " | ".join([*cells, table_text(w.reason)]) + " |")
        lines.append("")
    return lines


def waiver_note(check: CheckResult) -> str:
    """`waived until 2027-01-31: two vault servers share read_note (environments.prod.waivers.0)`."""
    waiver = check.waiver or {}
    until = "expired on" if waiver.get("state") == "expired" else "waived until"
    reason = inline_code(waiver.get("reason", ""))
    return f"{until} {waiver.get('expires', '?')}: {reason} ({waiver.get('source', '?')})"


def _md_policy(report: GateReport) -> list[str]:
    if not report.policy:
        return []
    lines = ["## Check policy", "", "Rules that change a check's level from the default (block):", ""]
    lines += [f"- {inline_code(change.check)} → {change.level}" + _policy_where(change) for change in report.policy]
    return [*lines, ""]


def _policy_where(change: PolicyChange) -> str:
    on = f" on {inline_code(change.service)}" if change.service is not None else ""
    return f"{on} (set in {change.source})"


def _md_check_list(title: str, checks: tuple[CheckResult, ...]) -> list[str]:
    if not checks:
        return []
    lines = [f"## {title}", ""]
    for c in checks:
        message = inline_code(c.message) if c.message else "(no message)"
        lines.append(f"- {inline_code(c.id)} on {inline_code(c.service)} ({c.outcome}): {message}")
    return [*lines, ""]


# --- terminal -----------------------------------------------------------------------------------


TERMINAL_LEGEND = (
    "legend: pass · pass(warn) = passed with warnings · FAIL = failed or errored · "
    "waived = a failure a waiver accepts · blocked = could not run, blocked by an earlier failure · "
    "skip = all skipped · — = suite not run"
)
TERMINAL_LISTED = 10  # failing checks named in the terminal; gate.md lists them all


def terminal_table(report: GateReport) -> list[str]:
    """Short lines for pytest's terminal summary: one per service, a legend, what failed (with its
    runbook), what was blocked, which gate items were not evaluated and why, then the verdict."""
    width = max([len(s.id) for s in report.services] + [len("service")])
    blocked = report.blocked
    suites = report_suites(report)  # the standard ones, then e.g. monitoring when it ran
    lines = [f"{'service':<{width}}  " + "  ".join(f"{suite:<10}" for suite in suites)]
    for service in report.services:
        cells = "  ".join(f"{_terminal_status(report, service, suite, blocked):<10}" for suite in suites)
        lines.append(f"{service.id:<{width}}  {cells}".rstrip())
    lines.append(TERMINAL_LEGEND)
    lines.append(f"suites: {', '.join(report.full_scope.suites) or '—'}")
    if report.partial:
        lines.append(f"scope: {report.full_scope.label()} — narrowed by {'; '.join(report.full_scope.reasons)}")
    for check in report.root_failures[:TERMINAL_LISTED]:
        lines.append(f"failing: {check.id} on {check.service} — runbook: {_runbook(report, check.id)}")
    if len(report.root_failures) > TERMINAL_LISTED:
        lines.append(f"failing: … and {len(report.root_failures) - TERMINAL_LISTED} more in gate.md")
    lines += [f"blocked: {line}" for line in blocked_lines(report.checks)]
    lines += [f"flow data: {line}" for line in flow_data_lines(report.checks)]
    lines += waiver_lines(report)
    lines += [change.line() for change in report.policy]
    for item in report.gate:
        if item.status == NOT_EVALUATED:
            lines.append(f"not evaluated: {item.item} — {item.evidence[-1] if item.evidence else 'no evidence'}")
    gate = ", ".join(f"{sum(g.status == st for g in report.gate)} {st}" for st in ("pass", "fail", NOT_EVALUATED))
    outside = outside_items(report.checks)
    named = ", ".join(f"{c.id} on {c.service}" for c in outside[:3]) + (" …" if len(outside) > 3 else "")
    elsewhere = f" ({len(outside)} outside the gate items: {named})" if outside else ""
    lines.append(
        f"verdict: {report.verdict_text()} ({report.environment}) — "
        f"{plural(len(report.failures), 'failing check')}{elsewhere}; gate items: {gate}"
    )
    return lines


def waiver_lines(report: GateReport) -> list[str]:
    """`waived: <check> on <service> until <date> — <reason>`, then waivers that need a person:
    expiring soon, expired, or stale (matched nothing in a full run)."""
    lines = []
    for check in report.waived[:TERMINAL_LISTED]:
        waiver = check.waiver or {}
        lines.append(
            f"waived: {check.id} on {check.service} until {waiver.get('expires', '?')} — {waiver.get('reason', '')}"
        )
    if len(report.waived) > TERMINAL_LISTED:
        lines.append(f"waived: … and {len(report.waived) - TERMINAL_LISTED} more in gate.md")
    lines += [f"waiver {w.state}: {w.line()}" for w in report.waivers if w.state in ("expiring", "expired", "stale")]
    return lines


def _runbook(report: GateReport, check_id: str) -> str:
    if not report.runbook_dirs:
        return "none (no runbooks directory)"
    path = report.runbook_for(check_id)
    return str(path) if path is not None else f"missing ({report.runbook_dirs[0] / f'{check_id}.md'})"


def _terminal_status(report: GateReport, service: ServiceResult, suite: str, blocked: dict[CheckKey, str]) -> str:
    counts = service.suite_counts(suite)
    if not counts:
        return "—"
    if counts.get("fail") or counts.get("error"):
        failing = [c for c in report.failures if c.service == service.id and suite_of(c.id) == suite]
        return "blocked" if all(check_key(c) in blocked for c in failing) else "FAIL"
    if counts.get("waived"):
        return "waived"
    if not (counts.get("pass") or counts.get("warn")) and any(
        check_key(c) in blocked for c in report.checks if c.service == service.id and suite_of(c.id) == suite
    ):
        return "blocked"
    if counts.get("warn"):
        return "pass(warn)"
    if counts.get("pass"):
        return "pass"
    return "skip"


# --- Markdown safety (shared with the Obsidian writers) --------------------------

_BACKTICKS = re.compile(r"`+")


def inline_code(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text` on one line as an inline code span, so Markdown and Obsidian show it verbatim.

    Inside a code span `[[x]]`, `#tag`, `$math$`, `%%comment%%`, `==mark==` and `<tag>` are inert.
    """
    flat = shorten(text, limit, squash=True)
    if not flat:
        return "—"
    fence = "`" * (max((len(m) for m in _BACKTICKS.findall(flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def table_text(text: str) -> str:
    """Text for a Markdown table cell: plain if harmless, else a code span; pipes escaped."""
    flat = " ".join(text.split())
    if re.fullmatch(r"[\w .,:;@/+()'→-]*", flat):
        return flat.replace("|", "\\|")
    return inline_code(flat).replace("|", "\\|")
