"""Allure side files in the results directory: environment.properties, categories.json, executor.json.

Pure file writing from what the controller already knows; only whitelisted facts are written
(names, versions, CI build names), never inventory URLs, headers or other environment variables.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_basb.model.files import atomic_write
from pytest_basb.report.gate import ServiceSummary

# Allure matches these regexes against the whole message (Java `matches`), so each is anchored by
# `.*` on both sides and uses (?s) for multi-line messages; (?i) for case-insensitive words.
CATEGORIES: tuple[dict[str, Any], ...] = (
    {
        # First: Allure files a test under the first category that matches, and a blocked check's
        # message repeats its cause's first line (which may say "timed out").
        "name": "Blocked by an earlier failure",
        "description": "Could not run: an earlier check of the same service broke its session (see that check)",
        "matchedStatuses": ["skipped", "failed", "broken"],  # pytest-basb reports them as skipped
        "messageRegex": r"(?s).*\bblocked by [\w.-]+: .*",
    },
    {
        "name": "Protocol error",
        "description": "The server answered with an MCP / JSON-RPC error or broke the protocol",
        "matchedStatuses": ["failed", "broken"],
        "messageRegex": r"(?is).*(MCPError|McpError|JSON-?RPC).*",
    },
    {
        "name": "Timeout",
        "description": "A deadline passed: handshake, call or health endpoint too slow or hung",
        "matchedStatuses": ["failed", "broken"],
        "messageRegex": r"(?is).*(timed out|timeout|TimeoutError).*",
    },
    {
        "name": "Schema violation",
        "description": "A schema did not validate: tool input/output schema, structuredContent, contracts",
        "matchedStatuses": ["failed", "broken"],
        "messageRegex": r"(?is).*(schema|validation).*",
    },
    {
        "name": "Assertion",
        "description": "A check's assertion failed",
        "matchedStatuses": ["failed"],
        "messageRegex": r"(?s).*AssertionError.*",
    },
)


def write_allure_environment(
    alluredir: Path,
    *,
    environment: str,
    services: Sequence[ServiceSummary],
    plugin_version: str | None = None,
    env: Mapping[str, str] | None = None,
    redact: Callable[[str], str] | None = None,
) -> list[Path]:
    """Write the three Allure side files (executor.json only under CI); return the paths written.

    `env` defaults to `os.environ` and is read only for CI build facts. `redact` (e.g. the
    plugin's `Redactor.text`) is applied to every value as a second line of defence.
    """
    env = os.environ if env is None else env
    clean = redact or (lambda text: text)
    properties = environment_properties(environment, services, plugin_version, clean)
    paths = [
        atomic_write(alluredir / "environment.properties", properties),
        atomic_write(alluredir / "categories.json", json.dumps(list(CATEGORIES), indent=2) + "\n"),
    ]
    executor = executor_info(env)
    if executor is not None:
        executor = {k: clean(v) for k, v in executor.items()}
        paths.append(atomic_write(alluredir / "executor.json", json.dumps(executor, indent=2, sort_keys=True) + "\n"))
    return paths


def environment_properties(
    environment: str,
    services: Sequence[ServiceSummary],
    plugin_version: str | None = None,
    redact: Callable[[str], str] = lambda text: text,
) -> str:
    if plugin_version is None:
        from pytest_basb.model.version import __version__

        plugin_version = __version__
    pairs = {
        "basb.environment": environment,
        "basb.plugin.version": plugin_version,
        "python.version": platform.python_version(),
    }
    for s in sorted(services, key=lambda s: s.id):
        pairs[f"service.{s.id}"] = f"{s.server_name or 'unknown'}@{s.server_version or 'unknown'}"
    return "".join(f"{_escape(key, True)}={_escape(redact(value), False)}\n" for key, value in pairs.items())


def _escape(text: str, key: bool) -> str:
    """java.util.Properties escaping (ISO-8859-1 file: everything else as \\uXXXX)."""
    out = []
    for i, ch in enumerate(text):
        if ch == "\\":
            out.append("\\\\")
        elif ch in "=:#!" or (ch == " " and (key or i == 0)):
            out.append("\\" + ch)
        elif ch in "\n\r\t\f":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f"}[ch])
        elif not (0x20 <= ord(ch) < 0x7F):
            out.append("".join(f"\\u{unit:04x}" for unit in _utf16_units(ch)))
        else:
            out.append(ch)
    return "".join(out)


def _utf16_units(ch: str) -> list[int]:
    data = ch.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def executor_info(env: Mapping[str, str]) -> dict[str, str] | None:
    """Allure executor facts from the CI's own variables; None outside CI (`CI` unset)."""
    if not env.get("CI"):
        return None
    if env.get("GITHUB_ACTIONS"):
        server, repo = env.get("GITHUB_SERVER_URL", ""), env.get("GITHUB_REPOSITORY", "")
        run_id = env.get("GITHUB_RUN_ID")
        info = {
            "name": "GitHub Actions",
            "type": "github",
            "buildName": _join(env.get("GITHUB_WORKFLOW"), env.get("GITHUB_RUN_NUMBER")),
            "buildUrl": f"{server}/{repo}/actions/runs/{run_id}" if server and repo and run_id else "",
        }
    elif env.get("GITLAB_CI"):
        info = {
            "name": "GitLab CI",
            "type": "gitlab",
            "buildName": _join(env.get("CI_JOB_NAME"), env.get("CI_PIPELINE_ID")),
            "buildUrl": env.get("CI_JOB_URL", ""),
        }
    elif env.get("JENKINS_URL"):
        info = {
            "name": "Jenkins",
            "type": "jenkins",
            "buildName": env.get("BUILD_TAG", "") or _join(env.get("JOB_NAME"), env.get("BUILD_NUMBER")),
            "buildUrl": env.get("BUILD_URL", ""),
        }
    else:
        info = {"name": "CI", "type": "ci", "buildName": _join(env.get("CI_JOB_NAME"), env.get("BUILD_NUMBER"))}
    return {k: v for k, v in info.items() if v}


def _join(name: str | None, number: str | None) -> str:
    if name and number:
        return f"{name} #{number}"
    return name or (f"#{number}" if number else "")
