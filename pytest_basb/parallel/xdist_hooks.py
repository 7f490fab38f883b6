"""The xdist side of a run: what workers are handed, crashed workers recorded as errors, the services
cross-role tests and flows keep together, and the scheduler that keeps a service on one worker.
Registered by the plugin only when xdist is present."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_basb.model.results import RESULT_PROPERTY, CheckResult
from pytest_basb.run.generate import env_name
from pytest_basb.run.outcome import service_in_nodeid, service_of
from pytest_basb.run.setup import launch_services
from pytest_basb.run.state import BasbState

# xdist modes under which pytest-basb schedules every check of a service on one worker.
BY_SERVICE_DISTS = ("load", "loadscope", "loadgroup")
CHECKED_SERVICES = "checked-services.json"  # in the run folder: services the collected gate checks need


class XdistHooks:
    """Registered only when xdist is present: hands workers what only the controller knows."""

    def __init__(self, state: BasbState) -> None:
        self.state = state

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["basb_run_dir"] = str(self.state.run_dir)
        node.workerinput["basb_run_date"] = self.state.run_date.isoformat()  # one date for every waiver
        # Workers see dist "no"; they must know whether ServiceScheduling splits the work (prefetch).
        node.workerinput["basb_by_service"] = node.config.getvalue("dist") in BY_SERVICE_DISTS
        if self.state.throwaway_vault is not None:
            node.workerinput["basb_vault"] = str(self.state.throwaway_vault)

    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport, sched: Any) -> None:
        """A worker died inside a check: record it as an error, so the gate cannot miss it."""
        service = service_in_nodeid(crashitem)
        if service is None or not self.state.active:
            return
        result = CheckResult(
            id="worker.crash",
            service=service,
            outcome="error",
            message=f"the test process crashed while running {crashitem.split('::')[-1]}",
            environment=env_name(self.state),
            nodeid=crashitem,
        )
        report.user_properties.append((RESULT_PROPERTY, result.to_json()))

    @pytest.hookimpl(tryfirst=True)  # before xdist tells the controller the collection is done
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Worker: publish the services its gate checks need (the controller launches only those) and
        which services cross-role tests keep together, for the controller's plan."""
        worker_input: dict[str, Any] = getattr(session.config, "workerinput", {})
        if not self.state.active or self.state.run_dir is None or not worker_input:
            return
        from pytest_basb.model.files import publish_json

        checked = sorted(
            {s for item in session.items if item.get_closest_marker("basb_check") and (s := service_of(item))}
        )
        publish_json(self.state.run_dir / CHECKED_SERVICES, checked)
        if not worker_input.get("basb_by_service"):
            return
        from pytest_basb.parallel.scheduling import publish_links

        self.state.links = links_of(session.items, self.state)
        publish_links(self.state.run_dir, self.state.links)

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        # Runs on the controller before any test is scheduled, so services are up in time.
        # Only services a gate check needs: a test of another kind whose id ends in `[<service id>]`
        # (a project's own parametrized test) must not start the environment's servers.
        launch_services(self.state, {service_in_nodeid(nodeid) for nodeid in ids} & self._checked_services())

    def _checked_services(self) -> set[str | None]:
        import json

        if self.state.run_dir is None:
            return set()
        try:
            return set(json.loads((self.state.run_dir / CHECKED_SERVICES).read_text()))
        except (OSError, ValueError):
            return set()  # no worker collected a gate check

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        """Every check of one service on one worker: one session, one server process per service."""
        if config.getvalue("dist") not in BY_SERVICE_DISTS:
            return None  # `each`, `loadfile`, `worksteal` asked for explicitly: the user's choice
        from pytest_basb.parallel.scheduling import published_links
        from pytest_basb.parallel.xdist_scheduler import ServiceScheduling

        environment = self.state.environment
        run_dir = self.state.run_dir
        return ServiceScheduling(
            config,
            log,
            frozenset(s.id for s in environment.services) if environment else frozenset(),
            links=lambda: published_links(run_dir),
        )


def links_of(items: list[pytest.Item], state: BasbState) -> list[set[str]]:
    """Per cross-role test (`basb_uses_roles`): its service and the stdio services it reaches by role,
    picked as `basb_service_for_role` picks them (`Environment.first_of_role`)."""
    environment = state.environment
    links = []
    for item in items:
        marker = item.get_closest_marker("basb_uses_roles")
        service_id = service_of(item)
        if marker is None or service_id is None or environment is None:
            continue
        group = {service_id}
        for role in marker.args:
            used = environment.first_of_role(role)
            if used is not None and used.transport == "stdio":
                group.add(used.id)
        if len(group) > 1:
            links.append(group)
    return links + flow_links(items, state)


def flow_links(items: list[pytest.Item], state: BasbState) -> list[set[str]]:
    """Per collected flow: the services it calls share a worker (each stdio server started once)."""
    environment = state.environment
    names: set[str] = set()
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("basb_flow"):
            names.add(callspec.params["basb_flow"][1])
    flows = [environment.flow(name) for name in sorted(names)] if environment is not None else []
    return [set(flow.services) for flow in flows if len(flow.services) > 1]
