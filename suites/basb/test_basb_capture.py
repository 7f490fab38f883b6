"""BASB capture role: notes land in the inbox with capture front matter, and never clobber each other."""

from __future__ import annotations

import datetime
import uuid
from pathlib import Path
from typing import Any

import pytest

from pytest_basb import ServiceUnderTest, passed, violated
from pytest_basb.checks.notes import split_note

pytestmark = [pytest.mark.smoke]

INBOX = "00 Inbox/"


def _iso_date(value: object) -> bool:
    if isinstance(value, datetime.date):
        return True
    try:
        datetime.date.fromisoformat(str(value))
    except ValueError:
        return False
    return True


def _capture(service: ServiceUnderTest, check: str, args: dict[str, Any]) -> str:
    outcome = service.session.call_tool("capture_note", args)
    content = outcome.structured_content if isinstance(outcome.structured_content, dict) else {}
    if outcome.is_error or not isinstance(content.get("path"), str):
        service.judge(violated(check, service.id, f"capture_note failed: {outcome.text}", arguments=args))
    return str(content["path"])


@pytest.mark.basb_role("capture")
@pytest.mark.basb_check("basb.capture.front_matter")
def test_capture_front_matter(basb_service: ServiceUnderTest, basb_vault: Path) -> None:
    check = "basb.capture.front_matter"
    title = f"Capture check {uuid.uuid4().hex[:10]}"
    rel = _capture(
        basb_service, check, {"title": title, "body": "Something worth keeping.", "tags": ["#idea", "reading"]}
    )
    file = basb_vault / rel
    problems = []
    if not rel.startswith(INBOX):
        problems.append(f"note is at {rel!r}, not in {INBOX!r}")
    if not file.is_file():
        basb_service.judge(violated(check, basb_service.id, f"no file at {rel!r} in the vault", path=rel))
    meta, _ = split_note(file.read_text(encoding="utf-8"))
    if meta.get("type") != "capture":
        problems.append(f"type is {meta.get('type')!r}, not 'capture'")
    if meta.get("status") != "inbox":
        problems.append(f"status is {meta.get('status')!r}, not 'inbox'")
    if not _iso_date(meta.get("created")):
        problems.append(f"created is {meta.get('created')!r}, not an ISO date")
    tags = meta.get("tags")
    if not isinstance(tags, list) or any(str(t).startswith("#") for t in tags) or not tags:
        problems.append(f"tags are {tags!r}: expected a list without '#'")
    if problems:
        basb_service.judge(
            violated(check, basb_service.id, "; ".join(problems), path=rel, front_matter=_jsonable(meta))
        )
    basb_service.judge(passed(check, basb_service.id, path=rel))


@pytest.mark.basb_role("capture")
@pytest.mark.basb_check("basb.capture.no_clobber")
def test_same_title_twice_gives_two_notes(basb_service: ServiceUnderTest, basb_vault: Path) -> None:
    check = "basb.capture.no_clobber"
    title = f"Twice {uuid.uuid4().hex[:10]}"
    first = _capture(basb_service, check, {"title": title, "body": "first"})
    second = _capture(basb_service, check, {"title": title, "body": "second"})
    problems = []
    if first == second:
        problems.append(f"both captures returned {first!r}")
    for rel, body in ((first, "first"), (second, "second")):
        file = basb_vault / rel
        if not file.is_file() or body not in file.read_text(encoding="utf-8"):
            problems.append(f"{rel!r} does not hold the {body} capture")
    if problems:
        basb_service.judge(violated(check, basb_service.id, "; ".join(problems), paths=[first, second]))
    basb_service.judge(passed(check, basb_service.id, paths=[first, second]))


def _jsonable(meta: dict[str, Any]) -> dict[str, Any]:
    return {str(k): v if isinstance(v, (str, int, float, bool, list, type(None))) else str(v) for k, v in meta.items()}
