"""deploy/: Prometheus rules (promtool), the Grafana dashboard, the compose stack (docker-compose
config), the deploy/rollback/teardown scripts (shellcheck; run against a stand-in docker, and
against the real engine when it and the images are there) and the MCP healthcheck they rely on."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import REPO, free_port

DEPLOY = REPO / "deploy"


PROMETHEUS = DEPLOY / "prometheus"


SCRIPTS = DEPLOY / "scripts"


SERVICES = ("vault", "capture", "organize", "distill", "express", "search")


def tool(name: str, reason: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed ({reason}; .ci/run installs it)")
    return path


def run(*argv: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, **kwargs)


def test_promtool_checks_config_and_rules() -> None:
    promtool = tool("promtool", "Debian package prometheus")
    result = run(promtool, "check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 11 rules found" in result.stdout  # alerts.yml
    assert "SUCCESS: 7 rules found" in result.stdout  # recording.yml


def test_amtool_checks_the_alertmanager_config() -> None:
    amtool = tool("amtool", "Debian package prometheus-alertmanager")
    result = run(amtool, "check-config", str(DEPLOY / "alertmanager" / "alertmanager.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert "1 receivers" in result.stdout


def test_promtool_rule_unit_tests_pass() -> None:
    promtool = tool("promtool", "Debian package prometheus")
    tests = sorted(str(p) for p in (PROMETHEUS / "tests").glob("*.yml"))
    assert tests
    result = run(promtool, "test", "rules", *tests)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_compose_file_is_valid_and_publishes_on_loopback_only() -> None:
    compose = tool("docker-compose", "Debian package docker-compose")
    result = run(
        compose, "-f", str(DEPLOY / "compose.yaml"), "--profile", "monitoring", "config", env=_env(BASB_TAG="1.0")
    )
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    inventory = yaml.safe_load((REPO / "basb-inventory.yaml").read_text())
    staging = inventory["environments"]["staging"]["services"]
    for name in SERVICES:
        service = config["services"][name]
        assert service["image"] == staging[name]["container"]["image"], name
        assert service["healthcheck"]["test"][1:4] == ["/opt/venv/bin/python", "-m", "pytest_basb.targets.healthcheck"]
        assert any(v.startswith("vault:/vault") for v in service["volumes"]), name
    for name, service in config["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    assert "vault" in config["volumes"]


def test_compose_monitoring_profile_wires_probe_alertmanager_and_receiver() -> None:
    """Prometheus sends to the stack's Alertmanager, scrapes basb-probe blackbox-style for every service
    of the inventory, and Alertmanager's receiver URL is the receiver service of the stack."""
    compose = tool("docker-compose", "Debian package docker-compose")
    result = run(
        compose, "-f", str(DEPLOY / "compose.yaml"), "--profile", "monitoring", "config", env=_env(BASB_TAG="1.0")
    )
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    probe = services["probe"]
    assert probe["entrypoint"] == ["/opt/venv/bin/basb-probe"]
    environment = next(a.split("=", 1)[1] for a in probe["command"] if a.startswith("--env="))
    listen_port = next(a.rsplit(":", 1)[1] for a in probe["command"] if a.startswith("--listen="))
    inventory = yaml.safe_load((REPO / "basb-inventory.yaml").read_text())["environments"]
    internal = inventory[environment]
    assert set(internal["services"]) == set(SERVICES)
    for name in SERVICES:  # addressed by compose service name and the services' container port
        assert internal["services"][name]["url"] == f"http://{name}:8930/mcp"
    receiver = services["alert-receiver"]
    assert receiver["entrypoint"][-2:] == ["-m", "pytest_basb.ops.alert_receiver"]
    receiver_port = receiver["command"][receiver["command"].index("--listen") + 1].rsplit(":", 1)[1]

    prometheus = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
    assert "9093" in str(services["alertmanager"]["ports"][0])
    job = next(j for j in prometheus["scrape_configs"] if j["job_name"] == "basb-probe")
    assert job["metrics_path"] == "/probe"
    assert sorted(job["static_configs"][0]["targets"]) == sorted(SERVICES)
    relabel = {r["target_label"]: r for r in job["relabel_configs"]}
    assert relabel["__param_service"]["source_labels"] == ["__address__"]
    assert relabel["service"]["source_labels"] == ["__param_service"]
    assert relabel["__address__"]["replacement"] == f"probe:{listen_port}"

    alertmanager = yaml.safe_load((DEPLOY / "alertmanager" / "alertmanager.yml").read_text())
    receivers = {r["name"]: r for r in alertmanager["receivers"]}
    url = receivers[alertmanager["route"]["receiver"]]["webhook_configs"][0]["url"]
    assert url.startswith(f"http://alert-receiver:{receiver_port}/")


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}


def test_scripts_are_shellcheck_clean() -> None:
    shellcheck = tool("shellcheck", "Debian package shellcheck")
    result = run(shellcheck, "-x", *sorted(str(p) for p in SCRIPTS.glob("*.sh")), cwd=SCRIPTS)
    assert result.returncode == 0, result.stdout


STUB = """#!/usr/bin/env bash
# Stand-in for `{name}`: records each call, answers like the engine for the calls the scripts make.
echo "{name} BASB_TAG=${{BASB_TAG:-}} $*" >> "$STUB_LOG"
case "$*" in
  "image inspect "*) for image in $STUB_IMAGES; do [ "$image" = "$3" ] && exit 0; done; exit 1 ;;
  "inspect --format "*) echo "${{STUB_HEALTH:-healthy}}" ;;
  *" ps -q "*) echo "id-${{@: -1}}" ;;
esac
"""


@pytest.fixture
def stub_engine(tmp_path: Path) -> dict[str, str]:
    """docker and docker-compose stand-ins (no engine in this test), the scripts' state in tmp_path."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("docker", "docker-compose"):
        path = bin_dir / name
        path.write_text(STUB.format(name=name))
        path.chmod(0o755)
    images = " ".join(f"basb/{s}:{tag}" for s in SERVICES for tag in ("1.0", "1.1"))
    return _env(
        BASB_DOCKER=str(bin_dir / "docker"),
        BASB_COMPOSE=str(bin_dir / "docker-compose"),
        BASB_DEPLOY_STATE=str(tmp_path / "state"),
        BASB_READY_TIMEOUT="5",
        STUB_LOG=str(tmp_path / "calls.log"),
        STUB_IMAGES=images,
    )


def script(name: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run("bash", str(SCRIPTS / name), *args, env=env)


def ups(env: dict[str, str]) -> list[str]:
    calls = Path(env["STUB_LOG"]).read_text().splitlines()
    return [c.split()[1] for c in calls if c.startswith("docker-compose") and " up -d " in f"{c} "]


def test_deploy_rollback_teardown_keep_the_previous_tag(stub_engine: dict[str, str], tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = script("deploy.sh", "1.0", env=stub_engine)
    assert first.returncode == 0, first.stderr
    assert (state / "current").read_text() == "1.0\n"
    second = script("deploy.sh", "1.1", env=stub_engine)
    assert second.returncode == 0, second.stderr
    assert "1.1 is live (previous: 1.0)" in second.stdout
    assert (state / "history").read_text() == "1.0\n"
    back = script("rollback.sh", env=stub_engine)
    assert back.returncode == 0, back.stderr
    assert (state / "current").read_text() == "1.0\n"
    assert (state / "history").read_text() == ""
    assert ups(stub_engine) == ["BASB_TAG=1.0", "BASB_TAG=1.1", "BASB_TAG=1.0"]
    again = script("rollback.sh", env=stub_engine)
    assert again.returncode == 1
    assert "no previous tag" in again.stderr
    down = script("teardown.sh", env=stub_engine)
    assert down.returncode == 0, down.stderr
    calls = Path(stub_engine["STUB_LOG"]).read_text()
    assert "--profile monitoring down --remove-orphans\n" in calls
    assert "--volumes" not in calls
    assert (state / "current").read_text() == "1.0\n"  # kept: the same release can be started again


def test_deploy_refuses_missing_images_and_keeps_the_current_tag(stub_engine: dict[str, str], tmp_path: Path) -> None:
    assert script("deploy.sh", "1.0", env=stub_engine).returncode == 0
    missing = script("deploy.sh", "2.0", env=stub_engine)
    assert missing.returncode == 1
    assert "images missing: basb/vault:2.0" in missing.stderr
    assert "make images" in missing.stderr
    assert (tmp_path / "state" / "current").read_text() == "1.0\n"
    assert ups(stub_engine) == ["BASB_TAG=1.0"]


def test_an_unhealthy_deploy_is_not_recorded_and_points_at_rollback(
    stub_engine: dict[str, str], tmp_path: Path
) -> None:
    assert script("deploy.sh", "1.0", env=stub_engine).returncode == 0
    failed = script("deploy.sh", "1.1", env={**stub_engine, "STUB_HEALTH": "unhealthy", "BASB_READY_TIMEOUT": "0"})
    assert failed.returncode == 1
    assert "not healthy after 0s: vault=unhealthy" in failed.stdout + failed.stderr
    assert "roll back with deploy/scripts/rollback.sh (back to 1.0)" in failed.stderr
    assert (tmp_path / "state" / "current").read_text() == "1.0\n"
    assert not (tmp_path / "state" / "history").exists()


def test_script_usage_errors(stub_engine: dict[str, str]) -> None:
    assert "usage: deploy.sh TAG" in script("deploy.sh", env=stub_engine).stderr
    assert "not a valid image tag" in script("deploy.sh", "../x", env=stub_engine).stderr
    assert "usage: teardown.sh" in script("teardown.sh", "--all", env=stub_engine).stderr


def _engine_with_current_images() -> str | None:
    """Why the real-engine test cannot run here, or None when it can."""
    if shutil.which("docker") is None or shutil.which("docker-compose") is None:
        return "docker or docker-compose not installed"
    if run("docker", "info").returncode != 0:
        return "no Docker engine answers"
    for service in SERVICES:
        if run("docker", "image", "inspect", f"basb/{service}:1.0").returncode != 0:
            return f"image basb/{service}:1.0 not built (make images)"
    probe = run("docker", "run", "--rm", "--entrypoint", "/opt/venv/bin/python", "basb/search:1.0", "-c",
                "import pytest_basb.targets.healthcheck")  # fmt: skip
    if probe.returncode != 0:
        return "images predate pytest_basb.targets.healthcheck: rebuild them (make images)"
    return None


def test_deploy_and_teardown_on_the_real_engine(tmp_path: Path) -> None:
    reason = _engine_with_current_images()
    if reason:
        pytest.skip(reason)
    env = _env(BASB_DEPLOY_STATE=str(tmp_path / "state"), BASB_PROJECT=f"basb-selftest-{free_port()}")
    try:
        deployed = script("deploy.sh", "1.0", env=env)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        health = run(sys.executable, "-m", "pytest_basb.targets.healthcheck", "http://127.0.0.1:8946/mcp")
        assert health.returncode == 0, health.stdout
    finally:
        down = script("teardown.sh", "--delete-vault", env=env)
    assert down.returncode == 0, down.stderr


def test_healthcheck_speaks_mcp_to_a_reference_service(tmp_path: Path) -> None:
    """Against a service that requires a bearer token, as the container's own BASB_TOKEN gives it."""
    port = free_port()
    vault = tmp_path / "vault"
    shutil.copytree(REPO / "fixtures" / "sample-vault", vault)
    token = "hc-token-5ecr3t"
    server = subprocess.Popen(
        [sys.executable, str(REPO / "fixtures" / "services" / "distill.py"), "--http", str(port)],
        env=_env(BASB_VAULT=str(vault), BASB_TOKEN=token),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with_token = _env(BASB_TOKEN=token)
    without_token = {k: v for k, v in os.environ.items() if k != "BASB_TOKEN"}
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        argv = [sys.executable, "-m", "pytest_basb.targets.healthcheck", url, "--timeout", "5"]
        check = _until_healthy(argv, with_token)
        assert check.stdout.strip() == "healthy: basb-distill 1.0.0 (MCP 2025-06-18)"
        refused = run(*argv, env=without_token)
        assert (refused.returncode, refused.stdout.strip()) == (1, f"unhealthy: HTTP 401 from {url}")
        wrong = run(
            sys.executable, "-m", "pytest_basb.targets.healthcheck", f"http://127.0.0.1:{port}/healthz", env=with_token
        )
        assert wrong.returncode == 1
        assert wrong.stdout.startswith("unhealthy:")
        assert token not in check.stdout + refused.stdout + wrong.stdout
    finally:
        server.terminate()
        server.wait(timeout=10)
    gone = run(*argv, env=with_token)
    assert gone.returncode == 1
    assert "unhealthy:" in gone.stdout


def _until_healthy(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A Python MCP server may take seconds to import under load: retry for up to 60 s."""
    import time

    deadline = time.monotonic() + 60
    while True:
        result = run(*argv, env=env)
        if result.returncode == 0 or time.monotonic() > deadline:
            assert result.returncode == 0, result.stdout
            return result
        time.sleep(0.5)
