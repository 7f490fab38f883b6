"""Requests the collected checks will make, sent ahead during the prefetch (no `mcp` import).

pytest runs checks one after another, so a request a check makes waits its round trip while every
other service sits idle. The prefetch, which runs all services concurrently, therefore also sends
the requests the collected health and smoke checks of a service are known to make (liveness, the
declared calls, the unknown tool, every resource read and prompt get). Each answer is tagged with the
check that asked for it and is handed to that check only, once; anything else (a role suite's call,
a repeated call) goes to the server as before. A speculative request that breaks the session stops
the speculation: the rest is asked by the checks themselves, so a failure is reported by its own check.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_basb.checks.smoke import UNKNOWN_TOOL
from pytest_basb.inventory.load import ServiceConfig


@dataclass(frozen=True)
class Speculation:
    """One request to send ahead: the operation (a function of requests.py), its arguments, its check."""

    check: str
    operation: str  # "liveness" | "call_tool" | "read_resource" | "get_prompt"
    args: tuple[Any, ...]

    @property
    def key(self) -> tuple[str, str, str]:
        return speculation_key(self.check, self.operation, self.args)


def speculation_key(check: str | None, operation: str, args: Sequence[Any]) -> tuple[str, str, str]:
    return (check or "", operation, json.dumps(list(args), sort_keys=True, default=str))


@dataclass(frozen=True)
class ServicePlan:
    """What the collected checks of one service will ask, beyond the listings."""

    checks: frozenset[str]
    declared_calls: tuple[int, ...]  # indexes into the service's `smoke:` entries

    def speculations(
        self, service: ServiceConfig, *, era: str, listings: Mapping[str, list[dict[str, Any]]]
    ) -> list[Speculation]:
        """In the order the suites ask (health, then smoke), given the listings just fetched."""
        ops: list[Speculation] = []
        if "health.liveness" in self.checks:
            ops.append(Speculation("health.liveness", "liveness", (era,)))
        if "health.stdio_hygiene" in self.checks and service.transport == "stdio":
            ops.append(Speculation("health.stdio_hygiene", "liveness", (era,)))
        for index in self.declared_calls:
            call = service.smoke[index]
            if call.tool is not None:
                ops.append(Speculation("smoke.call", "call_tool", (call.tool, dict(call.arguments))))
        if "smoke.unknown_tool" in self.checks and "tools/list" in listings:
            ops.append(Speculation("smoke.unknown_tool", "call_tool", (UNKNOWN_TOOL, {})))
            ops.append(Speculation("smoke.unknown_tool", "liveness", (era,)))
        if "smoke.resources_read" in self.checks:
            for resource in listings.get("resources/list", []):
                ops.append(Speculation("smoke.resources_read", "read_resource", (str(resource.get("uri")),)))
        if "smoke.prompts_get" in self.checks:
            declared = {c.prompt: c.arguments for c in service.smoke if c.prompt is not None}
            for prompt in listings.get("prompts/list", []):
                name = str(prompt.get("name"))
                required = [a["name"] for a in prompt.get("arguments", []) if a.get("required")]
                if required and name not in declared:
                    continue
                arguments = {k: str(v) for k, v in declared.get(name, {}).items()}
                ops.append(Speculation("smoke.prompts_get", "get_prompt", (name, arguments)))
        return ops


def plans_from(items: Iterable[tuple[str, str, int | None]]) -> dict[str, ServicePlan]:
    """(service id, check id, declared call index or None) per collected check -> plan per service."""
    checks: dict[str, set[str]] = {}
    calls: dict[str, list[int]] = {}
    for service, check, call_index in items:
        checks.setdefault(service, set()).add(check)
        if call_index is not None:
            calls.setdefault(service, []).append(call_index)
    return {s: ServicePlan(frozenset(c), tuple(sorted(set(calls.get(s, []))))) for s, c in checks.items()}
