"""BASB distill role: highlighting is idempotent and reversible; a summary is a `> [!summary]` callout."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from pytest_basb import ServiceUnderTest, passed, violated
from pytest_basb.checks.notes import split_note

pytestmark = [pytest.mark.smoke]

HEAD = "---\ntitle: Distill check\ntype: note\n---\n"
BODY = (
    "# Distill check\n\n"
    "Progressive summarization keeps the best parts of a note visible.\n"
    "The second layer bolds a passage and the third one highlights it.\n"
)


def _note(vault: Path) -> str:
    rel = f"3 Resources/Distill {uuid.uuid4().hex[:10]}.md"
    (vault / rel).write_text(HEAD + BODY, encoding="utf-8")
    return rel


def _body(vault: Path, rel: str) -> str:
    return split_note((vault / rel).read_text(encoding="utf-8"))[1]


def _highlight(service: ServiceUnderTest, check: str, rel: str, passage: str, layer: int) -> None:
    outcome = service.session.call_tool("highlight", {"path": rel, "passage": passage, "layer": layer})
    if outcome.is_error:
        service.judge(
            violated(check, service.id, f"highlight layer {layer} failed: {outcome.text}", path=rel, passage=passage)
        )


@pytest.mark.basb_role("distill")
@pytest.mark.basb_check("basb.distill.idempotent")
def test_highlight_twice_is_idempotent(basb_service: ServiceUnderTest, basb_vault: Path) -> None:
    check = "basb.distill.idempotent"
    rel, passage = _note(basb_vault), "keeps the best parts"
    _highlight(basb_service, check, rel, passage, 2)
    once = (basb_vault / rel).read_text(encoding="utf-8")
    _highlight(basb_service, check, rel, passage, 2)
    twice = (basb_vault / rel).read_text(encoding="utf-8")
    problems = []
    if f"**{passage}**" not in once:
        problems.append("layer 2 did not bold the passage")
    if twice != once:
        problems.append("the second layer-2 highlight changed the note again")
    if "****" in twice:
        problems.append("the note contains '****'")
    if problems:
        basb_service.judge(violated(check, basb_service.id, "; ".join(problems), path=rel, text=twice))
    basb_service.judge(passed(check, basb_service.id, path=rel))


@pytest.mark.basb_role("distill")
@pytest.mark.basb_check("basb.distill.reversible")
def test_stripping_markers_gives_original_body(basb_service: ServiceUnderTest, basb_vault: Path) -> None:
    check = "basb.distill.reversible"
    rel = _note(basb_vault)
    _highlight(basb_service, check, rel, "best parts of a note", 2)
    _highlight(basb_service, check, rel, "best parts of a note", 3)
    _highlight(basb_service, check, rel, "third one highlights it", 3)
    body = _body(basb_vault, rel)
    stripped = body.replace("**", "").replace("==", "")
    problems = []
    if body == BODY:
        problems.append("no marker was added")
    if stripped != BODY:
        problems.append("removing ** and == does not give back the original body")
    if problems:
        basb_service.judge(violated(check, basb_service.id, "; ".join(problems), path=rel, body=body))
    basb_service.judge(passed(check, basb_service.id, path=rel))


@pytest.mark.basb_role("distill")
@pytest.mark.basb_check("basb.distill.summary_callout")
def test_summarize_writes_callout(basb_service: ServiceUnderTest, basb_vault: Path) -> None:
    check = "basb.distill.summary_callout"
    rel = _note(basb_vault)
    summary = f"Layers make notes skimmable {uuid.uuid4().hex[:6]}."
    outcome = basb_service.session.call_tool("summarize", {"path": rel, "summary": summary})
    if outcome.is_error:
        basb_service.judge(violated(check, basb_service.id, f"summarize failed: {outcome.text}", path=rel))
    body = _body(basb_vault, rel)
    problems = []
    if not body.startswith("> [!summary]"):
        problems.append("the body does not start with a '> [!summary]' callout")
    if f"> {summary}" not in body:
        problems.append("the callout does not hold the summary")
    if BODY not in body:
        problems.append("the original body was changed")
    if problems:
        basb_service.judge(violated(check, basb_service.id, "; ".join(problems), path=rel, body=body))
    basb_service.judge(passed(check, basb_service.id, path=rel))
