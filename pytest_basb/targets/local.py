"""The `local` target: HTTP services with a `launch` argv are started here and stopped afterwards.

Only the controller launches (workers would race for the port); a service is ready when its URL
answers MCP (any JSON-RPC reply to a request), not after a fixed sleep. Each server gets a port of
this run's own (`ports.py`): the inventory's, unless another run or program holds it; the moved
URLs are published in the run folder for xdist workers (`LocalEndpoints`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from pytest_basb.inventory.load import Environment, ServiceConfig
from pytest_basb.inventory.redaction import Redactor
from pytest_basb.model.files import publish_json
from pytest_basb.model.text import shorten
from pytest_basb.targets.base import Endpoint, TargetError
from pytest_basb.targets.ports import PortKeeper, loopback_port, moved
from pytest_basb.targets.process_env import launch_environment
from pytest_basb.targets.reaper import ProcessRegistry

if TYPE_CHECKING:
    import httpx

_POLL_S = 0.05
_STOP_GRACE_S = 3.0


@dataclass
class LaunchedProcess:
    service_id: str
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    spawned_at: float = field(default_factory=time.monotonic)

    def log_tail(self, redactor: Redactor, lines: int = 8) -> str:
        with contextlib.suppress(Exception):
            self.log.flush()
            self.log.seek(0)
            text = self.log.read()[-4000:].decode("utf-8", "replace")
            return redactor.text("\n".join(text.strip().splitlines()[-lines:]))
        return ""


@dataclass
class Launcher:
    """Starts `launch` commands, waits until each answers MCP, and stops them all (process groups)."""

    redactor: Redactor
    # Where each process group is written down, so a run killed with SIGKILL is cleaned up by the next.
    registry: ProcessRegistry | None = None
    processes: list[LaunchedProcess] = field(default_factory=list)
    # service id -> seconds from spawn until its URL answered MCP
    ready_s: dict[str, float] = field(default_factory=dict)
    ports: PortKeeper = field(default_factory=PortKeeper)
    # service id -> the service as launched (its port moved when the inventory's was taken)
    launched: dict[str, ServiceConfig] = field(default_factory=dict)

    def start(self, services: Iterable[ServiceConfig], *, ready_timeout_s: float | None = None) -> dict[str, str]:
        """Spawn all, then wait for each (they start in parallel); returns service id -> why it failed."""
        import httpx

        errors: dict[str, str] = {}
        spawned: list[tuple[ServiceConfig, LaunchedProcess]] = []
        with httpx.Client(timeout=2.0) as http:
            for service in (s for s in services if s.launch and s.url):
                try:
                    service = self._own_port(service)
                    self._refuse_taken_port(http, service)
                    spawned.append((service, self._spawn(service)))
                except TargetError as exc:
                    errors[service.id] = str(exc)
            for service, launched in spawned:
                try:
                    self._wait_ready(http, service, launched, ready_timeout_s or max(service.timeout_s, 15.0))
                except TargetError as exc:
                    errors[service.id] = str(exc)
        return errors

    def _own_port(self, service: ServiceConfig) -> ServiceConfig:
        """The service on a port this run holds: the inventory's when free, else a free one."""
        where = loopback_port(service.url)
        if where is None:  # a URL on another host, or without a port: launched as written
            return service
        host, preferred = where
        service = moved(service, preferred, self.ports.claim(host, preferred))
        self.launched[service.id] = service
        return service

    def _refuse_taken_port(self, http: httpx.Client, service: ServiceConfig) -> None:
        """Something already answering the URL would be tested in place of the launched server."""
        answered, _ = _answers_mcp(http, service)
        if answered:
            raise TargetError(
                f"{service.id}: {service.url} already answers before launch (another gate run or server holds "
                "the port); stop it, or use --basb-target=live to test that server instead."
            )

    def _spawn(self, service: ServiceConfig) -> LaunchedProcess:
        log = tempfile.TemporaryFile()
        env = launch_environment(service.env)  # never the gate's own secrets
        try:
            process = subprocess.Popen(
                list(service.launch),
                cwd=service.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            log.close()
            raise TargetError(f"{service.id}: launch failed: {exc.strerror or exc}") from None
        launched = LaunchedProcess(service.id, process, log)
        self.processes.append(launched)
        if self.registry is not None:
            self.registry.add_group(process.pid)  # its own session: pgid == pid
        return launched

    def _wait_ready(
        self, http: httpx.Client, service: ServiceConfig, launched: LaunchedProcess, timeout_s: float
    ) -> None:
        deadline = time.monotonic() + timeout_s
        last = "no answer yet"
        while time.monotonic() < deadline:
            code = launched.process.poll()
            if code is not None:
                raise TargetError(
                    f"{service.id}: launched server exited with code {code} before answering MCP.\n"
                    f"{launched.log_tail(self.redactor)}"
                )
            answered, last = _answers_mcp(http, service)
            if answered:
                self.ready_s[service.id] = round(time.monotonic() - launched.spawned_at, 3)
                return
            time.sleep(_POLL_S)
        if last.startswith("HTTP "):
            why = f"{service.url} did not answer MCP within {timeout_s:g} s: {last}"
        else:  # nothing listened yet: the server is slow to start, or listens elsewhere
            why = (
                f"{service.url} still starting after {timeout_s:g} s ({last}): raise timeout_s in the inventory "
                "(or check the port the launch command listens on)"
            )
        raise TargetError(f"{service.id}: {why}\n{launched.log_tail(self.redactor)}".rstrip())

    def signal(self, service_id: str, sig: signal.Signals) -> int:
        """Send `sig` to the process group of a launched service (a drill's fault); returns its pid."""
        launched = next((p for p in self.processes if p.service_id == service_id), None)
        if launched is None or launched.process.poll() is not None:
            raise TargetError(f"{service_id}: no launched server process is running")
        _signal_group(launched.process, sig)
        return launched.process.pid

    def relaunch(self, service: ServiceConfig, *, ready_timeout_s: float) -> None:
        """Kill what is left of the service's process group and start it again (a drill's recovery)."""
        for launched in [p for p in self.processes if p.service_id == service.id]:
            _signal_group(launched.process, signal.SIGKILL)  # also ends a stopped (SIGSTOP) group
            with contextlib.suppress(subprocess.TimeoutExpired):
                launched.process.wait(timeout=5)
            launched.log.close()
            if self.registry is not None:
                self.registry.remove_group(launched.process.pid)
            self.processes.remove(launched)
        import httpx

        # Back on the port this run already holds for it: claiming again would move it to another.
        service = self.launched.get(service.id, service)
        launched = self._spawn(service)
        with httpx.Client(timeout=2.0) as http:
            self._wait_ready(http, service, launched, ready_timeout_s)

    def stop(self, grace_s: float | None = None) -> None:
        """SIGTERM each process group, then SIGKILL what is left after a grace period (0: at once)."""
        for launched in self.processes:
            _signal_group(launched.process, signal.SIGTERM if grace_s != 0 else signal.SIGKILL)
        deadline = time.monotonic() + (_STOP_GRACE_S if grace_s is None else grace_s)
        for launched in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                launched.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            _signal_group(launched.process, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                launched.process.wait(timeout=2)
            launched.log.close()
            if self.registry is not None:
                self.registry.remove_group(launched.process.pid)
        self.processes.clear()
        self.ports.release_all()  # only once the servers are gone: another run may take the ports now

    def facts(self) -> dict[str, dict[str, object]]:
        """Per launched service: where it answered and which process it was, for the reports."""
        pids = {launched.service_id: launched.process.pid for launched in self.processes}
        return {
            sid: {"url": service.url, "pid": pids.get(sid)} for sid, service in self.launched.items() if sid in pids
        }


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    # The whole group: a launcher script's children must not outlive the run.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _answers_mcp(http: httpx.Client, service: ServiceConfig) -> tuple[bool, str]:
    import httpx

    url = service.url
    assert url is not None
    headers = dict(service.headers)
    try:
        if service.transport == "sse":
            with http.stream("GET", url, headers={**headers, "Accept": "text/event-stream"}) as response:
                ok = response.status_code < 500 and "text/event-stream" in response.headers.get("content-type", "")
                return ok, f"HTTP {response.status_code}"
        probe = {"jsonrpc": "2.0", "id": 0, "method": "ping"}
        response = http.post(url, json=probe, headers={**headers, "Accept": "application/json, text/event-stream"})
        # Any JSON-RPC shaped answer (even an error: no session yet) means the MCP endpoint is up.
        body = response.text
        ok = '"jsonrpc"' in body or response.status_code in (400, 401, 403, 405, 406)
        head = shorten(body, 200, squash=True)
        return ok, f"HTTP {response.status_code} {response.reason_phrase}" + (f": {head}" if head else "")
    except httpx.ConnectError:
        return False, "connection refused"
    except httpx.HTTPError as exc:
        return False, type(exc).__name__


MOVED_FILE = "moved-ports.json"


class LocalEndpoints(dict[str, Endpoint]):
    """service id -> Endpoint as the inventory says, or at the port the controller moved it to.

    The controller publishes the moves in the run folder (`publish_moves`) before any test runs;
    xdist workers read them on first use. Only moved services are remembered: an unmoved one is
    read again, so a service launched later in the run is never pinned to the inventory's port.
    """

    def __init__(self, environment: Environment, run_dir: Path | None) -> None:
        super().__init__()
        self.environment = environment
        self.file = run_dir / MOVED_FILE if run_dir is not None else None

    def __missing__(self, service_id: str) -> Endpoint:
        from pytest_basb.targets.live import endpoint_for

        service = self.environment.service(service_id)  # KeyError for an unknown service, as a dict
        move = self._moves().get(service_id)
        if move is None:
            return endpoint_for(service)
        self[service_id] = endpoint_for(moved(service, *move))
        return self[service_id]

    def publish_moves(self, launched: Mapping[str, ServiceConfig]) -> dict[str, tuple[int, int]]:
        """Controller: every launched service whose port differs from the inventory's; returns the new moves."""
        moves = self._moves()
        new: dict[str, tuple[int, int]] = {}
        for sid, service in launched.items():
            where, now = loopback_port(self.environment.service(sid).url), loopback_port(service.url)
            if where is not None and now is not None and where[1] != now[1] and sid not in moves:
                new[sid] = (where[1], now[1])
                self.pop(sid, None)
        if self.file is not None and new:
            publish_json(self.file, moves | new)
        return new

    def _moves(self) -> dict[str, tuple[int, int]]:
        if self.file is None:
            return {}
        with contextlib.suppress(OSError, ValueError):
            return {sid: (int(old), int(new)) for sid, (old, new) in json.loads(self.file.read_text()).items()}
        return {}
