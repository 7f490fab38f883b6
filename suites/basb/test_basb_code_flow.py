"""BASB end to end: Capture → Organize → Distill → Express, then search finds the draft and its backlinks.

The flow needs one service per role; it runs once per search service and reaches the others through
the plugin's sessions, picked by role from the environment.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_basb import ServiceUnderTest, passed, violated

pytestmark = [pytest.mark.smoke]

CHECK = "basb.code.flow"
ROLES = ("capture", "organize", "distill", "express")


@pytest.mark.basb_role("search")
@pytest.mark.basb_uses_roles(*ROLES)
@pytest.mark.basb_check(CHECK)
def test_code_flow(
    basb_service: ServiceUnderTest,
    basb_service_for_role: Callable[[str], ServiceUnderTest | None],
    basb_vault: Path,
) -> None:
    by_role = {role: basb_service_for_role(role) for role in ROLES}
    missing = [role for role, service in by_role.items() if service is None]
    if missing:
        pytest.skip(f"the CODE flow needs a service for each role; missing: {', '.join(missing)}")
    steps: list[dict[str, Any]] = []

    def call(role: str, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        service = basb_service if role == "search" else by_role[role]
        assert service is not None
        service_id = service.id
        outcome = service.session.call_tool(tool, args)
        result = outcome.structured_content if isinstance(outcome.structured_content, dict) else {}
        steps.append({"service": service_id, "tool": tool, "is_error": outcome.is_error})
        if outcome.is_error:
            basb_service.judge(
                violated(CHECK, basb_service.id, f"{tool} on {service_id} failed: {outcome.text}", steps=steps)
            )
        return result

    token = f"zq{uuid.uuid4().hex[:12]}"
    passage = "the flow keeps every step reversible"
    captured = call(
        "capture",
        "capture_note",
        {"title": f"Flow idea {token}", "body": f"An idea about {token}: {passage}.", "tags": ["idea"]},
    )
    bucket = call("organize", "classify_note", {"path": captured["path"]})["bucket"]
    moved = call("organize", "move_note", {"path": captured["path"], "bucket": bucket})["to_path"]
    call("distill", "highlight", {"path": moved, "passage": passage, "layer": 2})
    draft = call(
        "express", "compose", {"title": f"Flow draft {token}", "sources": [moved], "project": f"Flow {token}"}
    )["path"]

    problems = []
    if (basb_vault / captured["path"]).exists() or not (basb_vault / moved).is_file():
        problems.append(f"the note was not moved from {captured['path']!r} to {moved!r}")
    if f"**{passage}**" not in (basb_vault / moved).read_text(encoding="utf-8"):
        problems.append("the passage is not bold in the moved note")
    hits = [h.get("path") for h in call("search", "search", {"query": f"Flow draft {token}"}).get("results", [])]
    if draft not in hits:
        problems.append(f"search does not find the draft {draft!r}")
    linkers = [b.get("path") for b in call("search", "backlinks", {"path": moved}).get("backlinks", [])]
    if draft not in linkers:
        problems.append(f"backlinks({moved!r}) does not list the draft {draft!r}")
    if problems:
        basb_service.judge(
            violated(CHECK, basb_service.id, "; ".join(problems), steps=steps, hits=hits, backlinks=linkers)
        )
    basb_service.judge(passed(CHECK, basb_service.id, draft=draft, source=moved, bucket=bucket))
