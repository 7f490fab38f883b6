"""Tool listings shared by the processes of one run, through the run folder.

Under xdist each service is checked by one worker, but a few checks compare a service with all the
others (`security.shadowing`). Rather than every worker opening a session to every service, the
worker that owns a service publishes its tools/list once its prefetch is done, and the others read
it (waiting for it within the service's deadline; only if it never comes do they connect themselves).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from pytest_basb.model.files import publish_json

_FOLDER = "listings"
_POLL_S = 0.05


def publish(run_dir: Path, service_id: str, tools: list[dict[str, Any]] | None, error: str | None = None) -> None:
    folder = run_dir / _FOLDER
    folder.mkdir(exist_ok=True)
    publish_json(folder / f"{service_id}.json", {"tools": tools, "error": error})


def wait_for(run_dir: Path, service_id: str, timeout_s: float) -> dict[str, Any] | None:
    """{"tools": [...] | None, "error": str | None} once published, or None after `timeout_s`."""
    target = run_dir / _FOLDER / f"{service_id}.json"
    deadline = time.monotonic() + timeout_s
    while True:
        if target.exists():
            published: dict[str, Any] = json.loads(target.read_text())
            return published
        if time.monotonic() >= deadline:
            return None
        time.sleep(_POLL_S)
