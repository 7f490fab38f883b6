"""`basb-probe`: a continuous MCP prober beside the stack, scraped by Prometheus blackbox-style.

    basb-probe --inventory=basb-inventory.yaml --env=staging-stack --listen=127.0.0.1:9470

`GET /probe?service=ID` probes one service of the environment per request (the handshake, one
listing, its declared smoke calls, each under the service's `timeout_s`) and answers
`basb_probe_success{service}` and `basb_probe_duration_seconds{service,phase}`; `GET /metrics`
answers the prober's own process metrics. A probe also ends within Prometheus' scrape timeout (the
`X-Prometheus-Scrape-Timeout-Seconds` header), so a hung service still yields a `0` sample. An
unknown service is HTTP 400. SIGTERM or Ctrl-C stops it cleanly (exit 0). Exit 2 on bad input
(usage, inventory). Secrets never appear in its output.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter

    from pytest_basb.connection.runtime import McpRuntime
    from pytest_basb.inventory.load import Environment
    from pytest_basb.inventory.redaction import Redactor

DEFAULT_LISTEN = "127.0.0.1:9470"
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"
SCRAPE_MARGIN_S = 0.5  # of Prometheus' scrape timeout, kept for the answer to reach it


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) and usage errors (2): return the code, no traceback
        return exc.code if isinstance(exc.code, int) else 2
    try:
        host, port = parse_listen(args.listen)
    except ValueError as exc:
        return _error(str(exc))
    from pytest_basb.inventory.load import InventoryError, load_environment

    try:
        environment = load_environment(Path(args.inventory), args.env)
    except InventoryError as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(f"{args.inventory}: {exc.strerror or exc}")
    return serve(environment, host, port)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="basb-probe", description="Probe MCP services for Prometheus (blackbox_exporter style)"
    )
    parser.add_argument("--inventory", default="basb-inventory.yaml", help="inventory file (default: %(default)s)")
    parser.add_argument("--env", required=True, help="the environment whose services are probed")
    parser.add_argument("--listen", default=DEFAULT_LISTEN, help="HOST:PORT to serve on (default: %(default)s)")
    return parser


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT` (IPv6 in brackets) -> (host, port); ValueError saying what is wrong."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen must be HOST:PORT, e.g. {DEFAULT_LISTEN}; got {text!r}")
    return host, int(port)


def serve(environment: Environment, host: str, port: int) -> int:
    """Serve until SIGTERM or Ctrl-C; 0 after a clean stop, 2 when the address cannot be bound."""
    from pytest_basb.connection.runtime import McpRuntime
    from pytest_basb.inventory.redaction import Redactor

    runtime = McpRuntime()
    _ = runtime.portal  # start the loop thread now: request threads must not race to create it
    prober = Prober(environment, runtime, Redactor(environment.secrets))
    try:
        server = ThreadingHTTPServer((host, port), _handler(prober))
    except OSError as exc:
        runtime.close(fast=True)
        return _error(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    server.daemon_threads = True
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if not stop.is_set():
            stop.set()
            threading.Thread(target=server.shutdown, daemon=True).start()  # not from serve_forever's thread

    previous = signal.signal(signal.SIGTERM, on_signal)
    where = f"http://{host}:{server.server_address[1]}"
    print(
        f"basb-probe: {len(environment.services)} services of {environment.name} on {where} "
        "(/probe?service=ID, /metrics)",
        flush=True,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
        runtime.close(fast=True)
    print("basb-probe: stopped", flush=True)
    return 0


class Prober:
    """The services one prober answers for, the runtime their sessions live on, its own metrics."""

    def __init__(self, environment: Environment, runtime: McpRuntime, redactor: Redactor) -> None:
        self.environment = environment
        self.runtime = runtime
        self.redactor = redactor
        self.ids = sorted(s.id for s in environment.services)
        self.registry, self.probes = _own_metrics()

    def probe(self, service_id: str, budget_s: float | None = None) -> bytes:
        from pytest_basb.connection.probe import probe_service
        from pytest_basb.report.probe_metrics import probe_exposition

        service = self.environment.service(service_id)
        outcome = probe_service(self.runtime, service, self.redactor, budget_s=budget_s)
        self.probes.labels(service=service_id, result="success" if outcome.success else "failure").inc()
        if outcome.failure:
            print(f"basb-probe: {service_id}: {outcome.failure}", file=sys.stderr, flush=True)
        return probe_exposition(outcome)

    def own_metrics(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


def _own_metrics() -> tuple[CollectorRegistry, Counter]:
    """A private registry with the process, platform and GC collectors and a probe counter."""
    from prometheus_client import CollectorRegistry, Counter
    from prometheus_client.gc_collector import GCCollector
    from prometheus_client.platform_collector import PlatformCollector
    from prometheus_client.process_collector import ProcessCollector

    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    probes = Counter("basb_probe_requests", "Probes answered, by service and result", ["service", "result"],
                     registry=registry)  # fmt: skip
    return registry, probes


def _handler(prober: Prober) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "basb-probe"

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/probe":
                services = parse_qs(url.query).get("service", [])
                if len(services) != 1 or services[0] not in prober.ids:
                    asked = f"unknown service {services[0]!r}" if len(services) == 1 else "give exactly one ?service=ID"
                    known = ", ".join(prober.ids)
                    self._answer(400, f"{asked} in environment {prober.environment.name}; known: {known}\n".encode())
                    return
                self._answer(200, prober.probe(services[0], scrape_budget(self.headers)), TEXT_FORMAT)
            elif url.path == "/metrics":
                self._answer(200, prober.own_metrics(), TEXT_FORMAT)
            elif url.path == "/":
                links = "".join(f"/probe?service={s}\n" for s in prober.ids)
                self._answer(200, f"basb-probe for {prober.environment.name}\n/metrics\n{links}".encode())
            else:
                self._answer(404, b"not found: try /probe?service=ID or /metrics\n")

        def _answer(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per scrape would drown the failures printed by Prober.probe

    return Handler


def scrape_budget(headers: Any) -> float | None:
    """What Prometheus' scrape timeout leaves for the probe (its header, less half a second for the
    answer to travel, as blackbox_exporter does); None when the header is missing or not a number."""
    try:
        timeout = float(headers.get("X-Prometheus-Scrape-Timeout-Seconds") or "")
    except ValueError:
        return None
    return max(timeout - SCRAPE_MARGIN_S, 0.1)


def _error(message: str) -> int:
    print(f"basb-probe: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
