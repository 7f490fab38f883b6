"""Reading the `flows:` of an environment into `Flow` records, with the checks a schema cannot make:
templates that parse, services that exist, and `steps.<id>.<saved>` that an earlier step saves.

A problem is a `FlowDefinitionError` naming the key path below the environment (the inventory loader
adds the file and the environment) and the fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from typing import Any

from pytest_basb.flows.model import Equals, Flow, FlowStep, Retry, StepExpect
from pytest_basb.flows.templates import TemplateProblem, references, strings_in
from pytest_basb.model.json_schema import schema_problem


class FlowDefinitionError(ValueError):
    """A flow the gate cannot run as written; the message starts with the key path."""


def parse_flows(raw: Mapping[str, Any] | None, services: Collection[str]) -> tuple[Flow, ...]:
    """The environment's flows, sorted by name; `name: null` (an inherited flow removed) is left out."""
    return tuple(
        _flow(name, definition, services) for name, definition in sorted((raw or {}).items()) if definition is not None
    )


def _flow(name: str, raw: Mapping[str, Any], services: Collection[str]) -> Flow:
    steps: list[FlowStep] = []
    saved: dict[str, tuple[str, ...]] = {}  # step id -> names it saves, of the steps before this one
    for index, entry in enumerate(raw.get("steps") or ()):
        where = f"flows.{name}.steps.{index}"
        step_id = str(entry.get("id", ""))
        if step_id in saved:
            raise FlowDefinitionError(
                f"{where}.id: a step `{step_id}` comes earlier in this flow; give each step its own id."
            )
        where = f"{where} (step `{step_id}`)"
        step = _step(where, entry, services)
        _check_references(where, name, step, saved, later=_later_ids(raw, index))
        saved[step_id] = tuple(step.save)
        steps.append(step)
    if not steps:
        raise FlowDefinitionError(f"flows.{name}.steps: a flow needs at least one step.")
    return Flow(
        name=name, steps=tuple(steps), smoke=bool(raw.get("smoke", False)), description=raw.get("description", "")
    )


def _step(where: str, raw: Mapping[str, Any], services: Collection[str]) -> FlowStep:
    service = str(raw.get("service", ""))
    if service not in services:
        raise FlowDefinitionError(
            f"{where}.service: no service `{service}` in this environment{_did_you_mean(service, services)}; "
            f"services: {', '.join(sorted(services))}."
        )
    expect = raw.get("expect") or {}
    if expect.get("schema") is not None and (why := schema_problem(expect["schema"])) is not None:
        raise FlowDefinitionError(f"{where}.expect.schema: not a valid JSON Schema: {why}. Fix the schema there.")
    retry = raw.get("retry")
    equals = expect.get("equals")
    equals_list = equals if isinstance(equals, list) else [equals] if equals is not None else []
    return FlowStep(
        id=str(raw["id"]),
        service=service,
        tool=str(raw["tool"]),
        arguments=dict(raw.get("arguments") or {}),
        expect=StepExpect(
            is_error=expect.get("is_error"),
            schema=expect.get("schema"),
            contains=_texts(expect.get("contains")),
            equals=tuple(Equals(pointer=e["pointer"], value=e.get("value")) for e in equals_list),
            absent=_texts(expect.get("absent")),
        ),
        save=dict(raw.get("save") or {}),
        retry=Retry(within_s=float(retry["within_s"]), every_s=float(retry.get("every_s", 0.5))) if retry else None,
        always=bool(raw.get("always", False)),
    )


def _texts(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)


def _later_ids(raw: Mapping[str, Any], index: int) -> set[str]:
    return {str(entry.get("id")) for entry in list(raw.get("steps") or ())[index:]}


def _check_references(
    where: str, flow: str, step: FlowStep, saved: Mapping[str, tuple[str, ...]], later: set[str]
) -> None:
    """Every template of the step parses and uses only values earlier steps save."""
    templated = {
        "arguments": step.arguments,
        "expect.contains": list(step.expect.contains),
        "expect.absent": list(step.expect.absent),
        "expect.equals": [e.value for e in step.expect.equals],
    }
    for part, value in templated.items():
        for key, text in strings_in(value, part):
            try:
                found = references(text)
            except TemplateProblem as exc:
                raise FlowDefinitionError(f"{where}.{key}: {exc}. Fix the template.") from None
            for ref in found:
                _check_reference(f"{where}.{key}", flow, ref.step, ref.saved, saved, later)


def _check_reference(
    where: str, flow: str, step: str, name: str | None, saved: Mapping[str, tuple[str, ...]], later: set[str]
) -> None:
    if step in later:
        raise FlowDefinitionError(
            f"{where}: uses steps.{step}, which runs at or after this step; "
            f"a step can use only what earlier steps of flow `{flow}` saved. Move step `{step}` before it."
        )
    if step not in saved:
        raise FlowDefinitionError(
            f"{where}: uses steps.{step}, but flow `{flow}` has no step `{step}`{_did_you_mean(step, saved)}."
        )
    if name is not None and name not in saved[step]:
        names = ", ".join(saved[step]) or "nothing"
        raise FlowDefinitionError(
            f"{where}: uses steps.{step}.{name}, but step `{step}` saves {names}{_did_you_mean(name, saved[step])}; "
            f"add `{name}: /json/pointer` to its `save`."
        )


def _did_you_mean(word: str, choices: Collection[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""
