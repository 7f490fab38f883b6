"""The report package stays pure: importing it loads neither pytest nor mcp (checked in a fresh
interpreter, where nothing else has loaded them)."""

from __future__ import annotations

import subprocess
import sys


def test_report_package_imports_neither_pytest_nor_mcp() -> None:
    code = (
        "import sys\n"
        "import pytest_basb.report.gate, pytest_basb.report.gate_files, pytest_basb.obsidian.daily\n"
        "import pytest_basb.obsidian.weekly, pytest_basb.cli.log, pytest_basb.report.allure_files\n"
        "bad = [m for m in ('pytest', '_pytest', 'mcp', 'allure') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
