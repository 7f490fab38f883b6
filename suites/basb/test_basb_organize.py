"""BASB organize role: classification names a PARA bucket with a reason; a move leaves exactly one copy."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from pytest_basb import ServiceUnderTest, passed, violated

pytestmark = [pytest.mark.smoke]

BUCKETS = frozenset({"projects", "areas", "resources", "archives"})


def _inbox_note(vault: Path, stem: str, front_matter: str) -> str:
    rel = f"00 Inbox/{stem} {uuid.uuid4().hex[:10]}.md"
    (vault / rel).parent.mkdir(parents=True, exist_ok=True)
    (vault / rel).write_text(f"---\n{front_matter}\n---\nOrganize me.\n", encoding="utf-8")
    return rel


@pytest.mark.basb_role("organize")
@pytest.mark.basb_check("basb.organize.classify")
def test_classify_returns_para_bucket(basb_service: ServiceUnderTest, basb_vault: Path) -> None:
    check = "basb.organize.classify"
    rel = _inbox_note(basb_vault, "Classify", "project: Launch\ntags: [project]")
    outcome = basb_service.session.call_tool("classify_note", {"path": rel})
    result = outcome.structured_content if isinstance(outcome.structured_content, dict) else {}
    problems = []
    if outcome.is_error:
        problems.append(f"classify_note failed: {outcome.text}")
    else:
        if result.get("bucket") not in BUCKETS:
            problems.append(f"bucket {result.get('bucket')!r} is not one of {sorted(BUCKETS)}")
        if not str(result.get("reason") or "").strip():
            problems.append("no reason given")
    if problems:
        basb_service.judge(violated(check, basb_service.id, "; ".join(problems), path=rel, result=result))
    basb_service.judge(passed(check, basb_service.id, path=rel, bucket=result.get("bucket")))


@pytest.mark.basb_role("organize")
@pytest.mark.basb_check("basb.organize.move_single_copy")
def test_move_leaves_exactly_one_copy(basb_service: ServiceUnderTest, basb_vault: Path) -> None:
    check = "basb.organize.move_single_copy"
    rel = _inbox_note(basb_vault, "Move", "type: note")
    name = Path(rel).name
    outcome = basb_service.session.call_tool("move_note", {"path": rel, "bucket": "resources"})
    result = outcome.structured_content if isinstance(outcome.structured_content, dict) else {}
    if outcome.is_error:
        basb_service.judge(violated(check, basb_service.id, f"move_note failed: {outcome.text}", path=rel))
    new = str(result.get("to_path", ""))
    copies = sorted(str(p.relative_to(basb_vault)) for p in basb_vault.rglob(name))
    problems = []
    if (basb_vault / rel).exists():
        problems.append(f"the old path {rel!r} still exists")
    if not new or not (basb_vault / new).is_file():
        problems.append(f"the new path {new!r} does not exist")
    elif not new.startswith("3 Resources/"):
        problems.append(f"moved to {new!r}, not into '3 Resources/'")
    if len(copies) != 1:
        problems.append(f"{len(copies)} copies of {name!r} in the vault")
    if problems:
        basb_service.judge(violated(check, basb_service.id, "; ".join(problems), path=rel, copies=copies))
    basb_service.judge(passed(check, basb_service.id, from_path=rel, to_path=new))
