"""Ports for launched servers, taken per run: the inventory's port when it is free, else another.

Two gate runs on one machine must never test each other's servers. Every port a run launches a
server on is held with an exclusive `flock` on `<temp dir>/basb-locks-<uid>/port-<port>.lock` for the
run's whole life; the kernel releases it when the run ends, after SIGKILL too, so a lock never
outlives its run. When another run holds the inventory's port, or another program listens there,
the server is moved to a free port: the port number is rewritten in its `url` (and the health and
metrics URLs on that port), its `launch` argv and its `env` values. The inventory's port is a
preference, not a promise.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import ipaddress
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pytest_basb.inventory.load import ServiceConfig
from pytest_basb.model.locks import lock_folder
from pytest_basb.targets.base import TargetError

_ATTEMPTS = 50  # free ports tried before giving up (each one another run may take first)


def loopback_port(url: str | None) -> tuple[str, int] | None:
    """(host to bind, port) of a URL on this machine with an explicit port; None otherwise."""
    if not url:
        return None
    try:
        where = urlsplit(url)
        port = where.port
    except ValueError:
        return None
    host = where.hostname or ""
    if port is None:
        return None
    if host == "localhost":
        return "127.0.0.1", port
    with contextlib.suppress(ValueError):
        address = ipaddress.ip_address(host)
        if address.is_loopback or address.is_unspecified:
            return ("::1" if address.version == 6 else "127.0.0.1"), port
    return None


@dataclass
class PortKeeper:
    """The ports this run holds (one open, locked file each), released when the run stops its servers."""

    folder: Path = field(default_factory=lock_folder)
    held: dict[int, int] = field(default_factory=dict)  # port -> fd of its lock file

    def claim(self, host: str, preferred: int) -> int:
        """Hold `preferred` when no other run holds it and nothing listens there, else a free port."""
        if self._hold(host, preferred):
            return preferred
        for _ in range(_ATTEMPTS):
            port = _unused_port(host)
            if self._hold(host, port):
                return port
        raise TargetError(f"no free port found on {host} after {_ATTEMPTS} tries")

    def release_all(self) -> None:
        for fd in self.held.values():
            with contextlib.suppress(OSError):
                os.close(fd)  # closing the file drops the lock
        self.held.clear()

    def _hold(self, host: str, port: int) -> bool:
        if port in self.held:  # two services of this run on one port: the second is moved
            return False
        fd = os.open(self.folder / f"port-{port}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # another run holds it
            os.close(fd)
            return False
        if not _bindable(host, port):  # a program that is not a gate run listens there
            os.close(fd)
            return False
        self.held[port] = fd
        return True


def moved(service: ServiceConfig, old: int, new: int) -> ServiceConfig:
    """The service with port `old` replaced by `new` in its URLs, launch argv and env values."""
    if old == new:
        return service
    number = re.compile(rf"(?<!\d){old}(?!\d)")
    launch = tuple(number.sub(str(new), arg) for arg in service.launch)
    env = {key: number.sub(str(new), value) for key, value in service.env.items()}
    if launch == service.launch and env == dict(service.env):
        raise TargetError(
            f"{service.id}: port {old} of {service.url} is taken (by another gate run or another program), "
            f"and the service cannot be moved to a free port because neither its `launch` command nor its "
            f"`env` names the port: pass the port in `launch` (e.g. `--port {old}`), or stop what holds it."
        )
    return dataclasses.replace(
        service,
        url=_with_port(service.url, old, new),
        health_url=_with_port(service.health_url, old, new),
        metrics_url=_with_port(service.metrics_url, old, new),
        launch=launch,
        env=env,
    )


def _with_port(url: str | None, old: int, new: int) -> str | None:
    where = loopback_port(url)
    if url is None or where is None or where[1] != old:
        return url  # another server (another port or host) is not moved
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit(":", 1)[0] + f":{new}"
    return urlunsplit(parts._replace(netloc=netloc))


def _bindable(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # A port in TIME_WAIT after a stopped server is free for a new one.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _unused_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port
