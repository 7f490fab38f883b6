"""The Obsidian daily DevOps log: `<vault>/<log_dir>/<YYYY-MM-DD> dev-ops-log.md`.

The note keeps the daily template of README, "Reports" (its headings, for a person's own notes), and
each gate run adds ONE compact entry under "Basic Service Testing": a row of the day's runs table
and its details folded in an Obsidian callout, between explicit markers:

    | 2 | 14:15:02 | `staging` | full: 2/2 services, 6/6 checks | ✅ PASS | 6 passed ... | 9 s | gate.md |
    ...
    <!-- basb:run 2 details start {run facts as JSON} -->
    > [!note]- Run 2 — 14:15:02 UTC — `staging` — PASS: details
    > - **🎯 Goals**
    >   - [x] ...
    <!-- basb:run 2 details end -->

The details are the template's sections for that run, built by DETAIL_SECTIONS (a list: a new
section is one more builder). Entries are append-only: a later run never rewrites an earlier one,
and text outside them is never touched, so a person's notes (and ticked tasks) survive every run.
Only the front matter's own keys are rewritten; its totals count full runs only (a partial run is
listed, not summed). The run facts ride as JSON on the details' start marker, for the weekly summary.

The generic note editing (front matter, headings, sections, links) is in `note.py`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pytest_basb.model.files import atomic_write
from pytest_basb.model.results import CheckResult
from pytest_basb.obsidian.note import (
    Note,
    file_lock,
    headings,
    insert_block,
    note_link,
    section_end,
    skeleton,
    unfenced,
    unfenced_indexes,
    update_front_matter,
)
from pytest_basb.report.gate import (
    MONITORING,
    NOT_EVALUATED,
    SUITES,
    GateReport,
    blocked_lines,
    find_runbook,
    plural,
    runbook_path,
    suite_of,
)
from pytest_basb.report.gate_files import STATUS_ICON, inline_code

# "deply" is the DevOps stage's own folder name: kept as teams have it
DEFAULT_LOG_DIR = "agent-workspaces/DevOps/deply-notes"
TAGS = ("devops", "basb")
MAX_LISTED = 30  # failures/warnings listed per run; the rest are in gate.md

# The daily template: section key -> heading path (## section, optional ### subsection).
DAILY_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("goals", ("## 🎯 Today's DevOps Goals",)),
    ("deployments", ("## ✅ Completed Work", "### Deployments")),
    ("testing", ("## ✅ Completed Work", "### Basic Service Testing")),
    ("monitoring", ("## 📊 Monitoring Status",)),
    ("issues", ("## 🔍 Issues Encountered",)),
    ("plan", ("## 📋 Tomorrow's Plan",)),
    ("references", ("## 🔗 References",)),
)
RUNS_SECTION = ("## ✅ Completed Work", "### Basic Service Testing")  # the runs table and details
RUNS_TABLE_MARKER = "<!-- basb:runs table -->"
RUNS_TABLE_HEAD = (
    "| Run | Time (UTC) | Environment | Scope | Verdict | Checks | Duration | Report |",
    "|---:|---|---|---|---|---|---:|---|",
)
RUNS_NOTE = (
    "_One row per gate run; each run's details are folded below the table. The front matter's totals "
    "count full runs only: a partial run (`-k`, `-x`, a test path, a shard) is listed here but not summed._"
)

_MARKER = re.compile(r"^<!-- basb:run (\d+) ([a-z]+) (start|end)(?: (\{.*\}))? -->$")
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_INERT = re.compile(r"[\[\]#%=$<>`^|]")


def daily_log_path(vault: Path, day: date, log_dir: str = DEFAULT_LOG_DIR) -> Path:
    return vault / log_dir / f"{day.isoformat()} dev-ops-log.md"


# --- run facts: what one run leaves in the note for totals and the weekly summary ----------------


@dataclass(frozen=True)
class RunFacts:
    run: int
    time: str  # HH:MM:SS, UTC
    environment: str
    verdict: str
    counts: Mapping[str, int]  # outcome -> n
    suites: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # suite -> outcome -> n
    services: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)
    failures: tuple[tuple[str, str], ...] = ()  # (check id, service)
    full: bool = True  # a run that checked all it set out to (notes before scopes were kept: full)
    scope: str = ""  # `full: 2/2 services, 6/6 checks` or `partial: ...`
    duration_s: float | None = None

    @property
    def passed(self) -> int:
        return int(self.counts.get("pass", 0))

    @property
    def failed(self) -> int:
        return int(self.counts.get("fail", 0)) + int(self.counts.get("error", 0))

    @property
    def warned(self) -> int:
        return int(self.counts.get("warn", 0))

    def to_json(self) -> str:
        data = {
            "run": self.run,
            "time": self.time,
            "environment": self.environment,
            "verdict": self.verdict,
            "counts": dict(self.counts),
            "suites": {k: dict(v) for k, v in self.suites.items()},
            "services": {k: dict(v) for k, v in self.services.items()},
            "failures": [{"check": c, "service": s} for c, s in self.failures],  # no "[[" in the JSON
            "full": self.full,
            "scope": self.scope,
            "duration_s": self.duration_s,
        }
        text = json.dumps(data, ensure_ascii=False, sort_keys=True)
        # The JSON rides in an HTML comment: no "-->" may end it early, and no "[[x", "#tag", "%%"
        # from a server's strings may turn into a link, tag or comment. \uXXXX keeps the JSON equal.
        return _JSON_STRING.sub(lambda m: _INERT.sub(lambda c: f"\\u{ord(c.group()):04x}", m.group()), text)

    @classmethod
    def from_json(cls, text: str) -> RunFacts | None:
        try:
            data = json.loads(text)
            return cls(
                run=int(data["run"]),
                time=str(data.get("time", "")),
                environment=str(data.get("environment", "")),
                verdict=str(data.get("verdict", "")),
                counts=_int_map(data.get("counts", {})),
                suites={str(s): _int_map(c) for s, c in dict(data.get("suites", {})).items()},
                services={str(s): dict(v) for s, v in dict(data.get("services", {})).items()},
                failures=tuple((str(f["check"]), str(f["service"])) for f in data.get("failures", [])),
                full=bool(data.get("full", True)),
                scope=str(data.get("scope", "")),
                duration_s=None if data.get("duration_s") is None else float(data["duration_s"]),
            )
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
            return None  # a person edited the marker: that run no longer counts, nothing breaks


def _int_map(data: Any) -> dict[str, int]:
    return {str(k): int(v) for k, v in dict(data).items()}


def run_facts(report: GateReport, run: int, at: datetime) -> RunFacts:
    suites: dict[str, dict[str, int]] = {}
    for check in report.checks:
        counts = suites.setdefault(suite_of(check.id), {})
        counts[check.outcome] = counts.get(check.outcome, 0) + 1
    services = {
        s.id: {
            "status": s.status,
            "server": s.summary.server_name,
            "version": s.summary.server_version,
            "protocol": s.summary.protocol_version,
        }
        for s in report.services
    }
    failures = tuple(sorted({(c.id, c.service) for c in report.failures}))
    return RunFacts(
        run=run,
        time=at.strftime("%H:%M:%S"),
        environment=report.environment,
        verdict=report.verdict,
        counts={k: v for k, v in report.summary.items() if v},
        suites={k: dict(sorted(v.items())) for k, v in sorted(suites.items())},
        services=services,
        failures=failures,
        full=not report.partial,
        scope=report.full_scope.label(),
        duration_s=report.duration_s,
    )


# --- run regions: the markers each run adds to the note ---------------------------------------------


def runs_in(note: Note) -> list[RunFacts]:
    """Facts of every run region in the body, by run number (first marker wins)."""
    found: dict[int, RunFacts] = {}
    for line in unfenced(note.body):
        match = _MARKER.match(line)
        if match and match.group(3) == "start" and match.group(4):
            facts = RunFacts.from_json(match.group(4))
            if facts is not None and facts.run == int(match.group(1)):
                found.setdefault(facts.run, facts)
    return [found[n] for n in sorted(found)]


def last_run_number(note: Note) -> int:
    numbers = [int(m.group(1)) for line in unfenced(note.body) if (m := _MARKER.match(line))]
    return max(numbers, default=0)


def region(run: int, key: str, content: Sequence[str], data: str | None = None) -> list[str]:
    start = f"<!-- basb:run {run} {key} start{' ' + data if data else ''} -->"
    return [start, *content, "", f"<!-- basb:run {run} {key} end -->"]


# --- front matter ----------------------------------------------------------------------------------


def _merged_tags(existing: object) -> list[str]:
    if isinstance(existing, str):
        tags = [t.strip().lstrip("#") for t in re.split(r"[,\s]+", existing) if t.strip()]
    elif isinstance(existing, list):
        tags = [str(t) for t in existing]
    else:
        tags = []
    return [*tags, *(t for t in TAGS if t not in tags)]


def _daily_front_values(day: date, runs: Sequence[RunFacts], old: Mapping[str, Any]) -> dict[str, Any]:
    """The day's totals over its full runs; a partial run only counts in `runs_partial`."""
    full = [r for r in runs if r.full]
    last = runs[-1]
    return {
        "type": "devops-log",
        "date": day,
        "environment": (full or runs)[-1].environment,
        "environments": sorted({r.environment for r in runs}),
        "runs": len(full),
        "runs_partial": len(runs) - len(full),
        "passed": sum(r.passed for r in full),
        "failed": sum(r.failed for r in full),
        "warnings": sum(r.warned for r in full),
        "runs_failed": sum(r.verdict == "fail" for r in full),
        "status": full[-1].verdict if full else "none",  # the day's state: the latest full run's verdict
        "last_run": f"{last.time} UTC",
        "tags": _merged_tags(old.get("tags")),
    }


# --- the daily log ---------------------------------------------------------------------------------


def write_daily_log(
    report: GateReport,
    *,
    vault: Path,
    log_dir: str = DEFAULT_LOG_DIR,
    report_paths: Sequence[Path],
    runbooks_dir: Path | None,
    now: datetime | None = None,
) -> Path:
    """Add this run to the day's DevOps log (created from the template if needed); return its path.

    `now` (default: the current time) picks the day and the run's time, both in UTC; a naive
    datetime is taken as UTC.
    """
    if not vault.is_dir():
        raise FileNotFoundError(f"Obsidian vault not found: {vault} (is the environment's `vault` right?)")
    at = _utc(now or datetime.now(UTC))
    path = daily_log_path(vault, at.date(), log_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(path):
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        note = Note.parse(text) if text.strip() else Note(front=None, body=daily_skeleton(at.date()))
        if not any(level == 1 for _i, level, _k in headings(note.body)):
            note.body[0:0] = [daily_skeleton(at.date())[0], ""]  # a note a person started without a title
        for _key, heading_path in DAILY_SECTIONS:
            section_end(note.body, heading_path)  # a template heading a person deleted comes back
        run = last_run_number(note) + 1
        facts = run_facts(report, run, at)
        ctx = _RunContext(report, facts, vault, list(report_paths), runbooks_dir)
        _add_row(note.body, _row(ctx))
        insert_block(
            note.body, section_end(note.body, RUNS_SECTION), region(run, "details", _details(ctx), facts.to_json())
        )
        runs = runs_in(note)
        if not any(r.run == run for r in runs):  # the section heading was inside a person's code block
            runs.append(facts)
        update_front_matter(note, _daily_front_values(at.date(), runs, note.front_matter() or {}))
        atomic_write(path, note.render())
    return path


def daily_skeleton(day: date) -> list[str]:
    """The daily template's headings, in order, with nothing under them yet."""
    return skeleton(f"# BASB DevOps Log - {day.isoformat()}", DAILY_SECTIONS)


def read_daily_log(path: Path) -> tuple[dict[str, Any], list[RunFacts]]:
    """A daily log's front matter (empty if unreadable) and its run facts."""
    note = Note.parse(path.read_text(encoding="utf-8"))
    return note.front_matter() or {}, runs_in(note)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- section content -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _RunContext:
    report: GateReport
    facts: RunFacts
    vault: Path
    report_paths: list[Path]
    runbooks_dir: Path | None

    @property
    def label(self) -> str:
        f = self.facts
        return f"Run {f.run} — {f.time} UTC — {inline_code(f.environment)} — {self.report.verdict_text()}"


# --- the run's entry: a row of the runs table and its details, folded -----------------------------


def _row(ctx: _RunContext) -> str:
    report, facts = ctx.report, ctx.facts
    t = report.summary
    counts = (
        f"{t['pass']} passed · {t['fail'] + t['error']} failed · {plural(t['warn'], 'warning')} · {t['skip']} skipped"
    )
    if t.get("waived"):
        counts += f" · {t['waived']} waived"
    verdict = "NOTHING CHECKED" if report.verdict == "none" else report.verdict.upper()
    cells = [
        str(facts.run),
        facts.time,
        inline_code(facts.environment),
        facts.scope,
        f"{STATUS_ICON[report.verdict]} {verdict}",
        counts,
        f"{report.duration_s:g} s",
        _report_link(ctx),
    ]
    # A `|` ends a table cell, even inside a code span or a wikilink's alias: Obsidian reads `\|`.
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _report_link(ctx: _RunContext) -> str:
    paths = sorted(ctx.report_paths, key=lambda p: p.suffix != ".md")  # gate.md reads best
    return note_link(paths[0], ctx.vault, paths[0].name) if paths else "—"


def _add_row(body: list[str], row: str) -> None:
    """Append the row to the runs table, or start the table (first run, or a person removed it)."""
    markers = [i for i in unfenced_indexes(body) if body[i].strip() == RUNS_TABLE_MARKER]
    for marker in reversed(markers):
        at = marker + 1
        if at < len(body) and body[at].lstrip().startswith("|"):
            while at < len(body) and body[at].lstrip().startswith("|"):
                at += 1
            body.insert(at, row)
            return
    block = [RUNS_NOTE, "", RUNS_TABLE_MARKER, *RUNS_TABLE_HEAD, row]
    insert_block(body, section_end(body, RUNS_SECTION), block)


def _details(ctx: _RunContext) -> list[str]:
    """The run's template sections as one folded callout: each a list item, its lines nested."""
    lines = [f"> [!note]- {ctx.label}: details"]
    for title, build in DETAIL_SECTIONS:
        content = build(ctx)
        if content:
            lines.append(f"> - **{title}**")
            lines += [f">   {line}" for line in content]
    return lines


def _goals(ctx: _RunContext) -> list[str]:
    report = ctx.report
    ids = ", ".join(inline_code(s.id) for s in report.services) or "none"
    deployed = all(s.status == "pass" for s in report.services) and bool(report.services)
    lines = [
        f"- [{_tick(deployed)}] Verify {len(report.services)} services deployed and accessible in "
        f"{inline_code(report.environment)}: {ids}",
    ]
    planned = report.planned()
    for suite in [*SUITES, *(s for s in planned if s not in SUITES)]:
        if suite in planned:
            totals = report.suite_totals(suite)
            done = totals["fail"] + totals["error"] == 0 and totals["pass"] + totals["warn"] > 0
            lines.append(f"- [{_tick(done)}] Run {suite} checks: {planned[suite]} planned")
    missing = [s for s in SUITES if s not in planned]
    if missing:
        lines.append(f"- Not planned in this run: {', '.join(missing)}")
    return lines


def _tick(done: bool) -> str:
    return "x" if done else " "


def _deployments(ctx: _RunContext) -> list[str]:
    report = ctx.report
    lines = []
    for service in report.services:
        s = service.summary
        where = ", ".join(v for v in (s.role, s.transport) if v)
        head = f"- {STATUS_ICON[service.status]} {inline_code(s.id)}" + (f" ({where})" if where else "")
        head += f" on {inline_code(s.target)}" if s.target else ""
        if service.status == "pass":
            server = inline_code(" ".join(v for v in (s.server_name, s.server_version) if v) or "unknown server")
            proto = inline_code(s.protocol_version) if s.protocol_version else "unknown"
            lines.append(f"{head}: verified — {server}, protocol {proto}")
        elif service.status == "fail":
            failing = sum(1 for c in report.failures if c.service == s.id)
            lines.append(f"{head}: not verified — {plural(failing, 'failing check')}")
        else:
            lines.append(f"{head}: not evaluated — no check ran against it")
    lines.append(
        f"- {STATUS_ICON[report.verdict]} Environment {inline_code(report.environment)}: "
        f"{plural(len(report.services), 'service')}, {plural(len(report.checks), 'check')} in {report.duration_s:g} s"
    )
    return lines


def _testing(ctx: _RunContext) -> list[str]:
    report = ctx.report
    titles = {"health": "Executed health checks on services", "smoke": "Smoke tested core functionalities"}
    lines = []
    planned = report.planned()
    for suite in [*SUITES, *(s for s in planned if s not in SUITES)]:
        title = titles.get(suite, f"Ran {suite} checks")
        if suite not in planned:
            if suite in titles:
                lines.append(f"- {STATUS_ICON[NOT_EVALUATED]} {title}: not run in this run")
            continue
        t = report.suite_totals(suite)
        failed = t["fail"] + t["error"]
        icon = STATUS_ICON["fail" if failed else "pass" if t["pass"] + t["warn"] else NOT_EVALUATED]
        lines.append(
            f"- {icon} {title}: {plural(planned[suite], 'check')} — {t['pass']} passed, {failed} failed, "
            f"{plural(t['warn'], 'warning')}, {t['skip']} skipped"
        )
    return lines


def _monitoring(ctx: _RunContext) -> list[str]:
    report = ctx.report
    failing = [s.id for s in report.services if s.status == "fail"]
    if report.verdict == "pass":
        health = f"Healthy — {plural(len(report.services), 'service')}, no failing checks"
    else:
        names = ", ".join(inline_code(s) for s in failing) or "none (see failing checks)"
        health = f"Issues Detected — {len(failing)} of {len(report.services)} services failing: {names}"
    gate = ", ".join(f"{sum(g.status == st for g in report.gate)} {st}" for st in ("pass", "fail", NOT_EVALUATED))
    monitoring = next(g for g in report.gate if g.item == MONITORING)
    return [
        f"- **System Health**: {health}",
        f"- **Alerts Overview**: {plural(len(report.failures), 'failing check')}, "
        f"{plural(len(report.warnings), 'warning')}; quality gate {report.verdict_text()} (items: {gate}); "
        f"real-time monitoring evidence: {monitoring.status}",
    ]


def _issues(ctx: _RunContext) -> list[str]:
    report = ctx.report
    lines: list[str] = []
    if not report.failures and not report.warnings:
        return [
            f"- **Description**: No issues — {plural(len(report.checks), 'check')}, none failing or warning.",
            "- **Actions Taken**: None needed.",
        ]
    for check in report.root_failures[:MAX_LISTED]:
        lines += [
            f"- ❌ {inline_code(check.id)} on {inline_code(check.service)} ({check.outcome})",
            f"  - **Description**: {_message(check)}",
            f"  - **Actions Taken**: promotion blocked (verdict {report.verdict.upper()}); "
            f"follow-up in Tomorrow's Plan; runbook: {_runbook_link(ctx, check.id)}",
        ]
    lines += [f"- ⛔ {line} (same cause, not repeated)" for line in blocked_lines(report.checks)]
    for check in report.warnings[:MAX_LISTED]:
        lines.append(f"- ⚠️ {inline_code(check.id)} on {inline_code(check.service)} (warning): {_message(check)}")
    hidden = max(0, len(report.root_failures) - MAX_LISTED) + max(0, len(report.warnings) - MAX_LISTED)
    if hidden:
        lines.append(f"- … and {hidden} more in the gate report")
    return lines


def _waivers(ctx: _RunContext) -> list[str]:
    """Every waiver of the environment with its state, then the failures it waived in this run."""
    report = ctx.report
    if not report.waivers and not report.waived:
        return []  # the section is for environments with waivers
    lines = []
    icon = {"active": "🟢", "expiring": "🟡", "expired": "🔴", "stale": "⚪"}
    for w in report.waivers:
        on = "" if w.service == "*" else f" on {inline_code(w.service)}"
        lines.append(
            f"- {icon.get(w.state, '')} {inline_code(w.check)}{on}: {w.state}, expires {w.expires}, "
            f"matched {w.matched} — {inline_code(w.reason)} ({inline_code(w.source)})"
        )
    for check in report.waived[:MAX_LISTED]:
        waiver = check.waiver or {}
        lines.append(
            f"- 🧾 waived: {inline_code(check.id)} on {inline_code(check.service)} until "
            f"{waiver.get('expires', '?')}: {_message(check)}"
        )
    if len(report.waived) > MAX_LISTED:
        lines.append(f"- … and {len(report.waived) - MAX_LISTED} more waived in the gate report")
    return lines


def drill_lines(report: GateReport) -> list[str]:
    """The run's drills (docs/drills.md), one line each, then MTTD/MTTR per failure mode (medians)."""
    from statistics import median

    drills = [c for c in report.checks if c.id.startswith("drill.") and c.outcome != "skip"]
    if not drills:
        return []
    lines: list[str] = []
    by_mode: dict[str, list[CheckResult]] = {}
    for check in drills:
        e = check.evidence
        mode = str(e.get("mode") or check.id.split(".", 1)[1])
        by_mode.setdefault(mode, []).append(check)
        icon = STATUS_ICON.get(check.outcome, "⚠️")
        why = f" — {inline_code(str(e['why']))}" if e.get("why") else ""
        lines.append(
            f"- {icon} {mode} on {inline_code(check.service)}: detected {_seconds(e.get('detected_s'))}, "
            f"alerted {_seconds(e.get('alerted_s'))}, recovered {_seconds(e.get('recovered_s'))}{why}"
        )
    for mode, checks in by_mode.items():
        detected = [float(c.evidence["detected_s"]) for c in checks if c.evidence.get("detected_s") is not None]
        recovered = [float(c.evidence["recovered_s"]) for c in checks if c.evidence.get("recovered_s") is not None]
        mttd = f"{median(detected):.2f} s" if detected else "—"
        mttr = f"{median(recovered):.2f} s" if recovered else "—"
        lines.append(f"- **{mode}**: MTTD {mttd}, MTTR {mttr} (median of {plural(len(checks), 'drill')})")
    return lines


def _seconds(value: object) -> str:
    return "—" if value is None else f"{float(str(value)):.2f} s"


def _message(check: CheckResult) -> str:
    return inline_code(check.message) if check.message else "(no message)"


def _plan(ctx: _RunContext) -> list[str]:
    report = ctx.report
    lines = []
    seen: set[tuple[str, str]] = set()
    for check in report.root_failures:
        if (check.id, check.service) in seen:
            continue
        seen.add((check.id, check.service))
        fix = f"Fix {inline_code(check.id)} on {inline_code(check.service)}"
        lines.append(f"- [ ] {fix} — runbook: {_runbook_link(ctx, check.id)}")
    if report.warnings:
        lines.append(f"- [ ] Review {plural(len(report.warnings), 'warning')} in the gate report")
    lines.append(f"- [ ] Continue testing service accessibility: rerun the gate on {inline_code(report.environment)}")
    return lines


def _references(ctx: _RunContext) -> list[str]:
    lines = [f"- Gate report: {note_link(p, ctx.vault, p.name)}" for p in ctx.report_paths]
    for check_id in sorted({c.id for c in ctx.report.failures}):
        lines.append(f"- Runbook for {inline_code(check_id)}: {_runbook_link(ctx, check_id)}")
    if ctx.runbooks_dir is not None:
        lines.append(f"- Runbooks: {note_link(ctx.runbooks_dir, ctx.vault, ctx.runbooks_dir.name or 'runbooks')}")
    if len(lines) == 0:
        lines.append("- No report files were written in this run")
    return lines


def _runbook_link(ctx: _RunContext, check_id: str) -> str:
    folders = ctx.report.runbook_dirs or ((ctx.runbooks_dir,) if ctx.runbooks_dir is not None else ())
    if not folders:
        return "no runbooks directory configured"
    path = find_runbook(folders, check_id)
    if path is None:
        return f"missing — write {inline_code(str(runbook_path(folders[0], check_id)))}"
    return note_link(path, ctx.vault, check_id)


DetailBuilder = Callable[[_RunContext], list[str]]
# The sections of a run's details, in order: (title, builder); a builder returning [] is left out.
DETAIL_SECTIONS: list[tuple[str, DetailBuilder]] = [
    ("🎯 Today's DevOps Goals", _goals),
    ("✅ Deployments", _deployments),
    ("✅ Basic Service Testing", _testing),
    ("📊 Monitoring Status", _monitoring),
    ("🔍 Issues Encountered", _issues),
    ("🧾 Waivers in force", _waivers),
    ("🧯 Drills", lambda ctx: drill_lines(ctx.report)),
    ("📋 Tomorrow's Plan", _plan),
    ("🔗 References", _references),
]
