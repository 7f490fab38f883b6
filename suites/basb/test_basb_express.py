"""BASB express role: a draft links every source, both in its body and its `sources`; sources stay as they were."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from pytest_basb import ServiceUnderTest, passed, violated
from pytest_basb.checks.notes import split_note

pytestmark = [pytest.mark.smoke]


def _sources(vault: Path) -> list[str]:
    tag = uuid.uuid4().hex[:10]
    rels = []
    for i, text in enumerate(("---\ntitle: Source one\n---\nFirst idea.\n", "Second idea, no front matter.\r\n")):
        rel = f"3 Resources/Express source {i} {tag}.md"
        (vault / rel).write_bytes(text.encode())
        rels.append(rel)
    return rels


def _compose(service: ServiceUnderTest, check: str, sources: list[str]) -> dict[str, Any]:
    args = {"title": f"Draft {uuid.uuid4().hex[:10]}", "sources": sources, "project": f"P {uuid.uuid4().hex[:6]}"}
    outcome = service.session.call_tool("compose", args)
    result = outcome.structured_content if isinstance(outcome.structured_content, dict) else {}
    if outcome.is_error or not isinstance(result.get("path"), str):
        service.judge(violated(check, service.id, f"compose failed: {outcome.text}", arguments=args))
    return result


@pytest.mark.basb_role("express")
@pytest.mark.basb_check("basb.express.links_sources")
def test_compose_links_every_source(basb_service: ServiceUnderTest, basb_vault: Path) -> None:
    check = "basb.express.links_sources"
    sources = _sources(basb_vault)
    draft = str(_compose(basb_service, check, sources)["path"])
    text = (basb_vault / draft).read_text(encoding="utf-8")
    meta, body = split_note(text)
    listed = meta.get("sources")
    problems = []
    for rel in sources:
        link = f"[[{Path(rel).stem}]]"
        if link not in body:
            problems.append(f"{link} missing from the body")
        if not isinstance(listed, list) or link not in listed:
            problems.append(f"{link} missing from the `sources` front matter")
    if problems:
        basb_service.judge(violated(check, basb_service.id, "; ".join(problems), draft=draft, sources=listed))
    basb_service.judge(passed(check, basb_service.id, draft=draft))


@pytest.mark.basb_role("express")
@pytest.mark.basb_check("basb.express.sources_unchanged")
def test_compose_leaves_sources_unchanged(basb_service: ServiceUnderTest, basb_vault: Path) -> None:
    check = "basb.express.sources_unchanged"
    sources = _sources(basb_vault)
    before = {rel: (basb_vault / rel).read_bytes() for rel in sources}
    _compose(basb_service, check, sources)
    changed = [rel for rel in sources if (basb_vault / rel).read_bytes() != before[rel]]
    if changed:
        basb_service.judge(violated(check, basb_service.id, "compose changed its sources", changed=changed))
    basb_service.judge(passed(check, basb_service.id, sources=sources))


@pytest.mark.basb_role("express")
@pytest.mark.basb_check("basb.express.empty_sources")
def test_compose_without_sources_is_an_error(basb_service: ServiceUnderTest, basb_vault: Path) -> None:
    check = "basb.express.empty_sources"
    title = f"Empty {uuid.uuid4().hex[:10]}"
    outcome = basb_service.session.call_tool("compose", {"title": title, "sources": [], "project": "Nothing"})
    leftovers = [str(p.relative_to(basb_vault)) for p in basb_vault.rglob(f"{title}*.md")]
    if not outcome.is_error or leftovers:
        basb_service.judge(
            violated(
                check,
                basb_service.id,
                "compose with no sources was not a tool error" if not outcome.is_error else "it still wrote a draft",
                is_error=outcome.is_error,
                written=leftovers,
            )
        )
    basb_service.judge(passed(check, basb_service.id))
