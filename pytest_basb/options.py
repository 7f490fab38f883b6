"""The plugin's command-line options and ini keys, read into one frozen `Options`."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_basb.state import Options
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
        "--basb-shard",
        dest="basb_shard",
        metavar="K/N",
        help="Check only the services of shard K of N (stable hash of the service id); merge with basb-report merge",
    )
    parser.addini("basb_env", "Default environment for --basb-env", default="")
    parser.addini("basb_inventory", "Default inventory path, relative to the rootdir", default="")
    parser.addini("basb_report_dir", "Default report directory, relative to the rootdir", default="")
    parser.addini("basb_target", "Default target: live, local or containers", default="local")


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
        shard=shard,
    )
