"""BASB search role: the index follows the vault, and agent workspaces are never returned."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from pytest_basb import ServiceUnderTest, passed, violated

pytestmark = [pytest.mark.smoke]

WORKSPACES = "agent-workspaces/"


def _hits(service: ServiceUnderTest, check: str, query: str) -> list[str]:
    outcome = service.session.call_tool("search", {"query": query, "limit": 100})
    result: Any = outcome.structured_content
    if outcome.is_error or not isinstance(result, dict) or not isinstance(result.get("results"), list):
        service.judge(violated(check, service.id, f"search {query!r} failed: {outcome.text}"))
    return [str(hit.get("path")) for hit in result["results"] if isinstance(hit, dict)]


@pytest.mark.basb_role("search")
@pytest.mark.basb_check("basb.search.current")
def test_new_note_is_found(basb_service: ServiceUnderTest, basb_vault: Path) -> None:
    check = "basb.search.current"
    _hits(basb_service, check, "project")  # the index exists before the note does
    token = f"zq{uuid.uuid4().hex[:12]}"
    rel = f"3 Resources/Fresh {token}.md"
    (basb_vault / rel).write_text(f"---\ntitle: Fresh {token}\n---\nJust written: {token}.\n", encoding="utf-8")
    found = _hits(basb_service, check, token)
    if rel not in found:
        basb_service.judge(
            violated(check, basb_service.id, f"a note just written to the vault is not found: {rel!r}", hits=found)
        )
    basb_service.judge(passed(check, basb_service.id, path=rel))


@pytest.mark.basb_role("search")
@pytest.mark.basb_check("basb.search.agent_workspaces")
def test_agent_workspaces_never_returned(basb_service: ServiceUnderTest, basb_vault: Path) -> None:
    check = "basb.search.agent_workspaces"
    token = f"zq{uuid.uuid4().hex[:12]}"
    hidden = basb_vault / WORKSPACES / f"agent-{token}" / f"Scratch {token}.md"
    hidden.parent.mkdir(parents=True, exist_ok=True)
    hidden.write_text(f"---\ntitle: Scratch {token}\ntags: [project]\n---\nAgent notes {token} project.\n")
    leaked = sorted({p for q in (token, "project", "agent notes") for p in _hits(basb_service, check, q)})
    leaked = [p for p in leaked if p.startswith(WORKSPACES) or f"/{WORKSPACES}" in p]
    if leaked:
        basb_service.judge(violated(check, basb_service.id, f"search returned {WORKSPACES} notes", leaked=leaked))
    basb_service.judge(passed(check, basb_service.id))
