"""The containers target against a real Docker engine and the reference images (`make images`).

Skipped only when no engine answers (with the reason); CI (.ci/run) starts one and sets
BASB_REQUIRE_DOCKER=1, which turns that skip into a failure. All tests here run on one xdist worker
(one xdist group; one scheduling scope, the module, for the plugin's scheduler): one of them kills a
run on purpose, and the leftover must be removed by its own next run, not by a neighbour's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, SAMPLE_VAULT, Gate, free_port

pytestmark = pytest.mark.xdist_group("docker")

INVENTORY = REPO / "basb-inventory.yaml"
LABEL_RUN = "org.pytest-basb.run"
LABEL_PID = "org.pytest-basb.pid"


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    """A Docker client with the six reference images present, or a skip saying why not."""
    from pytest_basb.targets.containers import EngineUnavailable, engine_client

    try:
        client = engine_client()
    except EngineUnavailable as exc:
        if os.environ.get("BASB_REQUIRE_DOCKER"):
            pytest.fail(f"BASB_REQUIRE_DOCKER is set (CI) but: {exc}")
        pytest.skip(f"no Docker engine: {exc}")
    missing = [i for i in _reference_images() if not client.images.list(name=i)]
    if missing:
        pytest.fail(f"reference images missing: {', '.join(missing)}; build them with `make images`")
    yield client
    client.close()


def _reference_images() -> list[str]:
    from pytest_basb.inventory.load import load_environment

    staging = load_environment(INVENTORY, "staging", {"BASB_VAULT": "/vault"})
    return [s.container.image for s in staging.services if s.container]


def _containers(client: Any, label: str) -> list[str]:
    # Summaries of the list call (no inspect per container, which races removals by parallel runs).
    return [str(c["Names"][0]).lstrip("/") for c in client.api.containers(all=True, filters={"label": label})]


def _gate(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((path / "gate.json").read_text())
    return data


def _outcomes(data: dict[str, Any]) -> dict[tuple[str, str, str], str]:
    return {(c["service"], c["id"], c["nodeid"].split("::")[-1]): c["outcome"] for c in data["checks"]}


def _repo_inventory_copy(gate: Gate) -> Path:
    """The repository's inventory with free ports for the launched services (others may hold 8931/8932)."""
    text = INVENTORY.read_text()
    for port in ("8931", "8932"):
        assert port in text
        text = text.replace(port, str(free_port()))
    text = text.replace("seed_vault: fixtures/sample-vault", f"seed_vault: {SAMPLE_VAULT}")
    text = text.replace("\ndefaults:\n", f"\ndefaults:\n  cwd: {REPO}\n", 1)
    return gate.write(text)


def _staging_args(gate: Gate, target: str, report: str) -> list[str]:
    return [
        str(REPO / "suites"),
        f"--basb-inventory={gate.inventory}",
        "--basb-env=staging",
        f"--basb-target={target}",
        f"--basb-report-dir={gate.path / report}",
        f"--basb-vault={gate.path / 'log-vault'}",
        f"--basb-baseline-dir={REPO / 'baselines'}",  # staging's, recorded from the images
        "-c",
        str(gate.path / "pytest.ini"),
        f"--rootdir={gate.path}",
        "-p",
        "no:cacheprovider",
    ]


def test_staging_stack_passes_on_containers_with_the_results_of_local(gate: Gate, engine: Any) -> None:
    _repo_inventory_copy(gate)
    # With xdist: the controller starts the containers, the workers find them through the run folder.
    containers = gate.pytester.runpytest(*_staging_args(gate, "containers", "containers"), "-n", "2")
    assert containers.ret == 0, containers.stdout.str()[-3000:]
    local = gate.pytester.runpytest(*_staging_args(gate, "local", "local"))
    assert local.ret == 0, local.stdout.str()[-3000:]
    on_containers, on_local = _gate(gate.path / "containers"), _gate(gate.path / "local")
    # The same checks with the same outcomes, except that the services which run over stdio locally
    # are served over HTTP in their containers, so HTTP-only checks (security.origin, ...) that skip
    # locally run there: they must pass.
    containers_outcomes, local_outcomes = _outcomes(on_containers), _outcomes(on_local)
    assert containers_outcomes.keys() == local_outcomes.keys()
    differing = {k: (v, local_outcomes[k]) for k, v in containers_outcomes.items() if v != local_outcomes[k]}
    unexpected = {k: v for k, v in differing.items() if not (v[1] == "skip" and v[0] in ("pass", "warn"))}
    assert not unexpected, unexpected
    assert len(on_containers["checks"]) > 50
    # What was tested: the images (with their ids), not local processes; nothing left running.
    targets = on_containers["targets"]
    assert {t["target"] for t in targets.values()} == {"containers"}
    assert all(t["image_id"].startswith("sha256:") and t["ready_s"] > 0 for t in targets.values()), targets
    assert {t["target"] for t in on_local["targets"].values()} == {"local"}
    assert all(t["image_not_tested"] for t in on_local["targets"].values())
    containers.stdout.fnmatch_lines(["tested on: 6 containers"])
    local.stdout.fnmatch_lines(["tested on: 6 local; 6 images named in the inventory not tested*"])
    assert "| containers basb/search:1.0 (id " in (gate.path / "containers" / "gate.md").read_text()
    assert _containers(engine, f"{LABEL_RUN}={on_containers['containers']['run']}") == []


def test_failing_containers_fail_only_their_own_service(gate: Gate, engine: Any) -> None:
    gate.write(f"""
    version: 1
    environments:
      t:
        seed_vault: {SAMPLE_VAULT}
        services:
          good:
            transport: stdio
            command: ["python", "capture.py"]
            container: {{image: "basb/capture:1.0", port: 8930}}
            expect: {{server_name: basb-capture}}
          missing:
            transport: streamable-http
            url: http://127.0.0.1:9/mcp
            container: {{image: "basb/no-such-image:0", port: 8930}}
          exits:
            transport: stdio
            command: ["python", "vault.py"]
            container: {{image: "basb/vault:1.0", port: 8930, env: {{BASB_VAULT: /no/such/vault}}}}
          silent:
            transport: streamable-http
            url: http://127.0.0.1:9/mcp
            container: {{image: "basb/search:1.0", port: 9999, start_timeout_s: 8}}
    """)
    result = gate.run("-m", "health", "--basb-target=containers")
    assert result.ret == 1
    data = _gate(gate.report_dir)
    by_service: dict[str, list[dict[str, Any]]] = {}
    for check in data["checks"]:
        by_service.setdefault(check["service"], []).append(check)
    assert all(c["outcome"] in ("pass", "skip") for c in by_service["good"]), by_service["good"]
    expected = {
        "missing": ["basb/no-such-image:0", "exit code: none", "make images"],
        "exits": ["basb/vault:1.0", "exited with code 2", "last lines of the container log", "/no/such/vault"],
        "silent": ["basb/search:1.0", "still running, exit code: none", "did not answer MCP at", "within 8s"],
    }
    for service, words in expected.items():
        failed = [c for c in by_service[service] if c["outcome"] in ("fail", "error")]
        assert failed, by_service[service]
        for word in words:
            assert word in failed[0]["message"], (service, word, failed[0]["message"])
    assert data["targets"]["exits"]["exit_code"] == 2
    assert "/no/such/vault" in data["targets"]["exits"]["log_tail"]
    assert "exited with code 2" in (gate.report_dir / "gate.md").read_text()
    assert _containers(engine, f"{LABEL_RUN}={data['containers']['run']}") == []


WAITING_TEST = """
import pathlib, time
import pytest

@pytest.mark.basb_check("health.handshake")
def test_wait(basb_service):
    pathlib.Path({marker!r}).write_text("running")
    time.sleep(300)
"""


def _one_container(gate: Gate, port: int = 8930) -> None:
    """An environment of one service, the reference capture image (port: what it is asked to publish)."""
    gate.write(f"""
    version: 1
    environments:
      t:
        seed_vault: {SAMPLE_VAULT}
        services:
          capture:
            transport: stdio
            command: ["python", "capture.py"]
            container: {{image: "basb/capture:1.0", port: {port}}}
    """)


def _waiting_run(gate: Gate, *, port: int = 8930) -> subprocess.Popen[bytes]:
    """A gate run in its own process, its one test blocking while the container runs."""
    _one_container(gate, port)
    test = gate.path / "test_wait.py"
    test.write_text(WAITING_TEST.format(marker=str(gate.path / "started")))
    args = gate.args("--basb-target=containers", "-p", "no:randomly")
    args[0] = str(test)
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", *args], cwd=gate.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def _wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_ctrl_c_while_the_container_starts_leaves_no_container(gate: Gate, engine: Any) -> None:
    # A port nothing listens on keeps the run waiting for MCP (60 s) when Ctrl-C comes.
    run = _waiting_run(gate, port=9999)
    started = lambda: bool(_containers(engine, f"{LABEL_PID}={run.pid}")) or run.poll() is not None  # noqa: E731
    _interrupt(run, engine, until=started)


def test_ctrl_c_while_a_check_runs_leaves_no_container(gate: Gate, engine: Any) -> None:
    run = _waiting_run(gate)
    _interrupt(run, engine, until=lambda: (gate.path / "started").exists() or run.poll() is not None)


def _interrupt(run: subprocess.Popen[bytes], engine: Any, until: Callable[[], bool]) -> None:
    """Ctrl-C the run once `until` holds: it exits as interrupted and its container is gone.
    (Not parametrized: the plugin's xdist scheduler would put each parameter on its own worker.)"""
    owner = f"{LABEL_PID}={run.pid}"
    try:
        try:
            # Generous: under load (the other core busy, other container tests beside it) starting a
            # container has taken long; the condition returns as soon as it holds.
            _wait_for(until, "the run to reach the moment of Ctrl-C", timeout_s=180)
        except AssertionError as timed_out:
            run.kill()
            raise AssertionError(f"{timed_out}; the run said:\n{run.communicate()[0].decode()[-3000:]}") from None
        assert run.poll() is None, run.communicate()[0].decode()[-3000:]
        assert _containers(engine, owner)
        run.send_signal(signal.SIGINT)
        output = run.communicate(timeout=60)[0].decode()
    finally:
        run.kill()
    assert run.returncode == 2, output[-3000:]
    assert _containers(engine, owner) == [], output[-3000:]


def test_leftovers_of_a_killed_run_are_removed_by_the_next_run(gate: Gate, engine: Any) -> None:
    run = _waiting_run(gate)
    owner = f"{LABEL_PID}={run.pid}"
    try:
        _wait_for(lambda: (gate.path / "started").exists() or run.poll() is not None, "the check")
        assert run.poll() is None, run.communicate()[0].decode()[-3000:]
    finally:
        run.kill()  # SIGKILL: no cleanup at all
        run.communicate(timeout=30)
    leftovers = _containers(engine, owner)
    assert len(leftovers) == 1
    (gate.path / "test_wait.py").unlink()
    result = gate.run("-m", "health", "--basb-target=containers")
    assert result.ret == 0, result.stdout.str()[-3000:]
    result.stderr.fnmatch_lines([f"pytest-basb: removed * leftover container(s) of earlier runs*{leftovers[0]}*"])
    assert _containers(engine, owner) == []
    assert leftovers[0] in _gate(gate.report_dir)["containers"]["leftovers_removed"]


def test_without_a_docker_engine_the_run_stops_with_exit_4(gate: Gate, monkeypatch: pytest.MonkeyPatch) -> None:
    _one_container(gate)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{gate.path / 'no-engine.sock'}")
    result = gate.run_subprocess("--basb-target=containers")
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        ["*--basb-target=containers needs a Docker engine*apt-get install -y docker.io*dockerd*"]
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
