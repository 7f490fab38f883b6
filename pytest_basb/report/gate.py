"""The quality-gate verdict: per-service status and the six gate items of docs/quality-gate.md, from check results.

Pure data in, pure data out: no pytest, no MCP, no file writing (only the runbook look-up reads the
file system). An item without evidence in this run is "not evaluated" — the gate never claims a
"pass" it did not observe.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from pytest_basb.model.results import OUTCOMES, CheckResult
from pytest_basb.policy.waivers import WaiverStatus

if TYPE_CHECKING:
    from pytest_basb.report.incident import IncidentEvidence

# The suites every report shows, in this order; other suites (basb.*, monitoring.*) are counted too.
SUITES: tuple[str, ...] = ("health", "smoke", "basb", "security", "regression")
BLOCKING: frozenset[str] = frozenset({"fail", "error"})
# The service id of a check about the whole environment (`@staging`: monitoring.rules), never a service row.
ENVIRONMENT_WIDE_PREFIX: Final = "@"
NOT_EVALUATED: Final = "not evaluated"

Verdict = Literal["pass", "fail", "none"]  # none: nothing was checked
Status = Literal["pass", "fail", "not evaluated"]

# The Quality Gate items (docs/quality-gate.md), in their order.
DEPLOYED = "All services are successfully deployed and accessible"
CI_CD = "CI/CD pipelines are functioning without failed jobs"
MONITORING = "Monitoring and alerting systems provide accurate real-time data"
ACCESSIBILITY = "Basic accessibility tests for all services have passed"
INCIDENT = "Incident response protocols are in place and tested"
SECURITY = "Security compliance checks are performed and documented"
GATE_ITEMS: tuple[str, ...] = (DEPLOYED, CI_CD, MONITORING, ACCESSIBILITY, INCIDENT, SECURITY)


@dataclass(frozen=True)
class ServiceSummary:
    """What the plugin knows about a service: inventory facts plus what its handshake reported."""

    id: str
    role: str | None = None
    transport: str | None = None
    server_name: str | None = None
    server_version: str | None = None
    protocol_version: str | None = None
    target: str | None = None  # where it was tested: `live`, `local (stdio process)`, `containers IMAGE (id ...)`


@dataclass(frozen=True)
class ServiceResult:
    """One service in the report: its summary, its status and outcome counts per suite."""

    summary: ServiceSummary
    status: Status  # "not evaluated" only when none of its checks ran (all skipped or none)
    counts: Mapping[str, Mapping[str, int]]  # suite -> outcome -> n (non-zero only)

    @property
    def id(self) -> str:
        return self.summary.id

    def suite_counts(self, suite: str) -> dict[str, int]:
        return dict(self.counts.get(suite, {}))


@dataclass(frozen=True)
class Scope:
    """What the run set out to check (the suites chosen with -m) and how much of it it checked.

    `reasons` name what narrowed the run (-k, --deselect, --basb-shard, a test path); a run
    without reasons is full. `checks_total` is None when a narrower test path hid the total.
    """

    suites: tuple[str, ...]
    services_checked: int
    services_total: int
    checks_selected: int
    checks_total: int | None
    reasons: tuple[str, ...] = ()

    @property
    def full(self) -> bool:
        return not self.reasons

    def label(self) -> str:
        """`partial: 1/6 services, 3/112 checks` (or `full: ...`)."""
        total = f"/{self.checks_total}" if self.checks_total is not None else ""
        checks = f"{self.checks_selected}{total}"
        kind = "full" if self.full else "partial"
        return f"{kind}: {self.services_checked}/{self.services_total} services, {checks} checks"

    def to_dict(self) -> dict[str, Any]:
        return {
            "full": self.full,
            "suites": list(self.suites),
            "services": {"checked": self.services_checked, "total": self.services_total},
            "checks": {"selected": self.checks_selected, "total": self.checks_total},
            "reasons": list(self.reasons),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scope:
        return cls(
            suites=tuple(data.get("suites", ())),
            services_checked=int(data["services"]["checked"]),
            services_total=int(data["services"]["total"]),
            checks_selected=int(data["checks"]["selected"]),
            checks_total=None if data["checks"]["total"] is None else int(data["checks"]["total"]),
            reasons=tuple(data.get("reasons", ())),
        )

    @classmethod
    def whole(cls, checks: Sequence[CheckResult], service_ids: Sequence[str]) -> Scope:
        """The scope of a run known to be complete (a merge of every shard, a report built from data)."""
        return cls(
            suites=ordered_suites({suite_of(c.id) for c in checks}),
            services_checked=count_services(c.service for c in checks),
            services_total=len(service_ids),
            checks_selected=len(checks),
            checks_total=len(checks),
        )


def count_services(ids: Iterable[str]) -> int:
    """How many distinct services `ids` name; an environment-wide subject (`@<env>`) is no service."""
    return len({sid for sid in ids if not sid.startswith(ENVIRONMENT_WIDE_PREFIX)})


def ordered_suites(suites: set[str] | frozenset[str]) -> tuple[str, ...]:
    """The standard suites in their order, then any other suite sorted."""
    return (*(s for s in SUITES if s in suites), *sorted(suites - set(SUITES)))


@dataclass(frozen=True)
class GateItem:
    item: str
    status: Status
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class GateReport:
    environment: str
    verdict: Verdict
    started_at: datetime
    finished_at: datetime
    services: tuple[ServiceResult, ...]  # sorted by id
    checks: tuple[CheckResult, ...]  # sorted by (service, id, nodeid)
    gate: tuple[GateItem, ...]  # the order of docs/quality-gate.md
    ci_ok: bool | None = None
    runbooks_dir: Path | None = None
    scope: Scope | None = None  # None: built without run facts, taken as whole
    waivers: tuple[WaiverStatus, ...] = ()  # every waiver of the environment and what it did
    # Where runbooks are looked up, in order: the team's folder, then the shipped runbooks.
    runbook_dirs: tuple[Path, ...] = ()
    policy: tuple[PolicyChange, ...] = ()  # the policy rules that change a check's level

    @property
    def full_scope(self) -> Scope:
        return self.scope or Scope.whole(self.checks, [s.id for s in self.services])

    @property
    def partial(self) -> bool:
        return not self.full_scope.full

    def runbook_for(self, check_id: str) -> Path | None:
        """The runbook of a check: the first folder of the search order that has one."""
        return find_runbook(self.runbook_dirs, check_id)

    def verdict_text(self) -> str:
        """`PASS`, `FAIL (partial: 1/6 services, 3/112 checks)` or `NOTHING CHECKED`, for people."""
        if self.verdict == "none":
            return "NOTHING CHECKED"
        return self.verdict.upper() + (f" ({self.full_scope.label()})" if self.partial else "")

    @property
    def duration_s(self) -> float:
        return round((self.finished_at - self.started_at).total_seconds(), 3)

    @property
    def summary(self) -> dict[str, int]:
        """Outcome -> number of checks, every outcome present (zeros included)."""
        counts = Counter(c.outcome for c in self.checks)
        return {outcome: counts.get(outcome, 0) for outcome in OUTCOMES}

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.outcome in BLOCKING)

    @property
    def blocked(self) -> dict[CheckKey, str]:
        """Failing checks that could not run because of an earlier failure -> that failure's check id."""
        return blocked_by(self.checks)

    @property
    def root_failures(self) -> tuple[CheckResult, ...]:
        """The failures that carry a cause: every failure but the blocked ones."""
        blocked = self.blocked
        return tuple(c for c in self.failures if check_key(c) not in blocked)

    @property
    def warnings(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.outcome == "warn")

    @property
    def waived(self) -> tuple[CheckResult, ...]:
        """Failures a waiver accepts for now: they do not fail the verdict, and are never a pass."""
        return tuple(c for c in self.checks if c.outcome == "waived")

    def planned(self) -> dict[str, int]:
        """Suite -> checks collected for it in this run (skips included), suites sorted."""
        counts = Counter(suite_of(c.id) for c in self.checks)
        return dict(sorted(counts.items()))

    def suite_totals(self, suite: str) -> dict[str, int]:
        """Outcome -> n for one suite over every service, every outcome present."""
        counts = Counter(c.outcome for c in self.checks if suite_of(c.id) == suite)
        return {outcome: counts.get(outcome, 0) for outcome in OUTCOMES}


BLOCKED_PREFIX = "blocked by "


@dataclass(frozen=True)
class PolicyChange:
    """A policy rule that changes some check's level: `check` (id or glob) -> `level`, set in
    `source` (`defaults`, `environment prod`, `service notes-a`), for `service` (None: every one)."""

    check: str
    level: str
    source: str
    service: str | None = None

    def line(self) -> str:
        """`policy: smoke.unknown_tool → warn (defaults)`: one terminal line per rule."""
        on = f" on {self.service}" if self.service is not None else ""
        return f"policy: {self.check} → {self.level}{on} ({self.source})"

    def to_dict(self) -> dict[str, str | None]:
        return {"check": self.check, "level": self.level, "source": self.source, "service": self.service}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PolicyChange:
        service = data.get("service")
        return cls(
            str(data["check"]), str(data["level"]), str(data["source"]), None if service is None else str(service)
        )


CheckKey = tuple[str, str, str]  # (service, check id, nodeid)


def check_key(check: CheckResult) -> CheckKey:
    return (check.service, check.id, check.nodeid)


def blocked_by(checks: Sequence[CheckResult]) -> dict[CheckKey, str]:
    """One root cause, reported once: a check is blocked when it could not run because another
    check's failure came first (a skip with `blocked_by`, or a failure "blocked by <check>: ..."),
    or when it repeats, word for word, an earlier failure of the same service."""
    first: dict[tuple[str, str], str] = {}
    blocked: dict[CheckKey, str] = {}
    for check in checks:
        if check.blocked_by:
            blocked[check_key(check)] = check.blocked_by
            continue
        if check.outcome not in BLOCKING or not check.message:
            continue
        if check.message.startswith(BLOCKED_PREFIX):
            blocked[check_key(check)] = check.message.removeprefix(BLOCKED_PREFIX).split(":", 1)[0].strip()
        elif (check.service, check.message) in first:
            blocked[check_key(check)] = first[(check.service, check.message)]
        else:
            first[(check.service, check.message)] = check.id
    return blocked


def blocked_lines(checks: Sequence[CheckResult]) -> list[str]:
    """`3 checks on kit blocked by health.handshake` — one line per service and cause."""
    counts = Counter((key[0], cause) for key, cause in blocked_by(checks).items())
    return [f"{plural(n, 'check')} on {service} blocked by {cause}" for (service, cause), n in sorted(counts.items())]


def suite_of(check_id: str) -> str:
    return check_id.split(".", 1)[0]


def plural(n: int, word: str) -> str:
    """`1 check`, `2 checks` (reports are read by people)."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def build_gate(
    results: Sequence[CheckResult],
    *,
    environment: str,
    services: Sequence[ServiceSummary],
    started_at: datetime,
    finished_at: datetime,
    runbooks_dir: Path | None,
    ci_ok: bool | None,
    scope: Scope | None = None,
    ci_evidence: Sequence[str] = (),
    waivers: Sequence[WaiverStatus] = (),
    policy: Sequence[PolicyChange] = (),
    runbook_dirs: Sequence[Path] = (),
    incident: IncidentEvidence | None = None,
) -> GateReport:
    """Judge one run: service status, overall verdict and the six quality-gate items.

    `ci_evidence` (e.g. the failed jobs' names) replaces the CI item's generic evidence when given.
    A `waived` check (a failure a waiver accepts) does not fail the verdict; `waivers` and `policy`
    are carried into the reports as given. `runbook_dirs`: the runbook search order (default:
    `runbooks_dir` alone). `incident`: the drill evidence the Incident item also requires (None: only
    the runbooks of failing checks are judged, as before drills existed).
    """
    checks = tuple(sorted(results, key=lambda c: (c.service, c.id, c.nodeid)))
    known = {s.id: s for s in services}
    # A result for a service the caller did not list is still reported, never dropped.
    for service_id in sorted({c.service for c in checks} - known.keys()):
        if not service_id.startswith(ENVIRONMENT_WIDE_PREFIX):
            known[service_id] = ServiceSummary(id=service_id)
    by_service: dict[str, list[CheckResult]] = {}
    for check in checks:
        by_service.setdefault(check.service, []).append(check)
    service_results = tuple(_service_result(known[sid], by_service.get(sid, [])) for sid in sorted(known))
    failing = any(s.status == "fail" for s in service_results) or any(c.outcome in BLOCKING for c in checks)
    verdict: Verdict = "fail" if failing else "pass" if checks else "none"
    service_ids = [s.id for s in service_results]
    searched = tuple(runbook_dirs) or ((runbooks_dir,) if runbooks_dir is not None else ())
    gate = tuple(_JUDGES[item](checks, service_ids, searched, ci_ok) for item in GATE_ITEMS)
    if incident is not None:
        gate = tuple(_with_drills(g, incident, service_ids, searched) if g.item == INCIDENT else g for g in gate)
    if ci_evidence and ci_ok is not None:
        gate = tuple(dataclasses.replace(g, evidence=tuple(ci_evidence)) if g.item == CI_CD else g for g in gate)
    return GateReport(
        environment=environment,
        verdict=verdict,
        started_at=started_at,
        finished_at=finished_at,
        services=service_results,
        checks=checks,
        gate=gate,
        ci_ok=ci_ok,
        runbooks_dir=runbooks_dir,
        scope=scope,
        waivers=tuple(waivers),
        policy=tuple(policy),
        runbook_dirs=searched,
    )


def _service_result(summary: ServiceSummary, checks: Sequence[CheckResult]) -> ServiceResult:
    counts: dict[str, Counter[str]] = {}
    for check in checks:
        counts.setdefault(suite_of(check.id), Counter())[check.outcome] += 1
    status: Status
    if any(c.outcome in BLOCKING for c in checks):
        status = "fail"
    elif any(c.outcome in ("pass", "warn", "waived") for c in checks):
        status = "pass"
    else:
        status = NOT_EVALUATED  # listed but nothing ran against it (deselected, all skipped)
    return ServiceResult(
        summary=_with_handshake_facts(summary, checks),
        status=status,
        counts={suite: dict(sorted(c.items())) for suite, c in sorted(counts.items())},
    )


def _with_handshake_facts(summary: ServiceSummary, checks: Sequence[CheckResult]) -> ServiceSummary:
    """Fill server name/version and protocol version from the handshake evidence when not given."""
    handshake = next((c for c in checks if c.id == "health.handshake"), None)
    if handshake is None:
        return summary
    server: Any = handshake.evidence.get("server")
    server = server if isinstance(server, Mapping) else {}
    protocol = handshake.evidence.get("protocol_version")
    return dataclasses.replace(
        summary,
        server_name=summary.server_name or _str_or_none(server.get("name")),
        server_version=summary.server_version or _str_or_none(server.get("version")),
        protocol_version=summary.protocol_version or _str_or_none(protocol),
    )


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


# --- the six gate items -------------------------------------------------------------------------

_Judge = Callable[[Sequence[CheckResult], Sequence[str], Sequence[Path], bool | None], GateItem]


def _ran(checks: Sequence[CheckResult], prefixes: tuple[str, ...]) -> list[CheckResult]:
    """Checks with one of the id prefixes that actually ran (a skip is no evidence)."""
    return [c for c in checks if c.id.startswith(prefixes) and c.outcome != "skip"]


def _failed_lines(checks: Sequence[CheckResult]) -> list[str]:
    blocked = blocked_by(checks)
    roots = [
        f"{c.id} on {c.service}: {c.outcome}" for c in checks if c.outcome in BLOCKING and check_key(c) not in blocked
    ]
    return [*roots, *blocked_lines(checks)]


def _every_service(item: str, prefixes: tuple[str, ...], checks: Sequence[CheckResult], ids: Sequence[str]) -> GateItem:
    """Pass only when every service has evidence with these prefixes and none of it fails."""
    ran = _ran(checks, prefixes)
    label = " + ".join(f"{p}*" for p in prefixes)
    failed = _failed_lines(ran)
    failing = sum(c.outcome in BLOCKING for c in ran)
    covered = {c.service for c in ran}
    missing = [sid for sid in ids if sid not in covered]
    evidence = [f"{label}: {plural(len(ran), 'check')} on {len(covered)}/{len(ids)} services, {failing} failing"]
    evidence += failed
    if missing:
        evidence.append(f"no {label} checks ran for: {', '.join(missing)}")
    if failed:
        return GateItem(item, "fail", tuple(evidence))
    if missing or not ids:
        return GateItem(item, NOT_EVALUATED, tuple(evidence))
    return GateItem(item, "pass", tuple(evidence))


def _any_evidence(item: str, prefixes: tuple[str, ...], checks: Sequence[CheckResult]) -> GateItem:
    """Pass when at least one check with these prefixes ran and none failed."""
    ran = _ran(checks, prefixes)
    label = " or ".join(f"{p}*" for p in prefixes)
    if not ran:
        return GateItem(item, NOT_EVALUATED, (f"no {label} checks ran",))
    failed = _failed_lines(ran)
    services = sorted({c.service for c in ran})
    failing = sum(c.outcome in BLOCKING for c in ran)
    evidence = (f"{label}: {plural(len(ran), 'check')} on {', '.join(services)}, {failing} failing", *failed)
    return GateItem(item, "fail" if failed else "pass", evidence)


def _deployed(checks: Sequence[CheckResult], ids: Sequence[str], _rb: Sequence[Path], _ci: bool | None) -> GateItem:
    return _every_service(DEPLOYED, ("health.",), checks, ids)


def _accessibility(
    checks: Sequence[CheckResult], ids: Sequence[str], _rb: Sequence[Path], _ci: bool | None
) -> GateItem:
    return _every_service(ACCESSIBILITY, ("health.", "smoke."), checks, ids)


# The checks that read the environment's Prometheus and Alertmanager; the Monitoring item needs them all.
MONITORING_STACK_CHECKS: tuple[str, ...] = (
    "monitoring.targets",
    "monitoring.rules",
    "monitoring.alerting",
    "monitoring.gate_metrics",
)

NO_STACK_CHECKS = (
    "no monitoring.targets/rules/alerting/gate_metrics checks ran: add `monitoring: {prometheus_url: ..., "
    "alertmanager_url: ...}` to the environment in the inventory so the gate reads its Prometheus and Alertmanager"
)


def _monitoring(
    checks: Sequence[CheckResult], ids: Sequence[str], searched: Sequence[Path], _ci: bool | None
) -> GateItem:
    """Pass only when every monitoring-stack check ran and passed (monitoring.targets on every service)
    and no other monitoring.* check failed; without any of them (no `monitoring:` block) the item is
    not evaluated. Each failure names its runbook."""
    ran = _ran(checks, ("monitoring.",))
    stack = [c for c in ran if c.id in MONITORING_STACK_CHECKS]
    blocked = blocked_by(ran)
    failures = [c for c in ran if c.outcome in BLOCKING and check_key(c) not in blocked]
    failing = sum(c.outcome in BLOCKING for c in stack)
    lines = [f"{plural(len(stack), 'monitoring-stack check')} ran, {failing} failing" if stack else NO_STACK_CHECKS]
    for check in failures:
        runbook = find_runbook(searched, check.id) if searched else None
        where = f" (runbook: {runbook})" if runbook else ""
        lines.append(f"{check.id} on {check.service}: {check.message or check.outcome}{where}")
    lines += blocked_lines(ran)
    if failures:  # a failing monitoring.metrics counts too, with or without a `monitoring:` block
        return GateItem(MONITORING, "fail", tuple(lines))
    if not stack:
        return GateItem(MONITORING, NOT_EVALUATED, tuple(lines))
    missing = [cid for cid in MONITORING_STACK_CHECKS if cid not in {c.id for c in stack}]
    targeted = {c.service for c in stack if c.id == "monitoring.targets"}
    unmonitored = [sid for sid in ids if sid not in targeted and not sid.startswith(ENVIRONMENT_WIDE_PREFIX)]
    if missing:
        lines.append(f"did not run: {', '.join(missing)}")
    elif unmonitored:
        lines.append(f"monitoring.targets did not run for: {', '.join(unmonitored)}")
    if missing or unmonitored:
        return GateItem(MONITORING, NOT_EVALUATED, tuple(lines))
    return GateItem(MONITORING, "pass", tuple(lines))


def _security(checks: Sequence[CheckResult], _ids: Sequence[str], _rb: Sequence[Path], _ci: bool | None) -> GateItem:
    return _any_evidence(SECURITY, ("security.",), checks)


def _ci(_checks: Sequence[CheckResult], _ids: Sequence[str], _rb: Sequence[Path], ci_ok: bool | None) -> GateItem:
    if ci_ok is None:
        return GateItem(CI_CD, NOT_EVALUATED, ("no CI pipeline status given to this run",))
    if ci_ok:
        return GateItem(CI_CD, "pass", ("CI pipeline reported no failed jobs",))
    return GateItem(CI_CD, "fail", ("CI pipeline reported failed jobs",))


def _incident(
    checks: Sequence[CheckResult], _ids: Sequence[str], searched: Sequence[Path], _ci: bool | None
) -> GateItem:
    """A runbook `<folder>/<check-id>.md` must exist for every failing check id, in one of the
    runbook folders (the team's, then the shipped ones)."""
    if not searched:
        return GateItem(INCIDENT, NOT_EVALUATED, ("no runbooks directory configured",))
    folders = [folder for folder in searched if folder.is_dir()]
    if not folders:
        return GateItem(INCIDENT, NOT_EVALUATED, (f"runbooks directory not found: {searched[0]}",))
    failing = sorted({c.id for c in checks if c.outcome in BLOCKING})
    if not failing:
        return GateItem(INCIDENT, "pass", (f"no failing checks; runbooks in {', '.join(map(str, folders))}",))
    found = {cid: find_runbook(folders, cid) for cid in failing}
    missing = [cid for cid, path in found.items() if path is None]
    if missing:
        return GateItem(INCIDENT, "fail", tuple(f"missing runbook: {runbook_path(folders[0], cid)}" for cid in missing))
    return GateItem(INCIDENT, "pass", tuple(f"runbook: {found[cid]}" for cid in failing))


def _with_drills(
    item: GateItem, incident: IncidentEvidence, service_ids: Sequence[str], searched: Sequence[Path]
) -> GateItem:
    """The Incident item with drills: a runbook per failure mode and a fresh passing drill of each mode
    per service, besides the runbook of every failing check."""
    from pytest_basb.report.incident import judge_drills

    status, lines = judge_drills(incident, service_ids, [f for f in searched if f.is_dir()])
    runbooks = item.evidence if item.status != NOT_EVALUATED else ()
    if "fail" in (item.status, status):
        failed = item.evidence if item.status == "fail" else ()
        return GateItem(INCIDENT, "fail", (*failed, *(lines if status == "fail" else ())))
    if status == NOT_EVALUATED:
        return GateItem(INCIDENT, NOT_EVALUATED, (*lines, *runbooks))
    return GateItem(INCIDENT, "pass", (*lines, *runbooks))


def matched_waivers(checks: Sequence[CheckResult]) -> dict[str, int]:
    """Waiver source -> failures it covered in these results (waived, or failing on its expiry)."""
    return dict(Counter(c.waiver["source"] for c in checks if c.waiver and "source" in c.waiver))


def runbook_path(runbooks_dir: Path, check_id: str) -> Path:
    """`<check-id>.md`; a declared flow without a runbook of its own has its suite's (`flow.md`)."""
    own = runbooks_dir / f"{check_id}.md"
    if check_id.startswith("flow.") and not own.is_file():  # flow.<name>: named by the inventory
        return runbooks_dir / f"{suite_of(check_id)}.md"
    return own


def find_runbook(folders: Sequence[Path], check_id: str) -> Path | None:
    """The first `<folder>/<check-id>.md` that exists, in search order."""
    return next((path for folder in folders if (path := runbook_path(folder, check_id)).is_file()), None)


_JUDGES: dict[str, _Judge] = {
    DEPLOYED: _deployed,
    CI_CD: _ci,
    MONITORING: _monitoring,
    ACCESSIBILITY: _accessibility,
    INCIDENT: _incident,
    SECURITY: _security,
}


# Checks that count toward a gate item (see the judges above); the rest (regression.*, basb.*, flow.*,
# a team's own suites) fail the verdict directly and are named as such.
ITEM_EVIDENCE: tuple[str, ...] = ("health.", "smoke.", "monitoring.", "security.")


def outside_items(checks: Sequence[CheckResult]) -> list[CheckResult]:
    """The failing checks (causes only, not the blocked ones) that belong to no gate item."""
    blocked = blocked_by(checks)
    return [
        c
        for c in checks
        if c.outcome in BLOCKING and check_key(c) not in blocked and not c.id.startswith(ITEM_EVIDENCE)
    ]
