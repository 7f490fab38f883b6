"""The plugin's command-line options and ini keys, read into one frozen `Options`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_basb.state import Options

if TYPE_CHECKING:
    from pytest_basb.ci_status import CiStatus
from pytest_basb.targets import TARGETS


def add_options(parser: pytest.Parser) -> None:
    """Register every option in one group and every ini key (so --strict-config passes)."""
    group = parser.getgroup("basb", "BASB deployment gate (pytest-basb)")
    group.addoption(
        "--basb-env",
        dest="basb_env",
        metavar="NAME",
        help="Environment of the inventory to test; without one the plugin is inert",
    )
    group.addoption(
        "--basb-inventory",
        dest="basb_inventory",
        metavar="PATH",
        help="Inventory file (default: basb-inventory.yaml at the rootdir)",
    )
    group.addoption(
        "--basb-report-dir",
        dest="basb_report_dir",
        metavar="DIR",
        help="Where gate.json and gate.md are written (default: basb-report/)",
    )
    group.addoption(
        "--basb-vault",
        dest="basb_vault",
        metavar="DIR",
        help="Obsidian vault for the DevOps log, overriding the environment's vault",
    )
    group.addoption(
        "--basb-timeout",
        dest="basb_timeout",
        metavar="SECONDS",
        type=float,
        help="Deadline of every MCP request, overriding timeout_s of the inventory",
    )
    group.addoption(
        "--basb-target",
        dest="basb_target",
        choices=TARGETS,
        help="How services are reached: live, local (launch HTTP servers; default) or containers",
    )
    group.addoption(
        "--basb-baseline-dir",
        dest="basb_baseline_dir",
        metavar="DIR",
        help="Regression baselines folder, DIR/<env>/<service>.json (default: baselines/ beside the inventory)",
    )
    group.addoption(
        "--basb-record-baseline",
        dest="basb_record_baseline",
        action="store_true",
        help="Regression checks record what they see as the new baseline (and pass) instead of comparing",
    )
    group.addoption(
        "--basb-repeat",
        dest="basb_repeat",
        metavar="N",
        type=int,
        default=5,
        help="How often regression checks repeat each smoke call for latency and flakiness (default: 5)",
    )
    group.addoption(
        "--basb-ci-status",
        dest="basb_ci_status",
        metavar="FILE",
        help='Earlier CI jobs\' conclusions, JSON {"jobs": [{"name", "conclusion"}]} or JUnit XML, for the CI/CD item',
    )
    group.addoption(
        "--basb-pushgateway",
        dest="basb_pushgateway",
        metavar="URL",
        help="Also push the run's metrics (metrics.prom) to this Prometheus Pushgateway",
    )
    group.addoption(
        "--basb-shard",
        dest="basb_shard",
        metavar="K/N",
        help="Check only the services of shard K of N (stable hash of the service id); merge with basb-report merge",
    )
    parser.addini("basb_env", "Default environment for --basb-env", default="")
    parser.addini("basb_inventory", "Default inventory path, relative to the rootdir", default="")
    parser.addini("basb_report_dir", "Default report directory, relative to the rootdir", default="")
    parser.addini("basb_target", "Default target: live, local or containers", default="local")
    parser.addini("basb_baseline_dir", "Default regression baselines folder, relative to the rootdir", default="")
    parser.addini("basb_pushgateway", "Default Pushgateway URL for --basb-pushgateway", default="")


def read_options(config: pytest.Config) -> Options:
    """Command line first, then the ini file, then the defaults; paths relative to the rootdir."""
    root = config.rootpath

    def path_option(name: str, default: str) -> Path:
        value = config.getoption(name) or config.getini(name) or default
        path = Path(value)
        return path if path.is_absolute() else root / path

    timeout = config.getoption("basb_timeout")
    if timeout is not None and timeout <= 0:
        raise pytest.UsageError("--basb-timeout: must be a positive number of seconds")
    vault = config.getoption("basb_vault")
    repeat = config.getoption("basb_repeat")
    if repeat < 1:
        raise pytest.UsageError("--basb-repeat: must be at least 1")
    baseline_dir = config.getoption("basb_baseline_dir") or config.getini("basb_baseline_dir")
    shard = None
    if config.getoption("basb_shard"):
        from pytest_basb.sharding import parse_shard

        try:
            shard = parse_shard(config.getoption("basb_shard"))
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
    return Options(
        env_name=config.getoption("basb_env") or config.getini("basb_env") or None,
        inventory=path_option("basb_inventory", "basb-inventory.yaml"),
        report_dir=path_option("basb_report_dir", "basb-report"),
        vault=Path(vault).resolve() if vault else None,
        timeout_s=timeout,
        target=config.getoption("basb_target") or config.getini("basb_target") or "local",
        baseline_dir=path_option("basb_baseline_dir", "") if baseline_dir else None,
        record_baseline=bool(config.getoption("basb_record_baseline")),
        repeat=repeat,
        ci_status=_ci_status(config.getoption("basb_ci_status")),
        pushgateway=config.getoption("basb_pushgateway") or config.getini("basb_pushgateway") or None,
        shard=shard,
    )


def _ci_status(value: str | None) -> CiStatus | None:
    """Read --basb-ci-status now, so a bad file stops the run before any check starts."""
    if not value:
        return None
    from pytest_basb.ci_status import CiStatusError, load_ci_status

    try:
        return load_ci_status(Path(value).resolve())
    except CiStatusError as exc:
        raise pytest.UsageError(f"--basb-ci-status: {exc}") from None
