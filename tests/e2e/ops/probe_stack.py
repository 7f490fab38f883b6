"""Processes the prober's end-to-end tests start and always stop: a reference MCP service over HTTP,
basb-probe, the alert webhook receiver, Prometheus and Alertmanager (Debian's packages), each on a
free port with its data in the test's tmp_path."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from pytest_basb.targets.healthcheck import Unhealthy, probe
from tests.helpers import REPO, free_port

T = TypeVar("T")
STARTUP_S = 90  # a Python MCP server or Prometheus can take long to start on a loaded machine
TOKEN = "probe-t0ken-5ecr3t"  # the reference service requires it; it must never be printed


def daemon(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def stop(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM (after SIGCONT, in case a test stopped it), then SIGKILL after 20 s; the exit status."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGCONT)
            process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return int(process.returncode)


def wait_for(what: str, get: Callable[[], T | None], process: subprocess.Popen[bytes] | None, log: Path) -> T:
    """`get()` once it is not None; fails with `log` when `process` exits or time runs out."""
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline and (process is None or process.poll() is None):
        with contextlib.suppress(OSError, ValueError):
            value = get()
            if value is not None:
                return value
        time.sleep(0.25)
    status = process.poll() if process else None
    raise AssertionError(f"{what}: not within {STARTUP_S} s (exit {status})\n{log.read_text()[-3000:]}")


def get(url: str, timeout: float = 60, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian package {package}; .ci/run installs it)")
    return path


@contextlib.contextmanager
def reference_service(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """distill (requires a bearer token) on a copy of the sample vault; yields it once it answers MCP."""
    port = free_port()
    vault = tmp_path / "vault"
    shutil.copytree(REPO / "fixtures" / "sample-vault", vault)
    log = tmp_path / "distill.log"
    env = {**os.environ, "BASB_VAULT": str(vault), "BASB_TOKEN": TOKEN}
    server = daemon([sys.executable, str(REPO / "fixtures" / "services" / "distill.py"), "--http", str(port)], log, env)
    try:

        def healthy() -> bool | None:
            os.environ["BASB_TOKEN"] = TOKEN  # healthcheck.probe sends it as the service's own container would
            try:
                probe(f"http://127.0.0.1:{port}/mcp", 5)
            except Unhealthy:
                return None
            finally:
                os.environ.pop("BASB_TOKEN", None)
            return True

        wait_for("distill answering MCP", healthy, server, log)
        yield server, port
    finally:
        stop(server)


def write_inventory(tmp_path: Path, services: dict[str, dict[str, Any]]) -> Path:
    path = tmp_path / "basb-inventory.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "environments": {"probed": {"services": services}}}))
    return path


def distill_at(port: int, **extra: Any) -> dict[str, Any]:
    return {
        "transport": "streamable-http",
        "url": f"http://127.0.0.1:{port}/mcp",
        "headers": {"Authorization": "Bearer ${PROBE_TOKEN}"},  # a secret from the environment
        "smoke": [{"tool": "get_layers", "arguments": {"path": "3 Resources/Progressive Summarization.md"}}],
        **extra,
    }


@contextlib.contextmanager
def basb_probe(tmp_path: Path, inventory: Path, env_name: str = "probed") -> Iterator[tuple[str, Path]]:
    """basb-probe serving `env_name`; yields its base URL and its log (stdout and stderr)."""
    port = free_port()
    log = tmp_path / "basb-probe.log"
    argv = [sys.executable, "-m", "pytest_basb.cli.probe", f"--inventory={inventory}", f"--env={env_name}",
            f"--listen=127.0.0.1:{port}"]  # fmt: skip
    process = daemon(argv, log, {**os.environ, "PROBE_TOKEN": TOKEN})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for("basb-probe listening", lambda: get(f"{base}/metrics", 5)[0] == 200 or None, process, log)
        yield base, log
    finally:
        status = stop(process)
        assert status == 0, f"basb-probe exited {status} on SIGTERM\n{log.read_text()[-2000:]}"
        assert "basb-probe: stopped" in log.read_text()


@contextlib.contextmanager
def alert_receiver(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The webhook receiver; yields its base URL and the file it records to."""
    port = free_port()
    out = tmp_path / "alerts.json"
    log = tmp_path / "alert-receiver.log"
    argv = [sys.executable, "-m", "pytest_basb.ops.alert_receiver", "--listen", f"127.0.0.1:{port}", "--out", str(out)]
    process = daemon(argv, log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for("alert receiver listening", lambda: get(f"{base}/healthz", 5)[0] == 200 or None, process, log)
        yield base, out
    finally:
        assert stop(process) == 0, log.read_text()


def received(base: str) -> list[dict[str, Any]]:
    status, body = get(f"{base}/alerts", 10)
    assert status == 200, body
    data: list[dict[str, Any]] = json.loads(body)
    return data


DEPLOY = REPO / "deploy"
# Timings of the end-to-end alert path: "shipped" exactly as deploy/ has them; "test" shortened
# (probe scrape 2 s, rules evaluated every 1 s, BasbProbeFailing without `for`, group_wait 1 s,
# Prometheus' resend delay 1 s).
TIMINGS = ("test", "shipped")


def derived_configs(
    tmp_path: Path, timings: str, *, probe: str, alertmanager: str, receiver: str, services: list[str]
) -> tuple[Path, Path]:
    """prometheus.yml (with the probe alerts) and alertmanager.yml derived from the shipped ones, with
    local addresses; returns their paths."""
    shipped = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    job = next(j for j in shipped["scrape_configs"] if j["job_name"] == "basb-probe")
    job["static_configs"] = [{"targets": services}]
    next(r for r in job["relabel_configs"] if r["target_label"] == "__address__")["replacement"] = probe
    groups = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]
    group = next(g for g in groups if g["name"] == "basb-probe-alerts")
    route = yaml.safe_load((DEPLOY / "alertmanager" / "alertmanager.yml").read_text())
    route["receivers"][0]["webhook_configs"][0]["url"] = f"{receiver}/alertmanager"
    if timings == "test":
        job["scrape_interval"] = job["scrape_timeout"] = "2s"
        group["interval"] = "1s"
        next(r for r in group["rules"] if r.get("alert") == "BasbProbeFailing")["for"] = "0s"
        route["route"]["group_wait"] = "1s"
    rules = tmp_path / "alerts.yml"
    rules.write_text(yaml.safe_dump({"groups": [group]}))
    prometheus = tmp_path / "prometheus.yml"
    prometheus.write_text(
        yaml.safe_dump(
            {
                "global": shipped["global"],
                "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
                "rule_files": [str(rules)],
                "scrape_configs": [job],
            }
        )
    )
    am = tmp_path / "alertmanager.yml"
    am.write_text(yaml.safe_dump(route))
    return prometheus, am


@contextlib.contextmanager
def monitoring(tmp_path: Path, timings: str, probe_base: str, receiver: str, services: list[str]) -> Iterator[str]:
    """Alertmanager and Prometheus (Debian's packages) as plain processes; yields Prometheus' URL."""
    prometheus_bin = tool("prometheus", "prometheus")
    alertmanager_bin = tool("prometheus-alertmanager", "prometheus-alertmanager")
    am_port, prom_port = free_port(), free_port()
    prometheus_yml, alertmanager_yml = derived_configs(
        tmp_path, timings, probe=probe_base.removeprefix("http://"), alertmanager=f"127.0.0.1:{am_port}",
        receiver=receiver, services=services,
    )  # fmt: skip
    am_log, prom_log = tmp_path / "alertmanager.log", tmp_path / "prometheus.log"
    am = daemon([alertmanager_bin, f"--config.file={alertmanager_yml}", f"--storage.path={tmp_path / 'am-data'}",
                 f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="], am_log)  # fmt: skip
    try:
        wait_for("alertmanager ready", lambda: get(f"http://127.0.0.1:{am_port}/-/ready", 5)[0] == 200 or None, am,
                 am_log)  # fmt: skip
        # Alerts that fire before Prometheus has found Alertmanager (the Watchdog at once) go out again
        # only after the resend delay (1 min): the test timings shorten it.
        resend = ["--rules.alert.resend-delay=1s"] if timings == "test" else []
        prom = daemon([prometheus_bin, f"--config.file={prometheus_yml}", f"--storage.tsdb.path={tmp_path / 'data'}",
                       f"--web.listen-address=127.0.0.1:{prom_port}", *resend], prom_log)  # fmt: skip
        try:
            url = f"http://127.0.0.1:{prom_port}"
            wait_for("prometheus ready", lambda: get(f"{url}/-/ready", 5)[0] == 200 or None, prom, prom_log)
            yield url
        finally:
            stop(prom)
    finally:
        stop(am)


def probe_value(prometheus: str, service: str) -> float | None:
    """The latest basb_probe_success of `service` in Prometheus, None before the first scrape."""
    query = urllib.parse.quote(f'basb_probe_success{{service="{service}"}}')
    status, body = get(f"{prometheus}/api/v1/query?query={query}", 10)
    result = json.loads(body)["data"]["result"] if status == 200 else []
    return float(result[0]["value"][1]) if result else None


def firing_notification(receiver: str, alertname: str, service: str | None = None) -> dict[str, Any] | None:
    """The first notification the receiver got with `alertname` firing (for `service`), or None."""
    for item in received(receiver):
        for alert in item["payload"].get("alerts", []):
            labels = alert.get("labels", {})
            if (alert.get("status"), labels.get("alertname")) == ("firing", alertname) and (
                service is None or labels.get("service") == service
            ):
                return {**item, "alert": alert}
    return None


def alert_path_seconds(tmp_path: Path, timings: str) -> tuple[float, dict[str, Any], dict[str, Any]]:
    """Stop a healthy, probed reference service and time how long until its BasbProbeFailing alert
    reaches the webhook receiver. Returns the seconds, that notification and the Watchdog's."""
    with (
        reference_service(tmp_path) as (server, port),
        alert_receiver(tmp_path) as (receiver, _out),
    ):
        inventory = write_inventory(tmp_path, {"distill": distill_at(port, timeout_s=3)})
        with (
            basb_probe(tmp_path, inventory) as (probe_base, _log),
            monitoring(tmp_path, timings, probe_base, receiver, ["distill"]) as prometheus,
        ):
            # Steady state: the probe passes in Prometheus and the alert path carries the Watchdog.
            wait_for("probe success 1 in Prometheus", lambda: probe_value(prometheus, "distill") == 1 or None,
                     None, tmp_path / "prometheus.log")  # fmt: skip
            watchdog = wait_for("Watchdog at the receiver", lambda: firing_notification(receiver, "Watchdog"), None,
                                tmp_path / "alertmanager.log")  # fmt: skip
            assert firing_notification(receiver, "BasbProbeFailing") is None, received(receiver)
            stopped_at = time.monotonic()
            stop(server)
            alert = wait_for("BasbProbeFailing at the receiver",
                             lambda: firing_notification(receiver, "BasbProbeFailing", "distill"),
                             None, tmp_path / "prometheus.log")  # fmt: skip
            return time.monotonic() - stopped_at, alert, watchdog


def main(argv: list[str]) -> int:
    """`python -m tests.e2e.ops.probe_stack [test|shipped] [RUNS]`: measure the alert path (seconds
    from stopping the service to its alert at the receiver) RUNS times and print each and the median."""
    import statistics
    import tempfile

    timings = argv[0] if argv else "shipped"
    runs = int(argv[1]) if len(argv) > 1 else 3
    if timings not in TIMINGS:
        print(f"timings must be one of {', '.join(TIMINGS)}", file=sys.stderr)
        return 2
    seconds = []
    for run in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            seconds.append(alert_path_seconds(Path(tmp), timings)[0])
        print(f"run {run + 1}: {seconds[-1]:.1f} s", flush=True)
    print(f"{timings} timings: median {statistics.median(seconds):.1f} s of {runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
