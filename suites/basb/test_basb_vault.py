"""BASB vault role: no-clobber writes, no escape from the vault, read_note round-trips write_note."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from pytest_basb import ServiceUnderTest, passed, violated

pytestmark = [pytest.mark.smoke]


def _unique(stem: str) -> str:
    return f"{stem} {uuid.uuid4().hex[:10]}"


@pytest.mark.basb_role("vault")
@pytest.mark.basb_check("basb.vault.no_clobber")
def test_write_note_refuses_to_overwrite(basb_service: ServiceUnderTest, basb_vault: Path) -> None:
    check, session = "basb.vault.no_clobber", basb_service.session
    rel = f"3 Resources/{_unique('Clobber')}.md"
    first = session.call_tool("write_note", {"path": rel, "content": "first\n"})
    if first.is_error:
        basb_service.judge(violated(check, basb_service.id, f"writing a new note failed: {first.text}", path=rel))
    again = session.call_tool("write_note", {"path": rel, "content": "second\n"})
    on_disk = (basb_vault / rel).read_text(encoding="utf-8")
    if not again.is_error or on_disk != "first\n":
        basb_service.judge(
            violated(
                check,
                basb_service.id,
                "write_note replaced an existing note without overwrite=true",
                path=rel,
                is_error=again.is_error,
                on_disk=on_disk,
            )
        )
    forced = session.call_tool("write_note", {"path": rel, "content": "third\n", "overwrite": True})
    on_disk = (basb_vault / rel).read_text(encoding="utf-8")
    if forced.is_error or on_disk != "third\n":
        basb_service.judge(
            violated(check, basb_service.id, "write_note with overwrite=true did not replace the note", on_disk=on_disk)
        )
    basb_service.judge(passed(check, basb_service.id, path=rel))


@pytest.mark.basb_role("vault")
@pytest.mark.basb_check("basb.vault.path_escape")
def test_path_outside_vault_refused(basb_service: ServiceUnderTest, basb_vault: Path) -> None:
    check = "basb.vault.path_escape"
    name = f"escape-{uuid.uuid4().hex[:10]}.md"
    outcome = basb_service.session.call_tool("write_note", {"path": f"../{name}", "content": "out\n"})
    escaped = (basb_vault.parent / name).exists()
    if not outcome.is_error or escaped:
        basb_service.judge(
            violated(
                check,
                basb_service.id,
                f"write_note accepted '../{name}'" + (" and wrote outside the vault" if escaped else ""),
                is_error=outcome.is_error,
                escaped=escaped,
            )
        )
    basb_service.judge(passed(check, basb_service.id, path=f"../{name}"))


@pytest.mark.basb_role("vault")
@pytest.mark.basb_check("basb.vault.round_trip")
def test_read_note_round_trips(basb_service: ServiceUnderTest, basb_vault: Path) -> None:
    check, session = "basb.vault.round_trip", basb_service.session
    title = _unique("Round trip")
    body = f"# {title}\n\nA line with [[Links]], #tag and ünïcödé.\n"
    content = f"---\ntitle: {title}\nstatus: inbox\n---\n{body}"
    rel = f"3 Resources/{title}.md"
    written = session.call_tool("write_note", {"path": rel, "content": content})
    read = session.call_tool("read_note", {"path": rel})
    note = read.structured_content if isinstance(read.structured_content, dict) else {}
    problems = []
    if written.is_error or read.is_error:
        problems.append(f"call failed: {written.text if written.is_error else read.text}")
    else:
        if (basb_vault / rel).read_bytes() != content.encode():
            problems.append("the file on disk differs from the content written")
        if note.get("body") != body:
            problems.append("read_note body differs from what was written")
        if (note.get("front_matter") or {}).get("title") != title:
            problems.append("read_note front_matter.title differs from what was written")
    if problems:
        basb_service.judge(violated(check, basb_service.id, "; ".join(problems), path=rel, read=note))
    basb_service.judge(passed(check, basb_service.id, path=rel))
