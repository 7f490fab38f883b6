"""deploy/: Prometheus rules (promtool), the Grafana dashboard, the compose stack (docker-compose
config), the deploy/rollback/teardown scripts (shellcheck; run against a stand-in docker, and
against the real engine when it and the images are there) and the MCP healthcheck they rely on."""

from __future__ import annotations

import json
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


def run(*argv: str, timeout: float = 120, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)


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


def test_every_script_stops_on_a_failed_command_also_inside_a_pipe() -> None:
    scripts = [p for p in SCRIPTS.glob("*.sh") if p.name != "lib.sh"]  # lib.sh is sourced by them
    assert len(scripts) == 3
    for path in scripts:
        assert "\nset -euo pipefail\n" in path.read_text(), path.name


STUB = """#!/usr/bin/env bash
# Stand-in for `{name}`: records each call, answers like the engine for the calls the scripts make.
echo "{name} BASB_TAG=${{BASB_TAG:-}} $*" >> "$STUB_LOG"
case "$*" in
  "image inspect "*) for image in $STUB_IMAGES; do [ "$image" = "$3" ] && exit 0; done; exit 1 ;;
  "inspect --format "*) echo "${{STUB_HEALTH:-healthy}}" ;;
  *" ps -q "*) echo "id-${{@: -1}}" ;;
  "ps -aq "*) printf '%s' "${{STUB_REMAINING:-}}" ;;
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


def script(name: str, *args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return run("bash", str(SCRIPTS / name), *args, env=env, timeout=timeout)


def ups(env: dict[str, str]) -> list[str]:
    calls = Path(env["STUB_LOG"]).read_text().splitlines()
    return [c.split()[1] for c in calls if c.startswith("docker-compose") and " up -d " in f"{c} "]


def passed_gate(folder: Path, verdict: str = "pass", *, full: bool = True) -> Path:
    """A gate.json as the gate writes it, reduced to what deploy.sh reads (verdict and scope)."""
    folder.mkdir(parents=True, exist_ok=True)
    reasons = [] if full else ["--basb-shard 1/2"]
    path = folder / "gate.json"
    path.write_text(json.dumps({"version": 1, "verdict": verdict, "scope": {"full": full, "reasons": reasons}}))
    return path


def deploy_and_gate(tag: str, env: dict[str, str], tmp_path: Path, verdict: str = "pass") -> None:
    deployed = script("deploy.sh", tag, env=env)
    assert deployed.returncode == 0, deployed.stderr
    report = passed_gate(tmp_path / f"gate-{tag}-{verdict}", verdict)
    recorded = script("deploy.sh", "--passed", tag, str(report), env=env)
    assert recorded.returncode == (0 if verdict == "pass" else 1), recorded.stderr


def test_rollback_returns_to_the_last_release_that_passed_the_gate(stub_engine: dict[str, str], tmp_path: Path) -> None:
    state = tmp_path / "state"
    deploy_and_gate("1.0", stub_engine, tmp_path)
    deploy_and_gate("1.1", stub_engine, tmp_path)
    assert (state / "passed").read_text() == "1.0\n1.1\n"
    # 1.1 again, over 1.1: unhealthy this time. Back to 1.1 (the last good release), not to 1.0.
    failed = script("deploy.sh", "1.1", env={**stub_engine, "STUB_HEALTH": "unhealthy", "BASB_READY_TIMEOUT": "0"})
    assert failed.returncode == 1
    assert "not healthy after 0s: vault=unhealthy" in failed.stdout + failed.stderr
    assert (state / "current").read_text() == "1.1\n"
    assert "rollback.sh (to 1.1, the last release that passed the gate)" in failed.stderr
    back = script("rollback.sh", env=stub_engine)
    assert back.returncode == 0, back.stderr
    assert "rollback: 1.1 -> 1.1 (passed the gate)" in back.stdout
    assert (state / "current").read_text() == "1.1\n"
    # 1.2 deploys but fails its gate: never recorded, so the rollback goes to 1.1 again.
    images = stub_engine["STUB_IMAGES"] + " " + " ".join(f"basb/{s}:1.2" for s in SERVICES)
    env = {**stub_engine, "STUB_IMAGES": images}
    deploy_and_gate("1.2", env, tmp_path, verdict="fail")
    assert (state / "current").read_text() == "1.2\n"
    assert (state / "passed").read_text() == "1.0\n1.1\n"
    again = script("rollback.sh", env=env)
    assert again.returncode == 0, again.stderr
    assert "rollback: 1.2 -> 1.1" in again.stdout
    assert "not waiting for alerts to resolve: no BASB_ALERTMANAGER_URL given" in again.stdout
    assert ups(env)[-1] == "BASB_TAG=1.1"
    # An earlier good release by name; a release that never passed is refused.
    older = script("rollback.sh", "1.0", env=env)
    assert older.returncode == 0, older.stderr
    assert (state / "current").read_text() == "1.0\n"
    again_good = script("deploy.sh", "--passed", "1.0", str(passed_gate(tmp_path / "gate-1.0-again")), env=env)
    assert again_good.returncode == 0, again_good.stderr
    assert (state / "passed").read_text() == "1.1\n1.0\n"  # once each, newest last
    refused = script("rollback.sh", "1.2", env=env)
    assert refused.returncode == 1
    assert "1.2 never passed the gate here; releases that did (newest last): 1.1 1.0" in refused.stderr


def test_only_a_full_passing_gate_of_the_current_release_is_recorded(
    stub_engine: dict[str, str], tmp_path: Path
) -> None:
    assert script("deploy.sh", "1.0", env=stub_engine).returncode == 0
    cases = {
        "verdict is 'fail', not 'pass'": passed_gate(tmp_path / "failed", "fail"),
        "a partial run (--basb-shard 1/2); merge every shard first": passed_gate(tmp_path / "shard", full=False),
        "not a readable gate.json": tmp_path / "missing" / "gate.json",
    }
    for message, report in cases.items():
        result = script("deploy.sh", "--passed", "1.0", str(report), env=stub_engine)
        assert result.returncode == 1
        assert message in result.stderr
    other = script("deploy.sh", "--passed", "1.1", str(passed_gate(tmp_path / "ok")), env=stub_engine)
    assert other.returncode == 1
    assert "1.1 is not the deployed release (current: 1.0)" in other.stderr
    assert not (tmp_path / "state" / "passed").exists()
    nothing = script("rollback.sh", env=stub_engine)
    assert nothing.returncode == 1
    assert "no release passed the gate here" in nothing.stderr


def test_teardown_keeps_the_monitoring_stack_unless_asked(stub_engine: dict[str, str]) -> None:
    calls = Path(stub_engine["STUB_LOG"])
    kept = script("teardown.sh", env={**stub_engine, "STUB_REMAINING": "id-prometheus\nid-pushgateway\n"})
    assert kept.returncode == 0, kept.stderr
    assert "monitoring kept running (2 containers; --with-monitoring removes it)" in kept.stdout
    log = calls.read_text()
    assert " rm --stop --force vault-init vault capture organize distill express search\n" in log
    assert " down" not in log
    assert "volume rm" not in log
    calls.unlink()
    alone = script("teardown.sh", "--delete-vault", env=stub_engine)
    assert alone.returncode == 0, alone.stderr
    log = calls.read_text()
    assert " rm --stop --force " in log
    assert "--profile monitoring" not in log  # nothing else ran: the network goes, monitoring was not there
    assert " down --remove-orphans\n" in log
    assert "docker BASB_TAG= volume rm basb-staging_vault\n" in log
    calls.unlink()
    everything = script("teardown.sh", "--with-monitoring", env=stub_engine)
    assert everything.returncode == 0, everything.stderr
    assert "--profile monitoring down --remove-orphans\n" in calls.read_text()
    assert "volume rm" not in calls.read_text()


def test_deploy_refuses_missing_images_and_keeps_the_current_tag(stub_engine: dict[str, str], tmp_path: Path) -> None:
    assert script("deploy.sh", "1.0", env=stub_engine).returncode == 0
    missing = script("deploy.sh", "2.0", env=stub_engine)
    assert missing.returncode == 1
    assert "images missing: basb/vault:2.0" in missing.stderr
    assert "make images" in missing.stderr
    assert (tmp_path / "state" / "current").read_text() == "1.0\n"
    assert ups(stub_engine) == ["BASB_TAG=1.0"]


def test_script_usage_errors(stub_engine: dict[str, str]) -> None:
    assert "usage: deploy.sh TAG" in script("deploy.sh", env=stub_engine).stderr
    assert "not a valid image tag" in script("deploy.sh", "../x", env=stub_engine).stderr
    assert "usage: teardown.sh" in script("teardown.sh", "--all", env=stub_engine).stderr
    assert (
        "usage: deploy.sh TAG | deploy.sh --passed TAG GATE_JSON"
        in script("deploy.sh", "--passed", "1.0", env=stub_engine).stderr
    )
    assert "usage: rollback.sh [TAG]" in script("rollback.sh", "1.0", "1.1", env=stub_engine).stderr


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
    """Deploy, then teardown beside a container of the monitoring profile (the stack's `prometheus`
    service by its compose labels, so no monitoring image is built): it survives a plain teardown
    and goes with --with-monitoring."""
    reason = _engine_with_current_images()
    if reason:
        pytest.skip(reason)
    project = f"basb-selftest-{free_port()}"
    # Deadlines are guards: six containers may take minutes to turn healthy on a loaded machine.
    env = _env(BASB_DEPLOY_STATE=str(tmp_path / "state"), BASB_PROJECT=project, BASB_READY_TIMEOUT="420")
    monitor = f"{project}_prometheus_1"
    try:
        deployed = script("deploy.sh", "1.0", env=env, timeout=600)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        health = run(sys.executable, "-m", "pytest_basb.targets.healthcheck", "http://127.0.0.1:8946/mcp")
        assert health.returncode == 0, health.stdout
        started = run("docker", "run", "-d", "--name", monitor, "--network", f"{project}_default",
                      "--label", f"com.docker.compose.project={project}",
                      "--label", "com.docker.compose.service=prometheus",
                      "--label", "com.docker.compose.oneoff=False",
                      "--label", "com.docker.compose.container-number=1",
                      "--entrypoint", "sleep", "basb/search:1.0", "600")  # fmt: skip
        assert started.returncode == 0, started.stderr
        down = script("teardown.sh", "--delete-vault", env=env)
        assert down.returncode == 0, down.stdout + down.stderr
        assert "monitoring kept running (1 containers" in down.stdout
        left = run("docker", "ps", "-a", "--filter", f"label=com.docker.compose.project={project}",
                   "--format", "{{.Names}} {{.State}}")  # fmt: skip
        assert left.stdout.split() == [monitor, "running"]
        assert run("docker", "volume", "inspect", f"{project}_vault").returncode == 1  # deleted
    finally:
        everything = script("teardown.sh", "--with-monitoring", env=env, timeout=300)
        run("docker", "rm", "-f", monitor)
        # the throwaway project's volumes (Prometheus' data volume is kept by every teardown)
        volumes = run("docker", "volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={project}")
        for volume in volumes.stdout.split():
            run("docker", "volume", "rm", volume)
    assert everything.returncode == 0, everything.stdout + everything.stderr
    assert run("docker", "container", "inspect", monitor).returncode == 1  # went with --with-monitoring
    assert run("docker", "network", "inspect", f"{project}_default").returncode == 1


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


def test_the_procedures_compose_commands_run(tmp_path: Path) -> None:
    """`ps` and `logs --tail=100 SERVICE` of the procedure runbooks, for every service, on a project
    of this test's own (read-only: nothing runs in it); `restart` takes the same service names."""
    compose = tool("docker-compose", "Debian package docker-compose")
    if run("docker", "info").returncode != 0:
        if os.environ.get("BASB_REQUIRE_DOCKER"):
            pytest.fail("BASB_REQUIRE_DOCKER is set (CI) but no Docker engine answers")
        pytest.skip("no Docker engine answers")
    project = f"basb-selftest-{free_port()}"
    base = [compose, "-f", str(DEPLOY / "compose.yaml"), "-p", project]
    assert run(*base, "ps", cwd=REPO).returncode == 0
    for service in SERVICES:
        logs = run(*base, "logs", "--tail=100", service, cwd=REPO)
        assert logs.returncode == 0, logs.stderr
    wrong = run(*base, "logs", "--tail=100", "no-such-service", cwd=REPO)
    assert wrong.returncode == 1
    assert "No such service: no-such-service" in wrong.stderr
