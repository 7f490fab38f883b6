"""The level a check runs at: `block` (the default), `warn` or `off`, and where that was set.

Rules come from three places; the most specific rule that matches a check wins: a service's rule
over its environment's, over the inventory's `defaults`; within one place an exact id over a glob,
and a longer glob over a shorter one. Two equally specific globs that disagree: the stricter level
wins (a gate errs on the side of blocking).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pytest_basb.policy.catalogue import is_glob, matches

Level = Literal["block", "warn", "off"]
LEVELS: tuple[Level, ...] = ("block", "warn", "off")
DEFAULT_LEVEL: Level = "block"
DEFAULT_SOURCE = "default"
_STRICTNESS = {"off": 0, "warn": 1, "block": 2}
_PLACE_RANK = {"defaults": 0, "environment": 1, "service": 2}


@dataclass(frozen=True)
class Rule:
    """One `policy.checks` entry: `pattern: level`, written in `place` (`defaults`, `environment
    prod`, `service notes-a`)."""

    pattern: str
    level: Level
    place: str

    @property
    def source(self) -> str:
        """Where it was set, for people: `service notes-a: security.auth_metadata`."""
        return f"{self.place}: {self.pattern}"

    def specificity(self) -> tuple[int, int, int, int]:
        rank = _PLACE_RANK[self.place.split(" ", 1)[0]]
        return (rank, 0 if is_glob(self.pattern) else 1, len(self.pattern), _STRICTNESS[self.level])


@dataclass(frozen=True)
class Decision:
    """The level in force for one check of one service, and its source (`default` without a rule)."""

    level: Level = DEFAULT_LEVEL
    source: str = DEFAULT_SOURCE

    def to_dict(self) -> dict[str, str]:
        return {"level": self.level, "source": self.source}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Decision:
        if not data:
            return cls()
        level = str(data.get("level", DEFAULT_LEVEL))
        return cls(level=level if level in LEVELS else DEFAULT_LEVEL, source=str(data.get("source", DEFAULT_SOURCE)))


@dataclass(frozen=True)
class Policy:
    """Every rule of one environment: the defaults', the environment's, and each service's own."""

    defaults: tuple[Rule, ...] = ()
    environment: tuple[Rule, ...] = ()
    services: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.defaults or self.environment or any(self.services.values()))

    def rules_for(self, service: str) -> tuple[Rule, ...]:
        return (*self.defaults, *self.environment, *self.services.get(service, ()))

    def decide(self, check_id: str, service: str) -> Decision:
        return _decide(self.rules_for(service), check_id)

    def changes(self, known_checks: Iterable[str]) -> list[tuple[Rule, str | None]]:
        """The rules that change some check's level from what it would be without them, with the
        service they apply to (None: every service). A `block` that only repeats the default is left
        out; a `block` that overrides a broader `warn` or `off` is kept."""
        known = sorted(known_checks)
        shared = (*self.defaults, *self.environment)
        scoped: list[tuple[tuple[Rule, ...], tuple[Rule, ...], str | None]] = [(shared, shared, None)]
        scoped += [(rules, self.rules_for(service), service) for service, rules in sorted(self.services.items())]
        changed: list[tuple[Rule, str | None]] = []
        for own, everything, service in scoped:
            for rule in own:
                without = tuple(r for r in everything if r is not rule)
                if any(
                    _decide(everything, c).level != _decide(without, c).level for c in known if matches(rule.pattern, c)
                ):
                    changed.append((rule, service))
        return changed


def _decide(rules: Iterable[Rule], check_id: str) -> Decision:
    matching = [rule for rule in rules if matches(rule.pattern, check_id)]
    if not matching:
        return Decision()
    best = max(matching, key=Rule.specificity)
    return Decision(best.level, best.source)


def change_line(rule: Rule, service: str | None) -> str:
    """`policy: smoke.unknown_tool → warn (defaults)`, one line per rule in the terminal summary."""
    on = f" on {service}" if service is not None else ""
    return f"policy: {rule.pattern} → {rule.level}{on} ({rule.place})"
