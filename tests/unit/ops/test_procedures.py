"""Every procedure runbook (docs/runbooks/procedures/) says, in exact commands, how to list the
staging stack's containers, read a service's logs and restart it; the commands name the stack's
compose file and project, and SERVICE is one of its services."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO

PROCEDURES = sorted((REPO / "docs" / "runbooks" / "procedures").glob("*.md"))
COMPOSE = "docker-compose -f deploy/compose.yaml -p basb-staging"
EXPECTED = (f"{COMPOSE} ps", f"{COMPOSE} logs --tail=100 SERVICE", f"{COMPOSE} restart SERVICE")


def bash_lines(doc: Path) -> list[str]:
    text = doc.read_text(encoding="utf-8")
    return [
        line.strip() for block in re.findall(r"^```bash\n(.*?)^```", text, re.M | re.S) for line in block.splitlines()
    ]


def test_there_are_procedures() -> None:
    assert {p.name for p in PROCEDURES} >= {"rollback.md", "restore.md"}


@pytest.mark.parametrize("doc", PROCEDURES, ids=lambda p: p.name)
def test_a_procedure_says_how_to_restart_a_service_and_read_its_logs(doc: Path) -> None:
    lines = bash_lines(doc)
    for command in EXPECTED:
        assert command in lines, f"{doc.name}: no `{command}` in a bash block"
    text = doc.read_text(encoding="utf-8")
    assert "## Restart a service and read its logs" in text
    services = set(yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text())["services"])
    named = re.search(r"SERVICE is one of ((?:`[a-z-]+`,?\s*(?:or\s*)?)+)", text)
    assert named, f"{doc.name}: does not say which names SERVICE takes"
    listed = set(re.findall(r"`([a-z-]+)`", named.group(1)))
    assert listed == {"vault", "capture", "organize", "distill", "express", "search"}
    assert listed <= services
