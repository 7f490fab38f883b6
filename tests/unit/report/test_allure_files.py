"""Allure side files: environment.properties, categories.json and (under CI) executor.json."""

from __future__ import annotations

import json
import platform
import re
from pathlib import Path
from typing import Any

import pytest

from pytest_basb.inventory.redaction import Redactor
from pytest_basb.model.version import __version__
from pytest_basb.report.allure_files import write_allure_environment
from pytest_basb.report.gate import ServiceSummary

SERVICES = [
    ServiceSummary("search", "search", "streamable-http", "basb-search", "2.0.1", "2026-07-28"),
    ServiceSummary("capture", "capture", "stdio", "basb-capture", "1.0.0", "2025-11-25"),
]
SECRET = "s3cr3t-token-value"
GITHUB = {
    "CI": "true",
    "GITHUB_ACTIONS": "true",
    "GITHUB_WORKFLOW": "gate",
    "GITHUB_RUN_NUMBER": "42",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "basb/ops",
    "GITHUB_RUN_ID": "9001",
    "BASB_TOKEN": SECRET,
}


def properties(path: Path) -> dict[str, str]:
    """A small java.util.Properties reader (enough for what the writer emits)."""
    pairs = {}
    for line in path.read_text(encoding="ascii").splitlines():
        key, value = re.split(r"(?<!\\)=", line, maxsplit=1)
        pairs[unescape(key)] = unescape(value)
    return pairs


def unescape(text: str) -> str:
    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    text = text.encode("utf-16", "surrogatepass").decode("utf-16")
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r", "f": "\f"}.get(m.group(1), m.group(1)), text)


def categories(alluredir: Path) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in json.loads((alluredir / "categories.json").read_text())}


def matches(category: dict[str, Any], message: str) -> bool:
    # Allure uses Java's Pattern.matches (the whole message); Python's fullmatch is the same test.
    return re.fullmatch(str(category["messageRegex"]), message) is not None


def test_environment_properties(tmp_path: Path) -> None:
    paths = write_allure_environment(tmp_path, environment="prød=eu", services=SERVICES, env={})
    assert [p.name for p in paths] == ["environment.properties", "categories.json"]
    props = properties(tmp_path / "environment.properties")
    assert props == {
        "basb.environment": "prød=eu",
        "basb.plugin.version": __version__,
        "python.version": platform.python_version(),
        "service.capture": "basb-capture@1.0.0",
        "service.search": "basb-search@2.0.1",
    }
    raw = (tmp_path / "environment.properties").read_text(encoding="ascii")
    assert "basb.environment=pr\\u00f8d\\=eu" in raw
    assert raw.index("service.capture") < raw.index("service.search")


def test_no_secret_reaches_any_file(tmp_path: Path) -> None:
    leaky = [ServiceSummary("search", server_name=f"basb-{SECRET}", server_version="1")]
    write_allure_environment(tmp_path, environment="prod", services=leaky, env=GITHUB, redact=Redactor([SECRET]).text)
    written = sorted(tmp_path.iterdir())
    assert [p.name for p in written] == ["categories.json", "environment.properties", "executor.json"]
    for path in written:
        assert SECRET not in path.read_text(), path.name
    assert properties(tmp_path / "environment.properties")["service.search"] == "basb-***@1"


@pytest.mark.parametrize(
    ("name", "hit", "miss"),
    [
        ("Protocol error", "mcp.shared.exceptions.McpError: MCPError -32601\nMethod not found", "connection refused"),
        ("Protocol error", "JSON-RPC error -32602: invalid params", "assert 1 == 2"),
        ("Timeout", "handshake timed out after 10s", "handshake took 0.2s"),
        (
            "Blocked by an earlier failure",
            "pytest_basb.model.mcp_data.ServiceError: blocked by health.handshake: kit: handshake timed out",
            "handshake timed out after 10s",
        ),
        ("Timeout", "TimeoutError: deadline exceeded\n  at line 3", "ok"),
        ("Schema violation", "structuredContent does not match the outputSchema", "tool failed"),
        ("Schema violation", "jsonschema.exceptions.ValidationError: 'x' is a required property", "tool failed"),
        ("Assertion", "AssertionError: assert 'a' == 'b'\n  - a\n  + b", "ValueError: bad"),
    ],
)
def test_categories_match_the_intended_messages(tmp_path: Path, name: str, hit: str, miss: str) -> None:
    write_allure_environment(tmp_path, environment="local", services=[], env={})
    category = categories(tmp_path)[name]
    assert matches(category, hit)
    assert not matches(category, miss)
    assert set(category["matchedStatuses"]) <= {"failed", "broken"}


def test_categories_file_lists_the_categories_blocked_first(tmp_path: Path) -> None:
    write_allure_environment(tmp_path, environment="local", services=[], env={})
    assert list(categories(tmp_path)) == [
        "Blocked by an earlier failure",
        "Protocol error",
        "Timeout",
        "Schema violation",
        "Assertion",
    ]


def test_executor_only_under_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    write_allure_environment(tmp_path / "local", environment="local", services=SERVICES)  # reads os.environ
    assert not (tmp_path / "local" / "executor.json").exists()

    write_allure_environment(tmp_path / "gh", environment="prod", services=SERVICES, env=GITHUB)
    assert json.loads((tmp_path / "gh" / "executor.json").read_text()) == {
        "name": "GitHub Actions",
        "type": "github",
        "buildName": "gate #42",
        "buildUrl": "https://github.com/basb/ops/actions/runs/9001",
    }

    write_allure_environment(tmp_path / "ci", environment="prod", services=SERVICES, env={"CI": "1"})
    assert json.loads((tmp_path / "ci" / "executor.json").read_text()) == {"name": "CI", "type": "ci"}

    gitlab = {
        "CI": "true",
        "GITLAB_CI": "true",
        "CI_JOB_NAME": "gate",
        "CI_PIPELINE_ID": "7",
        "CI_JOB_URL": "https://gl/j/1",
    }
    write_allure_environment(tmp_path / "gl", environment="prod", services=SERVICES, env=gitlab)
    executor = json.loads((tmp_path / "gl" / "executor.json").read_text())
    assert (executor["type"], executor["buildName"], executor["buildUrl"]) == ("gitlab", "gate #7", "https://gl/j/1")
