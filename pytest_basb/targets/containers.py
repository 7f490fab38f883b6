"""The `containers` target: each service's image (`container: {image, port, path, env}`) started with
testcontainers on the controller, reached over HTTP through a port published on 127.0.0.1.

- Only the controller starts containers (like the `local` launcher); it publishes the mapped URLs in
  the run folder, where xdist workers read them (`ContainerEndpoints`).
- A container is ready when its MCP endpoint answers JSON-RPC, not when its port is open (Docker's
  proxy accepts connections before the server listens).
- The run's throwaway vault is bind-mounted at /vault and exported as BASB_VAULT; the service runs
  as the vault copy's owner, with a read-only root filesystem, a /tmp tmpfs and no capabilities.
- Every container carries labels (run id, service, owning host and process). `stop()` removes this
  run's containers, also after Ctrl-C; a later run removes those of a run that was killed.
- Ryuk (testcontainers' reaper) is disabled: its image cannot be pulled without a registry.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from pytest_basb.inventory.load import ContainerSpec, Environment, ServiceConfig
from pytest_basb.inventory.redaction import Redactor
from pytest_basb.targets.base import Endpoint, TargetError

if TYPE_CHECKING:
    import docker
    import httpx
    from testcontainers.core.container import DockerContainer


LABEL = "org.pytest-basb"
LABEL_RUN = f"{LABEL}.run"
LABEL_SERVICE = f"{LABEL}.service"
LABEL_HOST = f"{LABEL}.host"
LABEL_PID = f"{LABEL}.pid"
LABEL_PID_START = f"{LABEL}.pid-start"  # the owner's start time: a reused pid is not the owner
VAULT_MOUNT = "/vault"
ENDPOINTS_FILE = "container-endpoints.json"
# Time to answer MCP after start, unless the inventory gives `start_timeout_s`: 3 request deadlines,
# at least 60 s. Six containers importing `mcp` at once on 2 cores under a load average of 9 took
# 18 s, at 13 over 30 s; a container that exits fails at once, only a silent one waits this long.
START_FACTOR = 3.0
START_FLOOR_S = 60.0
LOG_TAIL_LINES = 12
_POLL_S = 0.1
_ENGINE_TIMEOUT_S = 10


class EngineUnavailable(RuntimeError):
    """No Docker engine answers; the message says how to start one."""


class ContainerEndpoints(dict[str, Endpoint]):
    """service id -> Endpoint at the container's mapped URL, read from the run folder on first use.

    A service without a started container (its start failed: a launch error says why) gets an
    endpoint without URL; the session fails with the launch error before connecting.
    """

    def __init__(self, environment: Environment, run_dir: Path) -> None:
        super().__init__()
        self.environment = environment
        self.file = run_dir / ENDPOINTS_FILE

    def __missing__(self, service_id: str) -> Endpoint:
        service = self.environment.service(service_id)  # KeyError for an unknown service, as a dict
        with contextlib.suppress(OSError, ValueError):
            urls: dict[str, str] = json.loads(self.file.read_text(encoding="utf-8"))
            if service_id in urls:
                self[service_id] = container_endpoint(service, urls[service_id])
                return self[service_id]
        return dataclasses.replace(container_endpoint(service, ""), url=None)


def container_endpoint(service: ServiceConfig, url: str) -> Endpoint:
    """The service at its container: stdio services are served over streamable HTTP there."""
    return Endpoint(
        service_id=service.id,
        transport="sse" if service.transport == "sse" else "streamable-http",
        url=url,
        headers=dict(service.headers),
        health_url=_mapped(service, service.health_url, url),
        metrics_url=_mapped(service, service.metrics_url, url),
    )


def _mapped(service: ServiceConfig, declared: str | None, url: str) -> str | None:
    """An inventory URL (health, metrics) moved to the mapped port, when the MCP server's port serves it."""
    if not declared or not url:
        return None
    where = urlsplit(declared)
    if service.url and where.port != urlsplit(service.url).port:
        return None
    return urlunsplit(where._replace(scheme="http", netloc=urlsplit(url).netloc))


# --- engine ------------------------------------------------------------------------------------------


def engine_client() -> docker.DockerClient:
    """A client of a Docker engine that answers, or EngineUnavailable saying how to start one."""
    _configure_testcontainers()
    import docker

    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        client = docker.from_env(timeout=_ENGINE_TIMEOUT_S)
        client.ping()
    except Exception as exc:  # docker raises DockerException, requests' errors, or OSError
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise EngineUnavailable(
            f"--basb-target=containers needs a Docker engine, and none answers at {where} ({reason}). "
            "Start one: `apt-get install -y docker.io`, then `dockerd &` as root (or `make docker`); "
            "build the images with `make images`. Or test without containers: --basb-target=local."
        ) from None
    return client


def _configure_testcontainers() -> None:
    # Read by testcontainers when it is imported; a person's own settings win.
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _owner_labels() -> dict[str, str]:
    pid = os.getpid()
    return {LABEL_HOST: socket.gethostname(), LABEL_PID: str(pid), LABEL_PID_START: _process_start(pid) or ""}


def _owner_alive(labels: Mapping[str, str]) -> bool:
    """Whether the pytest process that started a container still runs (always true on another host)."""
    if labels.get(LABEL_HOST) != socket.gethostname():
        return True
    try:
        pid = int(labels.get(LABEL_PID, ""))
    except ValueError:
        return False
    start = _process_start(pid)
    return start is not None and start == labels.get(LABEL_PID_START)


def remove_leftovers(client: docker.DockerClient) -> list[str]:
    """Remove containers of earlier runs on this host whose pytest process is gone; their names."""
    removed = []
    # The list call's own summaries: `containers.list` inspects each container after listing, which
    # fails when another run removes one in between (its own, or the same leftover).
    for summary in client.api.containers(all=True, filters={"label": LABEL_RUN}):
        if not _owner_alive(summary.get("Labels") or {}):
            with contextlib.suppress(Exception):  # another run may be removing it at the same moment
                client.api.remove_container(summary["Id"], force=True)
                removed.append(str(summary["Names"][0]).lstrip("/"))
    return sorted(removed)


# --- the launcher --------------------------------------------------------------------------------------


@dataclass
class StartedService:
    service_id: str
    image: str
    container: DockerContainer | None = None
    url: str = ""
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class ContainerLauncher:
    """Starts one container per service, waits until each answers MCP, removes them all at the end."""

    client: docker.DockerClient
    redactor: Redactor
    vault: Path | None
    environment: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started: dict[str, StartedService] = field(default_factory=dict)  # ready ones
    ready_s: dict[str, float] = field(default_factory=dict)
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)  # per service, for the gate
    leftovers_removed: list[str] = field(default_factory=list)
    _all: list[StartedService] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closed: bool = False

    def __post_init__(self) -> None:
        atexit.register(self.stop)  # in case pytest never reaches unconfigure

    def start(self, services: Iterable[ServiceConfig], *, ready_timeout_s: float | None = None) -> dict[str, str]:
        """Start all in parallel (the readiness waits overlap); returns service id -> why it failed."""
        import httpx

        services = list(services)
        errors: dict[str, str] = {}
        with httpx.Client(timeout=1.0) as http, ThreadPoolExecutor(max(1, len(services))) as pool:
            futures = {
                s.id: pool.submit(self._start_one, http, s, ready_timeout_s or start_budget_s(s)) for s in services
            }
            try:
                for service_id, future in futures.items():
                    try:
                        future.result()
                    except TargetError as exc:
                        errors[service_id] = self.redactor.text(str(exc))
            except BaseException:  # Ctrl-C while waiting: the threads see the flag and end at once
                self.stop()
                raise
        return errors

    def _start_one(self, http: httpx.Client, service: ServiceConfig, timeout_s: float) -> None:
        spec = service.container
        if spec is None:
            self.facts[service.id] = {"target": "containers", "image": None, "error": "no container in the inventory"}
            raise TargetError(
                f"{service.id}: no `container: {{image, port}}` in the inventory, so --basb-target=containers "
                "cannot start it; add one, or run this service with --basb-target=local."
            )
        entry = StartedService(service.id, spec.image)
        facts = entry.facts
        facts.update(target="containers", image=spec.image)
        self.facts[service.id] = facts
        image = self._image(service.id, spec.image)
        facts.update(image_id=image.id, digest=_repo_digest(image.attrs))
        container = self._container(service, spec)
        with self._lock:
            if self._closed:
                raise TargetError(f"{service.id}: the run is stopping; container not started")
            entry.container = container
            self._all.append(entry)
        spawned_at = time.monotonic()
        try:
            container.start()
        except Exception as exc:
            facts.update(exit_code=None, status="not started")
            raise TargetError(
                f"{service.id}: container of image {spec.image} could not start (exit code: none): "
                f"{_docker_reason(exc)}"
            ) from None
        finally:
            if self._closed:  # stop() ran while this container was being created
                self._remove(entry)
        facts["container"] = container.get_wrapped_container().name
        self._wait_ready(http, service, spec, entry, spawned_at + timeout_s, timeout_s)
        self.ready_s[service.id] = facts["ready_s"] = round(time.monotonic() - spawned_at, 3)
        self.started[service.id] = entry

    def _image(self, service_id: str, image: str) -> Any:
        import docker.errors

        try:
            return self.client.images.get(image)
        except docker.errors.ImageNotFound:
            self.facts[service_id].update(exit_code=None, status="image missing")
            raise TargetError(
                f"{service_id}: image {image} is not on the Docker engine (exit code: none, never started; "
                "no registry is used). Build it with `make images` (the reference services) or "
                "`docker build`/`docker load` it, then run again."
            ) from None
        except Exception as exc:
            raise TargetError(f"{service_id}: cannot inspect image {image}: {_docker_reason(exc)}") from None

    def _container(self, service: ServiceConfig, spec: ContainerSpec) -> DockerContainer:
        from testcontainers.core.container import DockerContainer

        env = {**({"BASB_VAULT": VAULT_MOUNT} if self.vault else {}), **spec.env}
        options: dict[str, Any] = {
            "labels": {LABEL_RUN: self.run_id, LABEL_SERVICE: service.id, f"{LABEL}.environment": self.environment}
            | _owner_labels(),
            "read_only": True,
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges:true"],
        }
        # As the vault copy's owner: the service and the suites (on the host) edit the same notes, and a
        # non-owner may not hard-link (move) them. The image's own user (non-root) applies elsewhere.
        owner = os.stat(self.vault) if self.vault is not None else None
        options["user"] = f"{owner.st_uid}:{owner.st_gid}" if owner else f"{os.getuid()}:{os.getgid()}"
        container = DockerContainer(spec.image, env=env, name=f"basb-{self.run_id}-{service.id}", **options)
        container.tmpfs["/tmp"] = "rw,size=64m,mode=1777"  # the only writable place besides the vault
        if self.vault is not None:
            container.with_volume_mapping(self.vault, VAULT_MOUNT, mode="rw")
        # Published on loopback only, on a free port the engine picks.
        ports: dict[str, Any] = container.ports
        ports[f"{spec.port}/tcp"] = ("127.0.0.1", None)
        return container

    def _wait_ready(
        self,
        http: httpx.Client,
        service: ServiceConfig,
        spec: ContainerSpec,
        entry: StartedService,
        deadline: float,
        timeout_s: float,
    ) -> None:
        from pytest_basb.targets.local import _answers_mcp

        assert entry.container is not None
        wrapped = entry.container.get_wrapped_container()
        last = "no answer yet"
        while True:
            if self._closed:
                raise TargetError(f"{service.id}: the run is stopping")
            wrapped.reload()
            state = wrapped.attrs.get("State") or {}
            if state.get("Status") in ("exited", "dead"):
                code = state.get("ExitCode")
                entry.facts.update(exit_code=code, status=state.get("Status"))
                raise TargetError(
                    f"{service.id}: container of image {spec.image} exited with code {code} before answering MCP."
                    f"{self._log_tail(entry)}"
                )
            if not entry.url:
                entry.url = _mapped_url(wrapped.attrs, spec)
            if entry.url:
                probe = dataclasses.replace(service, url=entry.url, transport=container_endpoint(service, "").transport)
                answered, last = _answers_mcp(http, probe)
                if answered:
                    entry.facts["url"] = entry.url
                    return
            if time.monotonic() >= deadline:
                entry.facts.update(exit_code=None, status="running, not answering MCP")
                raise TargetError(
                    f"{service.id}: container of image {spec.image} (still running, exit code: none) did not answer "
                    f"MCP at {entry.url or 'its port ' + str(spec.port)} within {timeout_s:g}s ({last})."
                    f"{self._log_tail(entry)}"
                )
            time.sleep(_POLL_S)

    def _log_tail(self, entry: StartedService) -> str:
        """The last lines of the container's log, redacted, as a block for a failure message."""
        text = ""
        with contextlib.suppress(Exception):
            assert entry.container is not None
            raw = entry.container.get_wrapped_container().logs(tail=LOG_TAIL_LINES * 2)
            text = "\n".join(raw.decode("utf-8", "replace").strip().splitlines()[-LOG_TAIL_LINES:])
        text = self.redactor.text(text) if text else "(the container wrote no log)"
        entry.facts["log_tail"] = text
        return f"\n--- last lines of the container log ---\n{text}"

    def stop(self) -> None:
        """Remove every container of this run (in parallel, so Ctrl-C ends quickly); idempotent."""
        with self._lock:
            self._closed = True
            entries = list(self._all)
            self._all.clear()
        if entries:
            with ThreadPoolExecutor(len(entries)) as pool:
                list(pool.map(self._remove, entries))
        with contextlib.suppress(Exception):  # anything a racing start created despite the flag
            for container in self.client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={self.run_id}"}):
                container.remove(force=True)
        atexit.unregister(self.stop)

    def _remove(self, entry: StartedService) -> None:
        if entry.container is None:
            return
        with contextlib.suppress(Exception):
            wrapped = entry.container.get_wrapped_container()
            wrapped.reload()
            state = wrapped.attrs.get("State") or {}
            if entry.service_id in self.started and state.get("Status") != "running":
                # It answered MCP once and died during the run: keep why for the gate.
                entry.facts.update(exit_code=state.get("ExitCode"), status=f"{state.get('Status')} during the run")
                self._log_tail(entry)
        with contextlib.suppress(Exception):
            entry.container.get_wrapped_container().remove(force=True, v=True)


def start_budget_s(service: ServiceConfig) -> float:
    if service.container is not None and service.container.start_timeout_s is not None:
        return service.container.start_timeout_s
    return max(START_FACTOR * service.timeout_s, START_FLOOR_S)


def _mapped_url(attrs: Mapping[str, Any], spec: ContainerSpec) -> str:
    bindings = ((attrs.get("NetworkSettings") or {}).get("Ports") or {}).get(f"{spec.port}/tcp") or []
    for binding in bindings:
        if binding.get("HostIp") == "127.0.0.1" and binding.get("HostPort"):
            return f"http://127.0.0.1:{binding['HostPort']}{spec.path}"
    return ""


def _repo_digest(attrs: Mapping[str, Any]) -> str | None:
    """The registry digest (sha256:...) when the image came from a registry; locally built ones have none."""
    digests = attrs.get("RepoDigests") or []
    return str(digests[0]).rsplit("@", 1)[-1] if digests else None


def _docker_reason(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc).splitlines()[0][:300] if str(explanation or exc) else type(exc).__name__
