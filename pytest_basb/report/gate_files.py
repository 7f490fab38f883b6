"""gate.json, gate.md and the terminal table, written atomically and deterministically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pytest_basb.report.verdict import SUITES, GateReport, ServiceSummary


def gate_dict(report: GateReport) -> dict[str, Any]:
    return {
        "version": 1,
        "environment": report.environment,
        "verdict": report.verdict,
        "started_at": report.started_at.isoformat(timespec="seconds"),
        "finished_at": report.finished_at.isoformat(timespec="seconds"),
        "duration_s": round((report.finished_at - report.started_at).total_seconds(), 3),
        "summary": report.summary,
        "services": [
            {
                "id": s.id,
                "status": s.status,
                "server": {"name": s.server_name, "version": s.server_version},
                "protocol_version": s.protocol_version,
                "counts": s.counts,
            }
            for s in report.services
        ],
        "checks": [{k: v for k, v in c.to_dict().items() if k != "environment"} for c in report.checks],
        "gate": [{"item": g.item, "status": g.status, "evidence": g.evidence} for g in report.gate],
    }


def write_gate_json(report: GateReport, path: Path) -> Path:
    return atomic_write(path, json.dumps(gate_dict(report), indent=2, sort_keys=False, default=str) + "\n")


def write_gate_md(report: GateReport, path: Path) -> Path:
    lines = [
        f"# BASB quality gate — {report.environment}",
        "",
        f"**Verdict: {report.verdict.upper()}** — {report.finished_at:%Y-%m-%d %H:%M:%S %Z}".rstrip(),
        "",
        "| Quality gate item | Status | Evidence |",
        "|---|---|---|",
    ]
    lines += [f"| {g.item} | {g.status} | {md_cell('; '.join(g.evidence))} |" for g in report.gate]
    lines += [
        "",
        "| Service | Status | Server | Protocol | " + " | ".join(SUITES) + " |",
        "|---|---|---|---|" + "---|" * len(SUITES),
    ]
    for s in report.services:
        server = f"{s.server_name or '?'} {s.server_version or ''}".strip()
        suites = " | ".join(suite_cell(s, suite) for suite in SUITES)
        lines.append(f"| {s.id} | {s.status} | {md_cell(server)} | {s.protocol_version or '—'} | {suites} |")
    if report.failures:
        lines += ["", "## Failures", ""]
        lines += [f"- `{c.id}` on **{c.service}**: {md_cell(c.message or c.outcome)}" for c in report.failures]
    return atomic_write(path, "\n".join(lines) + "\n")


def suite_cell(service: ServiceSummary, suite: str) -> str:
    counts = service.counts.get(suite)
    if not counts:
        return "—"
    parts = [f"{counts[o]} {o}" for o in ("pass", "fail", "error", "warn") if counts.get(o)]
    return ", ".join(parts) or "skipped"


def terminal_table(report: GateReport) -> list[str]:
    width = max([len(s.id) for s in report.services] + [7])
    lines = [f"{'service':<{width}}  " + "  ".join(f"{suite:<10}" for suite in SUITES)]
    for s in report.services:
        cells = []
        for suite in SUITES:
            counts = s.counts.get(suite, {})
            if not counts:
                cells.append("—")
            elif counts.get("fail") or counts.get("error"):
                cells.append("FAIL")
            elif counts.get("warn"):
                cells.append("pass(warn)")
            else:
                cells.append("pass")
        lines.append(f"{s.id:<{width}}  " + "  ".join(f"{c:<10}" for c in cells))
    lines.append(f"verdict: {report.verdict.upper()} ({report.environment})")
    return lines


def md_cell(text: str) -> str:
    """Text safe inside a Markdown table cell (and inert in Obsidian)."""
    text = " ".join(text.split()).replace("|", "\\|")
    return f"`{text}`" if any(t in text for t in ("[[", "#", "$", "%%", "==", "<")) else text


def atomic_write(path: Path, text: str) -> Path:
    """Write via a temporary file in the same folder, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
