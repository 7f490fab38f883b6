"""Reading the monitoring stack: GETs to Prometheus' HTTP API (/api/v1/...) and Alertmanager's API v2.

Every request is bounded by the timeout given, and every failure comes back as one line of text in
`ApiAnswer.error` (never an exception, never a hang): "connection refused at http://...", "no answer
from ... within 5 s", "... answered 503: ...". The checks in `checks/monitoring_stack.py` judge the data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pytest_basb.connection.http_probe import client
from pytest_basb.model.text import shorten


@dataclass(frozen=True)
class ApiAnswer:
    """What one GET gave: the answer's `data` (Prometheus) or body (Alertmanager), or an error."""

    url: str
    data: Any = None
    error: str | None = None


def get_json(base_url: str, path: str, *, timeout_s: float, params: Mapping[str, str] | None = None) -> ApiAnswer:
    """GET `base_url + path`; a Prometheus envelope (`{"status": ..., "data": ...}`) is unwrapped."""
    import httpx

    url = base_url.rstrip("/") + path
    try:
        response = client().get(url, params=dict(params or {}), timeout=timeout_s)
    except httpx.ConnectError as exc:
        refused = "refused" in str(exc).lower() or "errno 111" in str(exc).lower()
        return ApiAnswer(url, error=f"connection refused at {url}" if refused else f"cannot connect to {url}: {exc}")
    except httpx.TimeoutException:
        return ApiAnswer(url, error=f"no answer from {url} within {timeout_s:g} s")
    except httpx.HTTPError as exc:
        return ApiAnswer(url, error=f"GET {url} failed: {type(exc).__name__}: {exc}")
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("status") == "error":
        return ApiAnswer(
            url, error=f"{url} answered {response.status_code}: {body.get('errorType')}: {body.get('error')}"
        )
    if not 200 <= response.status_code < 300:
        return ApiAnswer(
            url, error=f"{url} answered {response.status_code}: {shorten(response.text, 200, squash=True)}"
        )
    if body is None:
        return ApiAnswer(
            url, error=f"{url} answered {response.status_code} without JSON: {shorten(response.text, 200, squash=True)}"
        )
    if isinstance(body, dict) and body.get("status") == "success" and "data" in body:
        return ApiAnswer(url, data=body["data"])
    return ApiAnswer(url, data=body)
