"""Drill faults on the containers target: `docker stop` / `pause` / `kill` a service's container, and the
runbook's recovery (`start` / `unpause` / `start`), through the Docker SDK the launcher already holds."""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from pytest_basb.targets.base import TargetError

if TYPE_CHECKING:
    from pytest_basb.targets.containers import ContainerLauncher

_STOP_GRACE_S = 10  # docker stop's own default: SIGTERM, then SIGKILL after this long


def _container(launcher: ContainerLauncher, service_id: str) -> Any:
    started = launcher.started.get(service_id)
    if started is None or started.container is None:
        raise TargetError(f"{service_id}: no running container of this run")
    return started.container.get_wrapped_container()


def inject(launcher: ContainerLauncher, service_id: str, mode: str) -> threading.Thread | None:
    """The fault, as `docker stop|pause|kill`. `docker stop` waits until the container has exited
    (up to its grace period), while the service is already going down: it runs in the returned
    thread, so detection is timed from the SIGTERM, not from the end of the stop."""
    container = _container(launcher, service_id)
    if mode == "stopped":
        stopping = threading.Thread(target=_stop_quietly, args=(container,), name=f"docker stop {service_id}")
        stopping.start()
        return stopping
    if mode not in ("hung", "crashed"):
        raise ValueError(f"unknown drill mode {mode!r}")
    try:
        if mode == "hung":
            container.pause()
        else:
            container.kill()
    except Exception as exc:  # docker's APIError, requests' errors
        raise TargetError(f"{service_id}: docker could not inject {mode}: {exc}") from None
    return None


def _stop_quietly(container: Any) -> None:
    # A stop that fails (already gone) leaves the recovery to say whether the container came back.
    with contextlib.suppress(Exception):
        container.stop(timeout=_STOP_GRACE_S)


STOP_WAIT_S = _STOP_GRACE_S + 10.0  # the longest `docker stop` takes: the grace, then SIGKILL


def recover(launcher: ContainerLauncher, service_id: str, mode: str, port: int) -> str:
    """`docker unpause` a hung container, `docker start` a stopped or crashed one; returns its MCP URL
    (a restarted container may be published on another host port)."""
    container = _container(launcher, service_id)
    try:
        if mode == "hung":
            container.unpause()
        else:
            container.start()
        container.reload()
        binding = container.attrs["NetworkSettings"]["Ports"][f"{port}/tcp"][0]
    except Exception as exc:
        raise TargetError(f"{service_id}: docker could not recover from {mode}: {exc}") from None
    started = launcher.started[service_id]
    where = urlsplit(started.url)
    started.url = urlunsplit(where._replace(netloc=f"{where.hostname}:{binding['HostPort']}"))
    return started.url
