"""The pure policy and waiver judgements (pytest_basb/policy), their inventory errors, and secret-only masking."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pytest_basb.inventory.load import InventoryError, load_environment
from pytest_basb.inventory.secret_values import service_secrets, url_secrets
from pytest_basb.model.results import CheckResult
from pytest_basb.policy.apply import off_reason, with_policy
from pytest_basb.policy.catalogue import shipped_check_ids, unknown_pattern_message
from pytest_basb.policy.levels import Decision, Policy, Rule
from pytest_basb.policy.waivers import Waiver, WaiverStatus, merge_statuses, waiver_for, waiver_statuses
from pytest_basb.report.gate import PolicyChange, Scope, build_gate, matched_waivers
from pytest_basb.report.gate_files import gate_dict
from pytest_basb.report.merge import merge_gates
from tests.unit.test_runbooks import suite_check_ids

DAY = date(2027, 1, 31)


# --- the catalogue ------------------------------------------------------------------------------


def test_the_catalogue_is_read_from_the_suites_markers() -> None:
    # The runbook test reads the same markers with a regex: two readers of one source must agree.
    assert shipped_check_ids() == frozenset(suite_check_ids())
    assert "basb.code.flow" in shipped_check_ids()  # named through a module constant, CHECK = "..."


def test_the_catalogue_follows_a_new_marker(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(
        'import pytest\nCHECK = "team.own"\n@pytest.mark.basb_check("team.probe")\ndef test_a(): ...\n'
        "@pytest.mark.basb_check(CHECK)\ndef test_b(): ...\n"
    )
    assert shipped_check_ids(tmp_path) == {"team.probe", "team.own"}


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("smoke.call", None),
        ("security.*", None),
        ("*", None),
        ("smoke.unknwon_tool", "`smoke.unknwon_tool` is not a known check id; did you mean `smoke.unknown_tool`?"),
        ("secuirty.*", "`secuirty.*` matches no known check id; did you mean `security.*`?"),
        ("nothing.like.it", "`nothing.like.it` is not a known check id"),
    ],
)
def test_unknown_patterns_are_named_with_a_did_you_mean(pattern: str, problem: str | None) -> None:
    assert unknown_pattern_message(pattern, shipped_check_ids()) == problem


# --- levels -------------------------------------------------------------------------------------


def _policy() -> Policy:
    return Policy(
        defaults=(Rule("smoke.unknown_tool", "warn", "defaults"), Rule("regression.*", "warn", "defaults")),
        environment=(
            Rule("regression.latency", "block", "environment prod"),
            Rule("security.*", "warn", "environment prod"),
        ),
        services={"notes-a": (Rule("security.auth_metadata", "off", "service notes-a"),)},
    )


@pytest.mark.parametrize(
    ("check", "service", "decision"),
    [
        ("health.handshake", "notes-a", Decision("block", "default")),
        ("smoke.unknown_tool", "notes-b", Decision("warn", "defaults: smoke.unknown_tool")),
        ("regression.golden", "notes-a", Decision("warn", "defaults: regression.*")),
        # the environment's exact id over the defaults' glob
        ("regression.latency", "notes-a", Decision("block", "environment prod: regression.latency")),
        ("security.auth_metadata", "notes-a", Decision("off", "service notes-a: security.auth_metadata")),
        ("security.auth_metadata", "notes-b", Decision("warn", "environment prod: security.*")),
    ],
)
def test_the_most_specific_rule_wins(check: str, service: str, decision: Decision) -> None:
    assert _policy().decide(check, service) == decision


def test_within_one_place_an_exact_id_beats_a_longer_glob_and_a_longer_glob_a_shorter_one() -> None:
    rules = (Rule("security.*", "off", "defaults"), Rule("security.s*", "warn", "defaults"))
    policy = Policy(defaults=(*rules, Rule("security.secrets", "block", "defaults")))
    assert policy.decide("security.session_ids", "x").level == "warn"
    assert policy.decide("security.secrets", "x").level == "block"
    assert policy.decide("security.cors", "x").level == "off"


def test_equally_specific_globs_that_disagree_take_the_stricter_level() -> None:
    policy = Policy(defaults=(Rule("smoke.tool_*", "off", "defaults"), Rule("smoke.*_names", "warn", "defaults")))
    assert policy.decide("smoke.tool_names", "x").level == "warn"


def test_changes_lists_the_rules_that_change_a_level_and_not_a_block_that_repeats_the_default() -> None:
    policy = Policy(
        defaults=(Rule("regression.*", "block", "defaults"), Rule("security.*", "warn", "defaults")),
        services={"a": (Rule("security.cors", "block", "service a"),)},
    )
    changes = [(rule.pattern, service) for rule, service in policy.changes(shipped_check_ids())]
    assert changes == [("security.*", None), ("security.cors", "a")]


def test_off_reason_names_where_it_was_set() -> None:
    assert off_reason(_policy(), "security.auth_metadata", "notes-a") == (
        "off by policy (service notes-a: security.auth_metadata)"
    )
    assert off_reason(_policy(), "security.auth_metadata", "notes-b") is None


# --- waivers ------------------------------------------------------------------------------------


def _waiver(check: str = "security.shadowing", service: str = "notes-*", expires: date = DAY, n: int = 0) -> Waiver:
    return Waiver(check=check, service=service, reason=f"reason {n}", expires=expires, source=f"w.{n}")


@pytest.mark.parametrize(
    ("today", "state"),
    [
        (date(2026, 12, 1), "active"),
        (date(2027, 1, 18), "expiring"),  # 13 days left
        (date(2027, 1, 17), "active"),  # 14 days left
        (DAY, "expiring"),  # inclusive: the waiver still applies on the day it names
        (date(2027, 2, 1), "expired"),
    ],
)
def test_waiver_states_and_an_inclusive_expiry(today: date, state: str) -> None:
    assert _waiver().state(today) == state


def test_a_waiver_covers_its_check_and_services_only() -> None:
    waiver = _waiver()
    assert waiver.covers("security.shadowing", "notes-a")
    assert not waiver.covers("security.shadowing", "search")
    assert not waiver.covers("security.secrets", "notes-a")
    assert _waiver(service="*").covers("security.shadowing", "search")


def test_a_live_waiver_wins_over_an_expired_one_and_an_expired_one_is_reported() -> None:
    old, new = _waiver(expires=date(2026, 1, 1), n=1), _waiver(n=2)
    assert waiver_for([old, new], "security.shadowing", "notes-a", date(2026, 6, 1)) == (new, None)
    assert waiver_for([old], "security.shadowing", "notes-a", date(2026, 6, 1)) == (None, old)
    assert waiver_for([old], "security.secrets", "notes-a", date(2026, 6, 1)) == (None, None)


def _failure(check: str = "security.shadowing", service: str = "notes-a") -> CheckResult:
    return CheckResult(id=check, service=service, outcome="fail", message="shared tool read_note")


def test_with_policy_waives_a_failure_and_never_a_pass() -> None:
    policy, waivers = Policy(), [_waiver()]
    waived = with_policy(_failure(), policy, waivers, date(2026, 6, 1))
    assert waived.outcome == "waived"
    assert waived.waiver == {"reason": "reason 0", "expires": "2027-01-31", "source": "w.0", "state": "active"}
    passing = CheckResult(id="security.shadowing", service="notes-a", outcome="pass")
    assert with_policy(passing, policy, waivers, date(2026, 6, 1)).outcome == "pass"
    assert with_policy(passing, policy, waivers, date(2026, 6, 1)).waiver is None


def test_with_policy_keeps_a_failure_whose_waiver_expired_and_names_it() -> None:
    result = with_policy(_failure(), Policy(), [_waiver()], date(2027, 2, 1))
    assert result.outcome == "fail"
    assert result.message == (
        "shared tool read_note — waiver w.0 (security.shadowing on notes-*, expires 2027-01-31) has expired "
        "and no longer applies (reason was: reason 0)"
    )


def test_with_policy_turns_a_failure_under_warn_into_a_warning_and_records_the_level() -> None:
    policy = Policy(defaults=(Rule("security.*", "warn", "defaults"),))
    result = with_policy(_failure(), policy, [], DAY)
    assert (result.outcome, result.policy) == ("warn", {"level": "warn", "source": "defaults: security.*"})
    assert result.message == "shared tool read_note — reported as a warning by policy (defaults: security.*)"


def test_waiver_statuses_stale_only_in_a_full_run() -> None:
    used, unused, expired = _waiver(n=1), _waiver(check="smoke.call", n=2), _waiver(expires=date(2020, 1, 1), n=3)
    full = waiver_statuses([used, unused, expired], {"w.1": 2}, today=date(2026, 6, 1), full_run=True)
    assert [(s.source, s.matched, s.state) for s in full] == [
        ("w.1", 2, "active"),
        ("w.2", 0, "stale"),
        ("w.3", 0, "expired"),
    ]
    partial = waiver_statuses([unused], {}, today=date(2026, 6, 1), full_run=False)
    assert partial[0].state == "active"


def test_merged_shards_sum_matches_and_a_waiver_no_shard_matched_is_stale() -> None:
    def status(source: str, matched: int, state: str) -> WaiverStatus:
        return WaiverStatus("smoke.call", "*", "r", "2027-01-31", source, matched, state)  # type: ignore[arg-type]

    merged = merge_statuses(
        [
            [status("w.0", 1, "expiring"), status("w.1", 0, "active")],
            [status("w.0", 2, "expiring"), status("w.1", 0, "active")],
        ]
    )
    assert [(s.source, s.matched, s.state) for s in merged] == [("w.0", 3, "expiring"), ("w.1", 0, "stale")]


def _shard_document(index: int, service: str, failing: bool, at: datetime) -> dict[str, object]:
    """gate.json of shard `index`/3 of one run over `service`; its security check fails if `failing`."""
    waiver = _waiver(service="*")
    checks = [with_policy(_failure(service=service), Policy(), [waiver], at.date())] if failing else []
    checks.append(CheckResult(id="health.handshake", service=service, outcome="pass"))
    scope = Scope(("health", "security"), 1, 3, len(checks), None, (f"--basb-shard {index}/3",))
    report = build_gate(
        checks,
        environment="prod",
        services=[],
        started_at=at,
        finished_at=at,
        runbooks_dir=None,
        ci_ok=None,
        scope=scope,
        waivers=waiver_statuses([waiver], matched_waivers(checks), today=at.date(), full_run=scope.full),
        policy=[PolicyChange("smoke.unknown_tool", "warn", "defaults")],
    )
    document: dict[str, object] = json.loads(json.dumps(gate_dict(report)))
    document["shard"] = {"index": index, "total": 3}
    return document


def test_basb_report_merge_carries_waived_outcomes_waivers_and_policy_through(tmp_path: Path) -> None:
    at = datetime(2026, 6, 1, tzinfo=UTC)
    shards = [(tmp_path / f"s{n}.json", _shard_document(n, f"notes-{n}", n == 1, at)) for n in (1, 2, 3)]
    merged, _extra = merge_gates(shards)
    assert (merged.verdict, merged.full_scope.full) == ("pass", True)
    assert [(c.service, c.outcome) for c in merged.waived] == [("notes-1", "waived")]
    assert (merged.waived[0].waiver or {}).get("source") == "w.0"
    assert [(w.source, w.matched, w.state) for w in merged.waivers] == [("w.0", 1, "active")]
    assert merged.policy == (PolicyChange("smoke.unknown_tool", "warn", "defaults"),)


def test_a_merge_calls_a_waiver_stale_only_when_every_shard_is_there(tmp_path: Path) -> None:
    at = datetime(2026, 6, 1, tzinfo=UTC)
    shards = [(tmp_path / f"s{n}.json", _shard_document(n, f"notes-{n}", False, at)) for n in (1, 2, 3)]
    assert [w.state for w in merge_gates(shards)[0].waivers] == ["stale"]
    assert [w.state for w in merge_gates(shards[:2])[0].waivers] == ["active"]  # shard 3/3 missing


# --- the inventory ------------------------------------------------------------------------------

SERVICES = """
    services:
      notes-a: {transport: stdio, command: [python, a.py]}
      search: {transport: stdio, command: [python, s.py]}
"""


def _load(tmp_path: Path, environment: str) -> object:
    path = tmp_path / "inv.yaml"
    path.write_text("version: 1\nenvironments:\n  prod:\n" + environment + SERVICES)
    return load_environment(path, "prod", environ={})


def test_the_documented_example_loads_with_unquoted_off_and_date(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\n"
        "defaults:\n  policy:\n    checks: {smoke.unknown_tool: warn, 'regression.*': block}\n"
        "environments:\n  prod:\n    policy: {checks: {regression.latency: warn}}\n"
        "    waivers:\n      - check: security.shadowing\n        service: 'notes-*'\n"
        "        reason: two vault servers share read_note by design (OPS-142)\n        expires: 2027-01-31\n"
        "    services:\n      notes-a:\n        transport: stdio\n        command: [python, a.py]\n"
        "        policy: {checks: {security.auth_metadata: off}}\n"
    )
    environment = load_environment(path, "prod", environ={})
    assert environment.policy.decide("security.auth_metadata", "notes-a") == Decision(
        "off", "service notes-a: security.auth_metadata"
    )
    assert environment.policy.decide("regression.latency", "notes-a").level == "warn"
    assert environment.waivers == (
        Waiver(
            check="security.shadowing",
            service="notes-*",
            reason="two vault servers share read_note by design (OPS-142)",
            expires=DAY,
            source="environments.prod.waivers.0",
        ),
    )


def test_a_child_environment_inherits_waivers_and_overrides_a_parents_rule(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\nenvironments:\n  base:\n    policy: {checks: {'security.*': warn, smoke.call: warn}}\n"
        "    waivers: [{check: smoke.call, reason: r, expires: 2027-01-31}]\n"
        "    services:\n      a: {transport: stdio, command: [python, a.py]}\n"
        "  prod:\n    extends: base\n    policy: {checks: {smoke.call: block}}\n"
    )
    environment = load_environment(path, "prod", environ={})
    assert environment.policy.decide("smoke.call", "a") == Decision("block", "environment prod: smoke.call")
    assert environment.policy.decide("security.cors", "a") == Decision("warn", "environment base: security.*")
    assert [w.source for w in environment.waivers] == ["environments.base.waivers.0"]


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        (
            "    waivers: [{check: smoke.call, expires: 2027-01-31}]\n",
            "environments.prod.waivers.0: required key `reason` is missing: every waiver needs `check`, a `reason` "
            "and an `expires` date (YYYY-MM-DD).",
        ),
        (
            "    waivers: [{check: smoke.call, reason: known}]\n",
            "environments.prod.waivers.0: required key `expires` is missing",
        ),
        (
            "    waivers: [{check: smoke.call, reason: '  ', expires: 2027-01-31}]\n",
            "environments.prod.waivers.0.reason: must not be empty",
        ),
        (
            "    waivers: [{check: smoke.call, reason: r, expires: 31.01.2027}]\n",
            "environments.prod.waivers.0.expires: not a date; write it as YYYY-MM-DD",
        ),
        (
            "    waivers: [{check: smoke.call, reason: r, expires: '2027-02-30'}]\n",
            "environments.prod.waivers.0.expires: `2027-02-30` is not a date",
        ),
        (
            "    waivers: [{check: smoke.cal, reason: r, expires: 2027-01-31}]\n",
            "environments.prod.waivers.0.check: `smoke.cal` is not a known check id; did you mean `smoke.call`?",
        ),
        (
            "    waivers: [{check: smoke.call, service: serch, reason: r, expires: 2027-01-31}]\n",
            "environments.prod.waivers.0.service: `serch` matches no service of environment prod; did you mean "
            "`search`? Services: notes-a, search.",
        ),
        (
            "    policy: {checks: {'regresion.*': warn}}\n",
            "environments.prod.policy.checks.regresion.*: `regresion.*` matches no known check id; did you mean "
            "`regression.*`?",
        ),
        ("    policy: {checks: {smoke.call: ignore}}\n", "environments.prod.policy.checks.smoke.call: must be one of"),
    ],
)
def test_bad_policy_and_waivers_are_inventory_errors_naming_the_key_path(
    tmp_path: Path, environment: str, expected: str
) -> None:
    with pytest.raises(InventoryError) as error:
        _load(tmp_path, environment)
    assert str(error.value).startswith(str(tmp_path / "inv.yaml"))
    assert expected in str(error.value)


# --- masking secrets only -----------------------------------------------------------------------


def test_only_secret_values_are_secrets() -> None:
    key = "environments.t.services.s"
    resolved = {
        "url": "https://gate:pa55word@mcp.example.org:8443/mcp?api_key=q-value-1&mode=fast",
        "headers": {"Authorization": "Bearer tok-literal-1", "X-Tenant": "tenant-from-var", "Accept": "text/plain"},
        "env": {"PORT": "8931", "API_TOKEN": "tok-env-1", "MODE": "readonly", "SESSION_COOKIE": "c-1234"},
        "container": {"env": {"DB_PASSWORD": "pw-container"}},
        "command": ["server", "--key", "from-named-var"],
        "secrets": ["OPAQUE"],
    }
    uses = [
        (f"{key}.env.PORT", "PORT", "8931"),
        (f"{key}.env.MODE", "BASB_MODE", "readonly"),
        (f"{key}.headers.X-Tenant", "TENANT", "tenant-from-var"),
        (f"{key}.command.2", "SIGNING_KEY", "from-named-var"),
    ]
    found = service_secrets(key, resolved, uses, {"OPAQUE": "opaque-value", "UNLISTED": "unlisted-value"})
    assert found == {
        "gate",
        "pa55word",
        "q-value-1",
        "fast",
        "Bearer tok-literal-1",
        "tok-literal-1",
        "tenant-from-var",
        "tok-env-1",
        "c-1234",
        "pw-container",
        "from-named-var",
        "opaque-value",
    }


def test_a_url_without_credentials_has_no_secrets() -> None:
    assert url_secrets("http://127.0.0.1:8931/mcp") == set()
    assert url_secrets("http://[::1/mcp") == set()  # malformed: its own check reports it


def test_ports_and_modes_from_variables_stay_readable_in_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\nenvironments:\n  t:\n    services:\n      s:\n        transport: streamable-http\n"
        "        url: http://127.0.0.1:${PORT}/mcp\n        env: {MODE: '${MODE}', API_TOKEN: '${TOKEN_VALUE}'}\n"
        "        headers: {Authorization: 'Bearer ${TOKEN_VALUE}'}\n"
    )
    environment = load_environment(path, "t", environ={"PORT": "8931", "MODE": "readonly", "TOKEN_VALUE": "tok-1234"})
    assert environment.secrets == {"tok-1234", "Bearer tok-1234"}
