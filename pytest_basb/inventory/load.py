"""Load and validate the environment inventory (format v1) into frozen dataclasses.

The JSON Schema in `schemas/inventory.schema.json` is the contract; this module validates against
it, then resolves `extends`, `defaults` and `${VAR}` references for the one environment asked for.
Every problem becomes an `InventoryError` that names the file, the key path and the fix, and never
shows a value that came from the environment.
"""

from __future__ import annotations

import copy
import datetime
import difflib
import functools
import json
import os
import re
import shutil
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pytest_basb.flows.model import Flow
from pytest_basb.inventory.secret_values import says_secret, service_secrets, url_secrets
from pytest_basb.model.json_schema import schema_problem
from pytest_basb.policy.levels import Policy
from pytest_basb.policy.waivers import Waiver

Transport = Literal["stdio", "streamable-http", "sse"]
ROLES = ("vault", "capture", "organize", "distill", "express", "search")
BASB_CONTRACT = "basb/1"  # the reference services' tool contract (schemas/basb/): runs the role suites
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_PROTOCOL_VERSIONS = ("2025-06-18", "2025-11-25", "2026-07-28")

ID_PATTERN = "^[a-z0-9][a-z0-9-]*$"
URL_PATTERN = "^(https?://|\\$\\{)"  # the inventory schema's $defs.url pattern
POINTER_PATTERN = "^(/.*)?$"
FLOW_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"  # step ids and saved names: templates read steps.<id>.<name>
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# argv[0] spelled like this means "the interpreter running pytest", so a venv need not be on PATH.
_PYTHON_ALIASES = {"python", "python3"}


class InventoryError(ValueError):
    """A problem in the inventory, phrased for the person who edits it."""


@dataclass(frozen=True)
class ContainerSpec:
    image: str
    port: int
    path: str = "/mcp"
    env: Mapping[str, str] = field(default_factory=dict)
    start_timeout_s: float | None = None  # to answer MCP after start; None: the target's default


@dataclass(frozen=True)
class Expectations:
    server_name: str | None = None
    server_version: str | None = None
    tools: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    prompts: tuple[str, ...] = ()


@dataclass(frozen=True)
class LatencyBudget:
    """`latency: {p95_ms, tolerance}`: regression.latency's limits for a service or one call.

    `p95_ms`: an absolute budget; `tolerance`: how many times its baseline figure a call may take
    (default 2), to loosen the baseline's limit for a service whose timing varies.
    """

    p95_ms: float | None = None
    tolerance: float | None = None


@dataclass(frozen=True)
class SmokeCall:
    """One declared smoke call: a tool call or a prompt get, with what its result must look like."""

    tool: str | None = None
    prompt: str | None = None
    arguments: Mapping[str, Any] = field(default_factory=dict)
    expect_is_error: bool | None = None
    expect_schema: Mapping[str, Any] | None = None
    golden: bool = False  # regression.golden: the result must equal the baseline's
    ignore: tuple[str, ...] = ()  # JSON pointers left out of the golden comparison
    latency: LatencyBudget | None = None  # regression.latency budget; else the service's

    @property
    def label(self) -> str:
        return self.tool if self.tool is not None else f"prompt:{self.prompt}"

    @property
    def key(self) -> str:
        """Names this call in a baseline: the label, plus the arguments when there are any."""
        if not self.arguments:
            return self.label
        return f"{self.label} {json.dumps(self.arguments, sort_keys=True, ensure_ascii=False)}"


@dataclass(frozen=True)
class ServiceConfig:
    id: str
    transport: Transport
    role: str | None = None  # a label; the role suites run only with `contract`
    contract: str | None = None  # BASB_CONTRACT: the service keeps its role's tool contract
    command: tuple[str, ...] = ()
    cwd: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    url: str | None = None
    launch: tuple[str, ...] = ()
    health_url: str | None = None
    metrics_url: str | None = None  # Prometheus text format, read by the monitoring.* checks
    metrics: tuple[str, ...] = ()  # metric names metrics_url must expose
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = DEFAULT_TIMEOUT_S
    protocol_versions: tuple[str, ...] = DEFAULT_PROTOCOL_VERSIONS
    container: ContainerSpec | None = None
    expect: Expectations = field(default_factory=Expectations)
    smoke: tuple[SmokeCall, ...] = ()
    description: str = ""
    latency: LatencyBudget | None = None  # regression.latency budget of every smoke call
    secrets: tuple[str, ...] = ()  # variables whose values are masked (secret_values.py)

    def latency_budget_ms(self, call: SmokeCall) -> float | None:
        return next((b.p95_ms for b in (call.latency, self.latency) if b and b.p95_ms is not None), None)

    def latency_tolerance(self, call: SmokeCall) -> float | None:
        """The call's tolerance, else the service's (each key of `latency:` falls back on its own)."""
        return next((b.tolerance for b in (call.latency, self.latency) if b and b.tolerance is not None), None)


@dataclass(frozen=True)
class Monitoring:
    """The environment's `monitoring:` block: where its Prometheus and Alertmanager answer."""

    prometheus_url: str
    alertmanager_url: str | None = None  # None: the first active Alertmanager Prometheus reports
    job: str | None = None  # only scrape targets of this job count (the probe exporter's)
    watchdog: str = "Watchdog"  # the always-firing alert that proves the alert path
    max_age_s: float = 6 * 3600.0  # how old the gate's own pushed metrics may be
    timeout_s: float = 5.0  # per request to Prometheus or Alertmanager


@dataclass(frozen=True)
class IncidentPolicy:
    """`incident:` of an environment: what the Incident gate item requires (docs/drills.md)."""

    drill_max_age_days: int
    alert_timeout_s: float = 300.0


@dataclass(frozen=True)
class Environment:
    name: str
    source: Path
    services: tuple[ServiceConfig, ...]
    vault: Path | None = None
    seed_vault: Path | None = None
    # The values that are secrets (secret_values.py): redacted wherever text leaves the plugin.
    secrets: frozenset[str] = frozenset()
    flows: tuple[Flow, ...] = ()  # declared flows (docs/flows.md), sorted by name
    policy: Policy = field(default_factory=Policy)  # check levels (policy/levels.py)
    waivers: tuple[Waiver, ...] = ()
    monitoring: Monitoring | None = None  # None: the Monitoring gate item is not evaluated
    drills_allowed: bool = False  # `drills: allowed`: -m drill may break its services on purpose
    incident: IncidentPolicy | None = None

    def service(self, service_id: str) -> ServiceConfig:
        return self._by_id[service_id]

    def flow(self, name: str) -> Flow:
        return next(flow for flow in self.flows if flow.name == name)

    def first_of_role(self, role: str) -> ServiceConfig | None:
        """The service the CODE flow uses for `role`: the environment's first of that role that keeps
        the BASB contract (a `role:` alone is a label)."""
        return next((s for s in self.services if s.role == role and s.contract == BASB_CONTRACT), None)

    @functools.cached_property
    def _by_id(self) -> dict[str, ServiceConfig]:  # every check looks its service up: no scan of a fleet
        return {service.id: service for service in self.services}

    @property
    def base_dir(self) -> Path:
        return self.source.parent


@cache
def inventory_schema() -> dict[str, Any]:
    text = resources.files("pytest_basb").joinpath("schemas/inventory.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def seed_vault_of(path: Path, name: str) -> Path | None:
    """The environment's `seed_vault`, read before ${VAR}s are resolved (the copy defines one)."""
    data = _read_validated(path)
    environments: dict[str, Any] = data["environments"]
    if name not in environments:
        return None
    seed = _merge_extends(path, environments, name).get("seed_vault")
    return path.parent / seed if seed else None


def load_environment(
    path: Path, name: str, environ: Mapping[str, str] | None = None, *, known_checks: Collection[str] | None = None
) -> Environment:
    """Read `path`, validate it and return environment `name` fully resolved. `known_checks`: the
    check ids policy rules and waivers may name (default: those of the shipped suites)."""
    environ = os.environ if environ is None else environ
    data = _read_validated(path)
    environments: dict[str, Any] = data["environments"]
    if name not in environments:
        raise InventoryError(
            f"{path}: environments.{name}: no such environment{_did_you_mean(name, environments)}; "
            f"defined: {', '.join(sorted(environments))}. Pick one with --basb-env=NAME."
        )
    merged = _merge_extends(path, environments, name)
    # `defaults.policy` is a level of its own (a service's rule beats it), not a field to merge in.
    defaults: dict[str, Any] = {k: v for k, v in (data.get("defaults") or {}).items() if k != "policy"}
    secrets: set[str] = set()
    services = []
    for service_id in sorted(merged.get("services") or {}):
        raw = merged["services"][service_id]
        if raw is None:  # `service: null` in a child environment removes an inherited service
            continue
        key = f"environments.{name}.services.{service_id}"
        fields = _deep_merge(defaults, raw)
        uses: list[tuple[str, str, str]] = []
        resolved = _substitute(path, key, fields, environ, uses)
        secrets |= service_secrets(key, resolved, uses, environ)
        services.append(_build_service(path, key, service_id, resolved))
    if not services:
        raise InventoryError(f"{path}: environments.{name}.services: no services; add at least one.")
    flow_uses: list[tuple[str, str, str]] = []
    raw_flows = _substitute(path, f"environments.{name}.flows", merged.get("flows"), environ, flow_uses)
    secrets |= {value for _where, variable, value in flow_uses if says_secret(variable)}
    flows = _flows(path, name, raw_flows, services)
    if flows:  # policy rules and waivers may name the flows' checks too
        from pytest_basb.policy.catalogue import shipped_check_ids

        known_checks = {*(shipped_check_ids() if known_checks is None else known_checks), *(f.check_id for f in flows)}
    base = path.parent
    from pytest_basb.inventory.policy import policy_of, waivers_of

    monitoring_uses: Uses = []
    monitoring_key = f"environments.{name}.monitoring"
    raw_monitoring = _substitute(path, monitoring_key, merged.get("monitoring"), environ, monitoring_uses)
    secrets |= {value for _where, variable, value in monitoring_uses if says_secret(variable)}
    for url_key in ("prometheus_url", "alertmanager_url"):  # their user name, password and query values
        secrets |= url_secrets(str((raw_monitoring or {}).get(url_key) or ""))
    chain = _extends_chain(path, environments, name)
    service_ids = [s.id for s in services]
    return Environment(
        name=name,
        source=path,
        services=tuple(services),
        vault=(base / merged["vault"]) if merged.get("vault") else None,
        seed_vault=(base / merged["seed_vault"]) if merged.get("seed_vault") else None,
        secrets=frozenset(s for s in secrets if s),
        flows=flows,
        policy=policy_of(path, data, chain, service_ids, known_checks),
        waivers=waivers_of(path, environments, chain, service_ids, known_checks),
        monitoring=_monitoring(path, monitoring_key, raw_monitoring),
        drills_allowed=merged.get("drills") == "allowed",
        incident=_incident_policy(merged.get("incident")),
    )


def _monitoring(path: Path, key: str, raw: Mapping[str, Any] | None) -> Monitoring | None:
    if raw is None:
        return None
    urls: dict[str, str | None] = {}
    for url_key in ("prometheus_url", "alertmanager_url"):
        url = raw.get(url_key)
        if url is not None and not re.match(r"^https?://[^/\s]+", url):  # a ${VAR} resolved to something else
            raise InventoryError(
                f"{path}: {key}.{url_key}: not an http(s) URL after ${{VAR}} substitution; "
                f"write e.g. {url_key}: http://127.0.0.1:{9090 if url_key == 'prometheus_url' else 9093}"
            )
        urls[url_key] = url.rstrip("/") if url else None
    return Monitoring(
        prometheus_url=str(urls["prometheus_url"]),
        alertmanager_url=urls["alertmanager_url"],
        job=raw.get("job"),
        watchdog=raw.get("watchdog", "Watchdog"),
        max_age_s=float(raw.get("max_age_s", Monitoring.max_age_s)),
        timeout_s=float(raw.get("timeout_s", Monitoring.timeout_s)),
    )


def _incident_policy(raw: Mapping[str, Any] | None) -> IncidentPolicy | None:
    if not raw:  # the schema checked the types
        return None
    timeout = raw.get("alert_timeout_s")
    return IncidentPolicy(int(raw["drill_max_age_days"]), 300.0 if timeout is None else float(timeout))


def _flows(path: Path, name: str, raw: Mapping[str, Any] | None, services: Sequence[ServiceConfig]) -> tuple[Flow, ...]:
    from pytest_basb.flows.definition import FlowDefinitionError, parse_flows

    try:
        return parse_flows(raw, [s.id for s in services])
    except FlowDefinitionError as exc:
        raise InventoryError(f"{path}: environments.{name}.{exc}") from None


_VALIDATED: dict[tuple[str, int, int], Any] = {}


def _read_validated(path: Path) -> Any:
    """Parse and validate once per process and file version (a run reads it more than once)."""
    try:
        stat = path.stat()
    except OSError:
        return _validated(path)
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _VALIDATED:
        _VALIDATED[key] = _validated(path)
    return copy.deepcopy(_VALIDATED[key])


def _validated(path: Path) -> Any:
    data = _read_yaml(path)
    _yaml_scalars_as_text(data)
    _validate(path, data)
    return data


def _yaml_scalars_as_text(data: Any) -> None:
    """YAML 1.1 reads `expires: 2027-01-31` as a date and a level `off` as false; the schema (and
    the documentation) know them as the strings that were written."""
    if not isinstance(data, dict):
        return
    environments = data.get("environments")
    environments = environments if isinstance(environments, dict) else {}
    places = [data.get("defaults")]
    for environment in environments.values():
        if not isinstance(environment, dict):
            continue
        places.append(environment)
        services = environment.get("services")
        places += list(services.values()) if isinstance(services, dict) else []
        waivers = environment.get("waivers")
        for waiver in waivers if isinstance(waivers, list) else ():
            if isinstance(waiver, dict) and isinstance(waiver.get("expires"), datetime.date):
                waiver["expires"] = waiver["expires"].isoformat()
    for place in places:
        policy = place.get("policy") if isinstance(place, dict) else None
        checks = policy.get("checks") if isinstance(policy, dict) else None
        if isinstance(checks, dict):
            checks.update({pattern: "off" for pattern, level in checks.items() if level is False})


def _read_yaml(path: Path) -> Any:
    from pytest_basb.inventory import safe_yaml

    try:
        return safe_yaml.load(path, safe_yaml.read_text(path))
    except FileNotFoundError:
        raise InventoryError(
            f"{path}: inventory file not found. Create it or point --basb-inventory=PATH at one."
        ) from None
    except safe_yaml.UnsafeInventory as exc:
        raise InventoryError(str(exc)) from None


def _validate(path: Path, data: Any) -> None:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(inventory_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.path))))
    if not errors:
        return
    # Every problem of the file at once (one run to fix them all), each named once, in file order.
    problems = list(dict.fromkeys(_explain(path, leaf) for error in errors for leaf in _deepest(error)))
    if len(problems) == 1:
        raise InventoryError(problems[0])
    listed = "\n".join(f"  - {problem.removeprefix(f'{path}: ')}" for problem in problems)
    raise InventoryError(f"{path}: {len(problems)} problems:\n{listed}")


def _deepest(error: Any) -> list[Any]:
    """Descend through oneOf/anyOf to the violations a person can act on (not the `null` branch).

    Of the branches, the one that got deepest into the value is what the person meant; all of that
    branch's violations are kept (a bad value and an unknown key beside it are two problems).
    """
    key = ".".join(str(part) for part in error.absolute_path)
    if not error.context or (error.validator == "oneOf" and ".smoke." in f".{key}."):
        return [error]
    useful = [e for e in error.context if not (e.validator == "type" and e.validator_value == "null")]
    candidates = useful or list(error.context)
    deepest = max(candidates, key=lambda e: len(e.absolute_path))
    branch = [e for e in candidates if _branch(e) == _branch(deepest)]
    return [leaf for e in branch for leaf in _deepest(e)]


def _branch(error: Any) -> object:
    """Which alternative of a oneOf/anyOf a context error belongs to (its index in the schema)."""
    return error.relative_schema_path[0] if error.relative_schema_path else None


def _explain(path: Path, error: Any) -> str:
    """One schema violation as a sentence naming the key path and the fix (never the value)."""
    key = ".".join(str(part) for part in error.absolute_path) or "(top level)"
    validator = error.validator
    if validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        unknown = extra[0] if extra else "?"
        where = f"{key}.{unknown}" if key != "(top level)" else unknown
        return f"{path}: {where}: unknown key{_did_you_mean(unknown, allowed)}. Allowed here: {', '.join(allowed)}."
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        if ".waivers." in f".{key}.":
            return (
                f"{path}: {key}: required key `{missing}` is missing: every waiver needs `check`, a `reason` "
                "and an `expires` date (YYYY-MM-DD)."
            )
        return f"{path}: {key}: required key `{missing}` is missing."
    if validator == "enum":
        choices = ", ".join(str(c) for c in error.validator_value)
        return f"{path}: {key}: must be one of {choices}."
    if validator == "type":
        return f"{path}: {key}: must be of type {error.validator_value}."
    if validator == "pattern" and error.validator_value == ID_PATTERN:
        return (
            f"{path}: {key}: `{error.instance}` is not a valid id: "
            "ids are lowercase letters, digits and '-', starting with a letter or digit."
        )
    if validator == "pattern" and error.validator_value == URL_PATTERN:
        return (
            f"{path}: {key}: not a URL: write it as http://host[:port]/path or https://host[:port]/path "
            "(e.g. https://capture.example.org/mcp), or start it with a ${VAR} reference."
        )
    if validator == "pattern" and error.validator_value == POINTER_PATTERN:
        return (
            f"{path}: {key}: `{error.instance}` is not a JSON pointer: write it as /field/sub "
            "(RFC 6901; `*` matches every key or index), e.g. /modified or /results/*/mtime."
        )
    if validator == "pattern" and error.validator_value == FLOW_NAME_PATTERN:
        return (
            f"{path}: {key}: `{error.instance}` is not a valid step or saved name: letters, digits and _, "
            "not starting with a digit (templates read it as steps.<id>.<name>)."
        )
    if validator == "pattern" and key.endswith(".expires"):
        return f"{path}: {key}: not a date; write it as YYYY-MM-DD, e.g. 2027-01-31."
    if validator == "pattern" and key.endswith(".reason"):
        return f"{path}: {key}: must not be empty; say why the failure is accepted (e.g. a ticket)."
    if validator == "pattern":
        return f"{path}: {key}: must match the pattern {error.validator_value}."
    if validator == "exclusiveMinimum":
        return f"{path}: {key}: must be greater than {error.validator_value}."
    if validator == "minItems":
        return f"{path}: {key}: must not be empty."
    if validator == "const":
        return f"{path}: {key}: must be {error.validator_value!r}."
    if validator == "oneOf" and ".smoke." in f".{key}.":
        return f"{path}: {key}: a smoke entry needs exactly one of `tool` or `prompt`."
    # jsonschema's own message quotes the value, which may be a secret: name the rule instead.
    return f"{path}: {key}: breaks the schema rule `{validator}`; see schemas/inventory.schema.json."


def _did_you_mean(word: str, choices: Sequence[str] | Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def _merge_extends(path: Path, environments: Mapping[str, Any], name: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for env_name in _extends_chain(path, environments, name):
        child = {k: v for k, v in (environments[env_name] or {}).items() if k != "extends"}
        merged = _deep_merge(merged, child)
    return merged


def _extends_chain(path: Path, environments: Mapping[str, Any], name: str) -> list[str]:
    """`name` and the environments it extends, the root first."""
    chain: list[str] = []
    current: str | None = name
    while current is not None:
        if current in chain:
            cycle = " -> ".join([*chain, current])
            raise InventoryError(f"{path}: environments.{name}.extends: cycle {cycle}; remove one `extends`.")
        if current not in environments:
            raise InventoryError(
                f"{path}: environments.{chain[-1]}.extends: unknown environment `{current}`"
                f"{_did_you_mean(current, environments)}."
            )
        chain.append(current)
        current = (environments[current] or {}).get("extends")
    return chain[::-1]


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; anything else (lists included) is replaced by the override."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


Uses = list[tuple[str, str, str]]  # (key path, variable name, its value) of each ${VAR} resolved


def _substitute(path: Path, key: str, value: Any, environ: Mapping[str, str], uses: Uses) -> Any:
    if isinstance(value, str):
        return _substitute_text(path, key, value, environ, uses)
    if isinstance(value, Mapping):
        return {k: _substitute(path, f"{key}.{k}", v, environ, uses) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(path, f"{key}.{i}", v, environ, uses) for i, v in enumerate(value)]
    return value


def _substitute_text(path: Path, key: str, text: str, environ: Mapping[str, str], uses: Uses) -> str:
    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            value = environ[name]
        elif default is not None:
            return default
        else:
            raise InventoryError(
                f"{path}: {key}: environment variable `{name}` is not set. "
                f"Export {name} before running, or write ${{{name}:-default}}."
            )
        uses.append((key, name, value))
        return value

    if "${" in _VAR.sub("", text):  # the inventory's own text, never a value: safe to quote
        start = _VAR.sub("", text).index("${")
        raise InventoryError(
            f"{path}: {key}: malformed `{_VAR.sub('', text)[start : start + 40]}`; "
            "write ${NAME} or ${NAME:-default} (NAME: letters, digits, _)"
        )
    return _VAR.sub(replace, text)


def _build_service(path: Path, key: str, service_id: str, raw: Mapping[str, Any]) -> ServiceConfig:
    transport = raw.get("transport")
    if transport is None:
        raise InventoryError(f"{path}: {key}.transport: required; one of stdio, streamable-http, sse.")
    if transport == "stdio" and not raw.get("command"):
        raise InventoryError(
            f"{path}: {key}.command: required for transport stdio; give the argv list, "
            f'e.g. command: ["python", "server.py"].'
        )
    if transport != "stdio" and not raw.get("url"):
        raise InventoryError(
            f"{path}: {key}.url: required for transport {transport}; e.g. url: http://127.0.0.1:8931/mcp."
        )
    if transport == "stdio" and raw.get("launch"):
        raise InventoryError(f"{path}: {key}.launch: only for HTTP transports; stdio servers use `command`.")
    base = path.parent
    expect = raw.get("expect") or {}
    container = raw.get("container")
    return ServiceConfig(
        id=service_id,
        transport=transport,
        role=raw.get("role"),
        contract=raw.get("contract"),
        command=_argv(raw.get("command")),
        cwd=(base / raw["cwd"]) if raw.get("cwd") else base,
        env=dict(raw.get("env") or {}),
        url=raw.get("url"),
        launch=_argv(raw.get("launch")),
        health_url=raw.get("health_url"),
        metrics_url=raw.get("metrics_url"),
        metrics=tuple(raw.get("metrics") or ()),
        headers=dict(raw.get("headers") or {}),
        timeout_s=float(raw.get("timeout_s", DEFAULT_TIMEOUT_S)),
        protocol_versions=tuple(raw.get("protocol_versions") or DEFAULT_PROTOCOL_VERSIONS),
        container=ContainerSpec(
            image=container["image"],
            port=container["port"],
            path=container.get("path", "/mcp"),
            env=dict(container.get("env") or {}),
            start_timeout_s=container.get("start_timeout_s"),
        )
        if container
        else None,
        expect=Expectations(
            server_name=expect.get("server_name"),
            server_version=expect.get("server_version"),
            tools=tuple(expect.get("tools") or ()),
            resources=tuple(expect.get("resources") or ()),
            prompts=tuple(expect.get("prompts") or ()),
        ),
        smoke=tuple(_smoke_call(path, f"{key}.smoke.{i}", entry) for i, entry in enumerate(raw.get("smoke") or ())),
        description=raw.get("description", ""),
        latency=_latency(raw),
        secrets=tuple(raw.get("secrets") or ()),
    )


def _argv(value: Sequence[str] | None) -> tuple[str, ...]:
    """The argv to run, so that a venv need not be activated: `python` is the interpreter running
    pytest, a `*.py` script runs under it, and a console script of that venv (not on PATH) is found there."""
    if not value:
        return ()
    first = value[0]
    if first in _PYTHON_ALIASES:
        return (sys.executable, *value[1:])
    if first.endswith(".py"):
        return (sys.executable, *value)
    if "/" not in first and shutil.which(first) is None:
        beside = Path(sys.executable).parent / first
        if beside.is_file() and os.access(beside, os.X_OK):
            first = str(beside)
    return (first, *value[1:])


def _smoke_call(path: Path, key: str, entry: Mapping[str, Any]) -> SmokeCall:
    expect = entry.get("expect") or {}
    golden = bool(entry.get("golden", False))
    if golden and entry.get("tool") is None:
        raise InventoryError(f"{path}: {key}.golden: only tool calls have golden results; remove it from this prompt.")
    if entry.get("ignore") and not golden:
        raise InventoryError(f"{path}: {key}.ignore: only used by golden calls; add `golden: true` or remove `ignore`.")
    schema = expect.get("schema")
    if schema is not None and (why := schema_problem(schema)) is not None:
        raise InventoryError(f"{path}: {key}.expect.schema is not a valid JSON Schema: {why}. Fix the schema there.")
    return SmokeCall(
        tool=entry.get("tool"),
        prompt=entry.get("prompt"),
        arguments=dict(entry.get("arguments") or {}),
        expect_is_error=expect.get("is_error"),
        expect_schema=expect.get("schema"),
        golden=golden,
        ignore=tuple(entry.get("ignore") or ()),
        latency=_latency(entry),
    )


def _latency(raw: Mapping[str, Any]) -> LatencyBudget | None:
    latency = raw.get("latency")
    if not latency:
        return None
    p95_ms, tolerance = latency.get("p95_ms"), latency.get("tolerance")
    return LatencyBudget(
        p95_ms=float(p95_ms) if p95_ms is not None else None,
        tolerance=float(tolerance) if tolerance is not None else None,
    )
