"""The plugin's command-line options and ini keys, read into one frozen `Options`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_basb.run.state import Options

if TYPE_CHECKING:
    from pytest_basb.ops.ci_status import CiStatus
from pytest_basb.targets import TARGETS

LOG_POLICIES = ("auto", "always", "never")
RECORD_PARTS = ("latency", "golden")  # what --basb-record-skip may leave as recorded before


# Every option of the group, in --help order: (flag, addoption keywords).
OPTIONS: tuple[tuple[str, dict[str, Any]], ...] = (
    (
        "--basb-env",
        {
            "dest": "basb_env",
            "metavar": "NAME",
            "help": "Environment of the inventory to test; without one the plugin is inert",
        },
    ),
    (
        "--basb-inventory",
        {
            "dest": "basb_inventory",
            "metavar": "PATH",
            "help": "Inventory file, relative to the current folder (default: basb-inventory.yaml at the rootdir)",
        },
    ),
    (
        "--basb-report-dir",
        {
            "dest": "basb_report_dir",
            "metavar": "DIR",
            "help": (
                "Folder for gate.json and gate.md, relative to the current folder "
                "(default: basb-report/ at the rootdir)"
            ),
        },
    ),
    (
        "--basb-vault",
        {
            "dest": "basb_vault",
            "metavar": "DIR",
            "help": (
                "Obsidian vault for the DevOps log (relative to the current folder), overriding the environment's vault"
            ),
        },
    ),
    (
        "--basb-timeout",
        {
            "dest": "basb_timeout",
            "metavar": "SECONDS",
            "type": float,
            "help": "Deadline of every MCP request, overriding timeout_s of the inventory",
        },
    ),
    (
        "--basb-target",
        {
            "dest": "basb_target",
            "choices": TARGETS,
            "help": "How services are reached: live, local (launch HTTP servers; default) or containers",
        },
    ),
    (
        "--basb-baseline-dir",
        {
            "dest": "basb_baseline_dir",
            "metavar": "DIR",
            "help": "Regression baselines folder, DIR/<env>/<service>.json (default: baselines/ beside the inventory)",
        },
    ),
    (
        "--basb-record-baseline",
        {
            "dest": "basb_record_baseline",
            "action": "store_true",
            "help": "Regression checks record what they see as the new baseline (and pass) instead of comparing",
        },
    ),
    (
        "--basb-record-skip",
        {
            "dest": "basb_record_skip",
            "metavar": "PARTS",
            "help": "With --basb-record-baseline: parts to leave as recorded before, comma-separated "
            f"({', '.join(RECORD_PARTS)}); e.g. latency, when this machine is busier than the one that recorded",
        },
    ),
    (
        "--basb-repeat",
        {
            "dest": "basb_repeat",
            "metavar": "N",
            "type": int,
            "default": 5,
            "help": "How often regression checks repeat each smoke call for latency and flakiness (default: 5)",
        },
    ),
    (
        "--basb-ci-status",
        {
            "dest": "basb_ci_status",
            "metavar": "FILE",
            "help": (
                'Earlier CI jobs\' conclusions, JSON {"jobs": [{"name", '
                '"conclusion"}]} or JUnit XML, for the CI/CD item'
            ),
        },
    ),
    (
        "--basb-pushgateway",
        {
            "dest": "basb_pushgateway",
            "metavar": "URL",
            "help": "Also push the run's metrics (metrics.prom) to this Prometheus Pushgateway",
        },
    ),
    (
        "--basb-shard",
        {
            "dest": "basb_shard",
            "metavar": "K/N",
            "help": (
                "Check only the services of shard K of N (stable hash of the service id); merge with basb-report merge"
            ),
        },
    ),
    (
        "--basb-log",
        {
            "dest": "basb_log",
            "choices": LOG_POLICIES,
            "help": "Append this run to the DevOps log: auto (default: full runs only), always or never",
        },
    ),
    (
        "--basb-url",
        {
            "dest": "basb_url",
            "action": "append",
            "default": [],
            "metavar": "URL",
            "help": (
                "Check this MCP server with no inventory (streamable HTTP; SSE when the URL ends in /sse); repeatable"
            ),
        },
    ),
    (
        "--basb-command",
        {
            "dest": "basb_command",
            "action": "append",
            "default": [],
            "metavar": "CMD ARGS",
            "help": "Check the stdio MCP server this command starts, with no inventory (split like a shell, never run "
            "by one); repeatable",
        },
    ),
    (
        "--basb-print-inventory",
        {
            "dest": "basb_print_inventory",
            "action": "store_true",
            "help": (
                "Print the inventory (YAML) that reproduces this "
                "--basb-url/--basb-command run; exits without connecting"
            ),
        },
    ),
)
# Every ini key: (name, help, addini keywords).
INI_KEYS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("basb_env", "Default environment for --basb-env", {"default": ""}),
    ("basb_inventory", "Default inventory path, relative to the rootdir", {"default": ""}),
    ("basb_report_dir", "Default report directory, relative to the rootdir", {"default": ""}),
    ("basb_vault", "Default Obsidian vault for the DevOps log, relative to the rootdir", {"default": ""}),
    ("basb_target", "Default target: live, local or containers", {"default": "local"}),
    ("basb_log", "Default for --basb-log: auto, always or never", {"default": "auto"}),
    (
        "basb_shipped_suites",
        "With no test path given, also collect the suites shipped with pytest-basb (default true)",
        {"type": "bool", "default": True},
    ),
    ("basb_baseline_dir", "Default regression baselines folder, relative to the rootdir", {"default": ""}),
    ("basb_pushgateway", "Default Pushgateway URL for --basb-pushgateway", {"default": ""}),
)


def add_options(parser: pytest.Parser) -> None:
    """Register every option in one group and every ini key (so --strict-config passes)."""
    group = parser.getgroup("basb", "BASB deployment gate (pytest-basb)")
    for flag, keywords in OPTIONS:
        group.addoption(flag, **keywords)
    for name, help_text, keywords in INI_KEYS:
        parser.addini(name, help_text, **keywords)


def read_options(config: pytest.Config) -> Options:
    """Command line first, then the ini file, then the defaults.

    Relative paths: a command-line value is relative to the folder pytest was started in (as a
    shell user expects); an ini value or a default is relative to the rootdir (the ini file's folder).
    """
    inventory = path_option(config, "basb_inventory", "basb-inventory.yaml")
    report_dir = path_option(config, "basb_report_dir", "basb-report")
    assert inventory is not None
    assert report_dir is not None
    timeout = config.getoption("basb_timeout")
    if timeout is not None and timeout <= 0:
        raise pytest.UsageError("--basb-timeout: must be a positive number of seconds")
    repeat = config.getoption("basb_repeat")
    if repeat < 1:
        raise pytest.UsageError("--basb-repeat: must be at least 1")
    record_skip = _record_skip(config.getoption("basb_record_skip"))
    shard = None
    if config.getoption("basb_shard"):
        from pytest_basb.inventory.sharding import parse_shard

        try:
            shard = parse_shard(config.getoption("basb_shard"))
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
    log = config.getoption("basb_log") or config.getini("basb_log") or "auto"
    if log not in LOG_POLICIES:
        raise pytest.UsageError(f"basb_log = {log!r} in the ini file: use one of {', '.join(LOG_POLICIES)}")
    urls = tuple(config.getoption("basb_url") or ())
    commands = tuple(config.getoption("basb_command") or ())
    env_name = config.getoption("basb_env") or config.getini("basb_env") or None
    if urls or commands:
        from pytest_basb.inventory.adhoc import ADHOC_ENV

        if config.getoption("basb_env") not in (None, ADHOC_ENV):
            raise pytest.UsageError(
                "--basb-env and --basb-url/--basb-command exclude each other: a zero-config run has no "
                "inventory (its environment is `adhoc`); drop one of them"
            )
        env_name = ADHOC_ENV  # the ini's environment does not apply: the command line named the servers
    return Options(
        urls=urls,
        commands=commands,
        workdir=config.invocation_params.dir,
        env_name=env_name,
        inventory=inventory,
        report_dir=report_dir,
        vault=path_option(config, "basb_vault", None),
        timeout_s=timeout,
        target=config.getoption("basb_target") or config.getini("basb_target") or "local",
        baseline_dir=path_option(config, "basb_baseline_dir", None),
        record_baseline=bool(config.getoption("basb_record_baseline")),
        record_skip=record_skip,
        repeat=repeat,
        ci_status=_ci_status(config.getoption("basb_ci_status")),
        pushgateway=config.getoption("basb_pushgateway") or config.getini("basb_pushgateway") or None,
        shard=shard,
        log=log,
    )


def _record_skip(value: str | None) -> frozenset[str]:
    parts = frozenset(p.strip() for p in (value or "").split(",") if p.strip())
    unknown = sorted(parts - set(RECORD_PARTS))
    if unknown:
        raise pytest.UsageError(f"--basb-record-skip: unknown part {unknown[0]!r}: use {', '.join(RECORD_PARTS)}")
    return parts


def path_option(config: pytest.Config, name: str, default: str | None) -> Path | None:
    """One rule for every path option (inventory, report dir, vault, baselines, ...): a value given
    on the command line is relative to the invocation directory; one from the ini file (or the
    default) is relative to the rootdir. Absolute paths and `~` are taken as they are."""
    given = config.getoption(name, default=None)
    if given:
        base, value = config.invocation_params.dir, str(given)
    else:
        ini = config.getini(name)
        if not (ini or default):
            return None
        base, value = config.rootpath, str(ini or default)
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def _ci_status(value: str | None) -> CiStatus | None:
    """Read --basb-ci-status now, so a bad file stops the run before any check starts."""
    if not value:
        return None
    from pytest_basb.ops.ci_status import CiStatusError, load_ci_status

    try:
        return load_ci_status(Path(value).resolve())
    except CiStatusError as exc:
        raise pytest.UsageError(f"--basb-ci-status: {exc}") from None
