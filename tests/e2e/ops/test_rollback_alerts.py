"""The rollback check waits until the stack's alerts resolve in a real Alertmanager (Debian's
prometheus-alertmanager, started on a free port with its data in tmp_path)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.ops.test_deploy import SCRIPTS, deploy_and_gate, script, stub_engine  # noqa: F401
from tests.helpers import free_port

CONFIG = """route:
  receiver: nobody
receivers:
  - name: nobody
"""


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        pytest.skip("prometheus-alertmanager is not installed (.ci/run installs it)")
    config = tmp_path / "alertmanager.yml"
    config.write_text(CONFIG)
    port = free_port()
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.path={tmp_path / 'am-data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=5):
                    break
            except OSError:
                assert process.poll() is None, "alertmanager exited"
                assert time.monotonic() < deadline, "alertmanager not ready after 60 s"
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def post_alert(url: str, *, ends_in: timedelta, **labels: str) -> None:
    now = datetime.now(UTC)
    body = [{"labels": labels, "startsAt": (now - timedelta(minutes=1)).isoformat(),
             "endsAt": (now + ends_in).isoformat()}]  # fmt: skip
    request = urllib.request.Request(
        f"{url}/api/v2/alerts", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


FIRING = {"alertname": "BasbServiceDown", "stack": "basb-staging", "service": "search", "environment": "staging"}


def test_rollback_waits_until_the_stacks_alerts_resolve(
    stub_engine: dict[str, str],  # noqa: F811
    alertmanager: str,
    tmp_path: Path,
) -> None:
    deploy_and_gate("1.0", stub_engine, tmp_path)
    hour = timedelta(hours=1)
    post_alert(alertmanager, ends_in=hour, **FIRING)
    post_alert(alertmanager, ends_in=hour, alertname="Watchdog", stack="basb-staging")  # always fires
    post_alert(alertmanager, ends_in=hour, alertname="BasbServiceDown", stack="other-stack", service="x")
    env = {**stub_engine, "BASB_ALERTMANAGER_URL": alertmanager + "/", "BASB_ALERTS_POLL": "1",
           "BASB_ALERTS_TIMEOUT": "300"}  # fmt: skip
    rollback = subprocess.Popen(
        ["bash", str(SCRIPTS / "rollback.sh")], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert rollback.stdout is not None
    seen = []
    try:
        for line in rollback.stdout:
            seen.append(line)
            if "to resolve" in line:
                break
        assert (
            "waiting for 1 firing alert(s) to resolve: BasbServiceDown{service=search,environment=staging}"
            in (seen[-1])
        ), "".join(seen)
        assert rollback.poll() is None  # still waiting while the alert fires
        post_alert(alertmanager, ends_in=-timedelta(seconds=1), **FIRING)  # Prometheus sends it resolved
        rest, _ = rollback.communicate(timeout=120)
    finally:
        if rollback.poll() is None:
            rollback.kill()
            rollback.wait()
    assert rollback.returncode == 0, "".join(seen) + rest
    assert "rollback: no alert of stack basb-staging is firing in" in rest


def test_rollback_fails_when_alerts_keep_firing_or_alertmanager_does_not_answer(
    stub_engine: dict[str, str],  # noqa: F811
    alertmanager: str,
    tmp_path: Path,
) -> None:
    deploy_and_gate("1.0", stub_engine, tmp_path)
    post_alert(alertmanager, ends_in=timedelta(hours=1), **FIRING)
    env = {**stub_engine, "BASB_ALERTS_POLL": "1", "BASB_ALERTS_TIMEOUT": "1"}
    firing = script("rollback.sh", env={**env, "BASB_ALERTMANAGER_URL": alertmanager})
    assert firing.returncode == 3, firing.stdout + firing.stderr
    assert "still firing after 1s: BasbServiceDown{service=search,environment=staging}" in firing.stderr
    assert "1.0 is live but alerts still fire" in firing.stderr
    gone = script("rollback.sh", env={**env, "BASB_ALERTMANAGER_URL": f"http://127.0.0.1:{free_port()}"})
    assert gone.returncode == 3
    assert "does not answer" in gone.stderr
    other = script("rollback.sh", env={**env, "BASB_ALERTMANAGER_URL": alertmanager, "BASB_ALERT_STACK": "prod"})
    assert other.returncode == 0, other.stderr  # the alert is staging's, not prod's
