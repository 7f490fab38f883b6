"""Alertmanager, read by drills: is an alert for this service firing? (API v2, `GET /api/v2/alerts`)."""

from __future__ import annotations

_TIMEOUT_S = 2.0


def firing_for(alertmanager_url: str, service_id: str) -> bool:
    """Whether Alertmanager holds an active alert labelled service="<id>"; False when it cannot be asked."""
    import httpx

    url = alertmanager_url.rstrip("/") + "/api/v2/alerts"
    params = {"active": "true", "silenced": "false", "inhibited": "false", "filter": f'service="{service_id}"'}
    try:
        response = httpx.get(url, params=params, timeout=_TIMEOUT_S)
        response.raise_for_status()
        alerts = response.json()
    except (httpx.HTTPError, ValueError):
        return False
    return any(
        isinstance(alert, dict)
        and alert.get("labels", {}).get("service") == service_id
        and alert.get("status", {}).get("state") == "active"
        for alert in alerts
    )
