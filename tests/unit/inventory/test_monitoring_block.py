"""The environment's `monitoring:` block: defaults, ${VAR}s, inheritance, and errors that name the
file, the key path and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_basb.inventory.load import InventoryError, Monitoring, load_environment

SERVICES = "    services:\n      s: {transport: stdio, command: [x]}\n"


def load(tmp_path: Path, block: str, environ: dict[str, str] | None = None, env: str = "t") -> Monitoring | None:
    path = tmp_path / "inv.yaml"
    path.write_text(f"version: 1\nenvironments:\n  t:\n{block}{SERVICES}  child:\n    extends: t\n")
    return load_environment(path, env, environ={} if environ is None else environ).monitoring


def test_without_a_block_there_is_no_monitoring(tmp_path: Path) -> None:
    assert load(tmp_path, "") is None


def test_defaults_and_a_trailing_slash(tmp_path: Path) -> None:
    monitoring = load(tmp_path, "    monitoring: {prometheus_url: 'http://127.0.0.1:9090/'}\n")
    assert monitoring == Monitoring(prometheus_url="http://127.0.0.1:9090")
    assert (monitoring.watchdog, monitoring.max_age_s, monitoring.timeout_s) == ("Watchdog", 21600.0, 5.0)


def test_every_key_and_variables_and_inheritance(tmp_path: Path) -> None:
    block = (
        "    monitoring:\n      prometheus_url: ${PROM}\n      alertmanager_url: http://am:9093\n"
        "      job: basb-probe\n      watchdog: DeadMansSwitch\n      max_age_s: 600\n      timeout_s: 2.5\n"
    )
    expected = Monitoring("http://prom:9090", "http://am:9093", "basb-probe", "DeadMansSwitch", 600.0, 2.5)
    assert load(tmp_path, block, {"PROM": "http://prom:9090"}) == expected
    assert load(tmp_path, block, {"PROM": "http://prom:9090"}, env="child") == expected


@pytest.mark.parametrize(
    ("block", "environ", "fragments"),
    [
        (
            "    monitoring: {alertmanager_url: 'http://am:9093'}\n",
            {},
            ["environments.t.monitoring", "prometheus_url"],
        ),
        (
            "    monitoring: {prometheus_url: 'http://p:9090', watchdgo: W}\n",
            {},
            ["environments.t.monitoring", "watchdgo"],
        ),
        (
            "    monitoring: {prometheus_url: 'http://p:9090', max_age_s: 0}\n",
            {},
            ["environments.t.monitoring.max_age_s"],
        ),
        (
            "    monitoring: {prometheus_url: '${PROM}'}\n",
            {"PROM": "prom:9090"},
            ["environments.t.monitoring.prometheus_url: not an http(s) URL", "http://127.0.0.1:9090"],
        ),
    ],
)
def test_bad_blocks_name_the_key_and_the_fix(
    tmp_path: Path, block: str, environ: dict[str, str], fragments: list[str]
) -> None:
    with pytest.raises(InventoryError) as caught:
        load(tmp_path, block, environ)
    message = str(caught.value)
    assert message.startswith(str(tmp_path / "inv.yaml"))
    for fragment in fragments:
        assert fragment in message, message
    assert "prom:9090" not in message  # a value from the environment is never shown


def test_credentials_in_the_urls_are_secrets(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\nenvironments:\n  t:\n    monitoring:\n"
        "      prometheus_url: http://gate:${PROM_PW}@prom:9090\n"
        "      alertmanager_url: http://am:9093/?token=${AM}\n" + SERVICES
    )
    environment = load_environment(path, "t", environ={"PROM_PW": "hunter2", "AM": "s3cr3t"})
    assert {"gate", "hunter2", "s3cr3t"} <= environment.secrets
    assert "prom" not in environment.secrets
