"""A container healthcheck that speaks MCP: `python -m pytest_basb.targets.healthcheck URL`.

It POSTs a real `initialize` to a streamable-HTTP MCP endpoint, accepts the JSON or SSE reply,
requires a `serverInfo`, closes the session again (DELETE with its Mcp-Session-Id), and exits 0
(healthy) or 1 with one line saying why. When `BASB_TOKEN` is set (as for a service that requires
a bearer token, in the same container) it is sent as `Authorization: Bearer`; it is never printed.
Standard library only, so it is cheap enough to run every few seconds inside each service's
container (deploy/compose.yaml) and from deploy/scripts/deploy.sh.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

PROTOCOL_VERSION = "2025-06-18"
_INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": PROTOCOL_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "basb-healthcheck", "version": "1.0"},
    },
}


class Unhealthy(Exception):
    pass


def _auth() -> dict[str, str]:
    token = os.environ.get("BASB_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


def probe(url: str, timeout_s: float) -> dict[str, Any]:
    """The `initialize` result of the MCP server at `url`; Unhealthy says why there is none."""
    request = urllib.request.Request(
        url,
        data=json.dumps(_INITIALIZE).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": PROTOCOL_VERSION,
            **_auth(),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            session = response.headers.get("Mcp-Session-Id")
            body = response.read(1 << 20).decode("utf-8", "replace")
            kind = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        raise Unhealthy(f"HTTP {exc.code} from {url}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise Unhealthy(f"{url}: {getattr(exc, 'reason', exc)}") from None
    message = _message(body, kind)
    if session:
        _close(url, session, timeout_s)
    result = message.get("result")
    if not isinstance(result, dict) or not isinstance(result.get("serverInfo"), dict):
        error = message.get("error")
        raise Unhealthy(f"{url}: initialize failed: {error.get('message') if isinstance(error, dict) else message}")
    return result


def _message(body: str, content_type: str) -> dict[str, Any]:
    """The JSON-RPC reply: the body itself, or the first SSE `data:` event that is one."""
    candidates = [body]
    if "text/event-stream" in content_type:
        candidates = [line[5:].strip() for line in body.splitlines() if line.startswith("data:")]
    for text in candidates:
        try:
            data = json.loads(text)
        except ValueError:
            continue
        if isinstance(data, dict) and data.get("id") == _INITIALIZE["id"]:
            return data
    raise Unhealthy(f"no JSON-RPC reply to initialize (Content-Type {content_type or 'none'})")


def _close(url: str, session: str, timeout_s: float) -> None:
    """End the session, so a healthcheck every few seconds does not pile sessions up in the server."""
    request = urllib.request.Request(url, method="DELETE", headers={"Mcp-Session-Id": session, **_auth()})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s):
            pass
    except (urllib.error.URLError, OSError):
        pass  # a server may refuse DELETE (405): the session then times out on its own


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_basb.targets.healthcheck", description=__doc__.splitlines()[0]
    )
    parser.add_argument("url", help="the MCP endpoint, e.g. http://127.0.0.1:8930/mcp")
    parser.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS", help="default: %(default)s")
    args = parser.parse_args(argv)
    try:
        result = probe(args.url, args.timeout)
    except Unhealthy as exc:
        print(f"unhealthy: {exc}")
        return 1
    info = result["serverInfo"]
    print(f"healthy: {info.get('name')} {info.get('version')} (MCP {result.get('protocolVersion')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
