"""Running one declared flow against the run's sessions: the `basb_flow` fixture's object.

Steps run in order; after a failure only `always` (clean-up) steps still run. A step with `retry`
is called again every `every_s` until its expectations hold or `within_s` has passed. A service of
the flow that cannot be reached blocks the flow: the cause is that service's `health.handshake`,
which reports it once; the flow says "blocked by health.handshake: ...".
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from pytest_basb.flows.expectations import answer_document, problems, saved_values
from pytest_basb.flows.model import Flow, FlowStep
from pytest_basb.flows.templates import RenderProblem, render
from pytest_basb.model.mcp_data import ServiceError, ToolCallOutcome
from pytest_basb.model.results import CheckResult, passed, violated
from pytest_basb.model.text import shorten
from pytest_basb.report.gate import BLOCKED_PREFIX
from pytest_basb.run.harness import ServiceUnderTest
from pytest_basb.run.state import BasbState

if TYPE_CHECKING:
    from pytest_basb.inventory.load import Environment

HANDSHAKE_CHECK = "health.handshake"  # the root cause a flow cites for a service it cannot reach
REQUEST_LIMIT = 300  # characters of a request quoted in a failure message
ANSWER_LIMIT = 400  # ... and of an answer


@dataclasses.dataclass
class StepRecord:
    """What happened to one step: pass, fail, skip (clean-up with nothing to clean) or not run."""

    step: FlowStep
    outcome: str = "not run"
    message: str | None = None
    attempts: int = 0
    duration_s: float = 0.0
    writes: bool = False  # the tool is not annotated read-only, and it was called

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.step.id,
            "service": self.step.service,
            "tool": self.step.tool,
            "outcome": self.outcome,
            "attempts": self.attempts,
            "duration_s": round(self.duration_s, 4),
        }
        if self.step.always:
            data["always"] = True
        if self.message:
            data["message"] = self.message
        return data


class FlowUnderTest:
    """A declared flow for one test: `run()` calls its steps, `judge(result)` records the verdict."""

    def __init__(self, state: BasbState, flow: Flow, node: pytest.Item) -> None:
        self._state = state
        self._node = node
        self.flow = flow

    @property
    def name(self) -> str:
        return self.flow.name

    @property
    def check_id(self) -> str:
        return self.flow.check_id

    @property
    def environment(self) -> Environment:
        environment = self._state.environment
        assert environment is not None
        return environment

    def service(self, service_id: str) -> ServiceUnderTest:
        return ServiceUnderTest(self._state, self.environment.service(service_id), self._node)

    def judge(self, result: CheckResult) -> CheckResult:
        """Record `result` under the flow's check id (see `ServiceUnderTest.judge`)."""
        return self.service(self.flow.home).judge(result)

    def run(self) -> CheckResult:
        """Call every step; the result passes when every step (clean-up included) did."""
        blocked = self._blocked()
        if blocked is not None:
            return blocked
        context: dict[str, Any] = {"uid": f"u{uuid.uuid4().hex[:12]}", "run_id": self._run_id(), "steps": {}}
        records: list[StepRecord] = []
        failed = False
        for step in self.flow.steps:
            record = StepRecord(step)
            records.append(record)
            if failed and not step.always:
                continue
            self._run_step(record, context, after_failure=failed)
            failed = failed or record.outcome == "fail"
        return self._result(records, context["uid"])

    def _blocked(self) -> CheckResult | None:
        """The first service of the flow that cannot be reached, as a blocked result."""
        for service_id in self.flow.services:
            try:
                session = self._state.session(service_id)
                # Blame the service's own handshake check, never the flow: that check reports the cause.
                session.current_check = HANDSHAKE_CHECK
                session.handshake()
            except ServiceError as exc:
                cause = str(exc).splitlines()[0]
                message = cause if cause.startswith(BLOCKED_PREFIX) else f"{BLOCKED_PREFIX}{HANDSHAKE_CHECK}: {cause}"
                return violated(self.check_id, service_id, message, evidence={"services": list(self.flow.services)})
        return None

    def _run_id(self) -> str:
        run_dir = self._state.run_dir
        if run_dir is not None:
            return run_dir.name.removeprefix("basb-run-")
        started = self._state.started_at
        return started.strftime("%Y%m%dT%H%M%S") if started else "run"

    def _run_step(self, record: StepRecord, context: dict[str, Any], *, after_failure: bool) -> None:
        step = record.step
        try:
            arguments = render(step.arguments, context)
            expect = dataclasses.replace(
                step.expect,
                contains=tuple(str(render(t, context)) for t in step.expect.contains),
                absent=tuple(str(render(t, context)) for t in step.expect.absent),
                equals=tuple(dataclasses.replace(e, value=render(e.value, context)) for e in step.expect.equals),
            )
        except RenderProblem as exc:
            # A clean-up step whose input was never saved has nothing to clean up.
            record.outcome = "skip" if after_failure else "fail"
            record.message = f"step {step.id}: {exc}"
            return
        service = self.service(step.service)
        session = service.session  # requests now count against the flow's check
        started, wall_start = time.monotonic(), time.time()
        deadline = started + step.retry.within_s if step.retry else started
        answer: ToolCallOutcome | None = None
        found: list[str] = []
        try:
            record.writes = not _read_only(service, step.tool)
            while True:
                record.attempts += 1
                answer = session.call_tool(step.tool, arguments)
                found = problems(expect, answer)
                if not found:
                    values, found = saved_values(step.save, answer)
                    if not found:
                        context["steps"][step.id] = values
                        break
                pause = step.retry.every_s if step.retry else 0.0
                if time.monotonic() + pause > deadline:
                    break
                time.sleep(pause)
        except ServiceError as exc:
            found = [str(exc).splitlines()[0]]
        record.duration_s = time.monotonic() - started
        record.outcome = "fail" if found else "pass"
        if found:
            record.message = self._step_failure(record, found, arguments, answer)
        self._report_step(record, session.transcript.messages, wall_start, arguments, answer)

    def _step_failure(
        self, record: StepRecord, found: list[str], arguments: Any, answer: ToolCallOutcome | None
    ) -> str:
        step = record.step
        tries = f" after {record.attempts} attempts in {record.duration_s:.1f} s" if record.attempts > 1 else ""
        request = shorten(json.dumps(arguments, ensure_ascii=False, default=str), REQUEST_LIMIT)
        answered = (
            shorten(json.dumps(answer_document(answer), ensure_ascii=False, default=str), ANSWER_LIMIT, squash=True)
            if answer is not None
            else "none"
        )
        return (
            f"step {step.id} ({step.service} {step.tool}){tries}: {'; '.join(found)}; "
            f"request: {step.tool} {request}; answer: {answered}"
        )

    def _report_step(
        self,
        record: StepRecord,
        transcript: list[dict[str, Any]],
        since: float,
        arguments: Any,
        answer: ToolCallOutcome | None,
    ) -> None:
        from pytest_basb.run.allure_labels import allure_enabled, record_step

        if not allure_enabled(self._node.config):
            return
        redact = self._state.redactor.text
        step = record.step
        exchange = [m for m in transcript if m.get("t", 0) >= round(since, 3) - 0.001]
        attachments = {
            "request": redact(json.dumps({"tool": step.tool, "arguments": arguments}, indent=1, default=str)),
            "answer": redact(json.dumps(answer_document(answer) if answer else None, indent=1, default=str)),
            "MCP exchange": json.dumps({"messages": exchange}, indent=1),
        }
        title = f"{step.id}: {step.tool} on {step.service} ({record.outcome}"
        title += f", {record.attempts} attempts)" if record.attempts > 1 else ")"
        record_step(title, attachments, failed=record.outcome == "fail")

    def _result(self, records: list[StepRecord], uid: str) -> CheckResult:
        cleanup = [r for r in records if r.step.always and r.outcome != "skip"]
        evidence: dict[str, Any] = {
            "services": list(self.flow.services),
            "uid": uid,
            "steps": [r.to_json() for r in records],
            "wrote_data": any(r.writes and not r.step.always for r in records),
            "cleanup_passed": all(r.outcome == "pass" for r in cleanup) if cleanup else None,
        }
        failures = [r for r in records if r.outcome == "fail"]
        if not failures:
            return passed(self.check_id, self.flow.home, **evidence)
        message = failures[0].message or f"step {failures[0].step.id} failed"
        if len(failures) > 1:
            message += "; also failed: " + ", ".join(
                f"{r.step.id}{' (clean-up)' if r.step.always else ''}" for r in failures[1:]
            )
        return violated(self.check_id, self.flow.home, message, evidence=evidence)


def _read_only(service: ServiceUnderTest, tool: str) -> bool:
    """Whether the service's listing marks `tool` read-only (MCP's default is: it may write)."""
    try:
        return any(entry.name == tool and entry.read_only for entry in service.tools())
    except ServiceError:
        return False
