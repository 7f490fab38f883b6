"""The Obsidian daily DevOps log: `<vault>/<log_dir>/<YYYY-MM-DD> dev-ops-log.md`.

The note follows the brief's daily template. Each gate run adds its own generated regions, one
per template section, between explicit markers:

    <!-- basb:run 2 issues start -->
    ...
    <!-- basb:run 2 issues end -->

Regions are append-only: a later run never rewrites an earlier region, and text outside them is
never touched, so a person's notes (and ticked tasks) survive every run. Only the front matter's
own keys are rewritten; a person's other keys and comments there stay. Run facts for totals and the
weekly summary ride as JSON on the `goals` start marker.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from pytest_basb.report.gate import MONITORING, NOT_EVALUATED, SUITES, GateReport, plural, runbook_path, suite_of
from pytest_basb.report.gate_files import STATUS_ICON, atomic_write, inline_code
from pytest_basb.results import CheckResult

DEFAULT_LOG_DIR = "agent-workspaces/DevOps/deply-notes"  # "deply" is the brief's spelling: keep it
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

_MARKER = re.compile(r"^<!-- basb:run (\d+) ([a-z]+) (start|end)(?: (\{.*\}))? -->$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
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
    )


# --- the note as text: front matter, fences, headings, markers -----------------------------------


@dataclass
class Note:
    """A Markdown note split into front-matter lines (without the `---` lines) and body lines."""

    front: list[str] | None
    body: list[str]

    @classmethod
    def parse(cls, text: str) -> Note:
        lines = text.splitlines()
        if lines and lines[0].strip() == "---":
            for i in range(1, len(lines)):
                if lines[i].strip() in ("---", "..."):
                    return cls(front=lines[1:i], body=lines[i + 1 :])
        return cls(front=None, body=lines)

    def render(self) -> str:
        head = ["---", *(self.front or []), "---"] if self.front is not None else []
        text = "\n".join([*head, *self.body]).rstrip("\n")
        return text + "\n"

    def front_matter(self) -> dict[str, Any] | None:
        """The parsed front matter, or None when missing or not a YAML mapping."""
        if self.front is None:
            return None
        try:
            data = yaml.safe_load("\n".join(self.front))
        except yaml.YAMLError:
            return None
        if data is None:
            return {}
        return data if isinstance(data, dict) else None

    def runs(self) -> list[RunFacts]:
        """Facts of every run region in the body, by run number (first marker wins)."""
        found: dict[int, RunFacts] = {}
        for line in unfenced(self.body):
            match = _MARKER.match(line)
            if match and match.group(3) == "start" and match.group(4):
                facts = RunFacts.from_json(match.group(4))
                if facts is not None and facts.run == int(match.group(1)):
                    found.setdefault(facts.run, facts)
        return [found[n] for n in sorted(found)]

    def last_run_number(self) -> int:
        numbers = [int(m.group(1)) for line in unfenced(self.body) if (m := _MARKER.match(line))]
        return max(numbers, default=0)


def unfenced(lines: Sequence[str]) -> Iterator[str]:
    """The lines outside fenced code blocks (a heading or marker in a code block is just text)."""
    for index in unfenced_indexes(lines):
        yield lines[index]


def unfenced_indexes(lines: Sequence[str]) -> Iterator[int]:
    fence: str | None = None
    for index, line in enumerate(lines):
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence = match.group(1)
                continue
            yield index
        elif (
            match
            and match.group(1)[0] == fence[0]
            and len(match.group(1)) >= len(fence)
            and not line[match.end() :].strip()
        ):
            fence = None  # a closing fence: same character, at least as long, no info string


def heading_key(text: str) -> str:
    """Headings match on their letters and digits only: "🎯 Today's DevOps Goals" = "Todays DevOps Goals"."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _headings(lines: Sequence[str]) -> list[tuple[int, int, str]]:
    """(line index, level, key) of every heading outside code fences."""
    found = []
    for index in unfenced_indexes(lines):
        match = _HEADING.match(lines[index])
        if match:
            found.append((index, len(match.group(1)), heading_key(match.group(2))))
    return found


def _split_heading(heading: str) -> tuple[int, str]:
    hashes, _, text = heading.partition(" ")
    return len(hashes), heading_key(text)


def section_end(lines: list[str], path: tuple[str, ...]) -> int:
    """Where new content for the section at `path` goes: the end of the section's own text.

    That is just before the next heading of any level (a person's sub-heading keeps its text).
    A heading a person deleted is added again at the end of its parent, so nothing is lost.
    """
    lo, hi = 0, len(lines)
    for heading in path:
        level, key = _split_heading(heading)
        heads = [h for h in _headings(lines) if lo <= h[0] < hi]
        own = next((h for h in heads if h[1] == level and h[2] == key), None)
        if own is None:
            at = _trim_back(lines, hi, lo)
            lines[at:at] = ["", heading]
            own_index = at + 1
            hi += 2
        else:
            own_index = own[0]
        # The section ends at the next heading of the same or a higher level, within the parent.
        nxt = [h[0] for h in _headings(lines) if own_index < h[0] < hi and h[1] <= level]
        lo, hi = own_index, min(nxt, default=hi)
    subheads = [h[0] for h in _headings(lines) if lo < h[0] < hi]
    return _trim_back(lines, min(subheads, default=hi), lo + 1)


def _trim_back(lines: Sequence[str], at: int, floor: int) -> int:
    while at > floor and not lines[at - 1].strip():
        at -= 1
    return at


def insert_block(lines: list[str], at: int, block: Sequence[str]) -> None:
    """Insert `block` at `at` with exactly one blank line around it."""
    before = [""] if at > 0 and lines[at - 1].strip() else []
    after = [""] if at < len(lines) and lines[at].strip() else []
    lines[at:at] = [*before, *block, *after]


def region(run: int, key: str, content: Sequence[str], data: str | None = None) -> list[str]:
    start = f"<!-- basb:run {run} {key} start{' ' + data if data else ''} -->"
    return [start, *content, "", f"<!-- basb:run {run} {key} end -->"]


# --- front matter ----------------------------------------------------------------------------------


def update_front_matter(note: Note, values: Mapping[str, Any]) -> None:
    """Set our keys in the front matter and keep everything else a person wrote there.

    Edits are line based (a key's line and its continuation lines are replaced), so comments and
    other keys stay as written. If the result would not be valid YAML, a fresh front matter is
    written and the old one is kept verbatim in the body.
    """
    if note.front is None:
        note.front = _dump_lines(values)
        return
    original = list(note.front)
    lines = list(original)
    for key, value in values.items():
        rendered = _dump_lines({key: value})
        span = _key_span(lines, key)
        if span is None:
            lines.extend(rendered)
        else:
            lines[span[0] : span[1]] = rendered
    note.front = lines
    parsed = note.front_matter()
    if parsed is None or any(parsed.get(k) != v for k, v in values.items()):
        note.front = _dump_lines(values)
        kept = ["", "> [!warning] The front matter below could not be updated and was replaced; kept verbatim:", ""]
        # Right under the title (when there is one), where the person will see it.
        at = next((i + 1 for i, level, _k in _headings(note.body) if level == 1), 0)
        note.body[at:at] = [*kept, *_code_block(["---", *original, "---"], "yaml"), ""]


def _dump_lines(values: Mapping[str, Any]) -> list[str]:
    """One `key: value` block per key; lists of scalars in flow style (`tags: [devops, basb]`)."""
    lines: list[str] = []
    for key, value in values.items():
        flow = None if isinstance(value, list) else False
        text = yaml.safe_dump({key: value}, sort_keys=False, allow_unicode=True, default_flow_style=flow, width=10**6)
        lines += text.rstrip("\n").split("\n")
    return lines


def _key_span(lines: Sequence[str], key: str) -> tuple[int, int] | None:
    pattern = re.compile(rf"^{re.escape(key)}\s*:")
    for start, line in enumerate(lines):
        if pattern.match(line):
            end = start + 1
            # Continuation: indented lines and a block list written flush left ("- item").
            while end < len(lines) and (lines[end][:1] in (" ", "\t") or lines[end].startswith("-")):
                end += 1
            return start, end
    return None


def _code_block(lines: Sequence[str], info: str = "") -> list[str]:
    longest = max((len(m) for line in lines for m in re.findall(r"`{3,}", line)), default=2)
    fence = "`" * (longest + 1)
    return [f"{fence}{info}", *lines, fence]


def _merged_tags(existing: object) -> list[str]:
    if isinstance(existing, str):
        tags = [t.strip().lstrip("#") for t in re.split(r"[,\s]+", existing) if t.strip()]
    elif isinstance(existing, list):
        tags = [str(t) for t in existing]
    else:
        tags = []
    return [*tags, *(t for t in TAGS if t not in tags)]


def _daily_front_values(day: date, runs: Sequence[RunFacts], old: Mapping[str, Any]) -> dict[str, Any]:
    last = runs[-1]
    envs = sorted({r.environment for r in runs})
    return {
        "type": "devops-log",
        "date": day,
        "environment": last.environment,
        "environments": envs,
        "runs": len(runs),
        "passed": sum(r.passed for r in runs),
        "failed": sum(r.failed for r in runs),
        "warnings": sum(r.warned for r in runs),
        "runs_failed": sum(r.verdict == "fail" for r in runs),
        "status": last.verdict,  # the day's current state: the latest run's verdict
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
        if not any(level == 1 for _i, level, _k in _headings(note.body)):
            note.body[0:0] = [daily_skeleton(at.date())[0], ""]  # a note a person started without a title
        run = note.last_run_number() + 1
        facts = run_facts(report, run, at)
        ctx = _RunContext(report, facts, vault, list(report_paths), runbooks_dir)
        for key, heading_path in DAILY_SECTIONS:
            content = _SECTION_WRITERS[key](ctx)
            data = facts.to_json() if key == "goals" else None
            insert_block(note.body, section_end(note.body, heading_path), region(run, key, content, data))
        runs = note.runs()
        if not any(r.run == run for r in runs):  # the goals heading was inside a person's code block
            runs.append(facts)
        update_front_matter(note, _daily_front_values(at.date(), runs, note.front_matter() or {}))
        atomic_write(path, note.render())
    return path


def daily_skeleton(day: date) -> list[str]:
    """The brief's daily template headings, in order, with nothing under them yet."""
    return skeleton(f"# BASB DevOps Log - {day.isoformat()}", DAILY_SECTIONS)


def skeleton(title: str, sections: Sequence[tuple[str, tuple[str, ...]]]) -> list[str]:
    """A note of `title` and the sections' headings (each once, in order) with nothing under them."""
    lines = [title]
    seen: set[str] = set()
    for _key, heading_path in sections:
        for heading in heading_path:
            if heading not in seen:
                seen.add(heading)
                lines += ["", heading]
    return lines


def read_daily_log(path: Path) -> tuple[dict[str, Any], list[RunFacts]]:
    """A daily log's front matter (empty if unreadable) and its run facts."""
    note = Note.parse(path.read_text(encoding="utf-8"))
    return note.front_matter() or {}, note.runs()


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@contextlib.contextmanager
def file_lock(path: Path, timeout_s: float = 10.0, stale_s: float = 120.0) -> Iterator[None]:
    """Serialise writers of one note (two gate runs finishing together must not lose a run)."""
    lock = path.with_name(f".{path.name}.lock")
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            with contextlib.suppress(FileNotFoundError):
                if time.time() - lock.stat().st_mtime > stale_s:  # a crashed writer left it
                    lock.unlink()
                    continue
            if time.monotonic() > deadline:
                raise TimeoutError(f"another writer holds {lock}; remove it if no gate run is active") from None
            time.sleep(0.05)
    try:
        os.close(fd)
        yield
    finally:
        lock.unlink(missing_ok=True)


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
        return f"**Run {f.run} — {f.time} UTC — {inline_code(f.environment)} — {f.verdict.upper()}**"


def _goals(ctx: _RunContext) -> list[str]:
    report = ctx.report
    ids = ", ".join(inline_code(s.id) for s in report.services) or "none"
    deployed = all(s.status == "pass" for s in report.services) and bool(report.services)
    lines = [
        ctx.label,
        "",
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
    lines = [ctx.label, ""]
    for service in report.services:
        s = service.summary
        where = ", ".join(v for v in (s.role, s.transport) if v)
        head = f"- {STATUS_ICON[service.status]} {inline_code(s.id)}" + (f" ({where})" if where else "")
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
    lines = [ctx.label, ""]
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
        ctx.label,
        "",
        f"- **System Health**: {health}",
        f"- **Alerts Overview**: {plural(len(report.failures), 'failing check')}, "
        f"{plural(len(report.warnings), 'warning')}; quality gate {report.verdict.upper()} (items: {gate}); "
        f"real-time monitoring evidence: {monitoring.status}",
    ]


def _issues(ctx: _RunContext) -> list[str]:
    report = ctx.report
    lines = [ctx.label, ""]
    if not report.failures and not report.warnings:
        return [
            *lines,
            f"- **Description**: No issues — {plural(len(report.checks), 'check')}, none failing or warning.",
            "- **Actions Taken**: None needed.",
        ]
    for check in report.failures[:MAX_LISTED]:
        lines += [
            f"- ❌ {inline_code(check.id)} on {inline_code(check.service)} ({check.outcome})",
            f"  - **Description**: {_message(check)}",
            f"  - **Actions Taken**: promotion blocked (verdict {report.verdict.upper()}); "
            f"follow-up in Tomorrow's Plan; runbook: {_runbook_link(ctx, check.id)}",
        ]
    for check in report.warnings[:MAX_LISTED]:
        lines.append(f"- ⚠️ {inline_code(check.id)} on {inline_code(check.service)} (warning): {_message(check)}")
    hidden = max(0, len(report.failures) - MAX_LISTED) + max(0, len(report.warnings) - MAX_LISTED)
    if hidden:
        lines.append(f"- … and {hidden} more in the gate report")
    return lines


def _message(check: CheckResult) -> str:
    return inline_code(check.message) if check.message else "(no message)"


def _plan(ctx: _RunContext) -> list[str]:
    report = ctx.report
    lines = [ctx.label, ""]
    seen: set[tuple[str, str]] = set()
    for check in report.failures:
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
    lines = [ctx.label, ""]
    lines += [f"- Gate report: {note_link(p, ctx.vault, p.name)}" for p in ctx.report_paths]
    for check_id in sorted({c.id for c in ctx.report.failures}):
        lines.append(f"- Runbook for {inline_code(check_id)}: {_runbook_link(ctx, check_id)}")
    if ctx.runbooks_dir is not None:
        lines.append(f"- Runbooks: {note_link(ctx.runbooks_dir, ctx.vault, ctx.runbooks_dir.name or 'runbooks')}")
    if len(lines) == 2:
        lines.append("- No report files were written in this run")
    return lines


def _runbook_link(ctx: _RunContext, check_id: str) -> str:
    if ctx.runbooks_dir is None:
        return "no runbooks directory configured"
    path = runbook_path(ctx.runbooks_dir, check_id)
    if not path.is_file():
        return f"missing — write {inline_code(str(path))}"
    return note_link(path, ctx.vault, check_id)


_SECTION_WRITERS = {
    "goals": _goals,
    "deployments": _deployments,
    "testing": _testing,
    "monitoring": _monitoring,
    "issues": _issues,
    "plan": _plan,
    "references": _references,
}


# --- links -----------------------------------------------------------------------------------------

_WIKILINK_UNSAFE = re.compile(r"[\[\]|#^\\]")
_LABEL_UNSAFE = re.compile(r"([\\`*_\[\]#<>$%=|~^])")


def note_link(path: Path, vault: Path, label: str) -> str:
    """A link Obsidian follows: a wikilink inside the vault, else a `file://` Markdown link."""
    target = path.resolve()
    try:
        rel = target.relative_to(vault.resolve()).as_posix()
    except ValueError:
        rel = None
    if rel is not None and not _WIKILINK_UNSAFE.search(rel + label):
        rel = rel[:-3] if rel.endswith(".md") else rel
        return f"[[{rel}|{label}]]"
    text = _LABEL_UNSAFE.sub(r"\\\1", label)
    return f"[{text}](<{target.as_uri()}>)"
