"""Preparing a run: the throwaway vault, the resolved environment, launched services.

The controller copies the seed vault and launches services; xdist workers receive the run folder
through `workerinput` and only read what the controller prepared.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pytest_basb.inventory.redaction import Redactor
from pytest_basb.run.state import BasbState, Options
from pytest_basb.targets.reaper import RUN_PREFIX, ProcessRegistry, mark_owner, reap_dead_runs

VAULT_VARIABLE = "BASB_VAULT"


def prepare_environment(state: BasbState, worker_input: dict[str, Any] | None) -> None:
    """Resolve the environment (after the vault copy, so ${BASB_VAULT} names the copy)."""
    from pytest_basb.inventory.adhoc import AdhocError
    from pytest_basb.inventory.load import InventoryError, seed_vault_of

    env_name = state.options.env_name
    assert env_name is not None
    try:
        if worker_input is None:
            state.run_dir = Path(tempfile.mkdtemp(prefix=RUN_PREFIX))
            mark_owner(state.run_dir)
            for line in reap_dead_runs(state.run_dir.parent, keep=state.run_dir):
                print(f"pytest-basb: cleaned up after a killed run: {line}", file=sys.stderr)
            if state.options.adhoc:
                from pytest_basb.run.adhoc import adhoc_inventory

                state.options = replace(state.options, inventory=adhoc_inventory(state))
                state.publish_launch_errors()
            seed = seed_vault_of(state.options.inventory, env_name)
            if seed is not None:
                state.throwaway_vault = _copy_seed_vault(seed, state.run_dir)
        else:
            state.run_dir = Path(worker_input["basb_run_dir"])
            if state.options.adhoc:  # named by the controller: read its inventory, never ask again
                from pytest_basb.run.adhoc import ADHOC_FILE

                state.options = replace(state.options, inventory=state.run_dir / ADHOC_FILE)
            if "basb_vault" in worker_input:
                state.throwaway_vault = Path(worker_input["basb_vault"])
        if state.throwaway_vault is not None:
            os.environ[VAULT_VARIABLE] = str(state.throwaway_vault)
        environment = _load(state.options)
    except (InventoryError, AdhocError) as exc:
        raise pytest.UsageError(str(exc)) from None
    state.environment = environment
    state.redactor = Redactor(environment.secrets)
    from pytest_basb.run.policy import run_date

    state.run_date = run_date(worker_input)
    if state.options.target == "local":  # launched servers may be moved off the inventory's ports
        from pytest_basb.targets.local import LocalEndpoints

        state.endpoints = LocalEndpoints(environment, state.run_dir)
    else:
        from pytest_basb.targets.live import endpoint_for

        state.endpoints = {s.id: endpoint_for(s) for s in environment.services}
    if state.options.target == "containers":
        from pytest_basb.run.containers import prepare_containers

        prepare_containers(state, controller=worker_input is None)


def _load(options: Options) -> Any:
    from pytest_basb.inventory.load import InventoryError, load_environment

    assert options.env_name is not None
    try:
        return load_environment(options.inventory, options.env_name)
    except InventoryError:
        raise
    except OSError as exc:
        raise InventoryError(f"{options.inventory}: cannot read the inventory: {exc.strerror}") from None


def _copy_seed_vault(seed: Path, run_dir: Path) -> Path:
    from pytest_basb.inventory.load import InventoryError

    if not seed.is_dir():
        raise InventoryError(f"seed_vault {seed} is not a directory; fix `seed_vault` in the inventory.")
    target = run_dir / seed.name
    shutil.copytree(seed, target)
    return target


def launch_services(state: BasbState, wanted: set[str | None]) -> None:
    """Start each `launch` service a collected check needs (controller only, once per run)."""
    # pytest calls pytest_collection_finish even when Ctrl-C or SIGTERM ended the collection.
    if not state.active or state.interrupted or state.options.target == "live":
        return
    assert state.environment is not None
    # A flow's check is collected under its first service; it calls the others too.
    wanted = wanted | {s for flow in state.environment.flows if flow.home in wanted for s in flow.services}
    if state.options.target == "containers":
        from pytest_basb.run.containers import launch_containers

        launch_containers(state, wanted)
        return
    services = state.environment.services
    if any(s.contract is not None for s in services if s.id in wanted):
        # Role suites reach the other roles' services (the CODE flow), also from another shard.
        wanted = wanted | {s.id for s in services if s.contract is not None}
    pending = [s for s in services if s.launch and s.id in wanted and s.id not in state.launched]
    if not pending:
        return
    from pytest_basb.targets.local import Launcher, LocalEndpoints

    if state.launcher is None:
        registry = ProcessRegistry(state.run_dir) if state.run_dir is not None else None
        state.launcher = Launcher(state.redactor, registry)
    state.launched.update(s.id for s in pending)
    errors = state.launcher.start(pending)
    state.launch_errors.update({sid: state.redactor.text(why) for sid, why in errors.items()})
    state.launch_ready_s.update(state.launcher.ready_s)
    state.launch_facts.update(state.launcher.facts())
    if isinstance(state.endpoints, LocalEndpoints):
        for sid, (old, new) in state.endpoints.publish_moves(state.launcher.launched).items():
            print(
                f"pytest-basb: {sid}: port {old} is taken (another gate run or program holds it); "
                f"launched on port {new} instead",
                file=sys.stderr,
            )
    state.publish_launch_errors()
