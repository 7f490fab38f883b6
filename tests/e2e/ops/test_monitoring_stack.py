"""The compose profile `monitoring` on the real Docker engine: the staging stack with basb-probe,
Prometheus, Alertmanager and the webhook receiver, built and started from deploy/compose.yaml as
shipped (only the host port bindings dropped, so it can run beside a deployed stack). All six
services probe healthy; the Watchdog reaches the receiver; stopping a service makes its
BasbProbeFailing reach the receiver.

Needs the reference images of the tag in BASB_TAG (default 1.0; `make images`, which `make
selftest` runs) built from a version with basb-probe, and basb/base:bookworm for the Prometheus and
Alertmanager images. Skipped, saying why, when the engine or the images are missing, unless
BASB_REQUIRE_DOCKER is set (CI), which makes that a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from tests.e2e.ops.probe_stack import get
from tests.helpers import REPO, free_port

pytestmark = pytest.mark.xdist_group("docker")

DEPLOY = REPO / "deploy"
SERVICES = ("vault", "capture", "organize", "distill", "express", "search")
T = TypeVar("T")


def run(*argv: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BASB_TAG": os.environ.get("BASB_TAG", "1.0")}
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)


def _unusable(tag: str) -> str | None:
    """Why the stack cannot run here, or None."""
    if shutil.which("docker") is None or shutil.which("docker-compose") is None:
        return "docker or docker-compose not installed"
    if run("docker", "info", timeout=60).returncode != 0:
        return "no Docker engine answers"
    for image in ("basb/base:bookworm", *(f"basb/{s}:{tag}" for s in SERVICES)):
        if run("docker", "image", "inspect", image, timeout=60).returncode != 0:
            return f"image {image} not built (make images)"
    has_probe = run("docker", "run", "--rm", "--entrypoint", "/opt/venv/bin/basb-probe", f"basb/vault:{tag}", "--help")
    if has_probe.returncode != 0:
        return f"basb/vault:{tag} predates basb-probe: rebuild it (make images)"
    return None


def unpublished(tmp_path: Path) -> Path:
    """deploy/compose.yaml with absolute paths and no host port bindings (a stack may be deployed)."""
    config = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    for service in config["services"].values():
        service.pop("ports", None)
        build = service.get("build")
        if build:
            build["context"] = str((DEPLOY / build["context"]).resolve())
        volumes = [v.split(":", 1) for v in service.get("volumes", [])]
        service["volumes"] = [f"{(DEPLOY / h).resolve() if h.startswith('.') else h}:{rest}" for h, rest in volumes]
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[list[str], Callable[[str], str]]]:
    """The stack up with profile monitoring; yields its compose command and a container's address."""
    tag = os.environ.get("BASB_TAG", "1.0")
    reason = _unusable(tag)
    if reason:
        if os.environ.get("BASB_REQUIRE_DOCKER"):
            pytest.fail(f"BASB_REQUIRE_DOCKER is set (CI) but: {reason}")
        pytest.skip(reason)
    compose = ["docker-compose", "-f", str(unpublished(tmp_path)), "-p", f"basb-probe-selftest-{free_port()}",
               "--profile", "monitoring"]  # fmt: skip

    def address(service: str) -> str:
        container = run(*compose, "ps", "-q", service, timeout=60).stdout.strip()
        inspect = run("docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", container)
        return inspect.stdout.strip()

    try:
        up = run(*compose, "up", "-d", "--build")
        assert up.returncode == 0, up.stderr[-3000:]
        yield compose, address
    finally:
        logs = run(*compose, "logs", "--no-color", "--tail", "50", "probe", "alertmanager", "prometheus", timeout=120)
        (tmp_path / "stack.log").write_text(logs.stdout + logs.stderr)
        run(*compose, "down", "--volumes", "--remove-orphans", timeout=300)


def until(what: str, get_value: Callable[[], T | None], seconds: float, log: Callable[[], str]) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = get_value()
        except (OSError, ValueError, KeyError):
            value = None
        if value is not None:
            return value
        time.sleep(1)
    raise AssertionError(f"{what}: not within {seconds:g} s\n{log()[-4000:]}")


def test_monitoring_profile_probes_the_stack_and_a_stopped_service_pages(
    stack: tuple[list[str], Callable[[str], str]],
) -> None:
    compose, address = stack

    def logs() -> str:
        result = run(*compose, "logs", "--no-color", "--tail", "30", "probe", "alertmanager", "prometheus", timeout=60)
        return result.stdout

    prometheus = f"http://{until('prometheus address', lambda: address('prometheus') or None, 120, logs)}:9090"
    receiver = f"http://{until('receiver address', lambda: address('alert-receiver') or None, 120, logs)}:9095"

    def probes() -> dict[str, float]:
        query = urllib.parse.quote("basb_probe_success")
        body = json.loads(get(f"{prometheus}/api/v1/query?query={query}", 10)[1])
        return {r["metric"]["service"]: float(r["value"][1]) for r in body["data"]["result"]}

    def firing(alertname: str, service: str | None = None) -> dict[str, Any] | None:
        for item in json.loads(get(f"{receiver}/alerts", 10)[1]):
            for alert in item["payload"]["alerts"]:
                labels = alert["labels"]
                if (alert["status"], labels["alertname"], labels.get("service")) == ("firing", alertname, service):
                    return dict(alert)
        return None

    until("all six services probe healthy", lambda: probes() if probes() == dict.fromkeys(SERVICES, 1.0) else None,
          240, logs)  # fmt: skip
    stopped = run(*compose, "stop", "search", timeout=120)
    assert stopped.returncode == 0, stopped.stderr
    alert = until("search's BasbProbeFailing at the receiver", lambda: firing("BasbProbeFailing", "search"), 120, logs)
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["instance"] == "search"
    assert (REPO / alert["annotations"]["runbook_url"]).is_file()
    assert probes()["vault"] == 1.0  # the others stay healthy
    assert until("Watchdog at the receiver", lambda: firing("Watchdog"), 120, logs)["labels"]["severity"] == "none"
