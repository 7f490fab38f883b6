"""The regression suite's side of a run: the live surface, repeated calls, the baseline to compare or record.

Judging stays in `checks/drift.py` (pure); this module gathers what it judges from a service's
session and reads or writes `<baseline dir>/<env>/<service>.json`. Repeated calls are made once
per (service, call) per process and shared by `regression.golden`, `.latency` and `.flaky`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_basb.checks import drift, golden, latency, smoke, volatile
from pytest_basb.model.results import CheckResult, passed, skipped, violated
from pytest_basb.regression.baseline import (
    DEFAULT_DIR,
    BaselineError,
    baseline_path,
    read_baseline,
    record_command,
    update_baseline,
)
from pytest_basb.run.state import STATE_KEY

if TYPE_CHECKING:
    from pytest_basb.model.mcp_data import ToolCallOutcome
    from pytest_basb.run.harness import DeclaredCall, ServiceUnderTest


@dataclass
class CallRuns:
    """One declared call made 1 + N times: the first (untimed) gives the golden result."""

    first: ToolCallOutcome
    batches_ms: list[list[float]] = field(default_factory=list)
    outcomes: list[tuple[bool, str | None]] = field(default_factory=list)


_RUNS = pytest.StashKey[dict[tuple[str, int], CallRuns]]()
NO_BASELINE = "no usable baseline for this service (see regression.baseline)"


class Regression:
    """The regression view of one service in one test: its baseline file and the mode of the run."""

    def __init__(self, config: pytest.Config, service: ServiceUnderTest) -> None:
        state = config.stash[STATE_KEY]
        assert state.environment is not None
        self.config = config
        self.service = service
        self.options = state.options
        self.environment = state.environment.name
        self.root = config.rootpath
        directory = self.options.baseline_dir or state.environment.base_dir / DEFAULT_DIR
        self.path = baseline_path(directory, self.environment, service.id)

    @property
    def record(self) -> bool:
        return self.options.record_baseline

    def display_path(self) -> str:
        return _relative(self.path)

    def command(self) -> str:
        """The command that records this environment's baselines, to type in the current folder."""
        inventory = self.options.inventory
        default_inventory = inventory == self.root / "basb-inventory.yaml" and Path.cwd() == self.root
        return record_command(
            self.environment,
            inventory=None if default_inventory else _relative(inventory),
            baseline_dir=_relative(self.options.baseline_dir) if self.options.baseline_dir else None,
        )

    def baseline(self) -> dict[str, Any] | None:
        """The recorded baseline; None when missing or unusable (regression.baseline says why)."""
        try:
            return read_baseline(self.path)
        except BaselineError:
            return None

    def write(self, change: Callable[[dict[str, Any]], None]) -> None:
        """Change this service's baseline file under its lock (each check records its own part)."""
        update_baseline(self.path, change, environment=self.environment, service=self.service.id)

    # -- service-level checks -------------------------------------------------------------------

    def check_baseline(self) -> CheckResult:
        check = "regression.baseline"
        evidence = {"path": self.display_path()}
        if self.record:
            self.record_surface()
            return passed(check, self.service.id, recorded=True, **evidence)
        try:
            data = read_baseline(self.path)
        except BaselineError as exc:
            return violated(check, self.service.id, f"{exc}: {self.command()}", evidence=evidence)
        if data is None:
            return violated(
                check,
                self.service.id,
                f"no baseline at {self.display_path()}; record one with: {self.command()}",
                evidence={**evidence, "command": self.command()},
            )
        server = data.get("server") or {}
        return passed(check, self.service.id, server_version=server.get("version"), **evidence)

    def surface_drift(self, check: str) -> drift.Drift | CheckResult:
        """The drift from the baseline to the live surface, or the result that replaces `check`."""
        if self.record:
            self.record_surface()
            return passed(check, self.service.id, recorded=True, path=self.display_path())
        data = self.baseline()
        if data is None or "surface" not in data:
            return skipped(check, self.service.id, NO_BASELINE)
        server, live = self.live_surface()
        return drift.compare_surfaces(data["surface"], live, old_server=data.get("server"), new_server=server)

    def live_surface(self) -> tuple[dict[str, Any], dict[str, Any]]:
        session = self.service.session
        hs = session.handshake()
        listed = {
            kind: (getattr(session, kind)() if kind in hs.capabilities else [])
            for kind in ("tools", "resources", "prompts")
        }
        server = {
            "name": hs.server_name,
            "version": hs.server_version,
            "protocol_version": hs.protocol_version,
            "instructions": hs.instructions,
            "transport": self.service.config.transport,
        }
        return server, drift.surface(**listed)

    def record_surface(self) -> None:
        server, live = self.live_surface()
        tool_calls = [c for c in self.service.config.smoke if c.tool is not None]
        keep_latency = {c.key for c in tool_calls}
        keep_golden = {c.key for c in tool_calls if c.golden}

        def change(data: dict[str, Any]) -> None:
            data["server"] = server
            data["surface"] = live
            data["golden"] = {k: v for k, v in (data.get("golden") or {}).items() if k in keep_golden}
            data["latency"] = {k: v for k, v in (data.get("latency") or {}).items() if k in keep_latency}

        self.write(change)

    # -- per-call checks ------------------------------------------------------------------------

    def runs(self, declared: DeclaredCall) -> CallRuns:
        """The call made once (golden) and then N timed times, shared by the per-call checks."""
        cache = self.config.stash.setdefault(_RUNS, {})
        key = (self.service.id, declared.index)
        if key not in cache:
            assert declared.call.tool is not None
            first = self.service.session.call_tool(declared.call.tool, dict(declared.call.arguments))
            cache[key] = CallRuns(first=first)
            self.more(declared, cache[key])
        return cache[key]

    def more(self, declared: DeclaredCall, runs: CallRuns, *, calls: int | None = None) -> None:
        """One more batch of N (or `calls`) timed calls, judged as smoke.call judges one."""
        call = declared.call
        assert call.tool is not None
        session = self.service.session
        output_schema = next((t.get("outputSchema") for t in session.tools() if t.get("name") == call.tool), None)
        batch: list[float] = []
        for _ in range(calls or self.options.repeat):
            started = time.perf_counter()
            outcome = session.call_tool(call.tool, dict(call.arguments))
            elapsed = time.perf_counter() - started
            batch.append(elapsed * 1000)
            judged = smoke.smoke_call(self.service.id, call, outcome, output_schema=output_schema, latency_s=elapsed)
            runs.outcomes.append((judged.outcome == "pass", judged.message))
        runs.batches_ms.append(batch)

    def check_golden(self, declared: DeclaredCall) -> CheckResult:
        check, call = "regression.golden", declared.call
        if not call.golden:
            return skipped(check, self.service.id, f"{call.label}: not marked `golden: true` in the inventory")
        first = self.runs(declared).first
        actual = golden.golden_record(
            is_error=first.is_error or first.error_code is not None,
            structured_content=first.structured_content,
            text=first.text or (first.error_message or ""),
        )
        if self.record and "golden" in self.options.record_skip:
            return skipped(check, self.service.id, f"{call.key}: not recorded (--basb-record-skip=golden)")
        if self.record:
            return self.record_golden(declared, actual)
        data = self.baseline()
        if data is None:
            return skipped(check, self.service.id, NO_BASELINE)
        recorded = (data.get("golden") or {}).get(call.key)
        ignore = list(dict.fromkeys([*call.ignore, *((recorded or {}).get("ignore") or [])]))
        result = golden.golden_result(self.service.id, call.key, recorded, actual, ignore=ignore)
        if recorded is None:
            return violated(check, self.service.id, f"{result.message}: {self.command()}", evidence=result.evidence)
        return result

    def record_golden(self, declared: DeclaredCall, actual: dict[str, Any]) -> CheckResult:
        """Record the result with the inventory's `ignore:` and the volatile parts a second call shows."""
        call = declared.call
        assert call.tool is not None
        kept = dict(actual)
        found: dict[str, str] = {}
        # The data to look into: structuredContent, or a text result that is JSON (older servers).
        data = kept["structured_content"] if "structured_content" in kept else volatile.json_text(kept.get("text"))
        if data is not None:
            again = self.service.session.call_tool(call.tool, dict(call.arguments))
            second = again.structured_content if "structured_content" in kept else volatile.json_text(again.text)
            pointers = volatile.volatile_pointers(data, second)
            found = {p: why for p, why in pointers.items() if p not in call.ignore}
        ignore = [*call.ignore, *sorted(found)]
        if "structured_content" in kept:
            kept["structured_content"] = golden.drop_pointers(kept["structured_content"], ignore)
        kept.update({"arguments": dict(call.arguments), "ignore": ignore})
        if found:
            kept["volatile"] = found  # why each pointer was added, for the reviewer of the baseline

        def change(data: dict[str, Any]) -> None:
            data.setdefault("golden", {})[call.key] = kept

        self.write(change)
        return passed(
            "regression.golden", self.service.id, recorded=True, call=call.key, ignored=found, path=self.display_path()
        )

    def check_latency(self, declared: DeclaredCall) -> CheckResult:
        check, call = "regression.latency", declared.call
        runs = self.runs(declared)
        if self.record and "latency" in self.options.record_skip:
            return skipped(check, self.service.id, f"{call.key}: not recorded (--basb-record-skip=latency)")
        if self.record:
            figures = {
                **latency.figures(runs.batches_ms[0]),
                "transport": self.service.config.transport,
                "protocol_version": self.service.session.handshake().protocol_version,
            }

            def change(data: dict[str, Any]) -> None:
                data.setdefault("latency", {})[call.key] = figures

            self.write(change)
            return passed(check, self.service.id, recorded=True, call=call.key, path=self.display_path(), **figures)
        data = self.baseline()
        if data is None:
            return skipped(check, self.service.id, NO_BASELINE)
        config, recorded = self.service.config, (data.get("latency") or {}).get(call.key)

        def judged() -> CheckResult:
            budget, tolerance = config.latency_budget_ms(call), config.latency_tolerance(call)
            return latency.judge(
                self.service.id, call.key, runs.batches_ms, budget_ms=budget, tolerance=tolerance, baseline=recorded
            )

        result = judged()
        if result.outcome == "fail" and len(runs.batches_ms) == 1:
            # Re-measure before failing the gate, with enough calls for a p95.
            self.more(declared, runs, calls=max(self.options.repeat, latency.MIN_P95_SAMPLES))
            result = judged()
        return result

    def check_flaky(self, declared: DeclaredCall) -> CheckResult:
        call = declared.call
        result = drift.flaky_result(self.service.id, call.key, self.runs(declared).outcomes)
        if self.record and result.outcome == "fail":  # recording is not blocked, but nobody should miss it
            return violated(result.id, result.service, result.message or "", severity="warn", evidence=result.evidence)
        return result


def _relative(path: Path) -> str:
    """`path` as typed from the current folder: relative inside it, absolute elsewhere."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
