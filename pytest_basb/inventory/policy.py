"""Reading `policy:` and `waivers:` from the inventory into `pytest_basb.policy` records.

The JSON Schema has checked their shape; this module checks what it cannot: that every check id or
glob names a known check, that a waiver's service names a service of the environment, and that
`expires` is a real date. Each problem names the file, the key path and a did-you-mean.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from pytest_basb.policy.catalogue import matches, shipped_check_ids, unknown_pattern_message
from pytest_basb.policy.levels import Policy, Rule
from pytest_basb.policy.waivers import EVERY_SERVICE, Waiver


def _error(message: str) -> Exception:
    from pytest_basb.inventory.load import InventoryError

    return InventoryError(message)


def policy_of(
    path: Path, data: Mapping[str, Any], chain: Sequence[str], services: Sequence[str], known: Collection[str] | None
) -> Policy:
    """The rules of the defaults, of the environment (through its `extends` chain, the child's rule
    for a pattern winning) and of each service."""
    environments: Mapping[str, Any] = data["environments"]
    defaults = _rules(path, "defaults.policy", (data.get("defaults") or {}).get("policy"), "defaults", known)
    environment: dict[str, Rule] = {}
    per_service: dict[str, dict[str, Rule]] = {}
    for env_name in chain:  # the root first: a child environment's rule replaces its parent's
        raw = environments[env_name] or {}
        key = f"environments.{env_name}.policy"
        for rule in _rules(path, key, raw.get("policy"), f"environment {env_name}", known):
            environment[rule.pattern] = rule
        for service_id, service in (raw.get("services") or {}).items():
            key = f"environments.{env_name}.services.{service_id}.policy"
            for rule in _rules(path, key, (service or {}).get("policy"), f"service {service_id}", known):
                per_service.setdefault(service_id, {})[rule.pattern] = rule
    return Policy(
        defaults=tuple(defaults),
        environment=tuple(environment.values()),
        services={sid: tuple(rules.values()) for sid, rules in sorted(per_service.items()) if sid in services},
    )


def _rules(
    path: Path, key: str, raw: Mapping[str, Any] | None, place: str, known: Collection[str] | None
) -> list[Rule]:
    checks: Mapping[str, str] = (raw or {}).get("checks") or {}
    rules = []
    for pattern, level in checks.items():
        problem = unknown_pattern_message(pattern, _known(known))
        if problem is not None:
            raise _error(f"{path}: {key}.checks.{pattern}: {problem}. {_known_hint(_known(known))}")
        rules.append(Rule(pattern=pattern, level=level, place=place))  # type: ignore[arg-type]  # schema: an enum
    return rules


def waivers_of(
    path: Path,
    environments: Mapping[str, Any],
    chain: Sequence[str],
    services: Sequence[str],
    known: Collection[str] | None,
) -> tuple[Waiver, ...]:
    """The environment's `waivers:` (a child's list replaces its parent's, as every list does)."""
    owner = next((name for name in reversed(chain) if "waivers" in (environments[name] or {})), None)
    if owner is None:
        return ()
    waivers = []
    for index, raw in enumerate(environments[owner]["waivers"] or ()):
        key = f"environments.{owner}.waivers.{index}"
        problem = unknown_pattern_message(raw["check"], _known(known))
        if problem is not None:
            raise _error(f"{path}: {key}.check: {problem}. {_known_hint(_known(known))}")
        service = raw.get("service", EVERY_SERVICE)
        if not any(matches(service, sid) for sid in services):
            close = difflib.get_close_matches(service, list(services), n=1, cutoff=0.6)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            raise _error(
                f"{path}: {key}.service: `{service}` matches no service of environment {chain[-1]}{hint or '.'} "
                f"Services: {', '.join(services)}."
            )
        waivers.append(
            Waiver(
                check=raw["check"],
                service=service,
                reason=raw["reason"].strip(),
                expires=_date(path, f"{key}.expires", raw["expires"]),
                source=key,
            )
        )
    return tuple(waivers)


def _known(known: Collection[str] | None) -> Collection[str]:
    """The caller's check ids, else the shipped suites' (read only when a rule or waiver needs them)."""
    return shipped_check_ids() if known is None else known


def _date(path: Path, key: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _error(f"{path}: {key}: `{text}` is not a date; write it as YYYY-MM-DD, e.g. 2027-01-31.") from None


def _known_hint(known: Collection[str]) -> str:
    suites = sorted({check_id.split(".", 1)[0] for check_id in known})
    return f"Check ids look like health.handshake or smoke.call (suites: {', '.join(suites)}); globs like security.*."
