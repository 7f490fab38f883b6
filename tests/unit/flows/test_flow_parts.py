"""The pure parts of declared flows: templates, JSON pointers, expectations, definitions."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_basb.flows.definition import FlowDefinitionError, parse_flows
from pytest_basb.flows.expectations import problems, saved_values
from pytest_basb.flows.model import Equals, StepExpect
from pytest_basb.flows.pointer import PointerError, resolve
from pytest_basb.flows.templates import RenderProblem, TemplateProblem, references, render
from pytest_basb.model.mcp_data import ToolCallOutcome

CONTEXT: dict[str, Any] = {"uid": "u123", "run_id": "r9", "steps": {"write": {"path": "00 Inbox/a.md", "n": 3}}}


def test_render_fills_uid_run_id_and_saved_values_in_nested_arguments() -> None:
    arguments = {"title": "gate {{ uid }} of {{ run_id }}", "paths": ["{{ steps.write.path }}", "plain"], "k": 1}
    assert render(arguments, CONTEXT) == {"title": "gate u123 of r9", "paths": ["00 Inbox/a.md", "plain"], "k": 1}


def test_a_lone_expression_keeps_the_saved_value_type() -> None:
    assert render("{{ steps.write.n }}", CONTEXT) == 3
    assert render("n={{ steps.write.n }}", CONTEXT) == "n=3"
    assert render("{{ steps['write']['path'] }}", CONTEXT) == "00 Inbox/a.md"


@pytest.mark.parametrize("template", ["{{ steps.write.missing }}", "x {{ nothing }} y", "{{ steps.other.path }}"])
def test_undefined_names_are_errors_not_empty_text(template: str) -> None:
    with pytest.raises(RenderProblem, match="cannot render"):
        render(template, CONTEXT)


def test_the_sandbox_refuses_python_internals() -> None:
    with pytest.raises(RenderProblem):
        render("{{ uid.__class__.__mro__[1].__subclasses__() }}", CONTEXT)


def test_references_lists_saved_values_in_both_spellings() -> None:
    found = references("{{ steps.write.path }} and {{ steps['find']['hits'] | length }} {{ uid }}")
    assert [(r.step, r.saved) for r in found] == [("write", "path"), ("find", "hits")]
    assert references("no template here") == []


@pytest.mark.parametrize(
    ("template", "fragment"),
    [("{{ uid ", "template syntax error"), ("{{ user }}", "`user`, which is not defined"), ("{% if %}", "syntax")],
)
def test_bad_templates_are_reported(template: str, fragment: str) -> None:
    with pytest.raises(TemplateProblem, match=fragment):
        references(template)


def test_pointer_resolves_keys_indices_and_escapes() -> None:
    document = {"a/b": {"~k": [10, {"x": None}]}, "": 5}
    assert resolve(document, "/a~1b/~0k/1/x") is None
    assert resolve(document, "/a~1b/~0k/0") == 10
    assert resolve(document, "/") == 5
    assert resolve(document, "") is document


@pytest.mark.parametrize(
    ("pointer", "fragment"),
    [("/nope", "has no key 'nope'"), ("/a~1b/~0k/2", "no index '2'"), ("/a~1b/~0k/01", "no index"), ("x", "start")],
)
def test_pointer_names_where_it_stopped(pointer: str, fragment: str) -> None:
    with pytest.raises(PointerError, match=fragment):
        resolve({"a/b": {"~k": [1, 2]}}, pointer)


ANSWER = ToolCallOutcome(
    is_error=False, structured_content={"results": [{"path": "00 Inbox/a.md", "n": 2}]}, text='{"results": []}'
)


def test_expectations_that_hold_give_no_problems() -> None:
    expect = StepExpect(
        is_error=False,
        schema={"type": "object", "required": ["results"]},
        contains=("Inbox/a.md",),
        absent=("b.md",),
        equals=(Equals("/structuredContent/results/0/n", 2),),
    )
    assert problems(expect, ANSWER) == []


def test_each_broken_expectation_is_named() -> None:
    expect = StepExpect(
        schema={"type": "object", "required": ["count"]},
        contains=("zzz",),
        absent=("a.md",),
        equals=(Equals("/structuredContent/results/0/n", 3), Equals("/structuredContent/none", 1)),
    )
    found = problems(expect, ANSWER)
    assert len(found) == 5, found
    assert "structuredContent does not fit expect.schema: at (root): 'count' is a required property" in found[0]
    assert 'does not contain "zzz"' in found[1]
    assert 'contains "a.md", which must be absent' in found[2]
    assert "/structuredContent/results/0/n is 2, not 3" in found[3]
    assert "has no key 'none'" in found[4]


def test_a_failed_call_fails_unless_an_error_is_expected() -> None:
    failed = ToolCallOutcome(is_error=True, structured_content=None, text="boom")
    assert problems(StepExpect(), failed) == ["the call failed"]
    assert problems(StepExpect(is_error=True), failed) == []
    assert problems(StepExpect(is_error=True), ANSWER) == ["the call succeeded, but an error was expected"]


def test_saved_values_read_pointers_and_name_the_missing_ones() -> None:
    values, missing = saved_values({"path": "/structuredContent/results/0/path", "x": "/structuredContent/x"}, ANSWER)
    assert values == {"path": "00 Inbox/a.md"}
    assert missing == ["cannot save x from /structuredContent/x: /structuredContent has no key 'x'"]


def _flow(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"f": {"steps": list(steps)}}


WRITE = {"id": "write", "service": "notes", "tool": "w", "save": {"path": "/structuredContent/path"}}


def test_a_valid_flow_is_parsed_in_order() -> None:
    find = {"id": "find", "service": "search", "tool": "s", "arguments": {"q": "{{ steps.write.path }}"}}
    clean = {"id": "clean", "service": "notes", "tool": "d", "always": True, "retry": {"within_s": 2}}
    (flow,) = parse_flows(_flow(WRITE, find, clean), ["notes", "search"])
    assert flow.check_id == "flow.f"
    assert flow.services == ("notes", "search")
    assert flow.home == "notes"
    assert [s.id for s in flow.steps] == ["write", "find", "clean"]
    assert flow.steps[2].always
    assert flow.steps[2].retry is not None
    assert flow.steps[2].retry.every_s == 0.5


@pytest.mark.parametrize(
    ("steps", "fragments"),
    [
        (
            [{**WRITE, "service": "note"}],
            ["flows.f.steps.0 (step `write`).service", "no service `note`", "did you mean `notes`?"],
        ),
        (
            [WRITE, {"id": "find", "service": "notes", "tool": "s", "arguments": {"q": "{{ steps.wrte.path }}"}}],
            ["steps.1 (step `find`).arguments.q", "no step `wrte`", "did you mean `write`?"],
        ),
        (
            [WRITE, {"id": "find", "service": "notes", "tool": "s", "expect": {"contains": "{{ steps.write.pth }}"}}],
            ["expect.contains.0", "step `write` saves path", "add `pth: /json/pointer` to its `save`"],
        ),
        (
            [{**WRITE, "arguments": {"a": "{{ steps.later.x }}"}}, {"id": "later", "service": "notes", "tool": "s"}],
            ["steps.0 (step `write`).arguments.a", "runs at or after this step", "Move step `later` before it"],
        ),
        ([{**WRITE, "arguments": {"a": "{{ uid"}}], ["template syntax error", "Fix the template"]),
        ([WRITE, WRITE], ["flows.f.steps.1.id", "comes earlier"]),
        (
            [{**WRITE, "expect": {"schema": {"type": "nope"}}}],
            ["expect.schema: not a valid JSON Schema"],
        ),
    ],
)
def test_definition_errors_name_flow_step_and_fix(steps: list[dict[str, Any]], fragments: list[str]) -> None:
    with pytest.raises(FlowDefinitionError) as caught:
        parse_flows(_flow(*steps), ["notes", "search"])
    for fragment in fragments:
        assert fragment in str(caught.value), f"{fragment!r} not in {caught.value}"
