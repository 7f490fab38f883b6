"""Every check id the suites use has an incident-response runbook, and the runbook index is complete.

The gate's "Incident response protocols are in place and tested" item looks for
`docs/runbooks/<check-id>.md` for each failing check id; these tests make sure none is missing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import REPO, SUITES

RUNBOOKS = REPO / "docs" / "runbooks"
INDEX = RUNBOOKS / "README.md"
SECTIONS = ("## What failed", "## Impact", "## Diagnose", "## Fix", "## Roll back / escalate")

_MARKER = re.compile(r"""basb_check\(\s*["']([^"']+)["']\s*\)""")
_CONSTANT = re.compile(r"""^CHECK\s*=\s*["']([^"']+)["']""", re.MULTILINE)
_INDEX_LINK = re.compile(r"^\|\s*\[([^\]]+)\]\(([^)]+)\)\s*\|", re.MULTILINE)


def suite_check_ids() -> list[str]:
    """The check ids of `basb_check("...")` markers and `CHECK = "..."` constants in suites/."""
    ids: set[str] = set()
    for module in sorted(SUITES.rglob("*.py")):
        text = module.read_text(encoding="utf-8")
        ids.update(_MARKER.findall(text))
        ids.update(_CONSTANT.findall(text))
    return sorted(ids)


def runbook_files() -> set[str]:
    return {p.name for p in RUNBOOKS.glob("*.md") if p.name != INDEX.name}


# Declared flows (flow.<name>, named by each inventory) share the runbook of their suite, `flow`.
CHECK_IDS = sorted([*suite_check_ids(), "flow"])


def test_suites_use_check_ids() -> None:
    # The regexes still see the suites: an empty or tiny list would make the tests below vacuous.
    assert len(CHECK_IDS) >= 30, CHECK_IDS
    assert {"health.handshake", "smoke.call", "basb.code.flow", "basb.contract"} <= set(CHECK_IDS)


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_runbook_exists_with_sections(check_id: str) -> None:
    path = RUNBOOKS / f"{check_id}.md"
    assert path.is_file(), f"missing runbook {path.relative_to(REPO)} for check {check_id}"
    text = path.read_text(encoding="utf-8")
    first = text.splitlines()[0] if text else ""
    assert first.startswith(f"# {check_id} — "), f"{path.name}: first line must be '# {check_id} — <title>'"
    headings = [line.rstrip() for line in text.splitlines() if line.startswith("## ")]
    missing = [s for s in SECTIONS if s not in headings]
    assert not missing, f"{path.name} lacks sections: {missing}"
    order = [headings.index(s) for s in SECTIONS]
    assert order == sorted(order), f"{path.name}: sections out of order, expected {SECTIONS}"


def test_no_runbook_without_a_check() -> None:
    stale = sorted(runbook_files() - {f"{cid}.md" for cid in CHECK_IDS})
    assert not stale, f"runbooks for check ids no suite uses: {stale}"


def test_index_lists_exactly_the_runbooks() -> None:
    assert INDEX.is_file(), f"missing {INDEX.relative_to(REPO)}"
    rows = _INDEX_LINK.findall(INDEX.read_text(encoding="utf-8"))
    linked = [target for _, target in rows]
    assert len(linked) == len(set(linked)), f"runbooks listed twice in the index: {linked}"
    for label, target in rows:
        assert target == f"{label}.md", f"index row {label!r} links to {target!r}"
    not_listed = sorted(runbook_files() - set(linked))
    dangling = sorted(t for t in linked if not (RUNBOOKS / Path(t).name).is_file() or "/" in t)
    assert not not_listed, f"runbooks missing from the index: {not_listed}"
    assert not dangling, f"index rows without a runbook file: {dangling}"
