"""What stdio servers wrote to stdout once their sessions were closing (a shutdown print()).

It is seen only after the checks ran, so every process that closes sessions (an xdist worker too)
publishes it in the run folder, and the controller judges `health.stdio_hygiene` again with it
before the reports are written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pytest_basb.model.files import atomic_write

if TYPE_CHECKING:
    from pytest_basb.connection.session import ServiceSession
    from pytest_basb.run.state import BasbState

HYGIENE_CHECK = "health.stdio_hygiene"
_PREFIX = "exit-output-"
_LINES_KEPT = 5


def publish(state: BasbState, sessions: Mapping[str, ServiceSession]) -> None:
    """After the sessions closed: record their servers' exit output for the controller (masked)."""
    found = {
        service_id: {
            "bytes": session.connection.exit_output_bytes,
            "lines": [state.redactor.text(line) for line in session.connection.exit_output[:_LINES_KEPT]],
        }
        for service_id, session in sessions.items()
        if session.connection.exit_output_bytes
    }
    if found and state.run_dir is not None:
        atomic_write(state.run_dir / f"{_PREFIX}{os.getpid()}.json", json.dumps(found), durable=False)


def amend_results(state: BasbState) -> None:
    """Controller, after every process closed its sessions: the hygiene check of a server that wrote
    non-JSON-RPC output at exit fails with it (a failure already found keeps its outcome, and says it)."""
    from pytest_basb.checks.health import stdio_exit_output
    from pytest_basb.run.policy import apply_policy

    found = _published(state)
    for nodeid, result in list(state.results.items()):
        if result.id != HYGIENE_CHECK or result.service not in found or result.outcome == "skip":
            continue
        size, lines = found[result.service]
        amended = stdio_exit_output(result, size, lines)
        if result.outcome == "pass":  # a new failure: the check policy and waivers in force apply to it
            amended = apply_policy(state, amended)
        state.results[nodeid] = amended


def _published(state: BasbState) -> dict[str, tuple[int, list[str]]]:
    found: dict[str, tuple[int, list[str]]] = {}
    if state.run_dir is None:
        return found
    for path in sorted(state.run_dir.glob(f"{_PREFIX}*.json")):
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        for service_id, facts in data.items():
            size, lines = found.get(service_id, (0, []))
            found[service_id] = (size + int(facts["bytes"]), [*lines, *map(str, facts["lines"])])
    return found
