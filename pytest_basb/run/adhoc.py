"""A zero-config run (`--basb-url`, `--basb-command`): the controller asks each server its name,
names the service after it and writes the run's inventory into the run folder, where xdist workers
read it like any inventory.

A server that does not answer keeps its guessed id, and its failure is recorded like a failed
launch: its checks report it once (on `health.handshake`) instead of connecting again. When the
controller runs the checks itself (no xdist workers), the sessions that answered stay open for them:
each server is started once.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_basb.inventory.adhoc import AdhocService, adhoc_services, inventory_data, renamed
from pytest_basb.model.files import atomic_write
from pytest_basb.run.state import BasbState

if TYPE_CHECKING:
    from pytest_basb.connection.client import Connection
    from pytest_basb.inventory.load import Environment

ADHOC_FILE = "adhoc-inventory.yaml"


@dataclasses.dataclass
class _Answers:
    names: dict[str, str] = dataclasses.field(default_factory=dict)  # id -> the server's name
    failures: dict[str, str] = dataclasses.field(default_factory=dict)  # id -> why it did not answer
    sse: set[str] = dataclasses.field(default_factory=set)  # ids that answered over SSE only
    open: dict[str, Connection] = dataclasses.field(default_factory=dict)  # id -> its session, kept open


def adhoc_inventory(state: BasbState) -> Path:
    """Controller: write the run's inventory, services named after their servers (asked once)."""
    from pytest_basb.inventory.load import load_environment

    options = state.options
    assert state.run_dir is not None
    path = state.run_dir / ADHOC_FILE
    cwd = str(options.workdir or Path.cwd())
    guessed = adhoc_services(options.urls, options.commands)
    _write(path, guessed, options.timeout_s, cwd)
    answers = _ask(state, load_environment(path, "adhoc", environ={}))
    guessed = [dataclasses.replace(s, transport="sse") if s.id in answers.sse else s for s in guessed]
    final = renamed(guessed, [answers.names.get(s.id, s.id) for s in guessed])
    _write(path, final, options.timeout_s, cwd)
    for old, new in zip(guessed, final, strict=True):
        if old.id in answers.failures:
            state.launch_errors[new.id] = answers.failures[old.id]
        if old.id in answers.open:
            state.adopted[new.id] = answers.open[old.id]
    state.adhoc_services = final
    return path


def _write(path: Path, services: list[AdhocService], timeout_s: float | None, cwd: str) -> None:
    import yaml

    data = inventory_data(services, timeout_s=timeout_s, cwd=cwd)
    atomic_write(path, yaml.safe_dump(data, sort_keys=False), durable=False)


def _ask(state: BasbState, environment: Environment) -> _Answers:
    """Open every service once, concurrently; a streamable-HTTP URL refused with 404/405 is tried as SSE."""
    from pytest_basb.connection.wire import Transcript
    from pytest_basb.targets.live import endpoint_for

    runtime = state.mcp_runtime()
    answers = _Answers()
    keep = not state.distributed  # the checks run in this process: they use these sessions

    def connect(endpoint: object, timeout_s: float) -> Connection:
        return runtime.connection(endpoint, timeout_s=timeout_s, transcript=Transcript(state.redactor))  # type: ignore[arg-type]

    try:
        timeout = state.options.timeout_s
        connections = {s.id: connect(endpoint_for(s), timeout or s.timeout_s) for s in environment.services}
        runtime.open_all(connections.values(), prefetch=False)
        retry = {
            sid: connect(dataclasses.replace(c.endpoint, transport="sse"), c.timeout_s)
            for sid, c in connections.items()
            if c.failure is not None and c.endpoint.transport == "streamable-http" and c.says_sse
        }
        runtime.open_all(retry.values(), prefetch=False)
        for sid, connection in retry.items():
            if connection.failure is None:
                connections[sid] = connection
                answers.sse.add(sid)
        for sid, connection in connections.items():
            if connection.failure is not None:
                answers.failures[sid] = state.redactor.text(str(connection.failure))
            elif connection.handshake is not None and connection.handshake.server_name:
                answers.names[sid] = connection.handshake.server_name
            if connection.failure is None and keep:
                answers.open[sid] = connection
    finally:
        if not answers.open:
            runtime.close()
            state.runtime = None
    return answers
