"""`basb-baseline`: the drift a promotion would bring, from two environments' recorded baselines.

basb-baseline diff --from staging --to prod [--baseline-dir DIR] [--service ID]

Promoting `--from` over `--to` replaces the surface recorded for `--to` by the one recorded for
`--from`; the changes are classified as `regression.surface` classifies them. Exit status: 1 when
any change is breaking, 0 otherwise, 2 on bad input (missing folder, unreadable baseline).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_basb.checks.drift import Drift, compare_surfaces
from pytest_basb.regression.baseline import DEFAULT_DIR, BaselineError, read_baseline


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="basb-baseline", description="Compare recorded regression baselines")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    diff = commands.add_parser(
        "diff",
        help="Print the drift promoting one environment over another would bring",
        description="Print the drift promoting --from over --to would bring; exit 1 on breaking changes",
    )
    diff.add_argument("--from", dest="source", required=True, metavar="ENV", help="Environment promoted (e.g. staging)")
    diff.add_argument("--to", dest="target", required=True, metavar="ENV", help="Environment promoted to (e.g. prod)")
    diff.add_argument(
        "--baseline-dir", type=Path, default=Path(DEFAULT_DIR), help=f"Baselines folder (default: ./{DEFAULT_DIR})"
    )
    diff.add_argument("--service", action="append", metavar="ID", help="Only this service (repeatable)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on usage errors: return its code
        return exc.code if isinstance(exc.code, int) else 2
    if args.command != "diff":
        parser.print_help(sys.stderr)
        return 2
    try:
        return _diff(args.baseline_dir, args.source, args.target, args.service)
    except BaselineError as exc:
        return _error(str(exc))


def _diff(directory: Path, source: str, target: str, only: list[str] | None) -> int:
    if source == target:
        return _error(f"--from and --to are both {source!r}; name two environments")
    new, old = _load(directory, source), _load(directory, target)
    services = sorted(set(new) | set(old))
    if only:
        unknown = sorted(set(only) - set(services))
        if unknown:
            return _error(f"no baseline for service(s) {', '.join(unknown)} in {source} or {target}")
        services = sorted(only)
    print(f"basb-baseline diff: promoting {source} over {target} ({directory})")
    breaking: list[str] = []
    for service in services:
        if service not in old:
            print(f"{service}: new service (not in {target}'s baselines)")
            continue
        if service not in new:
            print(f"{service}: only in {target}; the promotion leaves it as it is")
            continue
        drift = _service_drift(old[service], new[service])
        counts = drift.counts()
        if not any(counts.values()):
            print(f"{service}: no drift")
            continue
        print(f"{service}: " + ", ".join(f"{n} {kind}" for kind, n in counts.items() if n))
        for line in drift.lines():
            print(f"  {line}")
        for key, change in sorted(drift.info.items()):
            print(f"  INFO      server {key}: {change['old']} → {change['new']}")
        if drift.breaking:
            breaking.append(service)
    if breaking:
        print(f"BREAKING: promoting {source} to {target} breaks callers of {', '.join(breaking)}")
        return 1
    print(f"OK: no breaking drift from {target} to {source}")
    return 0


def _service_drift(old: dict[str, Any], new: dict[str, Any]) -> Drift:
    return compare_surfaces(
        old.get("surface") or {}, new.get("surface") or {}, old_server=old.get("server"), new_server=new.get("server")
    )


def _load(directory: Path, environment: str) -> dict[str, dict[str, Any]]:
    folder = directory / environment
    if not folder.is_dir():
        raise BaselineError(
            f"{folder}: no baselines for environment {environment!r}; record them with "
            f"pytest --basb-env={environment} -m regression --basb-record-baseline"
        )
    baselines = {}
    for path in sorted(folder.glob("*.json")):
        data = read_baseline(path)
        if data is None or "surface" not in data:
            raise BaselineError(f"{path}: has no recorded surface; record it again with --basb-record-baseline")
        baselines[path.stem] = data
    if not baselines:
        raise BaselineError(f"{folder}: no <service>.json baselines in it")
    return baselines


def _error(message: str) -> int:
    print(f"basb-baseline: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
