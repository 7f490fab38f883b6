"""The inventory of a zero-config run (`--basb-url`, `--basb-command`): environment `adhoc`, one
service per URL or command, as YAML a team can save and keep.

Pure: no network, no pytest. The run (`run/adhoc.py`) names each service after the server once
it answered; without a connection (`--basb-print-inventory`) the id is guessed from the URL or
the command.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

ADHOC_ENV = "adhoc"
ADHOC_SUITES = "health or smoke"  # what a zero-config run checks unless -m says otherwise
_NOT_ID = re.compile(r"[^a-z0-9]+")
# Launchers whose first real argument names the server better than they do.
_LAUNCHERS = {"npx", "uvx", "pipx", "bunx", "node", "deno", "bun", "uv", "python", "python3", "docker", "run", "-m"}


class AdhocError(ValueError):
    """A --basb-url or --basb-command that cannot be used, phrased for the command line."""


@dataclass(frozen=True)
class AdhocService:
    """One service of a zero-config run: where it is, and the id it goes by."""

    id: str
    transport: str  # stdio | streamable-http | sse
    command: tuple[str, ...] = ()
    url: str | None = None

    @property
    def given(self) -> str:
        """The command-line value it came from (for messages)."""
        return self.url if self.url is not None else shlex.join(self.command)


def sanitised(name: str) -> str:
    """A service id ([a-z0-9][a-z0-9-]*) from any name: `Basb Testkit_2` -> `basb-testkit-2`."""
    text = _NOT_ID.sub("-", name.lower()).strip("-")
    return text[:48].strip("-") or "service"


def unique(ids: Sequence[str]) -> list[str]:
    """The ids, with `-2`, `-3`, ... added where one repeats (two servers with one name)."""
    seen: dict[str, int] = {}
    taken = set(ids)
    result = []
    for service_id in ids:
        seen[service_id] = seen.get(service_id, 0) + 1
        candidate, n = service_id, seen[service_id]
        while n > 1 and (candidate := f"{service_id}-{n}") in taken:
            n += 1
        taken.add(candidate)
        result.append(candidate)
    return result


def transport_of_url(url: str) -> str:
    """SSE when the path ends in /sse (the usual SSE endpoint), else streamable HTTP."""
    return "sse" if urlsplit(url).path.rstrip("/").endswith("/sse") else "streamable-http"


def guessed_id(service: AdhocService) -> str:
    """An id without asking the server: the script or package a command runs, or the URL's host and port."""
    if service.url is not None:
        parts = urlsplit(service.url)
        return sanitised(f"{parts.hostname or 'service'}-{parts.port}" if parts.port else parts.hostname or "service")
    for word in service.command:
        if word.startswith("-") or word in _LAUNCHERS:
            continue
        name = PurePosixPath(_without_version(word))
        stem = name.stem if name.suffix in (".py", ".js", ".mjs", ".ts") else name.name
        if stem in ("index", "main", "server", "__main__") and len(name.parts) > 1:
            stem = next((p for p in reversed(name.parts[:-1]) if p not in ("dist", "build", "src", "lib")), stem)
        return sanitised(stem)
    return sanitised(PurePosixPath(service.command[0]).name) if service.command else "service"


def _without_version(word: str) -> str:
    """npm's `@scope/name@1.2` and `name@1.2` without the version; a path is left alone."""
    if word.startswith("@"):
        return word[1:].split("@", 1)[0]
    return word.split("@", 1)[0] if "/" not in word else word


def adhoc_services(urls: Iterable[str], commands: Iterable[str]) -> list[AdhocService]:
    """One service per --basb-url and --basb-command, in that order, with guessed unique ids."""
    services = []
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise AdhocError(f"--basb-url={url}: not an http(s) URL; e.g. --basb-url=http://127.0.0.1:8931/mcp")
        services.append(AdhocService(id="", transport=transport_of_url(url), url=url))
    for text in commands:
        try:
            argv = tuple(shlex.split(text))
        except ValueError as exc:
            raise AdhocError(f'--basb-command="{text}": {exc}; quote it as a shell would') from None
        if not argv:
            raise AdhocError('--basb-command: empty; give the command, e.g. --basb-command="npx -y my-server"')
        services.append(AdhocService(id="", transport="stdio", command=argv))
    return renamed(services, [guessed_id(s) for s in services])


def renamed(services: Sequence[AdhocService], ids: Sequence[str]) -> list[AdhocService]:
    """The services under these ids, sanitised and made unique."""
    return [replace(s, id=i) for s, i in zip(services, unique([sanitised(i) for i in ids]), strict=True)]


def inventory_data(
    services: Sequence[AdhocService], *, timeout_s: float | None = None, cwd: str | None = None
) -> dict[str, Any]:
    """The inventory (format v1) of these services in environment `adhoc`. `cwd` pins where stdio
    commands run (the run's own copy lives in a temporary folder); a saved copy runs them beside itself."""
    entries: dict[str, Any] = {}
    for service in services:
        entry: dict[str, Any] = {"transport": service.transport}
        if service.url is not None:
            entry["url"] = service.url
        else:
            entry["command"] = list(service.command)
            if cwd is not None:
                entry["cwd"] = cwd
        entries[service.id] = entry
    data: dict[str, Any] = {"version": 1}
    if timeout_s is not None:
        data["defaults"] = {"timeout_s": timeout_s}
    data["environments"] = {ADHOC_ENV: {"services": entries}}
    return data


def inventory_yaml(services: Sequence[AdhocService], *, timeout_s: float | None = None, cwd: str | None = None) -> str:
    """The inventory a person saves: a header that says how to use it, then the YAML (`cwd`: where
    stdio commands run, relative to the file; None: beside it)."""
    import yaml

    header = (
        "# pytest-basb inventory of a zero-config run. Save it as basb-inventory.yaml, then run:\n"
        '#   pytest --basb-env=adhoc -m "health or smoke"\n'
        "# Add expect: (server_name, tools) and smoke: calls per service: docs/reference/inventory.md\n"
    )
    data = inventory_data(services, timeout_s=timeout_s, cwd=cwd)
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
    return header + body
