"""One rule for relative paths: command-line values from the current folder, ini values from the rootdir."""

from __future__ import annotations

import textwrap

import pytest

from tests.helpers import GOOD_SERVER, SUITES

INVENTORY = f"""\
version: 1
environments:
  t:
    services:
      kit: {{transport: stdio, command: ["python", "{GOOD_SERVER}"]}}
"""


def test_command_line_paths_are_relative_to_the_current_folder(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = pytester.path
    (root / "pytest.ini").write_text("[pytest]\n")
    work = root / "work"
    work.mkdir()
    (work / "inv.yaml").write_text(INVENTORY)
    monkeypatch.chdir(work)
    result = pytester.runpytest(
        str(SUITES), "-m", "health", f"--rootdir={root}", "-c", str(root / "pytest.ini"), "-p", "no:randomly",
        "--basb-env=t", "--basb-inventory=inv.yaml", "--basb-report-dir=out", "--basb-vault=vault",
    )  # fmt: skip
    assert result.ret == 0, result.stdout.str()
    assert (work / "out" / "gate.json").is_file()
    assert list((work / "vault").rglob("* dev-ops-log.md"))
    assert not (root / "out").exists()
    assert not (root / "vault").exists()


def test_ini_paths_are_relative_to_the_rootdir(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    root = pytester.path
    (root / "pytest.ini").write_text(
        textwrap.dedent("""\
        [pytest]
        basb_inventory = config/inv.yaml
        basb_report_dir = reports
        basb_vault = notes
        """)
    )
    (root / "config").mkdir()
    (root / "config" / "inv.yaml").write_text(INVENTORY)
    work = root / "deep" / "down"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    result = pytester.runpytest(
        str(SUITES), "-m", "health", f"--rootdir={root}", "-c", str(root / "pytest.ini"), "-p", "no:randomly",
        "--basb-env=t",
    )  # fmt: skip
    assert result.ret == 0, result.stdout.str()
    assert (root / "reports" / "gate.json").is_file()
    assert list((root / "notes").rglob("* dev-ops-log.md"))
    assert not (work / "reports").exists()
