"""The Obsidian weekly DevOps summary, built from one ISO week's daily logs.

`<vault>/<log_dir>/<YYYY>-W<ww> dev-ops-weekly.md` follows the weekly template of README, "Reports". Generated
content sits between `<!-- basb:weekly <section> start/end -->` markers and is replaced when the
summary is rebuilt; text a person writes outside the markers stays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pytest_basb.model.files import atomic_write
from pytest_basb.obsidian.daily import DEFAULT_LOG_DIR, RunFacts, daily_log_path, read_daily_log
from pytest_basb.obsidian.note import (
    Note,
    file_lock,
    insert_block,
    section_end,
    skeleton,
    unfenced_indexes,
    update_front_matter,
)
from pytest_basb.report.gate import SUITES, plural
from pytest_basb.report.gate_files import inline_code

WEEKLY_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("deployments", ("## 📈 Weekly Achievements", "### Deployments Completed")),
    ("testing", ("## 📈 Weekly Achievements", "### Basic Testing Results")),
    ("health", ("## 📊 Infrastructure Health",)),
    ("challenges", ("## 🚧 Current Challenges",)),
    ("recommendations", ("## 💡 Recommendations",)),
    ("focus", ("## 🚀 Next Week's Focus",)),
)
WEEKLY_TAGS = ("devops", "basb", "weekly")


def weekly_path(vault: Path, iso_year: int, iso_week: int, log_dir: str = DEFAULT_LOG_DIR) -> Path:
    return vault / log_dir / f"{iso_year}-W{iso_week:02d} dev-ops-weekly.md"


def week_days(iso_year: int, iso_week: int) -> list[date]:
    """Monday..Sunday of the ISO week; ValueError for a week the year does not have."""
    monday = date.fromisocalendar(iso_year, iso_week, 1)
    return [monday + timedelta(days=i) for i in range(7)]


@dataclass(frozen=True)
class DayLog:
    day: date
    front: dict[str, Any]
    runs: tuple[RunFacts, ...]

    def _count(self, key: str, fallback: int) -> int:
        value = self.front.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else fallback

    # The front matter is what Dataview shows, so it wins; the run regions are the fallback.
    @property
    def run_count(self) -> int:
        return self._count("runs", len(self.runs))

    @property
    def passed(self) -> int:
        return self._count("passed", sum(r.passed for r in self.runs))

    @property
    def failed(self) -> int:
        return self._count("failed", sum(r.failed for r in self.runs))

    @property
    def status(self) -> str:
        value = self.front.get("status")
        if isinstance(value, str) and value:
            return value
        return self.runs[-1].verdict if self.runs else "—"


def read_week(vault: Path, iso_year: int, iso_week: int, log_dir: str = DEFAULT_LOG_DIR) -> list[DayLog]:
    logs = []
    for day in week_days(iso_year, iso_week):
        path = daily_log_path(vault, day, log_dir)
        if path.is_file():
            front, runs = read_daily_log(path)
            # Full runs only, as the daily front matter counts them: a partial run is not the day's state.
            logs.append(DayLog(day, front, tuple(r for r in runs if r.full)))
    return logs


def write_weekly_summary(vault: Path, *, iso_year: int, iso_week: int, log_dir: str = DEFAULT_LOG_DIR) -> Path:
    """(Re)build the week's summary from its daily logs; return its path."""
    if not vault.is_dir():
        raise FileNotFoundError(f"Obsidian vault not found: {vault}")
    days = week_days(iso_year, iso_week)
    logs = read_week(vault, iso_year, iso_week, log_dir)
    path = weekly_path(vault, iso_year, iso_week, log_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    week = _Week(iso_year, iso_week, days, logs, log_dir)
    with file_lock(path):
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        note = Note.parse(text) if text.strip() else Note(front=None, body=weekly_skeleton(iso_year, iso_week))
        for key, heading_path in WEEKLY_SECTIONS:
            replace_region(note.body, key, _WRITERS[key](week), heading_path)
        update_front_matter(note, week.front_values(note.front_matter() or {}))
        atomic_write(path, note.render())
    return path


def weekly_skeleton(iso_year: int, iso_week: int) -> list[str]:
    return skeleton(f"# BASB DevOps Weekly Summary - Week {iso_week} {iso_year}", WEEKLY_SECTIONS)


def replace_region(lines: list[str], key: str, content: Sequence[str], heading_path: tuple[str, ...]) -> None:
    """Replace the generated region `key` in place, or add it at the end of its section."""
    start_marker, end_marker = f"<!-- basb:weekly {key} start -->", f"<!-- basb:weekly {key} end -->"
    block = [start_marker, *content, "", end_marker]
    outside = list(unfenced_indexes(lines))
    starts = [i for i in outside if lines[i] == start_marker]
    ends = [i for i in outside if lines[i] == end_marker]
    if starts and ends and min(starts) < max(ends):
        start = min(starts)
        end = min(e for e in ends if e > start)
        lines[start : end + 1] = block
    else:
        insert_block(lines, section_end(lines, heading_path), block)


# --- the week's facts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Week:
    iso_year: int
    iso_week: int
    days: list[date]
    logs: list[DayLog]
    log_dir: str

    @property
    def runs(self) -> list[tuple[date, RunFacts]]:
        return [(log.day, run) for log in self.logs for run in log.runs]

    def link(self, day: date, *, in_table: bool = False) -> str:
        sep = "\\|" if in_table else "|"  # a bare pipe would split the table cell
        return f"[[{self.log_dir}/{day.isoformat()} dev-ops-log{sep}{day:%a} {day.isoformat()}]]"

    def last_runs(self) -> dict[str, tuple[date, RunFacts]]:
        """Environment -> its last run of the week."""
        last: dict[str, tuple[date, RunFacts]] = {}
        for day, run in self.runs:
            last[run.environment] = (day, run)
        return dict(sorted(last.items()))

    def open_failures(self) -> list[tuple[str, date, RunFacts, tuple[str, str]]]:
        return [(env, day, run, f) for env, (day, run) in self.last_runs().items() for f in run.failures]

    def failure_days(self) -> dict[tuple[str, str, str], list[date]]:
        """(environment, check id, service) -> the days it failed on."""
        found: dict[tuple[str, str, str], list[date]] = {}
        for day, run in self.runs:
            for check_id, service in run.failures:
                days = found.setdefault((run.environment, check_id, service), [])
                if day not in days:
                    days.append(day)
        return dict(sorted(found.items()))

    def suite_totals(self, suite: str) -> dict[str, int]:
        totals: dict[str, int] = {}
        for _day, run in self.runs:
            for outcome, n in run.suites.get(suite, {}).items():
                totals[outcome] = totals.get(outcome, 0) + n
        return totals

    def status(self) -> str:
        last = self.last_runs()
        if not last:
            return "no runs"
        return "fail" if any(run.verdict == "fail" for _d, run in last.values()) else "pass"

    def front_values(self, old: dict[str, Any]) -> dict[str, Any]:
        existing = old.get("tags")
        tags = [str(t) for t in existing] if isinstance(existing, list) else []
        return {
            "type": "devops-weekly",
            "week": f"{self.iso_year}-W{self.iso_week:02d}",
            "start": self.days[0],
            "end": self.days[-1],
            "days_logged": len(self.logs),
            "runs": sum(log.run_count for log in self.logs),
            "passed": sum(log.passed for log in self.logs),
            "failed": sum(log.failed for log in self.logs),
            "status": self.status(),  # pass when every environment's last run of the week passed
            "tags": [*tags, *(t for t in WEEKLY_TAGS if t not in tags)],
        }


# --- section content -------------------------------------------------------------------------------


def _deployments(week: _Week) -> list[str]:
    if not week.logs:
        return ["- No daily DevOps logs this week."]
    services: dict[str, tuple[date, RunFacts]] = {}
    for day, run in week.runs:
        for service_id in run.services:
            services[service_id] = (day, run)
    lines = []
    for service_id in sorted(services):
        day, run = services[service_id]
        info = run.services[service_id]
        verified = sum(1 for _d, r in week.runs if r.services.get(service_id, {}).get("status") == "pass")
        seen = sum(1 for _d, r in week.runs if service_id in r.services)
        server = " ".join(str(v) for v in (info.get("server"), info.get("version")) if v) or "unknown server"
        proto = f", protocol {inline_code(str(info['protocol']))}" if info.get("protocol") else ""
        lines.append(
            f"- {inline_code(service_id)}: {inline_code(server)}{proto} — verified in {verified} of "
            f"{plural(seen, 'run')} (last: {inline_code(run.environment)}, {day.isoformat()} {run.time} UTC)"
        )
    lines += _resolved(week) or ["- No incidents to resolve this week."]
    return lines


def _resolved(week: _Week) -> list[str]:
    last = week.last_runs()
    lines = []
    for (env, check_id, service), days in week.failure_days().items():
        last_day, last_run = last[env]
        if (check_id, service) not in last_run.failures:
            lines.append(
                f"- Resolved: {inline_code(check_id)} on {inline_code(service)} in {inline_code(env)} "
                f"(failed {', '.join(d.isoformat() for d in days)}; not failing in the last run, "
                f"{last_day.isoformat()} {last_run.time} UTC)"
            )
    return lines


def _testing(week: _Week) -> list[str]:
    lines = ["| Day | Runs | Passed | Failed | Status |", "|---|---|---|---|---|"]
    for log in week.logs:
        lines.append(
            f"| {week.link(log.day, in_table=True)} | {log.run_count} | {log.passed} | {log.failed} | {log.status} |"
        )
    totals = (sum(x.run_count for x in week.logs), sum(x.passed for x in week.logs), sum(x.failed for x in week.logs))
    lines += [f"| **Total** | {totals[0]} | {totals[1]} | {totals[2]} | {week.status()} |", ""]
    for suite in SUITES:
        t = week.suite_totals(suite)
        if not t:
            lines.append(f"- {suite.capitalize()} checks: none ran this week")
            continue
        failed = t.get("fail", 0) + t.get("error", 0)
        lines.append(
            f"- {suite.capitalize()} checks: {t.get('pass', 0)} passed, {failed} failed, "
            f"{plural(t.get('warn', 0), 'warning')}, {t.get('skip', 0)} skipped"
        )
    access = sorted(
        {(c, s) for (_e, c, s) in week.failure_days() if c.startswith(("health.", "smoke."))},
    )
    issues = ", ".join(f"{inline_code(c)} on {inline_code(s)}" for c, s in access)
    lines.append(f"- Accessibility issues found: {issues or 'none'}")
    lines += ["", *_dataview(week)]
    return lines


def _dataview(week: _Week) -> list[str]:
    return [
        "```dataview",
        'TABLE WITHOUT ID file.link AS "Day", runs AS "Runs", passed AS "Passed", failed AS "Failed", '
        'status AS "Status"',
        f'FROM "{week.log_dir}"',
        f'WHERE type = "devops-log" AND date >= date({week.days[0].isoformat()}) '
        f"AND date <= date({week.days[-1].isoformat()})",
        "SORT date ASC",
        "```",
    ]


def _health(week: _Week) -> list[str]:
    runs = week.runs
    failed_runs = [(d, r) for d, r in runs if r.verdict == "fail"]
    failed_days = sorted({d for d, _r in failed_runs})
    passed = sum(r.passed for _d, r in runs)
    failed = sum(r.failed for _d, r in runs)
    rate = f"{100 * passed / (passed + failed):.1f}%" if passed + failed else "n/a"
    incidents = (
        f"{plural(len(failed_runs), 'failing run')} on {', '.join(week.link(d) for d in failed_days)}; "
        f"{plural(len(week.failure_days()), 'distinct failing check')}"
        if failed_runs
        else "no failing runs"
    )
    return [
        "- **Resource Utilization**: not measured by the gate runs (no resource metrics in the daily logs)",
        f"- **Incident Summary**: {incidents}",
        f"- **Monitoring Metrics**: {plural(len(runs), 'run')} on {len(week.logs)}/7 days, "
        f"{len(runs) - len(failed_runs)} passing; check pass rate {rate} ({passed} passed, {failed} failed)",
    ]


def _challenges(week: _Week) -> list[str]:
    open_failures = week.open_failures()
    if not week.runs:
        return ["- No gate runs were logged this week, so the deployment state is unknown."]
    if not open_failures:
        return ["- No open failures: the last run of every environment passed."]
    lines = [
        f"- {inline_code(check_id)} on {inline_code(service)} still fails in {inline_code(env)} "
        f"(last run {week.link(day)} {run.time} UTC)"
        for env, day, run, (check_id, service) in open_failures
    ]
    return [*lines, "- Plan: follow the runbook linked in that day's Tomorrow's Plan, then rerun the gate."]


def _recommendations(week: _Week) -> list[str]:
    lines = []
    for (env, check_id, service), days in week.failure_days().items():
        if len(days) > 1:
            lines.append(
                f"- {inline_code(check_id)} on {inline_code(service)} ({inline_code(env)}) failed on "
                f"{len(days)} days: find the root cause and record it in the runbook."
            )
    warnings = sum(r.warned for _d, r in week.runs)
    if warnings:
        lines.append(f"- Review {plural(warnings, 'warning')} before they become failures.")
    not_run = [s for s in SUITES if not week.suite_totals(s)]
    if week.runs and not_run:
        lines.append(f"- Add the {', '.join(not_run)} suites to the gate runs: they did not run this week.")
    logged = {log.day for log in week.logs}
    today = datetime.now(UTC).date()  # a week in progress: its later days are not missing yet
    missing = [d for d in week.days[:5] if d not in logged and d < today]
    if missing:
        names = ", ".join(f"{d:%a} {d.isoformat()}" for d in missing)
        lines.append(f"- Run the gate every working day: no log on {names}.")
    return lines or ["- Keep the daily gate runs; this week's data suggests no process change."]


def _focus(week: _Week) -> list[str]:
    lines = [
        f"- [ ] Fix {inline_code(check_id)} on {inline_code(service)} in {inline_code(env)}"
        for env, _day, _run, (check_id, service) in week.open_failures()
    ]
    envs = ", ".join(inline_code(e) for e in week.last_runs()) or "each environment"
    lines.append(f"- [ ] Run the gate daily on {envs} and keep the DevOps log current")
    return lines


_WRITERS = {
    "deployments": _deployments,
    "testing": _testing,
    "health": _health,
    "challenges": _challenges,
    "recommendations": _recommendations,
    "focus": _focus,
}
