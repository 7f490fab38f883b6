"""The containers target wired into a run: check the engine and start the wanted images (controller),
read their mapped endpoints (every process). The launching itself is `targets.containers`.
"""

from __future__ import annotations

import json
import sys

import pytest

from pytest_basb.run.state import BasbState
from pytest_basb.targets.containers import (
    ENDPOINTS_FILE,
    ContainerEndpoints,
    ContainerLauncher,
    EngineUnavailable,
    container_endpoint,
    engine_client,
    remove_leftovers,
)


def prepare_containers(state: BasbState, *, controller: bool) -> None:
    """Controller: check the engine (exit 4 without one), remove a killed run's leftovers, make the
    launcher. Every process: endpoints come from what the controller publishes."""
    assert state.environment is not None
    assert state.run_dir is not None
    state.endpoints = ContainerEndpoints(state.environment, state.run_dir)
    if not controller:
        return
    try:
        client = engine_client()
    except EngineUnavailable as exc:
        raise pytest.UsageError(str(exc)) from None
    removed = remove_leftovers(client)
    if removed:
        print(
            f"pytest-basb: removed {len(removed)} leftover container(s) of earlier runs that were killed "
            f"before cleaning up: {', '.join(removed)}",
            file=sys.stderr,
        )
    state.containers = ContainerLauncher(client, state.redactor, state.throwaway_vault, state.environment.name)
    state.containers.leftovers_removed = removed


def launch_containers(state: BasbState, wanted: set[str | None]) -> None:
    """Start the container of every wanted service once (controller only), in parallel."""
    assert state.environment is not None
    assert state.run_dir is not None
    launcher = state.containers
    if launcher is None:
        return
    pending = [s for s in state.environment.services if s.id in wanted and s.id not in state.launched]
    if not pending:
        return
    state.launched.update(s.id for s in pending)
    errors = launcher.start(pending)
    state.launch_errors.update({sid: state.redactor.text(why) for sid, why in errors.items()})
    state.launch_ready_s.update(launcher.ready_s)
    urls = {sid: started.url for sid, started in launcher.started.items()}
    partial = state.run_dir / f".{ENDPOINTS_FILE}"
    partial.write_text(json.dumps(urls), encoding="utf-8")
    partial.replace(state.run_dir / ENDPOINTS_FILE)  # workers never read half a file
    state.endpoints.update({sid: container_endpoint(state.environment.service(sid), url) for sid, url in urls.items()})
    state.publish_launch_errors()
